"""The fields `skytrain import marathon` needs, written by hand: further named ports, TCP and
command health checks, a readiness check, the stop grace period, always pulling the image,
labels, constraints and dependencies with their variable and path. Each renders on both
schedulers, and only when used (the golden hashes of test_config_hash hold the rest)."""

from __future__ import annotations

import pytest
from config_helpers import BASE_YAML, load_files, messages

from skytrain.errors import ConfigErrors
from skytrain.schedulers import render


def staging(tmp_path, extra: str):
    return load_files(tmp_path / "svc", {"application.yml": BASE_YAML + extra, "staging.yml": ""})["staging"]


def both(tmp_path, extra: str) -> tuple[dict, dict]:
    app = staging(tmp_path, extra)
    return render(app, "marathon")[0], {o["kind"]: o for o in render(app, "kubernetes")}


def pod(kubernetes: dict) -> dict:
    return kubernetes["Deployment"]["spec"]["template"]["spec"]


def test_further_ports_on_both_schedulers(tmp_path):
    marathon, kubernetes = both(
        tmp_path, "ports: [{name: admin, port: 9001}, {name: statsd, port: 8125, protocol: udp}]\n"
    )
    assert marathon["container"]["portMappings"][1:] == [
        {"containerPort": 9001, "hostPort": 0, "protocol": "tcp", "name": "admin"},
        {"containerPort": 8125, "hostPort": 0, "protocol": "udp", "name": "statsd"},
    ]
    assert pod(kubernetes)["containers"][0]["ports"][1:] == [
        {"name": "admin", "containerPort": 9001, "protocol": "TCP"},
        {"name": "statsd", "containerPort": 8125, "protocol": "UDP"},
    ]
    assert kubernetes["Service"]["spec"]["ports"][2] == {
        "name": "statsd",
        "port": 8125,
        "targetPort": "statsd",
        "protocol": "UDP",
    }


def test_tcp_and_command_checks_and_a_readiness_check(tmp_path):
    marathon, kubernetes = both(
        tmp_path,
        "ports: [{name: admin, port: 9001}]\n"
        "healthCheck: {tcp: true, port: admin, intervalSeconds: 5}\n"
        "readinessCheck: {path: /ready, port: admin}\n"
        "stopGracePeriodSeconds: 90\nalwaysPullImage: true\n",
    )
    assert marathon["healthChecks"][0] == {
        "protocol": "MESOS_TCP",
        "portIndex": 1,
        "gracePeriodSeconds": 60,
        "intervalSeconds": 5,
        "timeoutSeconds": 5,
        "maxConsecutiveFailures": 3,
    }
    assert marathon["readinessChecks"] == [
        {
            "name": "readiness",
            "protocol": "HTTP",
            "path": "/ready",
            "portName": "admin",
            "intervalSeconds": 30,
            "timeoutSeconds": 10,
        }
    ]
    assert marathon["taskKillGracePeriodSeconds"] == 90
    assert marathon["container"]["docker"]["forcePullImage"] is True
    container = pod(kubernetes)["containers"][0]
    assert container["livenessProbe"]["tcpSocket"] == {"port": "admin"}
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/ready", "port": "admin"},
        "periodSeconds": 30,
        "timeoutSeconds": 10,
    }
    assert container["imagePullPolicy"] == "Always"
    assert pod(kubernetes)["terminationGracePeriodSeconds"] == 90
    marathon, kubernetes = both(tmp_path / "command", "healthCheck: {command: 'pgrep -f giphy'}\n")
    assert marathon["healthChecks"][0]["command"] == {"value": "pgrep -f giphy"}
    assert pod(kubernetes)["containers"][0]["livenessProbe"]["exec"] == {
        "command": ["/bin/sh", "-c", "pgrep -f giphy"]
    }


