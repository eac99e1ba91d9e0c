"""Renderers: every example renders for every environment and target, every object passes
the schedulers' schemas (checked here with validators built independently of
skytrain/render/upstream.py; tests/marathon/test_schema_upstream.py holds our Marathon
schema to Marathon's own), and the output says what DESIGN.md promises."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from config_helpers import BASE_YAML, CLEAN_ENVIRON, EXAMPLE_SERVICES, dedent
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from skytrain.config import App, load_service
from skytrain.errors import ConfigErrors
from skytrain.render import upstream
from skytrain.render.hashing import digest
from skytrain.render.kubernetes import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, NAME_LABEL
from skytrain.schedulers import NAMES as TARGETS
from skytrain.schedulers import render, scheduler
from tests.support import EXAMPLES, ROOT

MARATHON_FORMS = {"1.4": "app-1.4", "1.7": "app-1.5"}


@cache
def example_apps(service: str) -> dict[str, App]:
    return load_service(EXAMPLES / service, environ=CLEAN_ENVIRON)[1]


def all_renders() -> list[tuple[str, str, str]]:
    return [
        (service, env, target)
        for service in EXAMPLE_SERVICES
        for env, app in example_apps(service).items()
        for target in app.schedulers
    ]


@cache
def marathon_schema_validator(version: str) -> Draft202012Validator:
    """schemas/marathon-app.schema.json at the entry point of that Marathon version's form."""
    schema = json.loads((ROOT / "schemas" / "marathon-app.schema.json").read_text())
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft202012Validator(
        {"$ref": f"{schema['$id']}#/$defs/{MARATHON_FORMS[version]}"}, registry=registry
    )


def test_every_example_has_three_environments_and_covers_both_schedulers():
    targets = {target for _, _, target in all_renders()}
    assert targets == set(TARGETS)
    for service in EXAMPLE_SERVICES:
        assert sorted(example_apps(service)) == ["dev", "production", "staging"]


@pytest.mark.parametrize(("service", "env", "target"), all_renders())
def test_every_rendered_object_passes_the_scheduler_schema(service, env, target):
    app = example_apps(service)[env]
    objects = render(app, target)
    if target == "marathon":
        (definition,) = objects
        version = "1.4" if app.environment.marathon.legacy_networking else "1.7"
        errors = [e.message for e in marathon_schema_validator(version).iter_errors(definition)]
        assert errors == []
    else:
        assert [o["kind"] for o in objects][-2:] == ["Service", "Deployment"]
        for obj in objects:
            # the package's own entry point (slow, ~13 ms a call), strict: unknown fields fail
            kubernetes_validate.validate(obj, app.environment.kubernetes.version, strict=True)


def test_marathon_14_form_for_a_14_cluster_and_15_form_otherwise():
    giphy = example_apps("giphy")
    legacy = render(giphy["dev"], "marathon")[0]  # dev's Marathon is 1.4
    modern = render(giphy["staging"], "marathon")[0]
    assert legacy["container"]["docker"]["network"] == "BRIDGE"
    assert legacy["container"]["docker"]["portMappings"][0]["containerPort"] == 8080
    assert "networks" not in legacy and "portMappings" not in legacy["container"]
    assert modern["networks"] == [{"mode": "container/bridge"}]
    assert modern["container"]["portMappings"][0]["containerPort"] == 8080
    assert "network" not in modern["container"]["docker"]
    # a 1.4 server does not know the 1.5 form, which is why the choice matters
    assert list(marathon_schema_validator("1.4").iter_errors(modern))
    assert marathon_schema_validator("1.7").is_valid(modern)
    assert marathon_schema_validator("1.4").is_valid(legacy)


