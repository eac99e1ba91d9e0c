"""Each kind of change is reported at the right JSON pointer, with the right restart flag."""

from __future__ import annotations

import pytest
from diff_helpers import changes_by_path, rendered

from skytrain.diff import Action, diff_live

DEPLOYMENT = "Deployment shop/hello"
CONFIGMAP = "ConfigMap shop/hello-env"
APP = "App /hello"
CONTAINER = "/spec/template/spec/containers/0"


def diff_after(service, target: str, edit, env: str = "production"):
    """Live = what the files render now; then `edit` the files and diff against that."""
    live = rendered(service.load(env), target)
    edit(service)
    [result] = diff_live([service.load(env)], target, {"hello": live})
    return result


def only_real(changes: dict) -> dict:
    """Leave out the config-hash changes that accompany every restarting change, and the new
    name of the content-named env ConfigMap (and the pod template's reference to it) that
    accompanies every env change."""
    return {
        key: c
        for key, c in changes.items()
        if not any(noise in key[1] for noise in ("config-hash", "CONFIG_HASH", "configMapRef/name"))
        and key != (CONFIGMAP, "/metadata/name")
    }


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda s: s.edit("application.yml", "hello:1.2.3", "hello:1.3.0"),
            {
                (DEPLOYMENT, f"{CONTAINER}/image"): (
                    "registry.example.com/hello:1.2.3",
                    "registry.example.com/hello:1.3.0",
                )
            },
        ),
        (
            lambda s: s.edit("application.yml", "LOG_LEVEL: info", "LOG_LEVEL: debug"),
            {(CONFIGMAP, "/data/LOG_LEVEL"): ("info", "debug")},
        ),
        (
            lambda s: s.edit("application.yml", "cpu: 1\n", "cpu: 0.5\n"),
            {(DEPLOYMENT, f"{CONTAINER}/resources/requests/cpu"): ("1", "500m")},
        ),
        (
            lambda s: s.edit(
                "application.yml", 'args: ["--port", "8080"]', 'args: ["--port", "8080", "--verbose"]'
            ),
            {(DEPLOYMENT, f"{CONTAINER}/args/2"): (None, "--verbose")},
        ),
        (
            lambda s: s.edit("application.yml", "path: /health", "path: /healthz"),
            {
                (DEPLOYMENT, f"{CONTAINER}/{probe}/httpGet/path"): ("/health", "/healthz")
                for probe in ("livenessProbe", "readinessProbe", "startupProbe")
            },
        ),
    ],
    ids=["image", "env", "resources", "args", "health-check"],
)
def test_pod_template_and_env_changes_roll_pods(service, edit, expected):
    result = diff_after(service, "kubernetes", edit)
    changes = only_real(changes_by_path(result))
    assert {key: (c.old, c.new) for key, c in changes.items()} == expected
    assert all(c.restarts for c in changes.values())
    assert result.restarts


def test_a_replica_change_restarts_nothing(service):
    result = diff_after(service, "kubernetes", lambda s: s.write("production.yml", "replicas: 5\n"))
    [change] = changes_by_path(result).values()
    assert (change.path, change.old, change.new, change.restarts) == ("/spec/replicas", 3, 5, False)
    assert not result.restarts
    assert [o.action for o in result.objects] == [Action.UNCHANGED, Action.UNCHANGED, Action.CHANGED]


def test_metadata_changes_restart_nothing(service):
    result = diff_after(
        service, "kubernetes", lambda s: s.edit("application.yml", "sam@example.com", "kim@example.com")
    )
    [change] = changes_by_path(result).values()
    assert change.path == "/metadata/annotations/skytrain.io~1maintainers"
    assert (change.old, change.new, change.restarts) == ("sam@example.com", "kim@example.com", False)


@pytest.mark.parametrize(
    ("edit", "path", "old", "new"),
    [
        (
            lambda s: s.edit("application.yml", "hello:1.2.3", "hello:1.3.0"),
            "/container/docker/image",
            "registry.example.com/hello:1.2.3",
            "registry.example.com/hello:1.3.0",
        ),
        (
            lambda s: s.edit("application.yml", "LOG_LEVEL: info", "LOG_LEVEL: debug"),
            "/env/LOG_LEVEL",
            "info",
            "debug",
        ),
        (lambda s: s.edit("application.yml", "memory: 1Gi", "memory: 2Gi"), "/mem", 1024, 2048),
        (
            lambda s: s.edit("application.yml", "path: /health", "path: /healthz"),
            "/healthChecks/0/path",
            "/health",
            "/healthz",
        ),
    ],
    ids=["image", "env", "memory", "health-check"],
)
def test_every_marathon_field_but_instances_restarts_tasks(service, edit, path, old, new):
    result = diff_after(service, "marathon", edit)
    changes = only_real(changes_by_path(result))
    assert {key: (c.old, c.new, c.restarts) for key, c in changes.items()} == {(APP, path): (old, new, True)}


