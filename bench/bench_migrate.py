"""`skytrain migrate status` for a fleet of 60 services in one environment against the
emulators (Marathon, Kubernetes, Consul): how long it takes, and how many requests it sends
to each (the issue: one list per kind per scheduler, under 1 s).

    PYTHONPATH=$PWD python bench/bench_migrate.py
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skytrain.backends.consul import ConsulKV  # noqa: E402
from skytrain.cli import main  # noqa: E402
from skytrain.emulators.consul import ConsulEmulator  # noqa: E402
from skytrain.emulators.platform import emulated_platform  # noqa: E402
from skytrain.render.routing.canary import share_key  # noqa: E402

ENV = "production"
SERVICES = 60
RUNS = 7


def write_fleet(fleet: Path) -> None:
    for i in range(SERVICES):
        deploy = fleet / f"svc{i:02d}" / "deploy"
        deploy.mkdir(parents=True)
        dependencies = [f"svc{j:02d}" for j in (i - 1, i - 2) if j >= 0]
        scheduler = ("marathon", "both", "kubernetes")[i % 3]
        (deploy / "application.yml").write_text(
            yaml.safe_dump(
                {
                    "name": f"svc{i:02d}",
                    "image": f"registry.example.com/svc{i:02d}:1.0",
                    "scheduler": scheduler,
                    "replicas": 2,
                    "port": 8080,
                    "healthCheck": {"path": "/status"},
                    "dependencies": dependencies,
                }
            )
        )
        (deploy / f"{ENV}.yml").write_text("")


def silently(*args: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(args))


def main_bench() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fleet = root / "services"
        write_fleet(fleet)
        (root / "platform").mkdir()
        with emulated_platform(root / "platform", 0.01, names=(ENV,)) as platform, ConsulEmulator() as consul:
            os.environ.update(platform.process_env())
            os.environ.pop("KUBERNETES_SERVICE_HOST", None)
            emulated = yaml.safe_load(platform.environments.read_text())["environments"][ENV]
            mesh = {"sdbHosts": ["127.0.0.1:9"], "kubernetesWorkers": ["127.0.0.1:9"], "consul": consul.url}
            environments = root / "skytrain-environments.yml"
            environments.write_text(yaml.safe_dump({"environments": {ENV: {**emulated, "mesh": mesh}}}))
            services = sorted(str(p) for p in fleet.iterdir())
            assert silently("deploy", *services, "--env", ENV, "--environments", str(environments)) == 0
            kv = ConsulKV(consul.url)
            for i in range(1, SERVICES, 6):  # a canary here and there
                kv.put(share_key(ENV, f"svc{i:02d}"), str(5 * (i % 20) + 5))
            status = [
                "migrate",
                "status",
                "--fleet",
                str(fleet),
                "--env",
                ENV,
                "--environments",
                str(environments),
            ]
            marathon, kubernetes = platform.marathon[ENV], platform.kubernetes[ENV]
            before = (len(marathon.calls), len(kubernetes.calls), len(consul.requests))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main([*status, "--format", "json"]) == 0
            sent = {
                "Marathon": Counter(f"{c.method} {c.path}" for c in marathon.calls[before[0] :]),
                "Kubernetes": Counter(f"{c.method} {c.path}" for c in kubernetes.calls[before[1] :]),
                "Consul": Counter(f"{m} /v1/kv/{k}" for m, k in consul.requests[before[2] :]),
            }
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                assert silently(*status, "--format", "json") == 0
                times.append(time.perf_counter() - started)
            fresh = []
            for _ in range(3):
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "skytrain", *status], check=True, capture_output=True,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )  # fmt: skip
                fresh.append(time.perf_counter() - started)
            client = []
            for _ in range(3):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-c", "import kubernetes.client"], check=True)
                client.append(time.perf_counter() - started)
            html = []
            for _ in range(3):
                started = time.perf_counter()
                assert silently(*status, "--format", "html", "-o", str(root / "board.html")) == 0
                html.append(time.perf_counter() - started)
    phases = Counter(
        line.split('"label": "')[1].split('"')[0] for line in out.getvalue().splitlines() if '"label"' in line
    )
    print(f"migrate status, {SERVICES} services x 1 environment, against the emulators (in process):")
    print(
        f"  JSON        median {statistics.median(times) * 1000:7.1f} ms of {RUNS} runs (max {max(times) * 1000:.1f} ms)"
    )
    print(
        f"  as a fresh process (text, imports included) median {statistics.median(fresh) * 1000:7.1f} ms of 3 runs"
    )
    print(
        f"    of which a process importing the official Kubernetes client: {statistics.median(client) * 1000:7.1f} ms"
    )
    print(f"  HTML board  median {statistics.median(html) * 1000:7.1f} ms of 3 runs (with dot's graph)")
    print(f"  phases: {dict(phases)}")
    for system, calls in sent.items():
        print(
            f"  requests to {system}: {sum(calls.values())}: "
            + ", ".join(f"{n} x {c}" for c, n in calls.items())
        )


if __name__ == "__main__":
    main_bench()
