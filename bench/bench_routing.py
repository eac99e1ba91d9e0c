"""Routing layer speed: generation for a large fleet, `nginx -t` on the result, and the
cost of the mesh in requests/s (local proxy → SDB → backend vs direct), in one run.

    PYTHONPATH=. python bench/bench_routing.py

Targets (issue 6): generate 60 services × 1,500 Mesos agents in at most 300 ms.
The load uses wrk when installed, else a Python keep-alive loop (slower: it measures
the client as much as the mesh, so only its ratio is meaningful).
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skytrain.backends.nginx import NginxServer, check_file, find_nginx  # noqa: E402
from skytrain.config import load_service  # noqa: E402
from skytrain.config.environments import Mesh  # noqa: E402
from skytrain.emulators.mesh import free_port, nginx_user  # noqa: E402
from skytrain.render.routing import (  # noqa: E402
    LOCAL_CONF,
    SDB_CONF,
    Paths,
    RoutingSettings,
    build_routing,
    render_nginx_configs,
    render_routes,
)

SERVICES, AGENTS, WORKERS, SDB_HOSTS = 60, 1500, 30, 4
TARGET_MS = 300
SCHEDULERS = (("marathon",), ("kubernetes",), ("marathon", "kubernetes"))
LOAD_SECONDS = 3


def big_fleet():
    environments, apps = load_service(ROOT / "examples" / "giphy", only=["production"], environ={})
    base = apps["production"]
    environment = dataclasses.replace(
        environments["production"],
        mesh=Mesh(
            mesos_agents=tuple(f"10.{10 + i // 250}.{i % 250}.1" for i in range(AGENTS)),
            kubernetes_workers=tuple(f"10.30.{i}.1" for i in range(WORKERS)),
            sdb_hosts=tuple(f"10.20.{i}.1" for i in range(SDB_HOSTS)),
        ),
    )
    fleet = [
        dataclasses.replace(base, name=f"service{i:02d}x", schedulers=SCHEDULERS[i % 3])
        for i in range(SERVICES)
    ]
    return environment, fleet


def bench_generation() -> dict[str, str]:
    environment, fleet = big_fleet()
    started = time.perf_counter()
    files = render_routes(build_routing(fleet, environment))
    cold = (time.perf_counter() - started) * 1000
    runs = []
    for _ in range(10):
        started = time.perf_counter()
        files = render_routes(build_routing(fleet, environment))
        runs.append((time.perf_counter() - started) * 1000)
    size = sum(len(t) for t in files.values())
    verdict = "ok" if statistics.median(runs) <= TARGET_MS else "OVER TARGET"
    print(
        f"generate {SERVICES} services x {AGENTS} Mesos agents: {len(files)} files, {size / 1e6:.1f} MB; "
        f"first run {cold:.0f} ms (template and schema load), then median {statistics.median(runs):.0f} ms, "
        f"best {min(runs):.0f} ms (target <= {TARGET_MS} ms: {verdict})"
    )
    return files


def bench_nginx_t(binary: str) -> None:
    environment, fleet = big_fleet()
    user = nginx_user()
    with tempfile.TemporaryDirectory(prefix="bench-routing-") as prefix:
        settings = RoutingSettings(paths=Paths.under(prefix, user))
        for name, text in render_nginx_configs(build_routing(fleet, environment, settings)).items():
            config = Path(prefix) / name
            config.write_text(text)
            started = time.perf_counter()
            result = check_file(config, Path(prefix), binary)
            took = (time.perf_counter() - started) * 1000
            print(
                f"nginx -t {name} ({len(text) / 1e6:.2f} MB): {took:.0f} ms, {'ok' if result.ok else result.output}"
            )


BACKEND_CONF = """{user}
pid {prefix}/backend.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {prefix}/b-body; proxy_temp_path {prefix}/b-proxy; fastcgi_temp_path {prefix}/b-f;
    uwsgi_temp_path {prefix}/b-u; scgi_temp_path {prefix}/b-s;
    access_log off;
    server {{ listen 127.0.0.1:{port}; location / {{ default_type text/plain; return 200 "giphy@mesos\\n"; }} }}
}}
"""


def _wrk(url: str) -> float:
    done = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{LOAD_SECONDS}s", url], capture_output=True, text=True, timeout=60
    )
    return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))


def _python_load(url: str) -> float:
    host, _, rest = url.removeprefix("http://").partition("/")
    address, port = host.split(":")
    count = [0] * 8
    stop = time.monotonic() + LOAD_SECONDS

    def loop(i: int) -> None:
        conn = http.client.HTTPConnection(address, int(port), timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", "/" + rest)
            conn.getresponse().read()
            count[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(count))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(count) / LOAD_SECONDS


def bench_throughput(binary: str) -> None:
    environment, fleet = big_fleet()
    load = _wrk if shutil.which("wrk") else _python_load
    user = nginx_user()
    with tempfile.TemporaryDirectory(prefix="bench-routing-") as root:
        ports = {role: free_port() for role in ("local", "sdb", "backend")}
        mesh = Mesh(
            mesos_agents=(), kubernetes_workers=("127.0.0.1:1",), sdb_hosts=(f"127.0.0.1:{ports['sdb']}",)
        )
        settings = RoutingSettings(
            local_listen=f"127.0.0.1:{ports['local']}",
            sdb_listen=f"127.0.0.1:{ports['sdb']}",
            bridge_listen=f"127.0.0.1:{free_port()}",
            paths=Paths.under(root, user),
        )
        model = build_routing(
            fleet[:1],
            dataclasses.replace(environment, mesh=mesh),
            settings,
            {fleet[0].name: [f"127.0.0.1:{ports['backend']}"]},
        )
        configs = render_nginx_configs(model)
        texts = {
            "local": configs[LOCAL_CONF],
            "sdb": configs[SDB_CONF],
            "backend": BACKEND_CONF.format(
                prefix=root, port=ports["backend"], user=f"user {user};" if user else ""
            ),
        }
        servers = []
        try:
            for role, text in texts.items():
                prefix = Path(root) / role
                prefix.mkdir()
                (prefix / "nginx.conf").write_text(text)
                server = NginxServer(prefix, prefix / "nginx.conf", binary)
                server.start()
                servers.append(server)
            direct = load(f"http://127.0.0.1:{ports['backend']}/media")
            meshed = load(f"http://127.0.0.1:{ports['local']}/service/{fleet[0].name}/media")
        finally:
            for server in servers:
                server.stop()
    tool = "wrk -t2 -c32" if load is _wrk else "python keep-alive loop (8 threads)"
    print(
        f"requests/s with {tool}, {LOAD_SECONDS}s each on {os.cpu_count()} cores: direct to backend {direct:,.0f}; "
        f"local proxy -> SDB -> backend {meshed:,.0f}; ratio {meshed / direct:.2f}"
    )


def main() -> int:
    bench_generation()
    binary = find_nginx()
    if binary is None:
        print("nginx is not installed: skipping nginx -t and throughput")
        return 0
    bench_nginx_t(binary)
    bench_throughput(binary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