def test_marathon_app_definition_fields():
    app = example_apps("giphy")["production"]
    (definition,) = render(app, "marathon")
    assert definition["id"] == "/giphy"
    assert definition["instances"] == 4
    assert (definition["cpus"], definition["mem"]) == (1.0, 512)
    assert definition["container"]["docker"]["image"] == "registry.example.com/giphy:latest"
    assert definition["healthChecks"] == [
        {
            "protocol": "MESOS_HTTP",
            "path": "/status",
            "portIndex": 0,
            "gracePeriodSeconds": 30,
            "intervalSeconds": 10,
            "timeoutSeconds": 5,
            "maxConsecutiveFailures": 3,
        }
    ]
    assert definition["upgradeStrategy"] == {"minimumHealthCapacity": 0.75, "maximumOverCapacity": 0.5}
    assert definition["secrets"] == {"GIPHY_API_KEY": {"source": "giphy/api-key"}}
    assert definition["env"]["GIPHY_API_KEY"] == {"secret": "GIPHY_API_KEY"}
    assert definition["env"]["GIPHY_RATING"] == "g"
    assert definition["labels"]["SKYTRAIN_APP"] == "giphy"
    assert definition["labels"]["SKYTRAIN_ENV"] == "production"
    assert definition["constraints"] == [["hostname", "UNIQUE"]]  # the escape hatch


def test_marathon_command_becomes_a_shell_cmd():
    (definition,) = render(example_apps("organization")["staging"], "marathon")
    assert definition["cmd"] == "/opt/organization/bin/organization -Dhttp.port=8080"
    assert "args" not in definition


def test_dependencies_become_url_variables_skyline_on_marathon_cluster_dns_on_kubernetes():
    app = example_apps("giphy")["staging"]
    (definition,) = render(app, "marathon")
    assert definition["env"]["ORGANIZATION_URL"] == "http://localhost:5040/service/organization/"
    assert definition["env"]["MEDIA_URL"] == "http://localhost:5040/service/media/"
    configmap = next(o for o in render(app, "kubernetes") if o["kind"] == "ConfigMap")
    assert configmap["data"]["ORGANIZATION_URL"] == "http://organization.default.svc.cluster.local:8080/"
    assert configmap["data"]["MEDIA_URL"] == "http://media.default.svc.cluster.local:8080/"


def test_a_dependency_in_another_namespace(load):
    apps = load(
        {
            "application.yml": BASE_YAML
            + "dependencies: [user-profile, {name: media, namespace: content}]\n",
            "staging.yml": "",
        }
    )
    configmap = render(apps["staging"], "kubernetes")[0]
    assert configmap["data"] == {
        "MEDIA_URL": "http://media.content.svc.cluster.local:8080/",
        "USER_PROFILE_URL": "http://user-profile.web.svc.cluster.local:8080/",  # staging's namespace
    }


def _by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objects}


