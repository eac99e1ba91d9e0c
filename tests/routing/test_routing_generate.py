"""What `skytrain routes` generates from the example fleet: exact URL rewrites, Mesos
before the catch-all, the bridge manifests, and byte-for-byte determinism."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import pytest
import yaml

from skytrain.config.environments import Mesh
from skytrain.errors import ConfigErrors
from skytrain.render import upstream
from skytrain.render.routing import BRIDGE_CONF, LOCAL_CONF, SDB_CONF, SDB_CTMPL, build_routing, render_routes
from skytrain.render.routing.canary import share_key
from skytrain.render.routing.model import RoutingSettings
from tests.support import cli_env, network_modules

from .harness import example_fleet


@pytest.fixture(scope="module")
def production():
    environment, apps = example_fleet("production")
    return environment, apps, render_routes(build_routing(apps, environment))


@pytest.fixture(scope="module")
def staging():
    environment, apps = example_fleet("staging")
    return environment, apps, render_routes(build_routing(apps, environment))


def _locations(conf: str) -> list[str]:
    return re.findall(r"^\s*location (.*?) \{", conf, re.M)


def test_the_files_generated_for_production(production):
    _, _, files = production
    assert list(files) == [
        LOCAL_CONF,
        SDB_CONF,
        BRIDGE_CONF,
        SDB_CTMPL,
        "kubernetes/default.skyline-bridge.configmap.yaml",
        "kubernetes/default.skyline-bridge.daemonset.yaml",
        "kubernetes/default.giphy.service.yaml",
        "kubernetes/default.organization.service.yaml",
    ]


def test_local_proxy_sends_skyline_urls_to_the_sdb_on_5040(production):
    _, _, files = production
    local = files[LOCAL_CONF]
    assert "listen 5040;" in local
    assert re.search(
        r"upstream skyline_sdb \{\s+server 10\.2\.20\.1:5040 .*\n\s+server 10\.2\.20\.2:5040 ", local
    )
    assert (
        'location ~ "^/service/[a-z]([a-z0-9-]*[a-z0-9])?/" {\n            proxy_pass http://skyline_sdb;'
        in local
    )


def test_sdb_puts_mesos_services_before_the_kubernetes_catch_all(production):
    _, _, files = production
    sdb = files[SDB_CONF]
    # production: giphy and organization on Marathon, media on Kubernetes only
    assert _locations(sdb) == ["^~ /service/giphy/", "^~ /service/organization/", "/service/", "/"]
    route = "\n            set $skyline_route {};\n            proxy_pass http://{};"
    assert "location /service/ {" + route.format("kubernetes", "skyline_kubernetes") in sdb
    assert "location ^~ /service/giphy/ {" + route.format("mesos", "skyline_mesos_giphy") in sdb
    assert "listen 5040;" in sdb


def test_a_dead_mesos_upstream_falls_back_to_the_kubernetes_workers(production):
    _, _, files = production
    sdb = files[SDB_CONF]
    giphy = re.search(r"upstream skyline_mesos_giphy \{(.*?)\}", sdb, re.S).group(1)
    assert [line.strip() for line in giphy.strip().splitlines()[:7]] == [
        "server 10.2.10.1:5041 max_fails=1 fail_timeout=5s;",
        "server 10.2.10.2:5041 max_fails=1 fail_timeout=5s;",
        "server 10.2.10.3:5041 max_fails=1 fail_timeout=5s;",
        "server 10.2.10.4:5041 max_fails=1 fail_timeout=5s;",
        "server 10.2.30.1:5041 backup;",
        "server 10.2.30.2:5041 backup;",
        "server 10.2.30.3:5041 backup;",
    ]
    assert "proxy_next_upstream error timeout http_502 http_503 http_504;" in sdb


def test_bridge_ingress_rewrites_to_the_cluster_dns_name_on_8080(production):
    _, _, files = production
    bridge = files[BRIDGE_CONF]
    assert "listen 5041 default_server;" in bridge
    assert (
        "        location /service/media/ {\n"
        '            set $skyline_service "media.default.svc.cluster.local:8080";\n'
        "            rewrite ^/service/media(/.*)$ $1 break;\n"
        "            proxy_pass http://$skyline_service;\n"
        "        }\n"
    ) in bridge
    assert "resolver 10.96.0.10 valid=10s ipv6=off;" in bridge


def test_bridge_egress_turns_cluster_names_of_mesos_services_into_skyline_urls(production):
    _, _, files = production
    bridge = files[BRIDGE_CONF]
    assert (
        "    server {\n"
        "        listen 5041;\n"
        "        server_name organization organization.default organization.default.svc.cluster.local;\n"
        "\n"
        "        location / {\n"
        "            rewrite ^(.*)$ /service/organization$1 break;\n"
        "            proxy_pass http://skyline_sdb;\n"
    ) in bridge
    assert "server_name media " not in bridge  # media lives on Kubernetes: no egress


def test_a_migrating_service_is_served_by_its_own_kubernetes_service(staging):
    """Staging runs giphy on both: Mesos first in the SDB, an ingress on the bridge, but
    no bridge Service or egress for it (its own Deployment's Service has that name)."""
    _, _, files = staging
    assert "location ^~ /service/giphy/" in files[SDB_CONF]
    assert "location /service/giphy/ {" in files[BRIDGE_CONF]
    assert "server_name giphy " not in files[BRIDGE_CONF]
    assert "kubernetes/default.giphy.service.yaml" not in files
    assert "kubernetes/default.organization.service.yaml" in files


def test_headers_keepalive_and_timeouts_are_set_on_every_config(production):
    _, _, files = production
    for name in (LOCAL_CONF, SDB_CONF, BRIDGE_CONF):
        conf = files[name]
        for line in (
            "proxy_http_version 1.1;",
            'proxy_set_header Connection "";',
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $skyline_forwarded_proto;",
            "proxy_set_header X-Forwarded-Host $skyline_forwarded_host;",
            "proxy_set_header X-Request-Id $skyline_request_id;",
            "proxy_connect_timeout 2s;",
            "proxy_read_timeout 60s;",
            "keepalive 32;",
        ):
            assert line in conf, (name, line)
        assert "{{" not in conf and "}}" not in conf


def test_bridge_manifests_pass_the_kubernetes_schemas_and_carry_the_config(production):
    environment, _, files = production
    objects = {name: yaml.safe_load(text) for name, text in files.items() if name.startswith("kubernetes/")}
    for obj in objects.values():
        assert upstream.kubernetes_problems(obj, environment.kubernetes.version) == []
    configmap = objects["kubernetes/default.skyline-bridge.configmap.yaml"]
    assert configmap["data"]["nginx.conf"] == files[BRIDGE_CONF]
    daemonset = objects["kubernetes/default.skyline-bridge.daemonset.yaml"]
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0] == {
        "name": "skyline",
        "containerPort": 5041,
        "hostPort": 5041,
        "protocol": "TCP",
    }
    service = objects["kubernetes/default.organization.service.yaml"]
    assert service["spec"]["selector"] == daemonset["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": 5041, "protocol": "TCP"}]


