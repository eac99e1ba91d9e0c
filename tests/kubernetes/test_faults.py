"""Faults between skytrain and the API server: 5xx, 429, 409 conflicts, servers without
server-side apply, dropped and unavailable watches, an unreachable cluster, the lock."""

from __future__ import annotations

import contextlib
import datetime
from concurrent.futures import ThreadPoolExecutor

from skytrain.backends.base import Outcome
from skytrain.emulators import kubernetes_controllers as emu
from skytrain.emulators.kubernetes import write_kubeconfig
from tests.kubernetes.conftest import app, env_configmap


def test_server_errors_and_throttling_are_retried_with_backoff(k8s):
    k8s.emulator.fail("PATCH", "deployments/giphy", 500, times=2)
    k8s.emulator.fail("PATCH", "services/giphy", 429, times=1, retry_after=0.01)

    result = k8s.deploy(app("good"))

    assert result.outcome is Outcome.DEPLOYED
    assert len(k8s.emulator.calls_to("PATCH", "deployments/giphy")) == 3
    assert len(k8s.emulator.calls_to("PATCH", "services/giphy")) == 2


def test_a_server_that_keeps_failing_refuses_the_deploy_and_frees_the_lock(k8s):
    k8s.emulator.fail("PATCH", "deployments/giphy", 503, times=100)

    result = k8s.deploy(app("good"))

    assert result.outcome is Outcome.REFUSED and result.sent
    assert "the Kubernetes API answered 503" in result.messages[0]
    assert f"applied before the refusal: ConfigMap {env_configmap()}, Service giphy" in result.messages
    assert k8s.lock_holder() is None


def test_an_unreachable_cluster_is_reported_as_such(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(
        "KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}"))
    )
    from tests.kubernetes.conftest import Cluster

    result = Cluster(None, None, tmp_path).deploy(app("good"))

    assert result.outcome is Outcome.REFUSED and not result.sent
    assert "could not reach the Kubernetes API" in result.messages[0]
    assert result.messages[0].endswith("nothing was changed")


def test_without_server_side_apply_it_creates_then_replaces_respecting_resource_versions(k8s):
    k8s.emulator.server_side_apply = False
    assert k8s.deploy(app("good")).outcome is Outcome.DEPLOYED
    assert (
        len(k8s.emulator.calls_to("PATCH", f"configmaps/{env_configmap()}")) == 1
    )  # the 415 that switches modes
    assert k8s.emulator.calls_to("POST", "deployments$")

    def someone_edits():
        k8s.emulator.modify(
            "Deployment",
            "default",
            "giphy",
            lambda d: d["metadata"].setdefault("annotations", {}).update({"team/note": "on call"}),
        )

    k8s.emulator.before("PUT", "deployments/giphy", someone_edits)
    result = k8s.deploy(app("v2"))

    assert result.outcome is Outcome.DEPLOYED
    assert len(k8s.emulator.calls_to("PUT", "deployments/giphy")) == 2  # 409, read again, replaced
    deployment = k8s.get("Deployment", "giphy")
    assert deployment["metadata"]["annotations"]["team/note"] == "on call"  # the other writer's change kept
    assert k8s.image() == "registry.example.com/giphy:v2"


def test_endless_conflicts_end_in_a_known_state(k8s):
    k8s.emulator.server_side_apply = False
    k8s.deploy(app("good"))
    k8s.emulator.before(
        "PUT",
        "deployments/giphy",
        lambda: k8s.emulator.modify(
            "Deployment",
            "default",
            "giphy",
            lambda d: d["metadata"]["labels"].update(touched=d["metadata"]["resourceVersion"]),
        ),
        times=10,
    )

    result = k8s.deploy(app("v2"))

    assert result.outcome is Outcome.REFUSED
    assert "Deployment giphy kept changing under skytrain" in result.messages[0]
    assert result.running.startswith("revision 1 (registry.example.com/giphy:good")
    assert k8s.lock_holder() is None


def test_a_dropped_watch_is_resumed_and_the_gate_still_passes(k8s):
    k8s.controller.behaviour = emu.STUCK  # the rollout finishes only when the test says so

    with ThreadPoolExecutor(1) as pool:
        deploying = pool.submit(k8s.deploy, app("good"))
        k8s.emulator.wait_until(lambda: k8s.emulator.watching() == 3)
        assert k8s.emulator.break_watches() == 3
        k8s.emulator.wait_until(lambda: len(resumed(k8s)) == 3 and k8s.emulator.watching() == 3)
        k8s.finish_rollout()
        result = deploying.result()

    assert result.outcome is Outcome.DEPLOYED
    watches = [c for c in k8s.emulator.calls if c.query.get("watch")]
    assert len(watches) >= 6
    assert resumed(k8s)  # resumed where they broke off


def resumed(k8s) -> list:
    """The watch requests that carry a resourceVersion: resumptions, not first openings."""
    return [c for c in k8s.emulator.calls if c.query.get("watch") and c.query.get("resourceVersion")]


def test_a_watch_that_cannot_be_opened_falls_back_to_polling(k8s):
    k8s.controller.behaviour = emu.STUCK  # the rollout finishes only when the test says so
    broken = k8s.emulator.fail("GET", r"deployments\?.*watch=true", 500, times=2)

    with ThreadPoolExecutor(1) as pool:
        deploying = pool.submit(k8s.deploy, app("good"))
        # the Deployment's watch opens (the third) only after both attempts have failed
        k8s.emulator.wait_until(lambda: k8s.emulator.watching() == 3)
        k8s.finish_rollout()
        result = deploying.result()

    assert result.outcome is Outcome.DEPLOYED and broken.times == 0
    lists = [c for c in k8s.emulator.calls_to("GET", "deployments$") if not c.query.get("watch")]
    assert len(lists) >= 2  # one poll per failed watch


