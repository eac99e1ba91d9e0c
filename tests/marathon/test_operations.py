"""Rollback, scale, status and live objects through the backend, against the emulator."""

from __future__ import annotations

from marathon_helpers import deploy, rollback, scale, write_environments

from skytrain import lifecycle
from skytrain.backends.base import Outcome
from skytrain.backends.marathon.backend import MarathonBackend
from skytrain.backends.marathon.client import MarathonClient
from skytrain.backends.marathon.gate import Gate
from skytrain.config import load_service
from skytrain.emulators.marathon import Behaviour, MarathonEmulator


def test_rollback_restores_the_previous_config(emulator, service, backend, reporter, image):
    first = deploy(backend, service(tag="1"), reporter)
    deploy(backend, service(tag="2"), reporter)
    result = rollback(backend, service(tag="2"), None, reporter)
    assert result.outcome == Outcome.DEPLOYED and result.gate.passed
    assert f"restored revision {first.revision} as revision {result.revision}" in result.messages
    live = emulator.app("/shop")
    assert live["container"]["docker"]["image"] == image("1")
    assert (live["tasksHealthy"], live["deployments"]) == (2, [])
    assert all(t["version"] == result.revision for t in live["tasks"])


def test_rollback_skips_scale_only_versions(emulator, service, backend, reporter, image):
    deploy(backend, service(tag="1"), reporter)
    deploy(backend, service(tag="2"), reporter)
    scale(backend, service(tag="2"), 3, reporter)
    result = rollback(backend, service(tag="2"), None, reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("1")


def test_rollback_to_a_given_version(emulator, service, backend, reporter, image):
    first = deploy(backend, service(tag="1"), reporter)
    deploy(backend, service(tag="2"), reporter)
    deploy(backend, service(tag="3"), reporter)
    result = rollback(backend, service(tag="3"), first.revision, reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("1")


def test_rollback_to_an_unknown_version_says_which_exist(emulator, service, backend, reporter, image):
    first = deploy(backend, service(tag="1"), reporter)
    result = rollback(backend, service(), "2001-01-01T00:00:00.000Z", reporter)
    assert result.outcome == Outcome.REFUSED and result.bad_input and not result.sent
    assert result.messages == [
        f"shop has no revision 2001-01-01T00:00:00.000Z in staging on marathon; recorded: {first.revision}; "
        "nothing was changed"
    ]
    assert emulator.app("/shop")["version"] == first.revision


def test_a_rollback_is_gated_too(emulator, service, backend, reporter, image):
    deploy(backend, service(tag="1"), reporter)
    deploy(backend, service(tag="2"), reporter)
    emulator.behave(image("1"), Behaviour.crashing(0.01))
    result = rollback(backend, service(tag="2"), None, reporter)
    assert result.outcome == Outcome.FAILED
    assert "keep failing" in result.gate.failures[0].reason


def test_rollback_of_a_missing_app(service, backend, reporter):
    result = rollback(backend, service(), None, reporter)
    assert (result.outcome, result.bad_input) == (Outcome.REFUSED, True)
    assert result.messages == [
        "shop has no earlier revision to roll back to in staging on marathon; recorded: none; nothing was changed"
    ]


def test_scale_up_and_down_is_gated_and_keeps_the_config(emulator, service, backend, reporter):
    deployed = deploy(backend, service(), reporter)
    config_change = emulator.app("/shop")["versionInfo"]["lastConfigChangeAt"]
    up = scale(backend, service(), 4, reporter)
    assert up.outcome == Outcome.DEPLOYED and up.gate.summary == "4 of 4 replicas healthy"
    assert "applied scale from 2 replicas to 4 replicas" in up.messages
    assert emulator.app("/shop")["tasksHealthy"] == 4
    down = scale(backend, service(), 0, reporter)
    assert down.outcome == Outcome.DEPLOYED and down.gate.passed
    live = emulator.app("/shop")
    assert (live["instances"], live["tasks"]) == (0, [])
    assert live["versionInfo"]["lastConfigChangeAt"] == config_change
    assert deployed.revision in [h.revision for h in lifecycle.status(backend, service()).history]


def test_scale_up_that_never_gets_healthy_times_out(emulator, service, backend, reporter, image):
    deploy(backend, service(tag="1"), reporter)
    emulator.behave(image("1"), Behaviour.stalled())
    result = scale(backend, service(tag="1"), 3, reporter, timeout_seconds=0.3)
    assert result.outcome == Outcome.TIMED_OUT
    assert "1 staged of 3 wanted" in result.gate.failures[0].evidence[1]


def test_scale_of_a_missing_app(service, backend, reporter):
    result = scale(backend, service(), 2, reporter)
    assert result.messages == [
        "shop does not run in staging on marathon: deploy it first; nothing was changed"
    ]


def test_status_reports_health_and_history(emulator, service, backend, reporter, image):
    assert lifecycle.status(backend, service()).exists is False
    first = deploy(backend, service(tag="1"), reporter)
    status = lifecycle.status(backend, service())
    assert (status.exists, status.healthy, status.revision) == (True, True, first.revision)
    assert status.objects[0].summary == "2 of 2 replicas healthy"
    emulator.behave(image("2"), Behaviour.stalled())
    deploy(backend, service(tag="2"), reporter, wait=False)
    status = lifecycle.status(backend, service())
    assert not status.healthy
    assert "in progress" in status.objects[0].summary
    assert len(status.history) == 2


def test_live_objects_are_the_definitions_without_read_only_keys(emulator, service, backend, reporter):
    assert backend.live_objects([service()]) == {"shop": []}
    deploy(backend, service(), reporter)
    (live,) = backend.live_objects([service()])["shop"]
    assert live["id"] == "/shop" and live["instances"] == 2
    assert not {"tasks", "version", "deployments", "tasksHealthy"} & set(live)


def test_marathon_1_4_gets_the_1_4_form_and_stays_unchanged(tmp_path, service, reporter):
    service()
    with MarathonEmulator(flavour="1.4", behaviour=Behaviour.healthy(0.02)) as legacy:
        environments = write_environments(tmp_path / "legacy.yml", legacy.url, version="1.4")
        _, apps = load_service(tmp_path / "shop", str(environments), ["staging"], environ={})
        client = MarathonClient(legacy.url, environ={}, timeout=1)
        backend = MarathonBackend(client, Gate(client, poll_seconds=0.02))
        first = deploy(backend, apps["staging"], reporter)
        again = deploy(backend, apps["staging"], reporter)
        client.close()
        assert (first.outcome, again.outcome) == (Outcome.DEPLOYED, Outcome.UNCHANGED)
        assert legacy.app("/shop")["container"]["docker"]["network"] == "BRIDGE"
