"""`nginx -t` passes on every generated config, and the safe apply keeps NGINX serving."""

from __future__ import annotations

import pytest

from skytrain.backends.nginx import ConfigRefused, NginxServer, check_text, find_nginx, safe_apply
from skytrain.emulators.mesh import LocalMesh
from skytrain.render.routing import BRIDGE_CONF, LOCAL_CONF, SDB_CONF
from tests.support import EXAMPLES, require, skytrain

from .harness import example_fleet, require_nginx


@pytest.mark.parametrize("env", ["dev", "staging", "production"])
def test_routes_check_passes_nginx_t_on_every_generated_config(tmp_path, env):
    require_nginx()
    out = tmp_path / "routes"
    done = skytrain("routes", "--fleet", str(EXAMPLES), "--env", env, "--out", str(out), "--check")
    assert done.returncode == 0, done.stderr
    for name in (LOCAL_CONF, SDB_CONF, BRIDGE_CONF):
        assert f"nginx -t {name}: ok" in done.stdout
        assert (out / name).is_file()
    assert (out / "consul-template" / "sdb.conf.ctmpl").is_file()


def test_routes_accepts_single_service_folders_and_removes_stale_manifests(tmp_path):
    out = tmp_path / "routes"
    (out / "kubernetes").mkdir(parents=True)
    (out / "kubernetes" / "default.gone.service.yaml").write_text("stale")
    done = skytrain(
        "routes", "--fleet", str(EXAMPLES / "media"), str(EXAMPLES / "organization"), "--env", "production",
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (out / "kubernetes").iterdir()) == [
        "default.organization.service.yaml",
        "default.skyline-bridge.configmap.yaml",
        "default.skyline-bridge.daemonset.yaml",
    ]


def test_routes_usage_errors_exit_2(tmp_path):
    done = skytrain("routes", "--fleet", str(tmp_path), "--env", "production", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "holds no service repository" in done.stderr
    done = skytrain("routes", "--fleet", str(EXAMPLES), "--env", "prod", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "no environment 'prod'" in done.stderr


def test_nginx_t_reports_what_is_wrong():
    require_nginx()
    result = check_text("events {}\nhttp { server { listen 127.0.0.1:1; bogus on; } }\n")
    assert not result.ok
    assert 'unknown directive "bogus"' in result.output


def test_safe_apply_reloads_only_a_changed_config_and_never_a_broken_one(tmp_path):
    binary = require_nginx()
    environment, apps = example_fleet("staging", ("giphy",))
    mesh = LocalMesh(tmp_path, environment, binary)
    configs = mesh.configs(apps, {"giphy": ["127.0.0.1:1"]}, {})
    sdb_dir = tmp_path / "sdb"
    sdb_dir.mkdir()
    (sdb_dir / SDB_CONF).write_text(configs[SDB_CONF])
    server = NginxServer(sdb_dir, sdb_dir / SDB_CONF, binary)
    server.start()
    try:
        workers = server.workers()
        assert safe_apply(server, configs[SDB_CONF]).changed is False
        assert server.workers() == workers, "an unchanged config must not reload"

        with pytest.raises(ConfigRefused, match="old config keeps serving"):
            safe_apply(server, configs[SDB_CONF].replace("listen", "listen_nowhere", 1))
        assert (sdb_dir / SDB_CONF).read_text() == configs[SDB_CONF]
        assert not (sdb_dir / f"{SDB_CONF}.new").exists()
        assert server.workers() == workers

        changed = mesh.configs(apps, {"giphy": []}, {})[SDB_CONF]
        assert safe_apply(server, changed).changed is True
        assert server.workers() - workers, "new workers serve the new config"
        assert (sdb_dir / SDB_CONF).read_text() == changed
    finally:
        server.stop()


def test_without_nginx_the_tests_skip_but_fail_under_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require(None, "nginx", "nginx-light")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must install nginx-light"):
        require(None, "nginx", "nginx-light")


def test_nginx_is_found_on_path_or_in_the_sbin_beside_a_bin_on_it(tmp_path, monkeypatch):
    """Debian's /usr/sbin/nginx is found from a user's PATH of /usr/bin; a PATH that leads to
    no nginx is a machine without one (`make demo` is tested that way)."""
    for name in ("bin", "sbin", "elsewhere"):
        (tmp_path / name).mkdir()
    binary = tmp_path / "sbin" / "nginx"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find_nginx() == str(binary)
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert find_nginx() is None
    binary.chmod(0o644)  # not executable: not an nginx to run
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find_nginx() is None