def test_a_config_change_rolls_the_bridge_pods(production):
    environment, apps, files = production
    other = render_routes(build_routing(apps[:2], environment))

    def pod_hash(rendered):
        ds = yaml.safe_load(rendered["kubernetes/default.skyline-bridge.daemonset.yaml"])
        return ds["spec"]["template"]["metadata"]["annotations"]

    assert pod_hash(other) != pod_hash(files)


def test_a_mesos_resident_service_of_another_namespace_gets_an_external_name(production):
    environment, apps, _ = production
    moved = [dataclasses.replace(a, namespace="core") if a.name == "organization" else a for a in apps]
    files = render_routes(build_routing(moved, environment))
    service = yaml.safe_load(files["kubernetes/core.organization.service.yaml"])
    assert service["spec"]["type"] == "ExternalName"
    assert service["spec"]["externalName"] == "skyline-bridge.default.svc.cluster.local"
    assert "kubernetes/default.skyline-bridge.service.yaml" in files
    assert (
        "server_name organization organization.core organization.core.svc.cluster.local;"
        in files[BRIDGE_CONF]
    )


def test_output_is_deterministic(production):
    environment, apps, files = production
    assert render_routes(build_routing(list(reversed(apps)), environment)) == files


def test_mesos_scaled_to_zero_leaves_only_the_catch_all(production):
    environment, apps, _ = production
    files = render_routes(build_routing(apps, environment, mesos_nodes={"giphy": []}))
    assert _locations(files[SDB_CONF]) == ["^~ /service/organization/", "/service/", "/"]
    # the live catalogue decides at run time: consul-template keeps the guarded location
    assert '{{ if service "giphy|passing" }}' in files[SDB_CTMPL]
    assert '{{ range service "giphy|passing" }}server {{ .Address }}:5041' in files[SDB_CTMPL]


