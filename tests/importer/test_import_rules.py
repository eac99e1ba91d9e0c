"""The rules of the conversion on small apps of our own: Marathon kept exact, Kubernetes given
the equivalents (and a warning for every row of the matrix that needs one), dependencies from
Skyline URLs, secrets never written, names, several environments as a base and overlays."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from skytrain.config import load_service
from skytrain.importer import ImportRefused, Input, import_marathon
from skytrain.importer.rules import APPROXIMATED, FIXED, REFUSED, RULES, WARNED
from skytrain.schedulers import render
from tests.importer.helpers import environments_file, imported, round_trip, write_result
from tests.support import EXAMPLES

IMAGE = "registry.example.com/giphy:1.4.2"
APP: dict[str, Any] = {
    "id": "/giphy",
    "instances": 2,
    "cpus": 0.5,
    "mem": 256,
    "container": {
        "type": "DOCKER",
        "docker": {"image": IMAGE},
        "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "http"}],
    },
    "networks": [{"mode": "container/bridge"}],
    "env": {"LOG_LEVEL": "info"},
    "healthChecks": [
        {
            "protocol": "MESOS_HTTP",
            "path": "/status",
            "portIndex": 0,
            "gracePeriodSeconds": 30,
            "intervalSeconds": 10,
            "timeoutSeconds": 5,
            "maxConsecutiveFailures": 3,
        }
    ],
}


def app(**changes: Any) -> dict[str, Any]:
    """APP with top-level fields replaced (None removes one)."""
    result = copy.deepcopy(APP)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def one(tmp_path, document: Any, **options: Any):
    """(the imported service, its production App, the notes)."""
    result, apps = imported(tmp_path, {"production": document}, **options)
    (service,) = result.services
    return service, apps[service.name]["production"], service.notes


def kubernetes(app_model) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in render(app_model, "kubernetes")}


def container(app_model) -> dict[str, Any]:
    return kubernetes(app_model)["Deployment"]["spec"]["template"]["spec"]["containers"][0]


# -- rule 1: Marathon keeps running unchanged ------------------------------------------------


def test_an_app_the_model_says_whole_needs_no_escape_hatch(tmp_path):
    service, model, notes = one(tmp_path, APP)
    assert "marathon:" not in service.files["application.yml"]
    assert round_trip(model, APP) == []
    assert notes == []


@pytest.mark.parametrize("example", ["giphy", "organization"])
def test_skytrain_s_own_renders_import_to_the_same_app(tmp_path, example):
    """A Marathon app skytrain rendered comes back as a configuration that renders it again."""
    _, apps = load_service(EXAMPLES / example, environ={})
    original = next(a for a in apps.values() if a.runs_on("marathon"))
    rendered = render(original, "marathon")[0]
    _, model, _ = one(tmp_path, rendered)
    assert round_trip(model, rendered) == []


def test_what_the_model_does_not_say_stays_for_marathon(tmp_path):
    kitchen = app(
        fetch=[{"uri": "https://example.com/tool.tgz", "extract": True}],
        backoffSeconds=5,
        constraints=[["rack", "LIKE", "r[12]"]],
        labels={"HAPROXY_0_VHOST": "giphy.example.com", "team": "search"},
        container={
            **APP["container"],
            "volumes": [{"containerPath": "/data", "hostPath": "/srv/giphy", "mode": "RW"}],
        },
    )
    service, model, notes = one(tmp_path, kitchen)
    marathon = yaml.safe_load(service.files["application.yml"])["marathon"]
    assert marathon["fetch"] == kitchen["fetch"]
    assert marathon["backoffSeconds"] == 5
    assert marathon["constraints"] == [["rack", "LIKE", "r[12]"]]
    assert round_trip(model, kitchen) == []
    assert {"fetch", "constraint-other", "labels-lb", "volume-host"} <= {n.rule for n in notes}


# -- rule 2: Kubernetes gets every faithful equivalent ---------------------------------------


def test_ports_checks_and_timings_reach_kubernetes(tmp_path):
    source = app(
        container={
            **APP["container"],
            "docker": {"image": IMAGE, "forcePullImage": True},
            "portMappings": [
                {"containerPort": 9000, "hostPort": 0, "protocol": "tcp", "name": "api"},
                {"containerPort": 9001, "hostPort": 0, "protocol": "tcp", "name": "admin"},
                {"containerPort": 8125, "hostPort": 0, "protocol": "udp", "name": "statsd"},
            ],
        },
        healthChecks=[{"protocol": "TCP", "portIndex": 1, "gracePeriodSeconds": 60, "intervalSeconds": 20}],
        readinessChecks=[{"name": "ready", "protocol": "HTTP", "path": "/ready", "portName": "admin"}],
        taskKillGracePeriodSeconds=45,
    )
    service, model, _ = one(tmp_path, source)
    written = yaml.safe_load(service.files["application.yml"])
    assert written["port"] == 9000
    assert written["ports"] == [
        {"name": "admin", "port": 9001},
        {"name": "statsd", "port": 8125, "protocol": "udp"},
    ]
    spec = container(model)
    assert spec["imagePullPolicy"] == "Always"
    assert [(p["name"], p["containerPort"], p["protocol"]) for p in spec["ports"]] == [
        ("http", 9000, "TCP"),
        ("admin", 9001, "TCP"),
        ("statsd", 8125, "UDP"),
    ]
    assert spec["livenessProbe"] == {
        "tcpSocket": {"port": "admin"},
        "periodSeconds": 20,
        "timeoutSeconds": 20,
        "failureThreshold": 3,
    }
    assert spec["startupProbe"]["failureThreshold"] == 3  # 60 s of grace at one check per 20 s
    assert spec["readinessProbe"] == {
        "httpGet": {"path": "/ready", "port": "admin"},
        "periodSeconds": 30,
        "timeoutSeconds": 10,
    }
    pod = kubernetes(model)["Deployment"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 45
    service_ports = kubernetes(model)["Service"]["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in service_ports] == [
        ("http", 8080),
        ("admin", 9001),
        ("statsd", 8125),
    ]
    assert round_trip(model, source) == []


def test_a_command_check_is_an_exec_probe(tmp_path):
    source = app(healthChecks=[{"protocol": "COMMAND", "command": {"value": "curl -f http://$HOST:$PORT0/"}}])
    _, model, _ = one(tmp_path, source)
    assert container(model)["livenessProbe"]["exec"] == {
        "command": ["/bin/sh", "-c", "curl -f http://$HOST:$PORT0/"]
    }
    assert round_trip(model, source) == []


def test_constraints_labels_and_the_upgrade_strategy(tmp_path):
    source = app(
        constraints=[
            ["hostname", "UNIQUE"],
            ["rack_id", "GROUP_BY", "3"],
            ["zone", "LIKE", "eu-1"],
            ["hostname", "MAX_PER", "2"],
        ],
        labels={"team": "search", "cost-centre": "42"},
        upgradeStrategy={"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.2},
    )
    _, model, notes = one(tmp_path, source)
    deployment = kubernetes(model)["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
        "topologyKey"
    ] == ("kubernetes.io/hostname")
    assert [(s["topologyKey"], s["maxSkew"]) for s in pod["topologySpreadConstraints"]] == [
        ("rack_id", 1),
        ("kubernetes.io/hostname", 2),
    ]
    assert pod["nodeSelector"] == {"zone": "eu-1"}
    assert deployment["metadata"]["annotations"] == {"team": "search", "cost-centre": "42"}
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "50%", "maxSurge": "20%"}
    assert [n.rule for n in notes] == ["constraint-max-per"]
    assert round_trip(model, source) == []


# every row of the matrix that warns, refuses or fixes, with an app that needs it
RULE_FIXTURES: dict[str, Callable[[], Any]] = {
    "id-renamed": lambda: app(id="/team/search.service"),
    "dependency-renamed": lambda: app(env={"USER_URL": "http://localhost:5040/service/user-service/"}),
    "id-group": lambda: app(id="/team/giphy"),
    "disk": lambda: app(disk=512),
    "image-placeholder": lambda: app(
        container=None, networks=None, cmd="./giphy --port $PORT0", portDefinitions=[{"port": 0}]
    ),
    "docker-options": lambda: app(
        container={**APP["container"], "docker": {"image": IMAGE, "privileged": True}}
    ),
    "cmd-and-args": lambda: app(cmd="sleep 1", args=["sleep", "2"]),
    "user": lambda: app(user="nobody"),
    "env-secret-shape": lambda: app(env={"DB_PASSWORD": "hunter2hunter2"}),
    "env-secret-ref": lambda: app(env={"DB": {"secret": "db"}}, secrets={"db": {"source": "giphy/db-url"}}),
    "env-name": lambda: app(env={"KAFKA_SECURITY-PROTOCOL": "SSL"}),
    "network-host": lambda: app(
        container={"type": "DOCKER", "docker": {"image": IMAGE}},
        networks=[{"mode": "host"}],
        portDefinitions=[{"port": 8080}],
    ),
    "network-named": lambda: app(networks=[{"mode": "container", "name": "dcos"}]),
    "port-dynamic": lambda: app(container={**APP["container"], "portMappings": [{"containerPort": 0}]}),
    "port-none": lambda: app(
        container={"type": "DOCKER", "docker": {"image": IMAGE}},
        networks=[{"mode": "host"}],
        healthChecks=None,
    ),
    "port-protocol": lambda: app(
        container={
            **APP["container"],
            "portMappings": [*APP["container"]["portMappings"], {"containerPort": 53, "protocol": "udp,tcp"}],
        }
    ),
    "port-skipped": lambda: app(
        container={**APP["container"], "portMappings": [{"containerPort": 9000}, {"containerPort": 8080}]}
    ),
    "host-port": lambda: app(
        container={**APP["container"], "portMappings": [{"containerPort": 8080, "hostPort": 31000}]}
    ),
    "port-vip": lambda: app(
        container={
            **APP["container"],
            "portMappings": [{"containerPort": 8080, "labels": {"VIP_0": "/giphy:80"}}],
        }
    ),
    "health-other": lambda: app(healthChecks=[*APP["healthChecks"], {"protocol": "TCP"}]),
    "readiness-other": lambda: app(
        readinessChecks=[{"path": "/ready", "portName": "http", "httpStatusCodesForReady": [200, 302]}]
    ),
    "upgrade-stuck": lambda: app(upgradeStrategy={"minimumHealthCapacity": 1, "maximumOverCapacity": 0}),
    "label-name": lambda: app(labels={"bad label": "x"}),
    "labels-lb": lambda: app(labels={"HAPROXY_GROUP": "external"}),
    "constraint-max-per": lambda: app(constraints=[["rack", "MAX_PER", "2"]]),
    "constraint-other": lambda: app(constraints=[["hostname", "CLUSTER", "a.example.com"]]),
    "roles": lambda: app(acceptedResourceRoles=["slave_public"]),
    "app-dependencies": lambda: app(dependencies=["/database"]),
    "volume-persistent": lambda: app(
        container={
            **APP["container"],
            "volumes": [{"containerPath": "data", "mode": "RW", "persistent": {"size": 100}}],
        },
        residency={"taskLostBehavior": "WAIT_FOREVER"},
    ),
    "volume-host": lambda: app(
        container={
            **APP["container"],
            "volumes": [{"containerPath": "/etc/x", "hostPath": "/etc/x", "mode": "RO"}],
        }
    ),
    "volume-other": lambda: app(
        container={
            **APP["container"],
            "volumes": [
                {
                    "containerPath": "/data",
                    "mode": "RW",
                    "external": {"name": "v", "provider": "dvdi", "options": {"dvdi/driver": "rexray"}},
                }
            ],
        }
    ),
    "fetch": lambda: app(fetch=[{"uri": "https://example.com/a.tgz"}]),
    "fix-type": lambda: app(instances="3"),
    "fix-shape": lambda: app(
        container={
            "docker": {"image": IMAGE, "type": "DOCKER"},
            "portMappings": APP["container"]["portMappings"],
        }
    ),
    "fix-range": lambda: app(upgradeStrategy={"minimumHealthCapacity": 2.0}),
    "fix-unknown": lambda: app(maintainer="someone@example.com"),
    "pod": lambda: {"id": "/pod", "containers": [{"name": "a"}]},
    "template": lambda: app(id="{{.id}}"),
}


def test_every_rule_that_needs_a_word_has_a_fixture():
    needing = {key for key, rule in RULES.items() if rule.verdict in (WARNED, APPROXIMATED, FIXED, REFUSED)}
    assert needing == set(RULE_FIXTURES)


@pytest.mark.parametrize("rule", sorted(RULE_FIXTURES))
def test_each_rule_says_what_to_do_and_the_import_still_validates(tmp_path, rule):
    document = RULE_FIXTURES[rule]()
    if RULES[rule].verdict == REFUSED:
        with pytest.raises(ImportRefused) as refused:
            import_marathon([Input("production", "production.json", document)])
        assert "production.json: /" in str(refused.value)
        return
    _service, model, notes = one(tmp_path, document)
    assert rule in {n.rule for n in notes}
    render(model, "kubernetes")
    assert all(str(note).startswith("production.json: /") and ": warning: " in str(note) for note in notes)


# -- rule 3: dependencies move with the service ----------------------------------------------


def test_a_skyline_url_becomes_a_dependency_with_its_variable_and_path(tmp_path):
    source = app(
        env={
            "MEMBER_SERVICE_URL": "http://localhost:5040/service/member-service/v2/",
            "ORGANIZATION_URL": "http://localhost:5040/service/organization/",
            "SEARCH": "http://localhost:5040/service/search",
            "ELSEWHERE": "http://search.example.com/",
        }
    )
    service, model, notes = one(tmp_path, source)
    written = yaml.safe_load(service.files["application.yml"])
    assert written["dependencies"] == [
        {"name": "member", "env": "MEMBER_SERVICE_URL", "path": "/v2/"},
        "organization",
        {"name": "search", "env": "SEARCH", "path": ""},
    ]
    assert written["env"] == {"ELSEWHERE": "http://search.example.com/"}
    data = kubernetes(model)["ConfigMap"]["data"]
    assert data["MEMBER_SERVICE_URL"] == "http://member.ns-0.svc.cluster.local:8080/v2/"
    assert data["SEARCH"] == "http://search.ns-0.svc.cluster.local:8080"
    # Marathon keeps calling member-service by its route of today until member is deployed
    assert round_trip(model, source) == []
    assert [n.pointer for n in notes if n.rule == "dependency-renamed"] == ["/env/MEMBER_SERVICE_URL"]
    assert written["marathon"] == {
        "env": {"MEMBER_SERVICE_URL": "http://localhost:5040/service/member-service/v2/"}
    }


# -- rule 4: secrets are never written -------------------------------------------------------

SECRET_VALUES = {
    "DATABASE_PASSWORD": "correct-horse-battery",
    "AWS_KEY": "AKIAIOSFODNN7EXAMPLE",
    "UPSTREAM": "https://deploy:s3cr3t-Pa55@git.example.com/repo.git",
    "BAD-NAME_TOKEN": "tok-1234567890",
}


def test_an_inline_secret_becomes_a_reference_and_its_value_is_written_nowhere(tmp_path):
    source = app(env={**SECRET_VALUES, "LOG_LEVEL": "info"})
    service, model, notes = one(tmp_path, source)
    written = yaml.safe_load(service.files["application.yml"])
    assert written["secrets"] == {
        "AWS_KEY": {"secret": "giphy", "key": "aws-key"},
        "DATABASE_PASSWORD": {"secret": "giphy", "key": "database-password"},
        "UPSTREAM": {"secret": "giphy", "key": "upstream"},
    }
    everything = json.dumps([service.files, [str(n) for n in notes], [n.as_json() for n in notes]])
    for value in SECRET_VALUES.values():
        assert value not in everything
    by_variable = {n.pointer: str(n) for n in notes if n.rule == "env-secret-shape"}
    assert "secret 'giphy', key 'database-password'" in by_variable["/env/DATABASE_PASSWORD"]
    assert set(by_variable) == {f"/env/{name}" for name in SECRET_VALUES}
    container_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container(model)["env"]}
    assert container_env["AWS_KEY"] == {"name": "giphy", "key": "aws-key"}


def test_marathon_secrets_map_to_references(tmp_path):
    source = app(env={"DB_URL": {"secret": "database"}}, secrets={"database": {"source": "/team/db/url"}})
    service, model, notes = one(tmp_path, source)
    assert yaml.safe_load(service.files["application.yml"])["secrets"] == {
        "DB_URL": {"secret": "team-db", "key": "url"}
    }
    assert [n.rule for n in notes] == ["env-secret-ref"]
    assert round_trip(model, source) == []


# -- rule 5: names ---------------------------------------------------------------------------


def test_names_follow_the_skeleton_rule(tmp_path):
    service, _, notes = one(tmp_path, app(id="/team/user-service"))
    assert service.name == "user"
    assert any("becomes /team/user" in str(n) and n.rule == "id-renamed" for n in notes)
    service, _, _ = one(tmp_path / "named", app(id="/team/user-service"), name="accounts")
    assert service.name == "accounts"


def test_two_apps_that_map_to_one_name_are_an_error_naming_both():
    group = {"id": "/team", "apps": [app(id="user-service"), app(id="service-user")]}
    with pytest.raises(ImportRefused) as refused:
        import_marathon([Input("production", "group.json", group)])
    assert "/team/service-user and /team/user-service both become the service user" in str(refused.value)


# -- rule 6: several environments ------------------------------------------------------------


def test_several_environments_become_a_base_and_minimal_overlays(tmp_path):
    dev = app(instances=1, env={"LOG_LEVEL": "debug", "DEBUG": "1"}, labels={"team": "search"})
    staging = app(env={"LOG_LEVEL": "info"}, labels={"team": "search"})
    production = app(env={"LOG_LEVEL": "info"}, labels={"team": "search"}, cpus=2)
    documents = {"dev": dev, "staging": staging, "production": production}
    result, apps = imported(tmp_path, documents)
    (service,) = result.services
    base = yaml.safe_load(service.files["application.yml"])
    overlays = {env: yaml.safe_load(service.files[f"{env}.yml"]) for env in documents}
    assert (
        base["replicas"] == 2
        and base["env"] == {"LOG_LEVEL": "info"}
        and base["labels"] == {"team": "search"}
    )
    assert overlays["dev"] == {"replicas": 1, "env": {"LOG_LEVEL": "debug", "DEBUG": "1"}}
    assert overlays["staging"] is None
    assert overlays["production"] == {"resources": {"cpu": 2}}
    for env, document in documents.items():
        assert round_trip(apps["giphy"][env], document) == []


def test_a_value_missing_in_one_environment_is_an_explicit_null_there(tmp_path):
    with_fetch = app(fetch=[{"uri": "https://example.com/a.tgz"}], env={"A": "1", "B": "2"})
    without = app(env={"A": "1"})
    result, apps = imported(tmp_path, {"staging": with_fetch, "production": with_fetch, "dev": without})
    text = result.services[0].files["dev.yml"]
    assert yaml.safe_load(text) == {"env": {"B": None}, "marathon": None}
    assert "B: null" in text
    assert round_trip(apps["giphy"]["dev"], without) == []
    assert round_trip(apps["giphy"]["staging"], with_fetch) == []


def test_an_escape_hatch_null_only_one_environment_needs_sits_in_the_base(tmp_path):
    """A null removes what skytrain renders only where the base writes it (docs/config.md)."""
    host = app(
        container={"type": "DOCKER", "docker": {"image": IMAGE}},
        networks=[{"mode": "host"}],
        portDefinitions=[{"port": 8080}],
    )
    _result, apps = imported(tmp_path, {"dev": host, "staging": APP, "production": APP})
    for env, document in (("dev", host), ("staging", APP), ("production", APP)):
        assert round_trip(apps["giphy"][env], document) == []


def test_the_same_input_gives_the_same_bytes(tmp_path):
    documents = [
        Input(env, f"{env}.json", app(instances=n)) for n, env in enumerate(("dev", "production"), 1)
    ]
    first = import_marathon(documents).services[0].files
    assert import_marathon(copy.deepcopy(documents)).services[0].files == first
    assert first["application.yml"].startswith("# giphy: imported by `skytrain import marathon` from\n")
    assert "#   dev: dev.json (app /giphy)" in first["application.yml"]


def test_written_files_pass_the_untrusted_input_checks(tmp_path):
    """Imported files are read like any pull request's: within the limits, each file on its own."""
    result = import_marathon(
        [Input("production", "p.json", app(env={f"V{i}": "x" * 100 for i in range(300)}))]
    )
    folders = write_result(result, tmp_path / "out")
    envs = environments_file(tmp_path / "e.yml", {"production": {}})
    assert load_service(folders["giphy"], str(envs), environ={})[1]["production"].env["V0"] == "x" * 100
