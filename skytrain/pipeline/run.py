"""Run a pipeline: validate everything the run touches, then each stage in order, each
behind the previous stage's gate, stopping at an approval nobody gave.

The same lifecycle `skytrain deploy` and `skytrain rollback` run. The backend factory is
a parameter so tests (and the emulator-backed end-to-end runs) pass their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skytrain import interrupts, lifecycle
from skytrain.backends.base import Backend, DeployOptions, DeployResult, Outcome
from skytrain.config.environments import Environment
from skytrain.config.model import App
from skytrain.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConfigError, ConfigErrors
from skytrain.pipeline.definition import Pipeline, Stage
from skytrain.progress import NullReporter, Reporter
from skytrain.redact import redact, redact_data
from skytrain.reporting.results import format_result
from skytrain.reporting.steps import Status, Step, deploy_steps, validation_steps

# A stage needs a person's approval and none was given: nothing of that stage was deployed.
# Resume with `--from <stage> --yes` once someone approved. Not one of DESIGN.md's 0-3.
EXIT_AWAITING_APPROVAL = 4
INTERRUPTED = "interrupted"

BackendFactory = Callable[[str, Environment], Backend]
Approver = Callable[[Stage], bool]


@dataclass
class PipelineRun:
    pipeline: Pipeline
    steps: list[Step] = field(default_factory=list)
    errors: tuple[ConfigError, ...] = ()
    resume_from: str | None = None  # the stage awaiting approval
    interrupted: bool = False  # a signal stopped a stage's gates

    @property
    def status(self) -> str:
        if self.errors:
            return "invalid"
        if self.interrupted:
            return INTERRUPTED
        if self.resume_from:
            return Status.AWAITING_APPROVAL.value
        return Status.FAILED.value if any(s.status is Status.FAILED for s in self.steps) else "passed"

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return interrupts.exit_code()
        return {
            "invalid": EXIT_USAGE,
            Status.AWAITING_APPROVAL.value: EXIT_AWAITING_APPROVAL,
            Status.FAILED.value: EXIT_FAILED,
        }.get(self.status, EXIT_OK)

    def resume_command(self) -> str:
        return f"skytrain pipeline run {self.pipeline.directory} --from {self.resume_from} --yes"

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.pipeline.service,
            "status": self.status,
            "exitCode": self.exit_code,
            "resumeFrom": self.resume_from,
            "steps": [s.to_json() for s in self.steps],
            "errors": [str(e) for e in self.errors],
        }


def default_backend_factory(target: str, environment: Environment) -> Backend:
    from skytrain.schedulers import backend

    return backend(target, environment)


def run_pipeline(
    pipeline: Pipeline,
    apps: Mapping[str, App],
    files: Iterable[str],
    *,
    first: str | None = None,
    last: str | None = None,
    approve: Approver = lambda stage: False,
    backend_factory: BackendFactory = default_backend_factory,
    reporter: Reporter | None = None,
    fleet_errors: Iterable[ConfigError] = (),
) -> PipelineRun:
    """Run the stages between `first` and `last`. Never raises for a failed stage: the
    returned run says what happened, with an exit code. `fleet_errors` (the service against
    its fleet, skytrain.config.fleet) fail the validate stage when the run has it."""
    from skytrain.schedulers import render

    reporter = reporter or NullReporter()
    run = PipelineRun(pipeline)
    validates, stages = pipeline.select(first, last)
    # the validate stage checks every environment and target; a later start checks what it touches
    wanted = [
        (app, target)
        for app in apps.values()
        for target in app.schedulers
        if validates or any(s.environment == app.environment.name and target in s.targets for s in stages)
    ]
    rendered: dict[tuple[str, str], list[dict[str, Any]]] = {}
    errors: list[ConfigError] = list(fleet_errors) if validates else []
    for app, target in wanted:
        try:
            rendered[(app.environment.name, target)] = render(app, target)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    run.steps.extend(validation_steps(files, errors))
    if errors:
        run.errors = ConfigErrors(errors).errors
        return run
    reporter.note(f"{pipeline.service}: validated {', '.join(sorted({e for e, _ in rendered}))}")
    # every backend is configured before the first stage deploys: a bad setting (a timeout,
    # a kubeconfig) is exit 2 with nothing sent, not a failure halfway through the run
    backends = {
        (stage.name, target): backend_factory(target, apps[stage.environment].environment)
        for stage in stages
        for target in stage.targets
    }
    for index, stage in enumerate(stages):
        if stage.approval:
            if not approve(stage):
                run.resume_from = stage.name
                run.steps.append(
                    Step(stage.name, "approval", "", Status.AWAITING_APPROVAL, _approval_message(stage, run))
                )
                _skip(run, stages[index:], after_approval=True)
                return run
            run.steps.append(Step(stage.name, "approval", "", Status.PASSED, "approved"))
        mine = {target: backends[(stage.name, target)] for target in stage.targets}
        if not _run_stage(run, stage, apps[stage.environment], rendered, mine, reporter):
            _skip(run, stages[index + 1 :])
            return run
    return run


def run_service(
    directory: Path,
    environments_file: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> PipelineRun:
    """Load a service, build its pipeline and run it: `skytrain pipeline run` without the
    terminal. `options` are run_pipeline's (first, last, approve, backend_factory, reporter);
    end-to-end tests pass a backend factory aimed at their emulators."""
    from skytrain.config import load_service
    from skytrain.pipeline.definition import build_pipeline

    _, apps = load_service(directory, environments_file, environ=environ)
    pipeline = build_pipeline(str(directory), apps)
    files = checked_files(directory, pipeline, options.get("first"), options.get("last"))
    return run_pipeline(pipeline, apps, files, **options)


def checked_files(directory: Path, pipeline: Pipeline, first: str | None, last: str | None) -> list[str]:
    """The files a run validates: all of them with the validate stage, else the base and
    the overlays of the stages it runs."""
    from skytrain.reporting.junit import service_files

    validates, stages = pipeline.select(first, last)
    return service_files(directory, None if validates else [stage.environment for stage in stages])


def _approval_message(stage: Stage, run: PipelineRun) -> str:
    return (
        f"{stage.name} needs a person's approval before it deploys; nothing was deployed to {stage.name}. "
        f"Once approved, resume with: {run.resume_command()}"
    )


def _skip(run: PipelineRun, stages: Iterable[Stage], after_approval: bool = False) -> None:
    reason = (
        "waiting for approval"
        if after_approval
        else "not started: the run was interrupted"
        if run.interrupted
        else "not started: an earlier stage failed"
    )
    for stage in stages:
        for target in stage.targets:
            run.steps.append(Step(stage.name, "deploy", target, Status.SKIPPED, reason))


def _run_stage(
    run: PipelineRun,
    stage: Stage,
    app: App,
    rendered: Mapping[tuple[str, str], list[dict[str, Any]]],
    backends: Mapping[str, Backend],
    reporter: Reporter,
) -> bool:
    """Deploy every target of the stage through the lifecycle and gate them; when one fails,
    roll back the targets that did deploy too (a stage passes or fails as a whole). True
    when the stage passed. Never raises: whatever goes wrong on a target fails the stage."""
    options = DeployOptions(
        wait=True, timeout_seconds=float(stage.gate_timeout_seconds), rollback=stage.rollback_on_failure
    )
    reporter.note(f"stage {stage.name}: deploying to {' and '.join(stage.targets)}")
    started = time.monotonic()

    def deploy(target: str) -> tuple[Backend | None, DeployResult]:
        try:
            backend = backends[target]
            objects = rendered[(stage.environment, target)]
            return backend, lifecycle.deploy(backend, app, objects, options, reporter, run.pipeline.directory)
        except Exception as exc:  # a failed stage, never a crash that leaves the other targets as they are
            why = str(exc) or type(exc).__name__
            return None, DeployResult(app.name, stage.environment, target, Outcome.REFUSED, messages=[why])

    deployed = lifecycle.concurrently(list(stage.targets), deploy)
    seconds = time.monotonic() - started
    for _, result in deployed:
        run.steps.extend(deploy_steps(stage.name, result, seconds))
    if all(result.ok for _, result in deployed):
        reporter.note(f"stage {stage.name}: gate passed")
        return True
    run.interrupted = run.interrupted or any(r.outcome is Outcome.INTERRUPTED for _, r in deployed)
    if stage.rollback_on_failure and not run.interrupted:
        for backend, result in deployed:
            if backend is not None and result.outcome is Outcome.DEPLOYED:
                run.steps.append(
                    _roll_back(stage, app, result, backend, options, reporter, run.pipeline.directory)
                )
    reporter.note(f"stage {stage.name}: failed; later stages will not run")
    return False


def _roll_back(
    stage: Stage,
    app: App,
    result: DeployResult,
    backend: Backend,
    options: DeployOptions,
    reporter: Reporter,
    where: str,
) -> Step:
    """Put back what ran on a target whose gate passed in a stage that failed elsewhere. On a
    first deploy nothing ran before, so there is nothing to restore: the new version, which
    passed its gate, stays (removing a healthy app would be an outage, not a rollback)."""
    if result.previous_revision is None:
        message = (
            f"nothing to roll back to: {app.name} did not run on {result.target} in {stage.environment} "
            f"before this deploy, so the new version is left running"
        )
        reporter.note(f"stage {stage.name}: {message}")
        return Step(stage.name, "rollback", result.target, Status.SKIPPED, message)
    reporter.note(f"stage {stage.name}: rolling back {result.target}, the stage failed elsewhere")
    began = time.monotonic()
    try:
        back = lifecycle.rollback(backend, app, result.previous_revision, options, reporter, where)
    except Exception as exc:  # the pipeline never raises: the step says what went wrong
        back = DeployResult(
            app.name, stage.environment, result.target, Outcome.ROLLBACK_FAILED, messages=[str(exc)]
        )
    return Step(
        stage.name,
        "rollback",
        result.target,
        Status.PASSED if back.ok else Status.FAILED,
        redact(format_result(back)),
        time.monotonic() - began,
        redact_data(back.to_json()),
    )