def test_labels_and_constraints(tmp_path):
    marathon, kubernetes = both(
        tmp_path,
        "labels: {team: search}\n"
        "constraints:\n"
        "  - {attribute: hostname, operator: UNIQUE}\n"
        "  - {attribute: rack, operator: GROUP_BY}\n"
        "  - {attribute: zone, operator: LIKE, value: eu-1}\n",
    )
    assert marathon["labels"]["team"] == "search"
    assert marathon["constraints"] == [["hostname", "UNIQUE"], ["rack", "GROUP_BY"], ["zone", "LIKE", "eu-1"]]
    assert kubernetes["Deployment"]["metadata"]["annotations"] == {"team": "search"}
    spec = pod(kubernetes)
    assert spec["nodeSelector"] == {"zone": "eu-1"}
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "rack"
    assert spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
        "topologyKey"
    ] == ("kubernetes.io/hostname")


def test_a_dependency_names_its_variable_and_sub_path(tmp_path):
    marathon, kubernetes = both(
        tmp_path,
        "dependencies:\n"
        "  - organization\n"
        "  - {name: member, env: MEMBER_SERVICE_URL, path: /v2/}\n"
        "  - {name: member, env: MEMBER_ADMIN_URL, path: /admin/}\n",
    )
    assert marathon["env"]["MEMBER_SERVICE_URL"] == "http://localhost:5040/service/member/v2/"
    assert marathon["env"]["ORGANIZATION_URL"] == "http://localhost:5040/service/organization/"
    data = kubernetes["ConfigMap"]["data"]
    assert data["MEMBER_ADMIN_URL"] == "http://member.web.svc.cluster.local:8080/admin/"


def test_a_marathon_secret_reference_in_the_escape_hatch_is_not_a_value(tmp_path):
    marathon, _ = both(
        tmp_path, "marathon:\n  env: {DB_PASSWORD: {secret: db}}\n  secrets: {db: {source: team/db}}\n"
    )
    assert marathon["env"]["DB_PASSWORD"] == {"secret": "db"}
    with pytest.raises(ConfigErrors) as refused:
        staging(tmp_path / "inline", "marathon:\n  env: {DB_PASSWORD: hunter2}\n")
    assert any("looks like a secret written inline" in m for m in messages(refused))


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ("ports: [{name: http, port: 9001}]", "ports[0].name: the name http is taken by port"),
        ("ports: [{name: admin, port: 8080}]", "ports[0].port: 8080 is the Kubernetes Service's port"),
        ("ports: [{name: Admin, port: 9001}]", "a port name is lowercase letters"),
        ("healthCheck: {path: /status, tcp: true}", "healthCheck.tcp: a health check is one kind"),
        ("healthCheck: {intervalSeconds: 5}", "healthCheck: missing required field 'path'"),
        ("readinessCheck: {path: /ready, port: nope}", "readinessCheck.port: there is no port named nope"),
        ("constraints: [{attribute: hostname, operator: UNIQUE, value: '1'}]", "UNIQUE takes no value"),
        ("constraints: [{attribute: rack, operator: MAX_PER}]", "constraints[0]: MAX_PER needs a value"),
        ("constraints: [{attribute: rack, operator: MAX_PER, value: two}]", "MAX_PER takes a whole number"),
        ("constraints: [{attribute: rack, operator: LIKE, value: 'r.*'}]", "no pattern"),
        ("labels: {SKYTRAIN_APP: x}", "does not start with SKYTRAIN_"),
        ("dependencies: [member, {name: member}]", "dependencies[1]: member is listed twice"),
        ("dependencies: [{name: member, path: v2}]", "a dependency is a service name"),
    ],
)
def test_each_mistake_is_a_sentence_at_its_field(tmp_path, extra, said):
    """Ports named and numbered once, a check of one kind on a port that exists, constraints
    with the value their operator needs, labels not skytrain's own, each variable set once."""
    with pytest.raises(ConfigErrors) as refused:
        staging(tmp_path, extra + "\n")
    assert any(said in m for m in messages(refused)), messages(refused)
