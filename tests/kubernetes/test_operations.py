"""rollback (previous, --to-revision, gated), status, scale and the diff's live objects."""

from __future__ import annotations

import json

from skytrain.backends.base import Outcome
from skytrain.emulators import kubernetes_controllers as emu
from tests.kubernetes.conftest import app, env_configmap


def test_rollback_restores_the_previous_revision_as_a_new_one_and_gates_it(k8s):
    k8s.deploy(app("good"))
    k8s.deploy(app("v2"))

    result = k8s.rollback()

    assert result.outcome is Outcome.DEPLOYED and result.gate.passed
    assert (result.revision, result.previous_revision) == ("3", "2")
    assert result.messages == ["restored revision 1 as revision 3"]
    assert k8s.image() == "registry.example.com/giphy:good"
    assert k8s.get("Deployment", "giphy")["metadata"]["labels"]["skytrain.io/revision"] == "3"


def test_rollback_to_a_given_revision(k8s):
    for tag in ("good", "v2", "v3"):
        k8s.deploy(app(tag))

    result = k8s.rollback("2")

    assert result.outcome is Outcome.DEPLOYED
    assert k8s.image() == "registry.example.com/giphy:v2"


def test_rollback_to_an_unknown_revision_says_what_the_history_holds(k8s):
    k8s.deploy(app("good"))
    before = len(k8s.emulator.calls)

    result = k8s.rollback("9")

    assert result.outcome is Outcome.REFUSED and result.bad_input and not result.sent
    assert result.messages == [
        "giphy has no revision 9 in staging on kubernetes; recorded: 1; nothing was changed"
    ]
    assert k8s.writes(before) == []


def test_a_rollback_whose_gate_fails_is_reported_and_not_rolled_back_again(k8s):
    k8s.deploy(app("good"))
    k8s.deploy(app("v2"))
    k8s.controller.by_image = {"good": emu.CRASH_LOOP}

    result = k8s.rollback()

    assert result.outcome is Outcome.FAILED
    assert "the rollback failed its gate; nothing further was changed" in result.messages
    assert k8s.image() == "registry.example.com/giphy:good"


def test_a_failed_deploy_whose_rollback_fails_too_is_rollback_failed(k8s):
    k8s.deploy(app("good"))
    k8s.controller.by_image = {"bad": emu.CRASH_LOOP, "good": emu.IMAGE_PULL}

    result = k8s.deploy(app("bad"))

    assert result.outcome is Outcome.ROLLBACK_FAILED
    assert not result.rollback_gate.passed
    assert "ImagePullBackOff" in result.rollback_gate.failures[0].reason


def test_status_reads_what_runs_its_health_revision_and_history(k8s):
    before = k8s.status(app("good"))
    assert (before.exists, before.healthy, before.revision) == (False, False, None)

    k8s.deploy(app("good"))
    k8s.deploy(app("v2"))
    status = k8s.status(app("v2"))

    assert (status.exists, status.healthy, status.revision) == (True, True, "2")
    assert [(o.name, o.healthy, o.summary) for o in status.objects] == [
        ("Deployment giphy", True, "2 of 2 replicas ready"),
        ("Service giphy", True, "2 ready endpoints"),
    ]
    assert status.objects[0].details["image"] == "registry.example.com/giphy:v2"
    assert [(h.revision, h.outcome) for h in status.history] == [("2", "deployed"), ("1", "deployed")]
    json.dumps(status.to_json())


def test_scale_changes_replicas_without_a_new_revision_and_gates_it(k8s):
    k8s.deploy(app("good"))

    result = k8s.scale(4)

    assert result.outcome is Outcome.DEPLOYED and result.revision == "1"
    assert k8s.get("Deployment", "giphy")["spec"]["replicas"] == 4
    assert len(k8s.emulator.list("Pod", "default", "app.kubernetes.io/name=giphy")) == 4


def test_live_objects_reads_each_kind_once_for_all_apps_and_leaves_out_the_history(k8s):
    k8s.deploy(app("good", "giphy"))
    k8s.deploy(app("good", "media"))
    before = len(k8s.emulator.calls)

    live = k8s.backend().live_objects([app("good", "giphy"), app("good", "media")])

    assert len(k8s.emulator.calls) - before == 3
    assert sorted((o["kind"], o["metadata"]["name"]) for o in live["giphy"]) == [
        ("ConfigMap", env_configmap()),
        ("Deployment", "giphy"),
        ("Service", "giphy"),
    ]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in live["media"]) == [
        ("ConfigMap", env_configmap("media")),
        ("Deployment", "media"),
        ("Service", "media"),
    ]