def test_kubernetes_manifests():
    app = example_apps("giphy")["staging"]
    objects = _by_kind(render(app, "kubernetes"))
    assert sorted(objects) == ["ConfigMap", "Deployment", "Service"]
    owner = {NAME_LABEL: "giphy", MANAGED_BY_LABEL: "skytrain", ENVIRONMENT_LABEL: "staging"}
    for obj in objects.values():
        assert owner.items() <= obj["metadata"]["labels"].items()
        assert obj["metadata"]["namespace"] == "default"
    # the env ConfigMap: immutable, named by its content, paired by the diff through its base name
    configmap = objects["ConfigMap"]
    assert configmap["immutable"] is True
    assert configmap["metadata"]["name"] == f"giphy-env-{digest(configmap['data'])[:10]}"
    assert configmap["metadata"]["labels"]["skytrain.io/generated-from"] == "giphy-env"
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"] == {"matchLabels": {NAME_LABEL: "giphy"}}
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "0%", "maxSurge": "50%"}
    assert deployment["spec"]["progressDeadlineSeconds"] == 300
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/giphy:latest"
    assert container["args"] == ["--listen", ":8080"]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "256Mi"},
        "limits": {"memory": "256Mi"},
    }
    assert container["envFrom"] == [{"configMapRef": {"name": configmap["metadata"]["name"]}}]
    assert container["env"] == [
        {"name": "GIPHY_API_KEY", "valueFrom": {"secretKeyRef": {"name": "giphy", "key": "api-key"}}}
    ]
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/status", "port": "http"},
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }
    assert container["startupProbe"]["failureThreshold"] == 3  # 30 s grace / 10 s interval
    assert objects["Service"]["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert objects["ConfigMap"]["data"]["LOG_LEVEL"] == "info"
    assert "GIPHY_API_KEY" not in objects["ConfigMap"]["data"]  # secrets stay references


def test_no_configmap_when_there_is_nothing_to_put_in_it(load):
    apps = load({"application.yml": BASE_YAML, "staging.yml": ""})
    objects = render(apps["staging"], "kubernetes")
    assert [o["kind"] for o in objects] == ["Service", "Deployment"]
    assert "envFrom" not in objects[1]["spec"]["template"]["spec"]["containers"][0]


ESCAPE_HATCHES = dedent(
    """
    kubernetes:
      Deployment:
        metadata:
          annotations:
            team: gifs
        spec:
          revisionHistoryLimit: 3
          template:
            spec:
              nodeSelector: {pool: web}
              tolerations:
                - {key: dedicated, operator: Exists}
              containers:
                - name: giphy
                  ports:
                    - {name: metrics, containerPort: 9090}
                  securityContext: {runAsNonRoot: true}
                - name: sidecar
                  image: registry.example.com/envoy:1.30
      Service:
        spec:
          type: NodePort
    marathon:
      constraints: [[hostname, UNIQUE]]
      upgradeStrategy:
        minimumHealthCapacity: 0.5
      container:
        docker:
          forcePullImage: true
    """
)


def test_escape_hatches_are_applied_last(load):
    base = BASE_YAML + "env: {A: '1'}\n" + ESCAPE_HATCHES
    apps = load({"application.yml": base, "production.yml": ""})
    objects = _by_kind(render(apps["production"], "kubernetes"))
    deployment = objects["Deployment"]
    # maps merge: skytrain's own labels stay beside the patch's annotations
    assert deployment["metadata"]["annotations"] == {"team": "gifs"}
    assert deployment["metadata"]["labels"][NAME_LABEL] == "giphy"
    assert "skytrain.io/config-hash" in deployment["spec"]["template"]["metadata"]["annotations"]
    assert deployment["spec"]["revisionHistoryLimit"] == 3
    assert deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "web"}
    # named lists merge by name: the giphy container keeps its image, probes and env
    assert [c["name"] for c in pod["containers"]] == ["giphy", "sidecar"]
    giphy = pod["containers"][0]
    assert giphy["image"] == "registry.example.com/giphy:1.0"
    assert giphy["securityContext"] == {"runAsNonRoot": True}
    assert giphy["envFrom"] == [{"configMapRef": {"name": objects["ConfigMap"]["metadata"]["name"]}}]
    assert [p["name"] for p in giphy["ports"]] == ["http", "metrics"]
    assert objects["Service"]["spec"]["type"] == "NodePort"
    assert objects["Service"]["spec"]["selector"] == {NAME_LABEL: "giphy"}

    (definition,) = render(apps["production"], "marathon")
    assert definition["constraints"] == [["hostname", "UNIQUE"]]
    assert definition["upgradeStrategy"] == {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.25}
    assert definition["container"]["docker"] == {
        "image": "registry.example.com/giphy:1.0",
        "forcePullImage": True,
    }