def test_marathon_instances_restart_nothing(service):
    result = diff_after(service, "marathon", lambda s: s.write("production.yml", "replicas: 6\n"))
    [change] = changes_by_path(result).values()
    assert (change.path, change.old, change.new, change.restarts) == ("/instances", 3, 6, False)


def test_objects_the_config_no_longer_renders_are_removed(service):
    def drop_env(s):
        s.edit("application.yml", "env:\n  LOG_LEVEL: info\n", "")

    result = diff_after(service, "kubernetes", drop_env)
    actions = {o.title: o.action for o in result.objects}
    assert actions == {
        CONFIGMAP: Action.REMOVED,
        "Service shop/hello": Action.UNCHANGED,
        DEPLOYMENT: Action.CHANGED,
    }
    removed = next(o for o in result.objects if o.action == Action.REMOVED)
    assert removed.desired is None and removed.live["data"] == {"LOG_LEVEL": "info"}
    assert changes_by_path(result)[(DEPLOYMENT, f"{CONTAINER}/envFrom")].op == "remove"


def test_an_owned_object_left_over_in_the_cluster_is_removed_and_a_new_one_added(service):
    app = service.load("production")
    desired = rendered(app, "kubernetes")
    leftover = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "hello", "namespace": "shop"},
    }
    [result] = diff_live([app], "kubernetes", {"hello": [leftover, *desired[1:]]})
    actions = {o.title: o.action for o in result.objects}
    assert actions[CONFIGMAP] == Action.ADDED
    assert actions["ServiceAccount shop/hello"] == Action.REMOVED
    assert result.summary() == {"added": 1, "changed": 0, "removed": 1, "unchanged": 2}


def test_nothing_running_means_everything_is_added(service):
    app = service.load("production")
    [result] = diff_live([app], "kubernetes", {})
    assert result.summary() == {"added": 3, "changed": 0, "removed": 0, "unchanged": 0}
    assert not result.restarts


def test_a_kubernetes_object_without_a_kind_is_a_clear_error(service):
    from skytrain.errors import OperationFailed

    app = service.load("production")
    with pytest.raises(OperationFailed, match="without a kind"):
        diff_live([app], "kubernetes", {"hello": [{"metadata": {"name": "hello"}}]})


def test_objects_a_controller_made_are_not_reported_removed(service):
    app = service.load("production")
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "hello-7d9f8b6c5d",
            "namespace": "shop",
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello", "controller": True}
            ],
        },
    }
    [result] = diff_live([app], "kubernetes", {"hello": [*rendered(app, "kubernetes"), replica_set]})
    assert result.summary() == {"added": 0, "changed": 0, "removed": 0, "unchanged": 3}


def test_an_image_bump_changes_the_deployment_alone(service):
    """The config hash sits on the pod template only: the Service and the env ConfigMap, whose
    content did not change, show no change (and a deploy writes only the Deployment)."""
    from skytrain.diff.format_text import format_text

    result = diff_after(
        service, "kubernetes", lambda s: s.edit("application.yml", "hello:1.2.3", "hello:1.3.0")
    )
    assert {o.title: o.action for o in result.objects} == {
        CONFIGMAP: Action.UNCHANGED,
        "Service shop/hello": Action.UNCHANGED,
        DEPLOYMENT: Action.CHANGED,
    }
    text = format_text([result])
    assert "~ Deployment shop/hello (changed, rolls pods)" in text
    assert "Service shop/hello" not in text


def test_an_env_change_is_the_same_configmap_renamed_and_the_pods_roll(service):
    result = diff_after(
        service, "kubernetes", lambda s: s.edit("application.yml", "LOG_LEVEL: info", "LOG_LEVEL: debug")
    )
    configmap = next(o for o in result.objects if o.kind == "ConfigMap")
    renamed = changes_by_path(result)[(CONFIGMAP, "/metadata/name")]
    assert configmap.action is Action.CHANGED and configmap.name == "hello-env"
    assert (
        renamed.old.startswith("hello-env-") and renamed.new.startswith("hello-env-") and not renamed.restarts
    )
    reference = changes_by_path(result)[(DEPLOYMENT, f"{CONTAINER}/envFrom/0/configMapRef/name")]
    assert (reference.old, reference.new, reference.restarts) == (renamed.old, renamed.new, True)