def test_services_outside_the_mesh_are_left_out(production):
    environment, apps, _ = production
    files = render_routes(build_routing([dataclasses.replace(a, mesh=False) for a in apps], environment))
    assert _locations(files[SDB_CONF]) == ["/service/", "/"]
    assert "/service/media/" not in files[BRIDGE_CONF]


def test_listen_ports_and_prefix_paths_can_be_moved_for_tests(production):
    from skytrain.render.routing import Paths

    environment, apps, _ = production
    settings = RoutingSettings(local_listen="127.0.0.1:15040", paths=Paths.under("/tmp/skyline-test"))
    files = render_routes(build_routing(apps, environment, settings))
    assert "listen 127.0.0.1:15040;" in files[LOCAL_CONF]
    assert "pid /tmp/skyline-test/skyline-local.pid;" in files[LOCAL_CONF]
    assert "proxy_temp_path /tmp/skyline-test/local-proxy;" in files[LOCAL_CONF]


def test_a_mesh_without_sdb_hosts_or_workers_is_refused(production):
    environment, apps, _ = production
    empty = dataclasses.replace(environment, mesh=Mesh(mesos_agents=("10.0.0.1",)))
    with pytest.raises(ConfigErrors) as caught:
        build_routing(apps, empty, source="envs.yml")
    text = str(caught.value)
    assert (
        "envs.yml:1:1: error: environments.production.mesh.sdbHosts: environment 'production' lists no"
        in text
    )
    assert "mesh.kubernetesWorkers" in text


def test_the_routing_renderer_stays_off_the_network_libraries():
    code = "import json, sys, skytrain.render.routing, skytrain.commands.routes; print(json.dumps(list(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env())
    assert done.returncode == 0, done.stderr
    assert network_modules(json.loads(done.stdout)) == []


def _consul_template(text: str, catalogue: dict[str, list[str]], kv: dict[str, str] | None = None) -> str:
    """Just enough of consul-template for our SDB template: `if service`, `range service`,
    and a canary share read with `keyOrDefault` and kept only when `regexMatch` says it is one."""
    kv = kv or {}

    def ranges(match: re.Match[str]) -> str:
        return "".join(match.group(2).replace("{{ .Address }}", a) for a in catalogue.get(match.group(1), []))

    def shares(match: re.Match[str]) -> str:
        value = kv.get(match.group(1), match.group(2))
        if not re.fullmatch(match.group(3).replace("$", r"\Z"), value):
            return ""
        return match.group(4).replace("{{ $share }}", value)

    text = re.sub(
        r'\{\{ range service "([a-z0-9-]+)\|passing" \}\}(.*?)\{\{ end \}\}', ranges, text, flags=re.S
    )
    text = re.sub(
        r'\{\{ with \$share := keyOrDefault "([^"]+)" "([^"]*)" \}\}\{\{ if regexMatch "([^"]+)" \$share \}\}'
        r"(.*?)\{\{ end \}\}\{\{ end \}\}",
        shares,
        text,
        flags=re.S,
    )
    return re.sub(
        r'\{\{ if service "([a-z0-9-]+)\|passing" \}\}(.*?)\{\{ end \}\}',
        lambda m: m.group(2) if catalogue.get(m.group(1)) else "",
        text,
        flags=re.S,
    )


def _significant(conf: str) -> list[str]:
    return [s for line in conf.splitlines() if (s := line.strip()) and not s.startswith("#")]


@pytest.mark.parametrize(
    "catalogue", [{"giphy": ["10.2.10.2", "10.2.10.3"]}, {"organization": ["10.2.10.1"]}, {}]
)
@pytest.mark.parametrize("shares", [{}, {"giphy": 25}, {"giphy": 100, "organization": 1}])
def test_consul_template_renders_what_the_static_sdb_would_for_that_catalogue(production, catalogue, shares):
    """The same catalogue and canary shares make the same SDB, whichever renders it."""
    environment, apps, files = production
    kv = {share_key("production", name): str(share) for name, share in shares.items()}
    kv[share_key("production", "media")] = "25; include /etc/passwd"  # never rendered
    rendered = _consul_template(files[SDB_CTMPL], catalogue, kv)
    assert "{{" not in rendered
    nodes = {a.name: catalogue.get(a.name, []) for a in apps if a.runs_on("marathon")}
    static = render_routes(build_routing(apps, environment, mesos_nodes=nodes, shares=shares))[SDB_CONF]
    assert _significant(rendered) == _significant(static)
