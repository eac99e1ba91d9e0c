"""The hostile-input corpus: nothing that could become an NGINX directive is rendered.

Every value that reaches a config is refused with a ConfigError (exit 2 from the CLI)
naming the field, before any template runs.
"""

from __future__ import annotations

import dataclasses

import pytest

from skytrain.config.environments import Mesh
from skytrain.errors import ConfigErrors
from skytrain.render.routing import Paths, RoutingSettings, build_routing
from tests.support import EXAMPLES, skytrain

from .harness import example_fleet

INJECTIONS = [
    "foo; return 200",
    "foo;",
    "foo\n",
    "foo\nreturn 200 x;",
    "foo\r\nlocation / {}",
    "{foo}",
    "foo}",
    "foo{",
    "../foo",
    "foo/../../etc",
    "a..b",
    "'foo'",
    '"foo"',
    "foo bar",
    "foo\tbar",
    "$host",
    "foo#comment",
    "foo\\",
    "",
    "foo\x00",
    "fo\u00f6",
]
HOSTS = [
    *INJECTIONS,
    "10.0.0.1:80:90",
    "10.0.0.1:abc",
    "10.0.0.1:99999",
    "10.0.0.1:0",
    ".example.com",
    "-x.com",
]
PATHS = [*INJECTIONS, "relative/dir", "/tmp/../etc", "/tmp/x;y", "/tmp//{x}"]
LISTENS = [*INJECTIONS, "127.0.0.1", "0", "70000", "5040 default_server", "127.0.0.1:5040;"]


@pytest.fixture(scope="module")
def fleet():
    return example_fleet("production")


def _refused(build, value: str) -> str:
    with pytest.raises(ConfigErrors) as caught:
        build()
    text = str(caught.value)
    assert repr(value) in text or "is not a" in text or "has a port" in text, text
    return text


@pytest.mark.parametrize("value", [*INJECTIONS, "Foo", "-foo", "foo-", "a" * 64])
def test_hostile_service_names_are_refused(fleet, value):
    environment, apps = fleet
    hostile = [dataclasses.replace(apps[0], name=value), *apps[1:]]
    assert "name:" in _refused(lambda: build_routing(hostile, environment), value)


@pytest.mark.parametrize("value", [*INJECTIONS, "Core", "-core"])
def test_hostile_namespaces_are_refused(fleet, value):
    environment, apps = fleet
    hostile = [dataclasses.replace(apps[0], namespace=value), *apps[1:]]
    assert "routing.namespace" in _refused(lambda: build_routing(hostile, environment), value)


@pytest.mark.parametrize("field", ["mesos_agents", "kubernetes_workers", "sdb_hosts"])
@pytest.mark.parametrize("value", HOSTS)
def test_hostile_mesh_hosts_are_refused(fleet, field, value):
    environment, apps = fleet
    mesh = dataclasses.replace(environment.mesh, **{field: (*getattr(environment.mesh, field), value)})
    hostile = dataclasses.replace(environment, mesh=mesh)
    _refused(lambda: build_routing(apps, hostile), value)


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_hostile_bridge_namespace_is_refused(fleet, value):
    environment, apps = fleet
    kubernetes = dataclasses.replace(environment.kubernetes, namespace=value)
    hostile = dataclasses.replace(environment, kubernetes=kubernetes)
    assert "kubernetes.namespace" in _refused(lambda: build_routing(apps, hostile), value)


@pytest.mark.parametrize("value", HOSTS)
def test_hostile_mesos_nodes_are_refused(fleet, value):
    environment, apps = fleet
    _refused(lambda: build_routing(apps, environment, mesos_nodes={"giphy": [value]}), value)


@pytest.mark.parametrize("value", HOSTS)
def test_hostile_service_addresses_are_refused(fleet, value):
    environment, apps = fleet
    settings = RoutingSettings(service_addresses={"giphy": value})
    _refused(lambda: build_routing(apps, environment, settings), value)


@pytest.mark.parametrize("field", ["local_listen", "sdb_listen", "bridge_listen"])
@pytest.mark.parametrize("value", LISTENS)
def test_hostile_listen_addresses_are_refused(fleet, field, value):
    environment, apps = fleet
    _refused(lambda: build_routing(apps, environment, RoutingSettings(**{field: value})), value)


@pytest.mark.parametrize("field", ["pid_dir", "temp_dir", "access_log"])
@pytest.mark.parametrize("value", PATHS)
def test_hostile_paths_are_refused(fleet, field, value):
    environment, apps = fleet
    settings = RoutingSettings(paths=dataclasses.replace(Paths(), **{field: value}))
    _refused(lambda: build_routing(apps, environment, settings), value)


@pytest.mark.parametrize(
    "field,value",
    [
        *[("cluster_dns", v) for v in HOSTS],
        *[("cluster_domain", v) for v in INJECTIONS],
        *[("worker_processes", v) for v in [*INJECTIONS, "0", "65", "auto;", "2 2"]],
        *[("bridge_image", v) for v in [*INJECTIONS, "nginx:1.27; rm -rf /", "nginx:1.27\nkind: Pod"]],
    ],
)
def test_hostile_settings_are_refused(fleet, field, value):
    environment, apps = fleet
    _refused(lambda: build_routing(apps, environment, RoutingSettings(**{field: value})), value)


@pytest.mark.parametrize("value", [*INJECTIONS, "root;", "Root"])
def test_hostile_user_is_refused(fleet, value):
    environment, apps = fleet
    settings = RoutingSettings(paths=Paths(user=value))
    _refused(lambda: build_routing(apps, environment, settings), value)


def test_every_refusal_of_a_run_is_reported_at_once(fleet):
    environment, apps = fleet
    hostile = [dataclasses.replace(apps[0], name="a;b"), dataclasses.replace(apps[1], namespace="x}")]
    env = dataclasses.replace(environment, mesh=Mesh(("1.1.1.1;",), ("w\n",), ("s s",)))
    with pytest.raises(ConfigErrors) as caught:
        build_routing(hostile, env, RoutingSettings(cluster_dns="$x"))
    assert len(caught.value.errors) >= 6


def test_cli_refuses_a_hostile_option_with_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "routes"
    done = skytrain(
        "routes",
        "--fleet",
        str(EXAMPLES),
        "--env",
        "production",
        "--out",
        str(out),
        "--cluster-dns",
        "1.1.1.1; return 200",
    )
    assert done.returncode == 2, done.stderr
    assert "cluster_dns: '1.1.1.1; return 200' cannot go into the routing config" in done.stderr
    assert not out.exists()


def test_cli_refuses_a_hostile_environments_file_with_exit_2(tmp_path):
    environments = tmp_path / "envs.yml"
    environments.write_text(
        (EXAMPLES / "skytrain-environments.yml")
        .read_text()
        .replace("[10.2.20.1, 10.2.20.2]", '["10.2.20.1; return 200"]')
    )
    done = skytrain(
        "routes", "--fleet", str(EXAMPLES), "--env", "production", "--out", str(tmp_path / "o"),
        "--environments", str(environments),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "sdbHosts" in done.stderr and "nothing was sent" in done.stderr
