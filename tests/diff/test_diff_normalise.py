"""Server-shaped answers (defaults, status, assigned values, the 1.5 form) show no diff."""

from __future__ import annotations

import copy

import pytest
from diff_helpers import changes_by_path, fixture_objects, rendered

from skytrain.diff import Action, diff_live
from skytrain.diff.normalise_kubernetes import canonical_quantity
from skytrain.diff.normalise_marathon import normalise_pair, to_modern_form
from skytrain.render.hashing import HASH_ANNOTATION, HASH_LABEL_MARATHON


def kubernetes_live(app) -> list[dict]:
    objects = {o["kind"]: o for o in rendered(app, "kubernetes")}
    config_hash = objects["Deployment"]["spec"]["template"]["metadata"]["annotations"][HASH_ANNOTATION]
    configmap = objects["ConfigMap"]["metadata"]["name"]
    return fixture_objects("kubernetes-live.yaml", HASH=config_hash, ENV_CONFIGMAP=configmap)


def marathon_live(app) -> list[dict]:
    return fixture_objects(
        "marathon-1.7-app.json", HASH=rendered(app, "marathon")[0]["labels"][HASH_LABEL_MARATHON]
    )


def test_a_deployment_as_the_api_server_returns_it_shows_no_diff(service):
    app = service.load("production")
    [result] = diff_live([app], "kubernetes", {"hello": kubernetes_live(app)})
    assert [(o.title, o.action) for o in result.objects] == [
        ("ConfigMap shop/hello-env", Action.UNCHANGED),
        ("Service shop/hello", Action.UNCHANGED),
        ("Deployment shop/hello", Action.UNCHANGED),
    ]
    assert not result.changed


def test_a_marathon_17_answer_for_an_app_put_in_the_14_form_shows_no_diff(service):
    app = service.load("staging")  # the environments file still says 1.4: skytrain renders the 1.4 form
    assert rendered(app, "marathon")[0]["container"]["docker"]["network"] == "BRIDGE"
    [result] = diff_live([app], "marathon", {"hello": marathon_live(app)})
    assert [(o.title, o.action) for o in result.objects] == [("App /hello", Action.UNCHANGED)]


def test_a_real_change_still_shows_through_the_normalisation(service):
    app = service.load("production")
    live = kubernetes_live(app)
    live[2]["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/hello:1.2.2"
    live[1]["spec"]["sessionAffinity"] = "ClientIP"
    [result] = diff_live([app], "kubernetes", {"hello": live})
    changes = changes_by_path(result)
    image = changes[("Deployment shop/hello", "/spec/template/spec/containers/0/image")]
    assert (image.old, image.new, image.restarts) == (
        "registry.example.com/hello:1.2.2",
        "registry.example.com/hello:1.2.3",
        True,
    )
    affinity = changes[("Service shop/hello", "/spec/sessionAffinity")]
    assert (affinity.old, affinity.new, affinity.restarts) == ("ClientIP", "None", False)
    assert len(changes) == 2


def test_a_marathon_answer_with_another_health_check_shows_the_change(service):
    app = service.load("staging")
    live = marathon_live(app)
    live[0]["app"]["healthChecks"][0]["path"] = "/ping"
    live[0]["app"]["instances"] = 5
    [result] = diff_live([app], "marathon", {"hello": live})
    changes = changes_by_path(result)
    assert set(changes) == {("App /hello", "/healthChecks/0/path"), ("App /hello", "/instances")}
    assert changes[("App /hello", "/healthChecks/0/path")].restarts
    assert not changes[("App /hello", "/instances")].restarts


def test_a_marathon_14_answer_keeps_the_14_form_and_drops_its_copies(service):
    app = service.load("staging")
    desired = rendered(app, "marathon")[0]
    live = copy.deepcopy(desired)
    live.update(ports=[10004], uris=[], ipAddress=None, version="2026-11-20T09:14:03.164Z", tasksRunning=2)
    live["container"]["docker"]["portMappings"][0]["servicePort"] = 10004
    live["healthChecks"][0]["delaySeconds"] = 2
    wanted, running = normalise_pair(desired, live, "1.4")
    assert wanted == running
    assert running["container"]["docker"]["network"] == "BRIDGE"


def test_the_14_form_is_translated_as_a_15_server_does():
    app = {
        "id": "/x",
        "container": {"docker": {"image": "x", "network": "BRIDGE", "portMappings": [{"containerPort": 80}]}},
        "ports": [0],
        "uris": ["https://example.com/a.tgz"],
    }
    to_modern_form(app)
    assert app["networks"] == [{"mode": "container/bridge"}]
    assert app["container"]["portMappings"] == [{"containerPort": 80}]
    assert "network" not in app["container"]["docker"]
    assert app["portDefinitions"] == [{"port": 0}]
    assert app["fetch"] == [{"uri": "https://example.com/a.tgz"}]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("1000m", "1"),
        ("500m", "500m"),
        ("0.5", "500m"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("2", "2"),
        ("0", "0"),
    ],
)
def test_quantities_are_written_the_way_the_api_server_writes_them(written, canonical):
    assert canonical_quantity(written) == canonical


def test_server_defaults_follow_the_marathon_version(service):
    desired = rendered(service.load("production"), "marathon")[0]
    live_110 = {**copy.deepcopy(desired), "maxLaunchDelaySeconds": 300}
    assert normalise_pair(desired, live_110, "1.10")[0] == normalise_pair(desired, live_110, "1.10")[1]
    wanted, running = normalise_pair(desired, live_110, "1.7")
    assert (wanted["maxLaunchDelaySeconds"], running["maxLaunchDelaySeconds"]) == (3600, 300)


def test_a_health_check_ip_protocol_counts_when_the_config_sets_it(service):
    desired = rendered(service.load("production"), "marathon")[0]
    live = copy.deepcopy(desired)
    live["healthChecks"][0]["ipProtocol"] = "IPv4"
    wanted, running = normalise_pair(desired, live, "1.7")
    assert wanted == running
    desired["healthChecks"][0]["ipProtocol"] = "IPv6"
    wanted, running = normalise_pair(desired, live, "1.7")
    assert (wanted["healthChecks"][0]["ipProtocol"], running["healthChecks"][0]["ipProtocol"]) == (
        "IPv6",
        "IPv4",
    )
