"""Rollback, scale, status and live objects through the backend, against the emulator."""

from __future__ import annotations

from marathon_helpers import deploy, write_environments

from skytrain.backends.base import DeployOptions, Outcome
from skytrain.backends.marathon.backend import MarathonBackend
from skytrain.backends.marathon.client import MarathonClient
from skytrain.backends.marathon.gate import Gate
from skytrain.config import load_service
from skytrain.emulators.marathon import Behaviour, MarathonEmulator


def test_rollback_restores_the_previous_config(emulator, service, backend, reporter, image):
    first = deploy(backend, service(tag="1"), reporter)
    deploy(backend, service(tag="2"), reporter)
    result = backend.rollback(service(tag="2"), None, DeployOptions(), reporter)
    assert result.outcome == Outcome.DEPLOYED and result.gate.passed
    assert f"restored the config of version {first.revision}" in result.messages
    live = emulator.app("/shop")
    assert live["container"]["docker"]["image"] == image("1")
    assert (live["tasksHealthy"], live["deployments"]) == (2, [])
    assert all(t["version"] == result.revision for t in live["tasks"])


def test_rollback_skips_scale_only_versions(emulator, service, backend, reporter, image):
    deploy(backend, service(tag="1"), reporter)
    deploy(backend, service(tag="2"), reporter)
    backend.scale(service(tag="2"), 3, DeployOptions(), reporter)
    result = backend.rollback(service(tag="2"), None, DeployOptions(), reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("1")


def test_rollback_to_a_given_version(emulator, service, backend, reporter, image):
    first = deploy(backend, service(tag="1"), reporter)
    deploy(backend, service(tag="2"), reporter)
    deploy(backend, service(tag="3"), reporter)
    result = backend.rollback(service(tag="3"), first.revision, DeployOptions(), reporter)
    assert result.outcome == Outcome.DEPLOYED
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("1")


def test_rollback_to_an_unknown_version_says_which_exist(emulator, service, backend, reporter, image):
    first = deploy(backend, service(tag="1"), reporter)
    result = backend.rollback(service(), "2001-01-01T00:00:00.000Z", DeployOptions(), reporter)
    assert result.outcome == Outcome.FAILED
    assert result.messages == [
        f"/shop has no recorded version 2001-01-01T00:00:00.000Z; recorded: {first.revision}"
    ]
    assert emulator.app("/shop")["version"] == first.revision


def test_a_rollback_is_gated_too(emulator, service, backend, reporter, image):
    deploy(backend, service(tag="1"), reporter)
    deploy(backend, service(tag="2"), reporter)
    emulator.behave(image("1"), Behaviour.crashing(0.01))
    result = backend.rollback(service(tag="2"), None, DeployOptions(), reporter)
    assert result.outcome == Outcome.FAILED
    assert "keep failing" in result.gate.failures[0].reason


def test_rollback_of_a_missing_app(service, backend, reporter):
    result = backend.rollback(service(), None, DeployOptions(), reporter)
    assert (result.outcome, result.messages) == (Outcome.FAILED, ["there is no app /shop to roll back"])


def test_scale_up_and_down_is_gated_and_keeps_the_config(emulator, service, backend, reporter):
    deployed = deploy(backend, service(), reporter)
    config_change = emulator.app("/shop")["versionInfo"]["lastConfigChangeAt"]
    up = backend.scale(service(), 4, DeployOptions(), reporter)
    assert up.outcome == Outcome.DEPLOYED and up.gate.summary == "4/4 healthy"
    assert "scaled from 2 to 4 instances" in up.messages
    assert emulator.app("/shop")["tasksHealthy"] == 4
    down = backend.scale(service(), 0, DeployOptions(), reporter)
    assert down.outcome == Outcome.DEPLOYED and down.gate.passed
    live = emulator.app("/shop")
    assert (live["instances"], live["tasks"]) == (0, [])
    assert live["versionInfo"]["lastConfigChangeAt"] == config_change
    assert deployed.revision in [h["version"] for h in backend.status(service()).history]


def test_scale_up_that_never_gets_healthy_times_out(emulator, service, backend, reporter, image):
    deploy(backend, service(tag="1"), reporter)
    emulator.behave(image("1"), Behaviour.stalled())
    result = backend.scale(service(tag="1"), 3, DeployOptions(timeout_seconds=0.3), reporter)
    assert result.outcome == Outcome.TIMED_OUT
    assert "1 staged of 3 wanted" in result.gate.failures[0].evidence[1]


def test_scale_of_a_missing_app(service, backend, reporter):
    result = backend.scale(service(), 2, DeployOptions(), reporter)
    assert result.messages == ["there is no app /shop to scale; deploy it first"]


def test_status_reports_health_and_history(emulator, service, backend, reporter, image):
    assert backend.status(service()).exists is False
    first = deploy(backend, service(tag="1"), reporter)
    status = backend.status(service())
    assert (status.exists, status.healthy, status.revision) == (True, True, first.revision)
    assert status.objects[0].summary == "2/2 healthy"
    emulator.behave(image("2"), Behaviour.stalled())
    deploy(backend, service(tag="2"), reporter, wait=False)
    status = backend.status(service())
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
