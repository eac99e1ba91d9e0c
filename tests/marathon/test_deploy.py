"""The backend deploys, gates and rolls back against the emulator over HTTP."""

from __future__ import annotations

import dataclasses
import threading

import requests
from marathon_helpers import deploy

from skytrain.backends.base import Outcome
from skytrain.backends.marathon.backend import MarathonBackend
from skytrain.backends.marathon.client import MarathonClient
from skytrain.backends.marathon.gate import Gate
from skytrain.config.environments import MarathonCluster
from skytrain.emulators.marathon import Behaviour, MarathonEmulator
from skytrain.render.hashing import HASH_LABEL_MARATHON
from skytrain.schedulers import render


def live_hash(emulator) -> str:
    return emulator.app("/shop")["labels"][HASH_LABEL_MARATHON]


def test_a_healthy_deploy_passes_its_gate(emulator, service, backend, reporter):
    app = service()
    result = deploy(backend, app, reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert result.gate.passed and result.gate.summary == "2 of 2 replicas healthy"
    assert result.messages[0].startswith("deployment ") and result.messages[0].endswith(" started")
    live = emulator.app("/shop")
    assert live["version"] == result.revision
    assert (live["tasksHealthy"], live["tasksRunning"], live["deployments"]) == (2, 2, [])
    assert live["labels"][HASH_LABEL_MARATHON] == render(app, "marathon")[0]["labels"][HASH_LABEL_MARATHON]
    assert reporter.states[0] == "applying" and reporter.states[-2:] == ["healthy", "deployed"]
    assert emulator.requests.count(("PUT", "/v2/apps/shop")) == 1


def test_an_app_without_health_checks_is_gated_on_running_tasks(emulator, service, backend, reporter):
    result = deploy(backend, service(checks=False), reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert result.gate.summary == "2 of 2 replicas running (no health checks: gated on running tasks)"
    assert emulator.app("/shop")["tasksHealthy"] == 0


def test_the_same_config_again_is_unchanged_and_sends_nothing(emulator, service, backend, reporter):
    app = service()
    first = deploy(backend, app, reporter)
    again = deploy(backend, app, reporter)
    assert again.outcome == Outcome.UNCHANGED and again.gate.passed
    assert again.revision == first.revision
    assert emulator.requests.count(("PUT", "/v2/apps/shop")) == 1
    scaled = deploy(backend, service(replicas=3), reporter)
    assert scaled.outcome == Outcome.DEPLOYED
    assert emulator.app("/shop")["instances"] == 3


def test_slow_start_inside_the_grace_period_passes(emulator, service, backend, reporter, image):
    emulator.behave(image("slow"), Behaviour.slow(0.3, check_every=0.02))
    result = deploy(backend, service(tag="slow", grace=60), reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert result.gate.seconds >= 0.25
    assert any("healthy" in detail for _, _, detail in reporter.updates)
    assert emulator.app("/shop")["tasksUnhealthy"] == 0


def test_failing_health_checks_fail_fast_and_roll_back(emulator, service, backend, reporter, image):
    good = deploy(backend, service(tag="1"), reporter)
    before = live_hash(emulator)
    emulator.behave(image("sick"), Behaviour.unhealthy(check_every=0.01))
    result = deploy(backend, service(tag="sick", grace=0, timeout=30), reporter)
    assert result.outcome == Outcome.ROLLED_BACK
    assert not result.gate.passed and not result.gate.timed_out
    assert result.gate.seconds < 5
    failure = result.gate.failures[0]
    assert failure.reason.startswith(
        "tasks of the new version keep being killed for failing their health checks"
    )
    assert any("Task was killed since health check failed" in line for line in failure.evidence)
    assert (
        f"rolled back to revision {good.revision} (recorded as revision {result.revision})" in result.messages
    )
    assert result.rollback_gate.passed
    live = emulator.app("/shop")
    assert live_hash(emulator) == before
    assert live["container"]["docker"]["image"] == image("1")
    assert live["tasksHealthy"] == 2 and live["deployments"] == []
    assert result.previous_revision == good.revision


def test_repeatedly_crashing_tasks_fail_fast_with_the_last_failure(
    emulator, service, backend, reporter, image
):
    deploy(backend, service(tag="1"), reporter)
    emulator.behave(image("crash"), Behaviour.crashing(0.01))
    result = deploy(backend, service(tag="crash", timeout=30), reporter)
    assert result.outcome == Outcome.ROLLED_BACK
    assert result.gate.seconds < 5 and not result.gate.timed_out
    assert "keep failing" in result.gate.failures[0].reason
    assert any("Command exited with status 1" in line for line in result.gate.failures[0].evidence)
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("1")


def test_a_stalled_deployment_times_out_and_is_reverted(emulator, service, backend, reporter, image):
    deploy(backend, service(tag="1"), reporter)
    emulator.behave(image("stuck"), Behaviour.stalled())
    result = deploy(backend, service(tag="stuck"), reporter, timeout_seconds=0.4)
    assert result.outcome == Outcome.ROLLED_BACK
    assert result.gate.timed_out
    assert "within the gate timeout of 0.4s" in result.gate.failures[0].reason
    assert any("2 staged" in line for line in result.gate.failures[0].evidence)
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("1")
    assert emulator.deployments == {}


def test_no_progress_fails_before_the_timeout(emulator, service, backend, reporter, image):
    emulator.behave(image("stuck"), Behaviour.stalled())
    backend.gate = Gate(backend.client, poll_seconds=0.02, stall_seconds=0.2)
    result = deploy(backend, service(tag="stuck", timeout=30), reporter)
    assert not result.gate.timed_out and result.gate.seconds < 5
    assert "made no progress for 0.2s" in result.gate.failures[0].reason


def test_a_failed_first_deploy_is_left_in_place_and_says_so(emulator, service, backend, reporter, image):
    emulator.behave(image("crash"), Behaviour.crashing(0.01))
    result = deploy(backend, service(tag="crash"), reporter)
    assert result.outcome == Outcome.FAILED
    assert (
        "nothing to roll back to: shop did not run on marathon in staging before, so the new version is left in place"
        in result.messages
    )
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("crash")


def test_no_rollback_leaves_the_failed_version(emulator, service, backend, reporter, image):
    deploy(backend, service(tag="1"), reporter)
    emulator.behave(image("crash"), Behaviour.crashing(0.01))
    result = deploy(backend, service(tag="crash"), reporter, rollback=False)
    assert result.outcome == Outcome.FAILED
    assert "left in place for debugging (--no-rollback)" in result.messages
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("crash")


def test_locked_by_another_deployment_waits_for_it(emulator, service, backend, reporter, image):
    emulator.behave(image("other"), Behaviour.stalled())
    deploy(backend, service(tag="other"), reporter, wait=False)
    (other,) = emulator.deployments
    threading.Timer(0.2, emulator.finish_deployment, [other]).start()
    result = deploy(backend, service(tag="2"), reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert any(m.startswith("waited ") and other in m for m in result.messages)
    assert any(f"waiting for deployment {other}" in n for n in reporter.notes)
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("2")


def test_locked_without_force_gives_up_at_the_timeout_and_changes_nothing(
    emulator, service, backend, reporter, image
):
    emulator.behave(image("other"), Behaviour.stalled())
    deploy(backend, service(tag="other"), reporter, wait=False)
    (other,) = emulator.deployments
    result = deploy(backend, service(tag="2"), reporter, timeout_seconds=0.2)
    assert result.outcome == Outcome.REFUSED
    assert f"deployment {other} was still running after 0.2s" in result.messages[0]
    assert "pass --force to supersede it" in result.messages[0]
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("other")
    assert list(emulator.deployments) == [other]


def test_force_supersedes_the_deployment_in_progress(emulator, service, backend, reporter, image):
    emulator.behave(image("other"), Behaviour.stalled())
    deploy(backend, service(tag="other"), reporter, wait=False)
    (other,) = emulator.deployments
    result = deploy(backend, service(tag="2"), reporter, force=True)
    assert result.outcome == Outcome.DEPLOYED
    assert f"superseded deployment {other} in progress (--force)" in result.messages
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("2")
    assert emulator.events[-2] == {**emulator.events[-2], "eventType": "deployment_failed", "id": other}


def test_a_refusal_points_at_the_config_line(emulator, service, backend, reporter):
    app = service(cpu="0.0001")
    result = deploy(backend, app, reporter)
    assert result.outcome == Outcome.REFUSED and result.sent
    assert result.messages[0].endswith(
        "application.yml:7:8: error: resources.cpu: Marathon refused the app at /cpus: "
        "got 0.0001, expected 0.001 or more"
    )
    assert result.messages[1].endswith("Marathon refused it (HTTP 422)")
    assert result.messages[2] == "nothing of it was applied"
    assert emulator.app("/shop") is None


def test_server_errors_on_reads_are_retried(emulator, service, backend, reporter):
    emulator.inject(status=500, count=2, method="GET")
    emulator.inject(status=503, count=1, method="PUT")
    result = deploy(backend, service(), reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert emulator.requests.count(("PUT", "/v2/apps/shop")) == 2
    assert emulator.app("/shop")["tasksHealthy"] == 2


def test_a_500_on_the_put_is_not_resent(emulator, service, backend, reporter):
    emulator.inject(status=500, count=1, method="PUT")
    result = deploy(backend, service(), reporter)
    assert result.outcome == Outcome.REFUSED
    assert "failed PUT /v2/apps/shop with HTTP 500" in result.messages[0]
    assert emulator.requests.count(("PUT", "/v2/apps/shop")) == 1
    assert emulator.app("/shop") is None


def test_a_put_whose_answer_times_out_is_followed_not_repeated(emulator, service, backend, reporter):
    emulator.inject(status=None, count=1, method="PUT", delay=0.8, after_processing=True)
    result = deploy(backend, service(), reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert emulator.requests.count(("PUT", "/v2/apps/shop")) == 1
    assert emulator.app("/shop")["tasksHealthy"] == 2


def test_a_read_timeout_is_retried(emulator, service, backend, reporter):
    emulator.inject(status=None, count=1, method="GET", delay=0.8)
    result = deploy(backend, service(), reporter)
    assert result.outcome == Outcome.DEPLOYED


def test_marathon_down_is_a_clear_failure_without_the_url_password(service, reporter):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = MarathonClient(f"http://ops:pa55word@127.0.0.1:{port}", environ={}, backoff=0.01)
    result = deploy(MarathonBackend(client), service(), reporter)
    assert result.outcome == Outcome.REFUSED and not result.sent
    assert result.messages == [
        f"Marathon at http://127.0.0.1:{port} did not answer GET /v2/apps/shop: connection refused; "
        "nothing was changed"
    ]


def test_the_emulator_runs_standalone_for_the_demo():
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "skytrain.emulators.marathon", "--healthy-after", "0.01"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().split(" on ")[1].strip()
        assert requests.get(f"{url}/v2/apps", timeout=5).json() == {"apps": []}
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_throttling_is_retried_after_the_wait_marathon_asks_for(emulator, service, backend, reporter):
    """A 429 (from a proxy in front of Marathon) means nothing was done: the PUT is sent again,
    after the Retry-After it names."""
    emulator.inject(status=429, count=2, method="PUT", headers={"Retry-After": "0.2"})

    result = deploy(backend, service(), reporter)

    assert result.outcome == Outcome.DEPLOYED
    puts = [c.at for c in emulator.calls if (c.method, c.path) == ("PUT", "/v2/apps/shop")]
    assert len(puts) == 3
    assert puts[1] - puts[0] >= 0.2 and puts[2] - puts[1] >= 0.2


def test_without_version_info_old_tasks_of_a_cancelled_deployment_never_pass_for_new_ones(
    service, reporter, image
):
    """A Marathon whose answers lack versionInfo: the gate compares the tasks' version with the
    deployment's own. Someone force-cancels our deployment; the old tasks, healthy, still run:
    that is not the new version passing its gate."""
    with MarathonEmulator(behaviour=Behaviour.healthy(0.02), version_info=False) as bare:
        client = MarathonClient(bare.url, environ={}, timeout=0.5, connect_timeout=0.5, backoff=0.01)
        backend = MarathonBackend(client, Gate(client, poll_seconds=0.02))
        app = service(tag="1")
        on_bare = dataclasses.replace(
            app, environment=dataclasses.replace(app.environment, marathon=MarathonCluster(bare.url))
        )
        assert deploy(backend, on_bare, reporter).outcome == Outcome.DEPLOYED
        bare.behave(image("2"), Behaviour.stalled())
        new = service(tag="2")
        new = dataclasses.replace(new, environment=on_bare.environment)

        def cancel_once_gating() -> None:
            bare.wait_until(lambda: bare.deployments and len(bare.app("/shop")["tasks"]) == 4)
            (deployment,) = bare.deployments
            requests.delete(f"{bare.url}/v2/deployments/{deployment}", params={"force": "true"}, timeout=5)

        canceller = threading.Thread(target=cancel_once_gating)
        canceller.start()
        result = deploy(backend, new, reporter, timeout_seconds=1)
        canceller.join()
        client.close()

    assert result.outcome == Outcome.ROLLED_BACK and result.gate.timed_out
    # the old tasks are healthy, but they are not the new version: none of it counts as healthy
    assert result.gate.summary == (
        "not healthy after 1s: 0 of 2 replicas healthy, 2 replicas of the old version still running"
    )
    assert "versionInfo" not in bare.app("/shop")
