"""Kubernetes deploy benchmark against the emulated API server (official client, real HTTP).

The emulated cluster runs in a child process, as a real API server would: the figures
measure skytrain's side, not the emulator competing with it for the GIL.

1. Gate latency: from the moment the emulated controllers make the rollout healthy to
   the moment the gate passes (median over N deploys), against krane (3 s), Helm (2 s)
   and Skaffold (1 s) polling.
2. 50 services deployed concurrently in one process versus one service alone (wall time),
   each rollout taking ROLLOUT seconds in the emulated cluster.
3. API requests per deploy of one service, counted by the emulator, by kind of request, for a
   first deploy, an image bump, an unchanged deploy and an env change.

    PYTHONPATH=. python bench/bench_kubernetes.py [--runs 25] [--services 50]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skytrain import lifecycle  # noqa: E402
from skytrain.backends.base import DeployOptions  # noqa: E402
from skytrain.config import load_service  # noqa: E402
from skytrain.emulators.kubernetes_controllers import cluster  # noqa: E402
from skytrain.progress import NullReporter  # noqa: E402
from skytrain.schedulers import backend, render  # noqa: E402
from skytrain.wording import place  # noqa: E402

ROLLOUT = 1.0  # seconds an emulated rollout takes in the concurrency run


class GateClock(NullReporter):
    """Notes when each app's gate saw it healthy (the backend reports that state at once)."""

    def __init__(self) -> None:
        self.healthy_at: dict[str, float] = {}

    def update(self, subject: str, state: str, detail: str = "") -> None:
        if state == "healthy":
            self.healthy_at.setdefault(subject, time.monotonic())


def load(tag: str, name: str | None = None):
    _, apps = load_service(
        ROOT / "examples" / "giphy",
        str(ROOT / "examples" / "skytrain-environments.yml"),
        only=["staging"],
        environ={"BUILD_TAG": tag},
    )
    app = apps["staging"]
    return dataclasses.replace(app, name=name) if name else app


def _serve(connection, delay: float) -> None:
    """The child process: an emulated cluster and its controllers, answering questions."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        cluster(Path(tmp), delay=delay) as (emulator, controller, kubeconfig),
    ):
        connection.send(str(kubeconfig))
        while (question := connection.recv()) != "stop":
            if question == "calls":
                connection.send([(c.method, c.path, dict(c.query)) for c in emulator.calls])
            elif question == "cpu":
                times = os.times()
                connection.send(times.user + times.system)
            else:  # when the named Deployment last became healthy (CLOCK_MONOTONIC is system-wide)
                times = [t for (_, name, _), t in controller.healthy_at.items() if name == question]
                connection.send(max(times) if times else None)


@contextlib.contextmanager
def remote_cluster(delay: float):
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve, args=(theirs, delay), daemon=True)
    child.start()
    os.environ["KUBECONFIG"] = ours.recv()
    try:
        yield ours
    finally:
        ours.send("stop")
        child.join(10)


def gate_latency(runs: int) -> list[float]:
    latencies = []
    with remote_cluster(delay=0.05) as emulated:
        for run in range(runs + 1):
            app = load(f"v{run}")
            clock = GateClock()
            result = lifecycle.deploy(
                backend("kubernetes", app.environment),
                app,
                render(app, "kubernetes"),
                DeployOptions(timeout_seconds=10),
                clock,
            )
            assert result.ok, result
            emulated.send(app.name)
            healthy = emulated.recv()
            if run:  # the first deploy pays for imports and connection set-up
                latencies.append(clock.healthy_at[place("staging", app.name, "kubernetes")] - healthy)
    return latencies


def concurrency(services: int) -> tuple[float, float, float]:
    """Wall time of one deploy, of `services` at once, and the emulator's CPU time for the latter."""
    with remote_cluster(delay=ROLLOUT) as emulated:
        apps = [load("v1", f"svc-{i:02d}") for i in range(services + 2)]  # warm-up, one, then many
        rendered = {a.name: render(a, "kubernetes") for a in apps}

        def deploy(app) -> None:
            result = lifecycle.deploy(
                backend("kubernetes", app.environment),
                app,
                rendered[app.name],
                DeployOptions(timeout_seconds=30),
                NullReporter(),
            )
            assert result.ok, result

        deploy(apps[0])  # warm up: imports, the connection pool
        start = time.monotonic()
        deploy(apps[1])
        one = time.monotonic() - start
        emulated.send("cpu")
        cpu = emulated.recv()
        start = time.monotonic()
        with ThreadPoolExecutor(services) as pool:
            list(pool.map(deploy, apps[2:]))
        many = time.monotonic() - start
        emulated.send("cpu")
        cpu = emulated.recv() - cpu
    return one, many, cpu


