"""The pipeline end to end: examples/giphy (Marathon and Kubernetes while it migrates) run
through every stage against the Marathon emulator and the emulated Kubernetes clusters,
one of each per environment, as the environments file maps them.

The runs go through the real CLI (`python -m skytrain pipeline run`, the real backend
factory, KUBECONFIG and the environments file) or run_service with its default backend
factory; nothing between skytrain and the emulators is replaced. Order is checked on the
emulators' own records: every request they received and when each rollout became healthy,
on one monotonic clock.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from lxml import etree
from pipeline_helpers import skytrain

from skytrain.emulators.kubernetes import write_kubeconfig
from skytrain.emulators.kubernetes_controllers import CRASH_LOOP
from skytrain.emulators.marathon import Behaviour
from skytrain.emulators.platform import MARATHON_CREDENTIALS, Platform
from skytrain.pipeline.run import run_service
from skytrain.reporting.steps import Status

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit.xsd"))))
IMAGE = "registry.example.com/giphy"
STAGES = ("dev", "staging", "production")


def pipeline_run(platform: Platform, service: Path, tag: str, *args: str | Path) -> tuple[int, str, str]:
    """`skytrain pipeline run` as a fresh process, as Jenkins runs it, with BUILD_TAG set."""
    done = skytrain(
        "pipeline",
        "run",
        service,
        "--environments",
        platform.environments,
        *args,
        **platform.process_env(),
        BUILD_TAG=tag,
    )
    return done.returncode, done.stdout, done.stderr


def deploy_everything(platform: Platform, service: Path, tag: str) -> None:
    """Bring every stage to `tag` (run_service: the pipeline without the terminal)."""
    run = run_service(service, str(platform.environments), environ={"BUILD_TAG": tag}, approve=lambda s: True)
    assert run.exit_code == 0, run.to_json()


def junit_cases(report: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(report)).getroot()
    SCHEMA.assertValid(root)
    return {case.get("name"): case for case in root.iter("testcase")}


def assert_running(platform: Platform, env: str, tag: str, kubernetes: bool = True) -> None:
    assert platform.marathon_image(env) == f"{IMAGE}:{tag}"
    assert platform.marathon_healthy(env)
    if kubernetes:
        assert platform.kubernetes_image(env) == f"{IMAGE}:{tag}"
        assert platform.kubernetes_healthy(env)


def test_full_run_deploys_stage_after_stage_each_behind_its_gate(
    platform: Platform, service: Path, tmp_path: Path
) -> None:
    report = tmp_path / "reports" / "skytrain.xml"
    code, stdout, stderr = pipeline_run(
        platform, service, "7", "--yes", "--output", "json", "--junit", report
    )
    assert code == 0, stderr

    # the schedulers: giphy runs on both in dev and staging, on Marathon only in production
    assert_running(platform, "dev", "7")
    assert_running(platform, "staging", "7")
    assert_running(platform, "production", "7", kubernetes=False)
    assert platform.marathon["production"].app("giphy")["instances"] == 4
    assert platform.deployment("staging")["spec"]["replicas"] == 2
    assert platform.kubernetes["production"].calls == []

    # each stage's first write came after the previous stage's rollouts were healthy and its
    # gate had stopped asking (the last request of a stage is its gate's final look)
    for earlier, later in itertools.pairwise(STAGES):
        started = platform.writes(later)[0]
        assert platform.healthy_at(earlier) < started
        assert platform.requests(earlier)[-1] < started

    record = json.loads(stdout)
    assert (record["status"], record["exitCode"], record["resumeFrom"]) == ("passed", 0, None)
    steps = [(s["stage"], s["kind"], s["name"], s["status"]) for s in record["steps"]]
    validated = [s for s in steps if s[1] == "validate"]
    assert [Path(s[2]).name for s in validated] == [
        "application.yml",
        "dev.yml",
        "production.yml",
        "staging.yml",
    ]
    assert all(s[3] == "passed" for s in steps)
    assert [s[:3] for s in steps[len(validated) :]] == [
        ("dev", "deploy", "marathon"),
        ("dev", "gate", "marathon"),
        ("dev", "deploy", "kubernetes"),
        ("dev", "gate", "kubernetes"),
        ("staging", "deploy", "marathon"),
        ("staging", "gate", "marathon"),
        ("staging", "deploy", "kubernetes"),
        ("staging", "gate", "kubernetes"),
        ("production", "approval", ""),
        ("production", "deploy", "marathon"),
        ("production", "gate", "marathon"),
    ]
    results = {(s["stage"], s["name"]): s["result"] for s in record["steps"] if s["kind"] == "deploy"}
    assert {r["outcome"] for r in results.values()} == {"deployed"}
    assert results[("production", "marathon")]["gate"]["summary"] == "4 of 4 replicas healthy"
    assert results[("staging", "kubernetes")]["gate"]["summary"] == "2 of 2 replicas ready"
    # the Marathon revision is the app version the emulator stored
    assert (
        results[("staging", "marathon")]["revision"] == platform.marathon["staging"].app("giphy")["version"]
    )

    cases = junit_cases(report)
    assert len(cases) == len(steps)
    assert not [name for name, case in cases.items() if len(case)]  # no failure, no skipped
    assert "production: gate marathon" in cases


# how each scheduler fails staging's new image, and what its gate says about it
BREAK_STAGING = {
    "kubernetes": (
        lambda platform: platform.controllers["staging"].by_image.update({f"{IMAGE}:2": CRASH_LOOP}),
        ("CrashLoopBackOff", "log giphy: panic: GIPHY_API_KEY is not set", "rolled back to revision 1"),
    ),
    "marathon": (
        lambda platform: platform.marathon["staging"].behave(f"{IMAGE}:2", Behaviour.crashing()),
        ("tasks of the new version keep failing", "Command exited with status 1", "rolled back to revision"),
    ),
}


def shown_under(stdout: str, title: str) -> str:
    """The message the terminal printed under a failed step (indented by four spaces)."""
    lines = stdout.split(f"✗ {title}\n", 1)[1].splitlines()
    return "\n".join(line[4:] for line in itertools.takewhile(lambda line: line.startswith("    "), lines))


@pytest.mark.parametrize("failing", sorted(BREAK_STAGING))
def test_failed_gate_in_staging_stops_before_production_and_rolls_staging_back(
    platform: Platform, service: Path, tmp_path: Path, failing: str
) -> None:
    deploy_everything(platform, service, "1")
    production_requests = len(platform.marathon["production"].calls)
    break_staging, evidence = BREAK_STAGING[failing]
    break_staging(platform)
    other = "marathon" if failing == "kubernetes" else "kubernetes"
    report = tmp_path / "skytrain.xml"

    code, stdout, stderr = pipeline_run(platform, service, "2", "--yes", "--junit", report)

    assert code == 1, stderr
    assert len(platform.marathon["production"].calls) == production_requests
    assert platform.kubernetes["production"].calls == []
    assert_running(platform, "production", "1", kubernetes=False)
    assert_running(platform, "dev", "2")
    # the lifecycle rolled the failing scheduler back; the pipeline rolled back the other,
    # whose gate had passed: staging runs version 1 again, healthy, on both
    assert_running(platform, "staging", "1")
    assert f"✓ staging: gate {other}" in stdout and f"✓ staging: rollback {other}" in stdout
    assert "- production: deploy marathon (skipped)" in stdout
    assert stdout.splitlines()[-1] == "giphy: failed"

    password = MARATHON_CREDENTIALS[1]
    assert password not in stdout + stderr + report.read_text()
    cases = junit_cases(report)
    failed = [name for name, case in cases.items() if case.find("failure") is not None]
    assert failed == [f"staging: gate {failing}"]
    failure = cases[f"staging: gate {failing}"].find("failure")
    assert failure.get("type") == "skytrain.gate"
    assert failure.text == shown_under(stdout, f"staging: gate {failing}")  # what the terminal showed
    assert all(text in failure.text for text in evidence)
    assert "rollback gate passed" in failure.text
    assert cases[f"staging: rollback {other}"].find("failure") is None
    assert float(cases[f"staging: rollback {other}"].get("time")) > 0  # the rollback and its gate took time
    assert cases["production: deploy marathon"].find("skipped") is not None


def test_approval_stops_before_production_and_resuming_finishes(platform: Platform, service: Path) -> None:
    code, stdout, stderr = pipeline_run(platform, service, "3")

    assert code == 4, stderr
    resume = f"skytrain pipeline run {service} --from production --yes"
    assert f"nothing was deployed to production. Once approved, resume with: {resume}" in stderr
    assert "? production: approval (awaiting-approval)" in stdout
    assert_running(platform, "staging", "3")
    assert platform.marathon["production"].calls == []
    assert platform.kubernetes["production"].calls == []
    before = {env: len(platform.requests(env)) for env in ("dev", "staging")}

    code, stdout, stderr = pipeline_run(platform, service, "3", "--from", "production", "--yes")

    assert code == 0, stderr
    assert_running(platform, "production", "3", kubernetes=False)
    assert {env: len(platform.requests(env)) for env in ("dev", "staging")} == before
    assert stdout.splitlines()[-1] == "giphy: passed"


def test_unreachable_scheduler_on_a_first_deploy_fails_the_stage_and_keeps_the_other_target(
    platform: Platform, service: Path
) -> None:
    platform.marathon["staging"].stop()  # staging's Marathon is down: connections are refused

    run = run_service(service, str(platform.environments), environ={"BUILD_TAG": "5"}, approve=lambda s: True)

    assert run.exit_code == 1
    steps = {(s.stage, s.kind, s.name): s for s in run.steps}
    refused = steps[("staging", "deploy", "marathon")]
    assert refused.status is Status.FAILED
    assert f"Marathon at {platform.marathon['staging'].url} did not answer" in refused.message
    assert "connection refused" in refused.message
    # Kubernetes passed its gate, but nothing ran there before: there is nothing to restore
    kept = steps[("staging", "rollback", "kubernetes")]
    assert kept.status is Status.SKIPPED
    assert "nothing to roll back to: giphy did not run on kubernetes in staging" in kept.message
    assert_running(platform, "dev", "5")
    assert platform.kubernetes_image("staging") == f"{IMAGE}:5" and platform.kubernetes_healthy("staging")
    assert steps[("production", "deploy", "marathon")].status is Status.SKIPPED
    assert platform.marathon["production"].calls == []


def test_a_stage_gate_timeout_from_the_pipeline_section_bounds_both_gates(
    platform: Platform, service: Path
) -> None:
    with (service / "deploy" / "application.yml").open("a") as base:
        base.write(
            "pipeline:\n  stages:\n    - environment: dev\n    - environment: staging\n"
            "      gateTimeoutSeconds: 1\n    - environment: production\n"
        )
    deploy_everything(platform, service, "1")
    # version 2 never becomes ready in staging: pods stay ContainerCreating, Marathon tasks staged
    platform.controllers["staging"].by_image[f"{IMAGE}:2"] = "stuck"
    platform.marathon["staging"].behave(f"{IMAGE}:2", Behaviour.stalled())
    production_requests = len(platform.marathon["production"].calls)

    run = run_service(service, str(platform.environments), environ={"BUILD_TAG": "2"}, approve=lambda s: True)

    assert run.exit_code == 1
    for target in ("marathon", "kubernetes"):
        [deploy] = [s for s in run.steps if (s.stage, s.kind, s.name) == ("staging", "deploy", target)]
        assert deploy.result["outcome"] == "rolled-back"
        assert deploy.result["gate"]["timed_out"] is True
        assert 1 <= deploy.result["gate"]["seconds"] < 5
    assert_running(platform, "staging", "1")
    assert len(platform.marathon["production"].calls) == production_requests


def test_jenkins_stage_by_stage_commands_each_with_its_environments_kubeconfig(
    platform: Platform, service: Path, tmp_path: Path
) -> None:
    """What skytrainPipeline runs on a deploy branch (jenkins/vars/skytrainPipeline.groovy and
    skytrainDeploy.groovy): validate, then one `--from X --until X --yes` per stage, each inside
    withCredentials binding that environment's kubeconfig only."""
    assert pipeline_run(platform, service, "6", "--until", "validate")[0] == 0
    assert all(platform.requests(env) == [] for env in STAGES)  # validating contacts nothing
    for env in STAGES:
        own = write_kubeconfig(tmp_path / f"kubeconfig-{env}", {env: platform.kubernetes[env].address})
        before = {other: len(platform.requests(other)) for other in STAGES if other != env}
        report = tmp_path / "reports" / f"{env}.xml"
        done = skytrain(
            "pipeline",
            "run",
            service,
            "--environments",
            platform.environments,
            "--from",
            env,
            "--until",
            env,
            "--yes",
            "--junit",
            report,
            **platform.process_env(own),
            BUILD_TAG="6",
        )
        assert done.returncode == 0, done.stderr
        assert {other: len(platform.requests(other)) for other in before} == before  # only this stage
        cases = junit_cases(report)
        assert {name.split(":")[0] for name in cases if not name.startswith("validate")} == {env}
    assert_running(platform, "dev", "6")
    assert_running(platform, "staging", "6")
    assert_running(platform, "production", "6", kubernetes=False)


