"""Marathon backend speed, against the emulator on 127.0.0.1 (prints figures; not a test).

1. Gate latency: how long after the app becomes healthy (all tasks of the new version
   healthy, deployment finished) the gate passes. Target: median <= 0.25 s. Compared
   with a gate polling once a second.
2. Fan-out: 50 apps deployed concurrently (the CLI's own path: a backend per app,
   lifecycle.concurrently) against one app alone. Target: <= 1.5x the wall time of one.

    PYTHONPATH=. .venv/bin/python bench/bench_marathon.py
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from skytrain import lifecycle
from skytrain.backends.base import DeployOptions
from skytrain.backends.marathon.backend import MarathonBackend
from skytrain.backends.marathon.client import MarathonClient
from skytrain.backends.marathon.gate import POLL_SECONDS, Gate
from skytrain.config import load_service
from skytrain.config.model import App
from skytrain.emulators.marathon import Behaviour, MarathonEmulator
from skytrain.progress import NullReporter
from skytrain.schedulers import backend, render

DEPLOYS = 20
FLEET = 50
ROLLOUT_SECONDS = 1.0  # how long the emulated tasks take to become healthy in the fan-out


def write_service(root: Path, name: str, tag: str) -> Path:
    directory = root / name
    (directory / "deploy").mkdir(parents=True, exist_ok=True)
    (directory / "deploy" / "staging.yml").write_text("{}\n")
    (directory / "deploy" / "application.yml").write_text(
        f"name: {name}\nimage: registry.example.com/{name}:{tag}\nscheduler: marathon\nreplicas: 2\n"
        "port: 8080\nhealthCheck:\n  path: /health\n"
    )
    return directory


def load(root: Path, url: str, name: str, tag: str) -> App:
    root.mkdir(parents=True, exist_ok=True)
    environments = root / "environments.yml"
    environments.write_text(f"environments:\n  staging:\n    marathon:\n      url: {url}\n")
    _, apps = load_service(write_service(root, name, tag), str(environments), ["staging"], environ={})
    return apps["staging"]


def timed_deploy(backend: MarathonBackend, app: App, done: list[float]) -> None:
    result = lifecycle.deploy(backend, app, render(app, "marathon"), DeployOptions(), NullReporter())
    done.append(time.perf_counter())
    assert result.ok, result.messages


def gate_latencies(root: Path, poll_seconds: float) -> list[float]:
    """Deploy, wait until the deployment is listed, make it healthy at t0, and time the gate."""
    latencies = []
    with MarathonEmulator() as marathon:
        client = MarathonClient(marathon.url, environ={})
        backend = MarathonBackend(client, Gate(client, poll_seconds=poll_seconds))
        for number in range(DEPLOYS):
            app = load(root, marathon.url, "latency", f"v{poll_seconds}-{number}")
            done: list[float] = []
            deploy = threading.Thread(target=timed_deploy, args=(backend, app, done))
            deploy.start()
            while not marathon.deployments:
                time.sleep(0.005)
            time.sleep(0.01 + 0.37 * ((number * 7) % DEPLOYS) / DEPLOYS)  # healthy at varied phases
            (deployment,) = marathon.deployments
            healthy_at = time.perf_counter()
            marathon.finish_deployment(deployment)
            deploy.join()
            latencies.append(done[0] - healthy_at)
        client.close()
    return latencies


def fan_out(root: Path, count: int) -> float:
    """Wall time to deploy `count` apps at once through the CLI's path."""
    with MarathonEmulator(behaviour=Behaviour.healthy(ROLLOUT_SECONDS)) as marathon:
        apps = [load(root, marathon.url, f"fleet-{i:02d}", f"{count}") for i in range(count)]
        rendered = {app.name: render(app, "marathon") for app in apps}
        start = time.perf_counter()
        results = lifecycle.concurrently(
            apps,
            lambda app: lifecycle.deploy(
                backend("marathon", app.environment), app, rendered[app.name], DeployOptions(), NullReporter()
            ),
        )
        wall = time.perf_counter() - start
        failed = [r for r in results if not r.ok]
        assert not failed, f"{len(failed)} deploys failed: {failed[0].messages}"
    return wall


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fast = gate_latencies(root, POLL_SECONDS)
        slow = gate_latencies(root, 1.0)
        one = fan_out(root / "one", 1)
        many = fan_out(root / "many", FLEET)

    def line(name: str, values: list[float]) -> str:
        p90 = statistics.quantiles(values, n=10)[-1]
        return f"{name}: median {statistics.median(values):.3f}s, p90 {p90:.3f}s over {len(values)} deploys"

    print("Marathon gate latency (app healthy → gate passed)")
    print("  " + line(f"poll {POLL_SECONDS * 1000:.0f} ms (skytrain)", fast))
    print("  " + line("poll 1 s (baseline)", slow))
    print(
        f"  ratio of medians: {statistics.median(fast) / statistics.median(slow):.2f} (target median <= 0.25s)"
    )
    print(f"Fan-out (tasks healthy after {ROLLOUT_SECONDS:g}s)")
    print(
        f"  1 app: {one:.2f}s; {FLEET} apps concurrently: {many:.2f}s; ratio {many / one:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
