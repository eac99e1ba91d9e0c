"""Deploys over HTTP (official client → emulator): apply, gate, fail fast, time out, roll back."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from types import MappingProxyType

import pytest

from skytrain import lifecycle
from skytrain.backends.base import DeployOptions, Outcome
from skytrain.emulators import kubernetes_controllers as emu
from skytrain.progress import NullReporter, PlainReporter
from skytrain.render.hashing import HASH_ANNOTATION
from skytrain.render.kubernetes import env_configmap_name
from skytrain.schedulers import render
from tests.kubernetes.conftest import app, env_configmap

REVISION = "skytrain.io/revision"


def test_first_deploy_applies_config_before_workloads_and_passes_its_gate(k8s):
    result = k8s.deploy(app("good"))

    assert result.outcome is Outcome.DEPLOYED
    assert result.revision == "1" and result.gate.passed and not result.gate.timed_out
    applied = [w for w in k8s.writes() if "PATCH" in w and "skytrain-release" not in w]
    assert applied == [
        f"PATCH /api/v1/namespaces/default/configmaps/{env_configmap()}",
        "PATCH /api/v1/namespaces/default/services/giphy",
        "PATCH /apis/apps/v1/namespaces/default/deployments/giphy",
    ]
    deployment = k8s.get("Deployment", "giphy")
    assert deployment["metadata"]["labels"][REVISION] == "1"
    assert REVISION not in deployment["spec"]["template"]["metadata"]["labels"]  # no restart per deploy
    assert deployment["metadata"]["managedFields"][0]["manager"] == "skytrain"
    assert k8s.get("Service", "giphy")["metadata"]["labels"][REVISION] == "1"
    history = k8s.get("ConfigMap", "skytrain-release-giphy")["data"]
    assert json.loads(history["revision-1"])["status"] == "deployed"
    assert k8s.get("Lease", "skytrain-lock-giphy") is None  # released


def test_same_config_and_image_changes_nothing_and_passes_at_once(k8s):
    k8s.deploy(app("good"))
    versions = {
        k: k8s.get(*k)["metadata"]["resourceVersion"]
        for k in [("Deployment", "giphy"), ("Service", "giphy"), ("ConfigMap", env_configmap())]
    }
    before = len(k8s.emulator.calls)

    result = k8s.deploy(app("good"))

    assert result.outcome is Outcome.UNCHANGED and result.gate.passed and result.gate.seconds == 0
    assert result.revision == "1"
    calls = k8s.emulator.calls[before:]
    assert [c.path for c in calls if not c.query.get("watch")] == ["/api/v1/namespaces/default/configmaps"]
    assert [c.path for c in calls if c.query.get("watch")] == ["/apis/apps/v1/namespaces/default/deployments"]
    assert versions == {k: k8s.get(*k)["metadata"]["resourceVersion"] for k in versions}


def test_a_new_image_rolls_out_as_the_next_revision(k8s):
    k8s.deploy(app("good"))
    result = k8s.deploy(app("v2"))

    assert result.outcome is Outcome.DEPLOYED
    assert (result.revision, result.previous_revision) == ("2", "1")
    assert k8s.image() == "registry.example.com/giphy:v2"
    assert k8s.get("Deployment", "giphy")["metadata"]["generation"] == 2


DOOMED = [
    (emu.CRASH_LOOP, "CrashLoopBackOff"),
    (emu.IMAGE_PULL, "ImagePullBackOff"),
    (emu.ERR_IMAGE_PULL, "ErrImagePull"),
    (emu.CONFIG_ERROR, "CreateContainerConfigError"),
    (emu.UNSCHEDULABLE, "Unschedulable: 0/3 nodes are available"),
    (emu.POD_FAILED, "pod failed"),
    (emu.DEADLINE, "ProgressDeadlineExceeded"),
]


@pytest.mark.parametrize(("behaviour", "reason"), DOOMED, ids=[d[0] for d in DOOMED])
def test_a_doomed_rollout_fails_fast_and_the_previous_revision_is_restored(k8s, behaviour, reason):
    k8s.deploy(app("good"))
    k8s.controller.by_image = {"bad": behaviour}

    result = k8s.deploy(app("bad"), timeout_seconds=30)

    assert result.outcome is Outcome.ROLLED_BACK
    assert not result.gate.passed and not result.gate.timed_out
    assert result.gate.seconds < 5  # failed fast, not after the 30 s timeout
    assert any(reason in f.reason for f in result.gate.failures), result.gate.failures
    assert result.rollback_gate.passed
    assert k8s.image() == "registry.example.com/giphy:good"
    assert "rolled back to revision 1 (recorded as revision 3)" in result.messages
    history = k8s.get("ConfigMap", "skytrain-release-giphy")["data"]
    assert json.loads(history["revision-2"])["status"] == "failed"
    assert json.loads(history["revision-3"])["note"].startswith("rollback to revision 1")


def test_crash_loop_report_carries_events_and_the_containers_last_log_lines(k8s):
    k8s.deploy(app("good"))
    k8s.controller.by_image = {"bad": emu.CRASH_LOOP}

    result = k8s.deploy(app("bad"))

    failure = result.gate.failures[0]
    assert failure.object.startswith("Pod giphy-")
    assert "event Warning BackOff: Back-off restarting failed container" in failure.evidence
    assert "log giphy: panic: GIPHY_API_KEY is not set" in failure.evidence
    assert not any("Pulled" in line for line in failure.evidence)  # routine events are filtered


def test_no_rollback_leaves_the_failed_version_in_place(k8s):
    k8s.deploy(app("good"))
    k8s.controller.by_image = {"bad": emu.IMAGE_PULL}

    result = k8s.deploy(app("bad"), rollback=False)

    assert result.outcome is Outcome.FAILED and result.rollback_gate is None
    assert "left in place for debugging (--no-rollback)" in result.messages
    assert k8s.image() == "registry.example.com/giphy:bad"


def test_a_failed_first_deploy_has_nothing_to_roll_back_to(k8s):
    k8s.controller.behaviour = emu.CRASH_LOOP

    result = k8s.deploy(app("bad"))

    assert result.outcome is Outcome.FAILED
    assert result.messages == [
        f"applied revision 1 (ConfigMap {env_configmap()}, Service giphy, Deployment giphy)",
        "nothing to roll back to: giphy did not run on kubernetes in staging before, so the new version is left in place",
    ]
    assert k8s.image() == "registry.example.com/giphy:bad"


def test_a_rollout_that_never_gets_ready_times_out_distinguishably_and_rolls_back(k8s):
    k8s.deploy(app("good"))
    k8s.controller.by_image = {"slowpoke": emu.STUCK}

    result = k8s.deploy(app("slowpoke"), timeout_seconds=1)  # the rollback gets as long

    assert result.outcome is Outcome.ROLLED_BACK
    assert result.gate.timed_out and not result.gate.passed
    assert result.gate.summary.startswith("not healthy after 1s")
    assert result.gate.failures[0].object == "Deployment giphy"
    assert any("ContainerCreating" in f.reason for f in result.gate.failures[1:])
    assert (
        json.loads(k8s.get("ConfigMap", "skytrain-release-giphy")["data"]["revision-2"])["status"]
        == "timed-out"
    )
    assert k8s.image() == "registry.example.com/giphy:good"


def test_a_timeout_without_rollback_is_timed_out_not_failed(k8s):
    k8s.controller.behaviour = emu.STUCK

    result = k8s.deploy(app("good"), timeout_seconds=0.3, rollback=False)

    assert result.outcome is Outcome.TIMED_OUT
    assert json.loads(json.dumps(result.to_json()))["gate"]["timed_out"] is True


def test_a_failing_readiness_probe_is_reported_with_its_path(k8s):
    k8s.controller.behaviour = emu.UNREADY

    result = k8s.deploy(app("good"), timeout_seconds=0.4, rollback=False)

    evidence = [line for f in result.gate.failures for line in f.evidence]
    assert "readiness probe of giphy failing: GET /status on port http" in evidence
    assert any("Readiness probe failed" in line for line in evidence)


def test_a_slow_rollout_passes_once_every_replica_is_ready(k8s):
    k8s.controller.behaviour = emu.SLOW
    k8s.controller.delay = 0.3

    result = k8s.deploy(app("good"))

    assert result.outcome is Outcome.DEPLOYED
    assert 0.25 <= result.gate.seconds < 3


def test_no_wait_applies_and_records_without_gating(k8s):
    k8s.controller.behaviour = emu.STUCK

    result = k8s.deploy(app("good"), wait=False)

    assert result.outcome is Outcome.STARTED and result.gate is None
    assert k8s.image() == "registry.example.com/giphy:good"
    assert (
        json.loads(k8s.get("ConfigMap", "skytrain-release-giphy")["data"]["revision-1"])["status"]
        == "started"
    )


def test_the_config_hash_sits_on_the_pod_template_and_identifies_the_new_pods(k8s):
    k8s.deploy(app("good"))
    template_hash = k8s.get("Deployment", "giphy")["spec"]["template"]["metadata"]["annotations"][
        HASH_ANNOTATION
    ]
    pods = k8s.emulator.list("Pod", "default", "app.kubernetes.io/name=giphy")
    assert len(pods) == 2
    assert {p["metadata"]["annotations"][HASH_ANNOTATION] for p in pods} == {template_hash}


def test_history_keeps_the_last_n_revisions(k8s):
    backend = k8s.backend()
    backend.history_keep = 3

    for tag in ("a1", "a2", "a3", "a4", "a5"):
        objects = render(app(tag), "kubernetes")
        assert lifecycle.deploy(backend, app(tag), objects, DeployOptions(), NullReporter()).ok
    data = k8s.get("ConfigMap", "skytrain-release-giphy")["data"]
    assert sorted(data) == ["revision-3", "revision-4", "revision-5"]


def test_a_refused_object_is_a_config_error_and_is_not_retried(k8s):
    k8s.emulator.fail("PATCH", "deployments/giphy", 422, times=5)

    result = k8s.deploy(app("good"))

    assert result.outcome is Outcome.REFUSED and result.sent
    assert "Deployment giphy" in result.messages[0] and "the Kubernetes API refused it" in result.messages[0]
    assert len(k8s.emulator.calls_to("PATCH", "deployments/giphy")) == 1
    assert k8s.lock_holder() is None


def test_a_server_validation_error_points_at_the_override_and_says_what_was_applied(k8s, tmp_path):
    """A 422 on the Deployment after the ConfigMap and Service were applied: exit 1 (something
    was sent), the refused field at its line, what was applied, and what runs now."""
    import shutil

    from skytrain.config import load_service
    from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES

    service = tmp_path / "giphy"
    shutil.copytree(EXAMPLES / "giphy", service)
    with (service / "deploy" / "staging.yml").open("a") as overlay:
        overlay.write(
            "kubernetes:\n  Deployment:\n    spec:\n      selector:\n        matchLabels:\n          tier: web\n"
        )
    _, apps = load_service(
        service, str(EXAMPLE_ENVIRONMENTS), only=["staging"], environ={"BUILD_TAG": "good"}
    )

    result = k8s.deploy(apps["staging"])

    assert result.outcome is Outcome.REFUSED and result.sent and not result.bad_input
    error = result.messages[0]
    assert "giphy/deploy/staging.yml:6:" in error  # spec: the refused field's nearest parent in the overlay
    assert "error: Deployment giphy spec.template.metadata.labels" in error
    assert "`selector` does not match template `labels`" in error
    assert f"applied before the refusal: ConfigMap {env_configmap()}, Service giphy" in result.messages
    assert result.running == "nothing: there is no Deployment giphy"
    history = json.loads(k8s.get("ConfigMap", "skytrain-release-giphy")["data"]["revision-1"])
    assert history["status"] == "refused"


def test_quantities_the_server_canonicalises_still_count_as_unchanged(k8s):
    k8s.deploy(app("good"))
    k8s.emulator.modify(  # as a real API server stores them: 500m stays, 256Mi stays, 1000m would be 1
        "Deployment",
        "default",
        "giphy",
        lambda d: d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].update(cpu="0.5"),
    )

    assert k8s.deploy(app("good")).outcome is Outcome.UNCHANGED


def with_env(tag: str, **env: str):
    """giphy at `tag` with other env values (another content-named ConfigMap)."""
    return dataclasses.replace(app(tag), env=MappingProxyType({**app(tag).env, **env}))


def test_an_image_bump_costs_four_requests_and_one_write_to_the_cluster(k8s):
    k8s.deploy(app("good"))
    before = len(k8s.emulator.calls)

    assert k8s.deploy(app("v2")).outcome is Outcome.DEPLOYED

    calls = k8s.emulator.calls[before:]
    requests = [f"{c.method} {c.path.rsplit('/', 1)[-1]}" for c in calls if not c.query.get("watch")]
    assert requests == [
        "GET configmaps",  # the history (and its lock) and the env ConfigMaps, in one LIST
        "PUT skytrain-release-giphy",  # the lock taken, revision 2 recorded as applying
        "PATCH giphy",  # the Deployment: the only object that changed
        "PUT skytrain-release-giphy",  # revision 2 recorded as deployed, the lock given back
    ]
    assert len([c for c in calls if c.query.get("watch")]) == 3  # the Deployment, its pods, its endpoints


def test_a_failed_deployment_write_leaves_the_running_version_and_its_env_whole(k8s):
    """A persistent 503 on the Deployment of an env change: the new ConfigMap was created,
    but nothing reads it; the running pods (and any restarted one) keep their env."""
    k8s.deploy(app("good"))
    old_env = env_configmap()
    changed = with_env("good", LOG_LEVEL="debug")
    k8s.emulator.fail("PATCH", "deployments/giphy", 503, times=100)

    result = k8s.deploy(changed)

    assert result.outcome is Outcome.REFUSED
    new_env = env_configmap_name(changed)
    assert f"applied before the refusal: ConfigMap {new_env}" in result.messages
    assert result.running.startswith("revision 1 (registry.example.com/giphy:good;")
    template = k8s.get("Deployment", "giphy")["spec"]["template"]["spec"]
    assert template["containers"][0]["envFrom"] == [{"configMapRef": {"name": old_env}}]
    assert k8s.get("ConfigMap", old_env)["data"]["LOG_LEVEL"] == "info"
    status = k8s.status()
    assert (status.revision, status.healthy) == ("1", True)
    assert [(h.revision, h.outcome) for h in status.history] == [("2", "refused"), ("1", "deployed")]


def test_env_configmaps_beyond_the_history_are_collected(k8s):
    backend = k8s.backend()
    backend.history_keep = 2
    versions = [with_env("good", LOG_LEVEL=level) for level in ("a", "b", "c")]

    for version in versions:
        assert lifecycle.deploy(
            backend, version, render(version, "kubernetes"), DeployOptions(), NullReporter()
        ).ok

    live = {
        c["metadata"]["name"] for c in k8s.emulator.list("ConfigMap", "default", "skytrain.io/generated-from")
    }
    assert live == {env_configmap_name(v) for v in versions[1:]}  # revision 1's is gone with revision 1


def test_a_waiting_gate_keeps_a_ci_log_alive_with_a_heartbeat(k8s):
    """Without a change of state a plain log would say nothing for the whole gate: a heartbeat
    says how long it waited, how long is left, and the last state (a short interval here)."""
    k8s.controller.behaviour = emu.STUCK
    stream = io.StringIO()
    reporter = PlainReporter(stream, heartbeat_seconds=0.1)
    options = DeployOptions(timeout_seconds=1, rollback=False)

    result = lifecycle.deploy(
        k8s.backend(), app("good"), render(app("good"), "kubernetes"), options, reporter
    )
    reporter.close()

    assert result.outcome is Outcome.TIMED_OUT
    beats = [line for line in stream.getvalue().splitlines() if ": still " in line]
    assert len(beats) >= 3
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d staging/giphy on kubernetes: still rolling out \(.+\); \d+s waited, \d+s left",
        beats[0],
    )
