"""Running a pipeline: order, gates, rollback of a failed stage, approvals and resuming.

The schedulers are stood in for by `ScriptedBackend`, an implementation of the Backend
protocol passed through run_pipeline's backend factory (no HTTP, nothing patched): its
sessions record every change planned and answer each (environment, target) as scripted,
while the real lifecycle runs the steps. The same runs against the Marathon and
Kubernetes emulators are in test_pipeline_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import ENVIRONMENTS, EXAMPLES, skytrain

from skytrain.backends.base import (
    Change,
    DeployOptions,
    FailureReport,
    GateResult,
    Live,
    Revision,
    SchedulerError,
)
from skytrain.pipeline.run import EXIT_AWAITING_APPROVAL, PipelineRun, run_service
from skytrain.reporting.steps import Status

TOKEN = "s3cr3t-t0ken-value"


class ScriptedSession:
    """Revision 1 runs; a deploy applies revision 2, whose gate passes unless scripted to fail."""

    def __init__(self, backend: ScriptedBackend, app, options: DeployOptions):
        self.backend, self.app, self.options = backend, app, options
        self.where = (app.environment.name, backend.name)
        self.notes: list[str] = []

    def read(self) -> Live:
        return Live(Revision("1", "deployed"), healthy=True)

    def history(self, live: Live) -> list[Revision]:
        return [Revision("1", "deployed")]

    def plan(self, objects, live: Live) -> Change:
        assert objects, "the pipeline passes the rendered objects"
        self.backend.calls.append(
            ("deploy", *self.where, self.options.timeout_seconds, self.options.rollback)
        )
        return Change("2", "revision 2", objects)

    def plan_rollback(self, revision: str, live: Live) -> Change:
        self.backend.calls.append(("rollback", *self.where, revision))
        return Change("3", f"rollback to revision {revision}", None, restores=revision)

    def rollback_target(self, live: Live) -> Revision:
        return Revision("1", "deployed")

    def plan_scale(self, replicas: int, live: Live) -> Change:
        raise AssertionError("the pipeline never scales")

    def record(self, change: Change, outcome: str, last: bool = False) -> None:
        return None

    def apply(self, change: Change) -> None:
        if self.where in self.backend.unreachable and change.restores is None:
            raise SchedulerError(
                f"could not reach {self.backend.name} for {self.where[0]}: connection refused"
            )

    def gate(self, change: Change | None, timeout: float) -> GateResult:
        if self.where in self.backend.failing and change is not None and change.restores is None:
            evidence = [f"token={TOKEN} rejected"]
            failure = FailureReport(f"{self.app.name}-7f9c", "CrashLoopBackOff", evidence)
            return GateResult(passed=False, seconds=1.5, summary="0/2 healthy", failures=[failure])
        return GateResult(True, seconds=0.5)

    def running(self) -> str:
        return "revision 1"

    def release(self) -> None:
        return None


class ScriptedBackend:
    def __init__(
        self,
        name: str,
        calls: list[tuple[Any, ...]],
        failing: set[tuple[str, str]],
        unreachable: set[tuple[str, str]],
    ):
        self.name = name
        self.calls = calls
        self.failing = failing
        self.unreachable = unreachable

    def session(self, app, options: DeployOptions, reporter) -> ScriptedSession:
        return ScriptedSession(self, app, options)

    def status(self, app):
        raise AssertionError("the pipeline never asks for status")

    def live_objects(self, apps):
        raise AssertionError("the pipeline never diffs")


def run(
    directory: Path = EXAMPLES / "giphy",
    failing: frozenset[tuple[str, str]] = frozenset(),
    unreachable: frozenset[tuple[str, str]] = frozenset(),
    approve: bool = False,
    **select: str,
) -> tuple[PipelineRun, list[tuple[Any, ...]]]:
    calls: list[tuple[Any, ...]] = []
    result = run_service(
        directory,
        str(ENVIRONMENTS),
        environ={},
        first=select.get("first"),
        last=select.get("last"),
        approve=lambda stage: approve,
        backend_factory=lambda target, environment: ScriptedBackend(
            target, calls, set(failing), set(unreachable)
        ),
    )
    return result, calls


def test_stages_run_in_order_each_with_its_own_gate_settings() -> None:
    result, calls = run(approve=True)
    assert result.status == "passed" and result.exit_code == 0
    assert sorted(calls[:2]) == [
        ("deploy", "dev", "kubernetes", 300.0, True),
        ("deploy", "dev", "marathon", 300.0, True),
    ]
    assert sorted(calls[2:4]) == [
        ("deploy", "staging", "kubernetes", 300.0, True),
        ("deploy", "staging", "marathon", 300.0, True),
    ]
    assert calls[4:] == [("deploy", "production", "marathon", 600.0, True)]
    kinds = [(s.stage, s.kind) for s in result.steps if s.stage == "production"]
    assert kinds == [("production", "approval"), ("production", "deploy"), ("production", "gate")]


def test_failed_gate_in_staging_stops_before_production_and_rolls_the_whole_stage_back() -> None:
    result, calls = run(failing=frozenset({("staging", "kubernetes")}), approve=True)
    assert result.status == "failed" and result.exit_code == 1
    assert not any(c[1] == "production" for c in calls)
    # kubernetes rolled itself back (the lifecycle does); marathon passed, so the pipeline restores it
    assert ("rollback", "staging", "kubernetes", "1") in calls
    assert ("rollback", "staging", "marathon", "1") in calls
    gate = next(s for s in result.steps if (s.stage, s.kind, s.name) == ("staging", "gate", "kubernetes"))
    assert gate.status is Status.FAILED
    assert "CrashLoopBackOff" in gate.message and "rolled-back" in gate.message
    skipped = [s for s in result.steps if s.stage == "production"]
    assert [(s.kind, s.status) for s in skipped] == [("deploy", Status.SKIPPED)]


def test_unreachable_scheduler_fails_the_stage_with_the_reason() -> None:
    result, calls = run(unreachable=frozenset({("dev", "kubernetes")}))
    assert result.exit_code == 1
    failed = next(s for s in result.steps if s.status is Status.FAILED)
    assert (failed.stage, failed.kind, failed.name) == ("dev", "deploy", "kubernetes")
    assert "could not reach kubernetes for dev: connection refused" in failed.message
    assert ("rollback", "dev", "marathon", "1") in calls
    assert not any(c[1] == "staging" for c in calls)


def test_failure_messages_never_carry_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JENKINS_TOKEN", TOKEN)
    result, _ = run(failing=frozenset({("dev", "marathon")}))
    text = json.dumps(result.to_json())
    assert TOKEN not in text
    assert "token=**** rejected" in text


def test_approval_stops_the_run_before_deploying_and_says_how_to_resume() -> None:
    result, calls = run(first="production")
    assert calls == []
    assert result.exit_code == EXIT_AWAITING_APPROVAL == 4
    assert result.resume_from == "production"
    approval = next(s for s in result.steps if s.kind == "approval")
    assert "--from production --yes" in approval.message


def test_until_stops_after_the_named_stage() -> None:
    result, calls = run(last="dev")
    assert result.exit_code == 0
    assert {c[1] for c in calls} == {"dev"}


def test_from_a_later_stage_validates_only_what_it_touches() -> None:
    result, calls = run(first="staging", last="staging")
    validated = [s.name for s in result.steps if s.kind == "validate"]
    assert [Path(v).name for v in validated] == ["application.yml", "staging.yml"]
    assert {c[1] for c in calls} == {"staging"}


def test_cli_approval_stage_exits_4_with_the_resume_command(service: Path) -> None:
    done = skytrain("pipeline", "run", service, "--from", "production")
    assert done.returncode == 4, done.stderr
    assert "production needs a person's approval" in done.stderr
    assert f"skytrain pipeline run {service} --from production --yes" in done.stderr
    assert "? production: approval (awaiting-approval)" in done.stdout


def test_cli_json_output_describes_the_whole_run(service: Path) -> None:
    done = skytrain("pipeline", "run", service, "--from", "production", "--output", "json")
    assert done.returncode == 4
    record = json.loads(done.stdout)
    assert record["status"] == "awaiting-approval" and record["resumeFrom"] == "production"
    assert [s["kind"] for s in record["steps"]][-2:] == ["approval", "deploy"]
    assert done.stderr.startswith("skytrain: stopped:")  # no progress lines with --output json


def test_cli_until_validate_contacts_nothing_and_passes(service: Path) -> None:
    done = skytrain("pipeline", "run", service, "--until", "validate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "giphy: passed"


def test_cli_invalid_config_exits_2_before_any_stage(service: Path) -> None:
    (service / "deploy" / "staging.yml").write_text("replicas: many\n")
    done = skytrain("pipeline", "run", service, "--yes")
    assert done.returncode == 2
    assert "deploy/staging.yml:1:11: error: replicas: expected a whole number" in done.stderr
    assert "nothing was sent to any scheduler" in done.stderr


def test_cli_unknown_stage_is_a_usage_error(service: Path) -> None:
    done = skytrain("pipeline", "run", service, "--from", "qa")
    assert done.returncode == 2
    assert "its stages are: validate, dev, staging, production" in done.stderr