def test_a_deploy_waits_for_another_deploy_of_the_same_app_and_never_interleaves(k8s):
    k8s.controller.behaviour = emu.SLOW
    k8s.controller.delay = 0.3

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(k8s.deploy, app("good"))
        k8s.emulator.wait_until(k8s.lock_holder)
        second = pool.submit(k8s.deploy, app("v2"))
        results = first.result(), second.result()

    assert [r.outcome for r in results] == [Outcome.DEPLOYED, Outcome.DEPLOYED]
    assert [r.revision for r in results] == ["1", "2"]
    applies = [c.path.rsplit("/", 1)[1] for c in k8s.emulator.calls_to("PATCH", "deployments/giphy")]
    assert applies == ["giphy", "giphy"]
    first_done = k8s.emulator.calls_to("PUT", "skytrain-release-giphy")[0].at
    assert k8s.emulator.calls_to("PATCH", "deployments/giphy")[1].at > first_done


def test_a_deploy_refuses_when_the_lock_stays_held_and_names_the_holder(k8s):
    k8s.hold_lock("alice@jenkins-7 pid 42")

    result = k8s.deploy(app("good"), timeout_seconds=0.3)

    assert result.outcome is Outcome.REFUSED and not result.sent
    assert "held by alice@jenkins-7 pid 42" in result.messages[0]
    assert "--force" in result.messages[0]
    assert k8s.get("Deployment", "giphy") is None  # nothing applied
    assert k8s.lock_holder() == "alice@jenkins-7 pid 42"

    forced = k8s.deploy(app("good"), force=True)
    assert forced.outcome is Outcome.DEPLOYED


def test_an_expired_lock_of_a_dead_deploy_is_taken_over(k8s):
    k8s.hold_lock("crashed", renewed_ago=datetime.timedelta(minutes=5))

    assert k8s.deploy(app("good")).outcome is Outcome.DEPLOYED
    assert k8s.lock_holder() is None


def test_several_apps_deploy_concurrently_in_one_process(k8s):
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(k8s.deploy, [app("good", "giphy"), app("good", "media")]))

    assert [r.outcome for r in results] == [Outcome.DEPLOYED, Outcome.DEPLOYED]
    assert k8s.image("media") == "registry.example.com/media:good"


def test_a_gate_the_server_refuses_to_show_stops_with_the_refusal_not_a_timeout(k8s):
    k8s.controller.behaviour = emu.STUCK  # the rollout never passes: only the refusal ends the gate
    k8s.emulator.fail("GET", "/pods", 403, times=100)

    result = k8s.deploy(app("good"), timeout_seconds=30)

    assert result.outcome is Outcome.FAILED and not result.gate.timed_out
    assert "the gate could not watch the rollout" in result.gate.summary
    assert "the Kubernetes API answered 403" in result.gate.summary
    assert k8s.lock_holder() is None


def test_the_holder_renews_its_lock_while_it_works(k8s):
    from skytrain.backends.kubernetes.client import Kube, api_client_for
    from skytrain.backends.kubernetes.history import History
    from skytrain.backends.kubernetes.lock import RENEWED, HistoryLock

    lock = HistoryLock(Kube(api_client_for("staging")), app("good"), duration=1)
    lock.read(wait_seconds=0, force=False)
    lock.write(History([]), hold=True)
    renewed = lambda: k8s.get("ConfigMap", "skytrain-release-giphy")["metadata"]["annotations"][RENEWED]  # noqa: E731
    first = renewed()
    assert k8s.emulator.wait_until(lambda: renewed() != first)
    lock.release()

    assert k8s.lock_holder() is None


def test_the_api_server_killed_mid_gate_ends_in_an_outcome_with_the_lock_failure_after_it(
    tmp_path, monkeypatch
):
    """Nothing raises past the lifecycle: the gate times out, the rollback cannot reach the
    server, and the lock that cannot be released is said last, after the outcome."""
    from skytrain import lifecycle
    from skytrain.backends.base import DeployOptions
    from skytrain.backends.kubernetes.backend import KubernetesBackend
    from skytrain.backends.kubernetes.client import Kube, RetryPolicy, api_client_for
    from skytrain.emulators.kubernetes_controllers import cluster
    from skytrain.progress import NullReporter
    from skytrain.schedulers import render

    with contextlib.ExitStack() as running:
        emulator, controller, kubeconfig = running.enter_context(cluster(tmp_path))
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        backend = KubernetesBackend(
            Kube(api_client_for("staging"), RetryPolicy(attempts=2, first_delay=0.01))
        )
        options = DeployOptions(timeout_seconds=2)
        assert lifecycle.deploy(
            backend, app("good"), render(app("good"), "kubernetes"), options, NullReporter()
        ).ok
        controller.by_image = {"slowpoke": emu.STUCK}
        with ThreadPoolExecutor(1) as pool:
            deploying = pool.submit(
                lifecycle.deploy,
                backend,
                app("slowpoke"),
                render(app("slowpoke"), "kubernetes"),
                options,
                NullReporter(),
            )
            emulator.wait_until(lambda: emulator.watching() == 3)
            running.close()  # the API server goes away in the middle of the gate
            result = deploying.result()

    assert result.outcome is Outcome.ROLLBACK_FAILED and result.gate.timed_out
    assert any(
        m.startswith("could not roll back to revision 1: could not reach the Kubernetes API")
        for m in result.messages
    )
    assert result.running.startswith("unknown: could not reach the Kubernetes API")
    assert result.messages[-1].startswith(
        "the deploy lock could not be released (could not reach the Kubernetes API"
    )
    assert result.messages[-1].endswith("it expires by itself")