def test_escape_hatch_lists_without_names_replace(load):
    base = BASE_YAML + dedent(
        """
        kubernetes:
          Deployment:
            spec:
              template:
                spec:
                  containers:
                    - name: giphy
                      args: [--only-this]
        marathon:
          healthChecks: [{protocol: TCP, portIndex: 0}]
        """
    )
    apps = load(
        {"application.yml": base + "args: [--a, --b]\nhealthCheck: {path: /status}\n", "staging.yml": ""}
    )
    container = _by_kind(render(apps["staging"], "kubernetes"))["Deployment"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["args"] == ["--only-this"]
    assert render(apps["staging"], "marathon")[0]["healthChecks"] == [{"protocol": "TCP", "portIndex": 0}]


def test_escape_hatch_null_removes_a_rendered_field(load):
    base = BASE_YAML + "kubernetes:\n  Deployment:\n    spec:\n      revisionHistoryLimit: null\n"
    apps = load({"application.yml": base, "staging.yml": ""})
    assert "revisionHistoryLimit" not in _by_kind(render(apps["staging"], "kubernetes"))["Deployment"]["spec"]


def test_an_escape_hatch_is_revalidated(load):
    base = (
        BASE_YAML
        + "kubernetes:\n  Deployment:\n    spec:\n      template:\n        spec:\n          nodeSelectr: {a: b}\n"
    )
    apps = load({"application.yml": base, "staging.yml": ""})
    with pytest.raises(ConfigErrors) as exc:
        render(apps["staging"], "kubernetes")
    (error,) = exc.value.errors
    assert (error.location.line, error.location.column) == (9, 9)  # the innermost key on the failing path
    assert error.path == "kubernetes.Deployment.spec.template.spec"
    assert "nodeSelectr" in error.message and "fix the patch" in error.message


@pytest.mark.parametrize(("service", "env", "target"), all_renders())
def test_output_is_deterministic(service, env, target):
    """Render twice (the second time from a fresh load) and get the same bytes."""
    first = render(example_apps(service)[env], target)
    again = render(load_service(EXAMPLES / service, environ=CLEAN_ENVIRON)[1][env], target)
    assert scheduler(target).text(first) == scheduler(target).text(again)


def test_key_order_does_not_depend_on_the_order_things_were_written(load, tmp_path: Path):
    one = dedent(
        """
        name: giphy
        image: registry.example.com/giphy:1.0
        scheduler: both
        port: 8080
        env: {B: '2', A: '1'}
        secrets: {Z_KEY: {secret: s, key: z}, A_KEY: {secret: s, key: a}}
        dependencies: [organization]
        """
    )
    other = dedent(
        """
        dependencies: [organization]
        secrets: {A_KEY: {key: a, secret: s}, Z_KEY: {key: z, secret: s}}
        env: {A: '1', B: '2'}
        port: 8080
        scheduler: both
        image: registry.example.com/giphy:1.0
        name: giphy
        """
    )
    first = load({"application.yml": one, "staging.yml": ""})["staging"]
    second = load({"application.yml": other, "staging.yml": ""})["staging"]
    for target in TARGETS:
        a, b = render(first, target), render(second, target)
        assert scheduler(target).text(a) == scheduler(target).text(b)
        assert [json.dumps(o) for o in a] == [json.dumps(o) for o in b]


def test_each_upstream_validator_is_built_once_per_process():
    """Building a validator costs ~13 ms; reusing it ~0.25 ms per object (TOOLCHAIN.md)."""
    for service, env, target in all_renders():
        render(example_apps(service)[env], target)
    built = (
        upstream.marathon_validator.cache_info().misses,
        upstream.kubernetes_validator.cache_info().misses,
    )
    for service, env, target in all_renders():
        render(example_apps(service)[env], target)
    assert (
        upstream.marathon_validator.cache_info().misses,
        upstream.kubernetes_validator.cache_info().misses,
    ) == built
    assert built[0] <= 2  # one per Marathon flavour


@pytest.mark.parametrize(("service", "env", "target"), all_renders())
def test_rendered_text_reads_back_as_the_same_objects(service, env, target):
    """What `skytrain render` prints (and kubectl or Marathon reads) is exactly what was checked."""
    objects = render(example_apps(service)[env], target)
    text = scheduler(target).text(objects)
    if target == "marathon":
        assert json.loads(text) == objects[0]
    else:
        assert list(yaml.safe_load_all(text)) == objects


def test_strings_that_look_like_other_types_survive_the_yaml_stream(load):
    base = BASE_YAML + "env: {A: 'on', B: 'yes', C: '0755', D: '1e3', E: 'null', F: '~', G: ':8080'}\n"
    objects = render(load({"application.yml": base, "staging.yml": ""})["staging"], "kubernetes")
    assert list(yaml.safe_load_all(scheduler("kubernetes").text(objects))) == objects