SCENARIOS = (
    ("first deploy", "v1", {}),
    ("image bump", "v2", {}),
    ("unchanged", "v2", {}),
    ("env change", "v2", {"LOG_LEVEL": "debug"}),
)


def requests_per_deploy() -> list[tuple[str, Counter[str], bool]]:
    """What one app's deploy asks the API server, by kind of request, in each scenario, one
    after the other (a first deploy, an image bump, the same again, an env change)."""
    with remote_cluster(delay=0.05) as emulated:
        measured = []
        for title, tag, env in SCENARIOS:
            app = load(tag, "counted")
            app = dataclasses.replace(app, env=MappingProxyType({**app.env, **env}))
            emulated.send("calls")
            before = len(emulated.recv())
            result = lifecycle.deploy(
                backend("kubernetes", app.environment),
                app,
                render(app, "kubernetes"),
                DeployOptions(timeout_seconds=10),
                NullReporter(),
            )
            assert result.ok, result
            emulated.send("calls")
            kinds = Counter(_kind(method, path, query) for method, path, query in emulated.recv()[before:])
            measured.append((title, kinds, result.outcome.value == "unchanged"))
    return measured


def _kind(method: str, path: str, query: dict[str, str]) -> str:
    """`LIST configmaps`, `PATCH deployments`, `WATCH pods`; the history ConfigMap as `history`
    (its first write is a POST to the collection: the name is in the body)."""
    parts = path.strip("/").split("/")
    after = parts[parts.index("namespaces") + 2 :]  # plural, then the name if there is one
    plural, name = after[0], after[1] if len(after) > 1 else ""
    if name.startswith("skytrain-release-") or (method == "POST" and plural == "configmaps"):
        plural = "history"
    if query.get("watch"):
        return f"WATCH {plural}"
    return f"{'LIST' if method == 'GET' and not name else method} {plural}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--services", type=int, default=50)
    args = parser.parse_args()

    latencies = gate_latency(args.runs)
    median = statistics.median(latencies)
    print(f"gate latency (healthy in the cluster -> gate passed), {len(latencies)} deploys:")
    print(
        f"  median {median * 1000:.1f} ms, p90 {statistics.quantiles(latencies, n=10)[-1] * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms   (target <= 250 ms)"
    )
    for tool, interval in (("Skaffold", 1.0), ("Helm", 2.0), ("krane", 3.0)):
        print(
            f"  vs a {interval:.0f} s poll ({tool}): median latency {interval / 2:.2f} s expected, "
            f"{interval / 2 / median:.0f}x slower; worst case {interval:.0f} s, {interval / median:.0f}x"
        )

    one, many, cpu = concurrency(args.services)
    print(
        f"\nconcurrency (each emulated rollout takes {ROLLOUT:.1f} s; client and emulator share "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}):"
    )
    print(
        f"  1 service: {one:.2f} s; {args.services} services at once: {many:.2f} s; "
        f"ratio {many / one:.2f}x   (target <= 1.5x)"
    )
    print(f"  the emulator's CPU time for the {args.services} at once: {cpu:.2f} s")
    print(
        "\nAPI requests per Kubernetes deploy, lock and release history included (target: <= 4 plus the watches):"
    )
    for title, kinds, _ in requests_per_deploy():
        requests = sum(n for kind, n in kinds.items() if not kind.startswith("WATCH"))
        watches = sum(n for kind, n in kinds.items() if kind.startswith("WATCH"))
        listed = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
        print(f"  {title:<13} {requests} requests + {watches} watches: {listed}")
    print(
        "  (history = the release-history ConfigMap, which also holds the deploy lock: one write takes\n"
        "   the lock and records the revision as applying, one records the outcome and frees the lock;\n"
        "   the Deployment's watch, opened for its initial state, is the read of the live Deployment)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