def test_a_refused_deployment_fails_its_stage_and_rolls_back_the_stages_other_scheduler(
    platform: Platform, service: Path
) -> None:
    """A 422 on the Deployment (after the Marathon deploy of the same stage passed): the run
    does not raise, staging's Marathon app is rolled back, and status says what runs."""
    deploy_everything(platform, service, "1")
    platform.kubernetes["staging"].fail("PATCH", "deployments/giphy", 422, times=10)

    run = run_service(service, str(platform.environments), environ={"BUILD_TAG": "2"}, approve=lambda s: True)

    assert run.exit_code == 1
    steps = {(s.stage, s.kind, s.name): s for s in run.steps}
    refused = steps[("staging", "deploy", "kubernetes")]
    assert refused.status is Status.FAILED and refused.result["outcome"] == "refused"
    assert "the Kubernetes API refused it: injected fault: 422" in refused.message
    assert "nothing was sent" not in refused.message
    assert steps[("staging", "rollback", "marathon")].status is Status.PASSED
    assert steps[("production", "deploy", "marathon")].status is Status.SKIPPED
    assert_running(platform, "staging", "1")
    status = skytrain(
        "status",
        service,
        "--env",
        "staging",
        "--target",
        "kubernetes",
        "--environments",
        platform.environments,
        **platform.process_env(),
    )
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == "staging/giphy on kubernetes: healthy (revision 1)"
    assert any(line.startswith("    2  refused  registry.example.com/giphy:2") for line in lines)
