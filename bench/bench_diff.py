"""Benchmark the diff (issue 5 targets). Run: `python bench/bench_diff.py`.

Offline: diff 60 generated services x 1 environment against a git ref, versus rendering
them twice (target: at most 2x).

Live: the same 60 services deployed to the emulated Kubernetes API (in a child process,
as bench_kubernetes.py runs it), then diffed with nothing changed (target: at most 2 s
wall, and at most one LIST per kind, counted from the emulator's request record).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skytrain.config import load_service
from skytrain.config.model import App
from skytrain.diff import diff_live
from skytrain.diff.format_json import format_json
from skytrain.diff.offline import apps_at, diff_against_ref
from skytrain.schedulers import render

SERVICES = 60
COLLECTIONS = ("configmaps", "services", "deployments")  # the kinds the Kubernetes backend lists
ENVIRONMENT = "staging"
REF = "HEAD"

ENVIRONMENTS = """\
environments:
  staging:
    marathon: {url: "http://127.0.0.1:9/", version: "1.7"}
    kubernetes: {context: staging, namespace: fleet}
"""

BASE = """\
name: {name}
maintainers: [{{name: Fleet Owner, email: owner@example.com}}]
image: registry.example.com/{name}:1.0.{index}
scheduler: both
replicas: {replicas}
resources: {{cpu: 0.5, memory: 256Mi}}
port: 8080
args: ["--port", "8080"]
env: {{LOG_LEVEL: info, SERVICE_INDEX: "{index}"}}
secrets: {{API_KEY: {{secret: {name}, key: api-key}}}}
healthCheck: {{path: /health}}
dependencies: [{dependency}]
"""


def generate_fleet(root: Path, count: int = SERVICES) -> list[Path]:
    """`count` services in a git repository at `root`, committed; returns their folders."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "skytrain-environments.yml").write_text(ENVIRONMENTS)
    folders = []
    for index in range(count):
        name = f"svc-{index:03d}"
        folder = root / name / "deploy"
        folder.mkdir(parents=True)
        dependency = f"svc-{(index + 1) % count:03d}"
        folder.joinpath("application.yml").write_text(
            BASE.format(name=name, index=index, replicas=1 + index % 3, dependency=dependency)
        )
        folder.joinpath(f"{ENVIRONMENT}.yml").write_text("replicas: 2\n")
        folders.append(folder.parent)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fleet"], cwd=root, check=True)
    return folders


def change_some(folders: list[Path]) -> None:
    """A third of the fleet gets a new image, as a typical release PR would."""
    for folder in folders[::3]:
        path = folder / "deploy" / "application.yml"
        path.write_text(path.read_text().replace(":1.0.", ":1.1."))


def render_twice(folders: list[Path], environments: Path) -> None:
    for _ in range(2):
        for folder in folders:
            app = load_service(folder, str(environments), [ENVIRONMENT])[1][ENVIRONMENT]
            for target in app.schedulers:
                render(app, target)


def offline_diff(folders: list[Path], environments: Path) -> int:
    """What `skytrain diff DIR --env staging --against HEAD --format json` does per service."""
    changed = 0
    for folder in folders:
        envs, apps = load_service(folder, str(environments), [ENVIRONMENT])
        old = apps_at(REF, folder, envs, list(apps))
        results = diff_against_ref(REF, apps, old)
        format_json(results)
        changed += sum(r.changed for r in results)
    return changed


def interleaved(actions: list[Callable[[], Any]], repeats: int = 7) -> list[float]:
    """Median seconds of each action, run in turns so that load from other processes on
    the machine weighs on all of them alike."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(repeats):
        for index, action in enumerate(actions):
            start = time.perf_counter()
            action()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def live_fleet_diff(folders: list[Path], environments: Path, target: str = "kubernetes") -> int:
    """What `skytrain diff --env staging` does for the whole fleet in one process: load and
    render every service, make the backend, read what runs (one `live_objects` call for
    every app), diff and format. Returns how many services have changes."""
    from skytrain.schedulers import backend

    apps = [load_service(folder, str(environments), [ENVIRONMENT])[1][ENVIRONMENT] for folder in folders]
    rendered = {app.name: render(app, target) for app in apps}
    live = backend(target, apps[0].environment).live_objects(apps)
    results = diff_live(apps, target, live, rendered)
    format_json(results)
    return sum(r.changed for r in results)


def deploy_fleet(folders: list[Path], environments: Path) -> None:
    """Every service of the fleet deployed to the emulated cluster (KUBECONFIG points at it)."""
    from skytrain import lifecycle
    from skytrain.backends.base import DeployOptions
    from skytrain.progress import NullReporter
    from skytrain.schedulers import backend

    apps = [load_service(folder, str(environments), [ENVIRONMENT])[1][ENVIRONMENT] for folder in folders]
    kubernetes = backend("kubernetes", apps[0].environment)  # imports the client once, here

    def deploy(app: App) -> None:
        result = lifecycle.deploy(
            kubernetes, app, render(app, "kubernetes"), DeployOptions(timeout_seconds=30), NullReporter()
        )
        assert result.ok, result

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(deploy, apps))


def lists_per_kind(calls: list[tuple[str, str, dict[str, str]]]) -> Counter[str]:
    """LIST requests (GET on a collection, not a watch) by resource, e.g. {"deployments": 1}."""
    return Counter(
        path.rsplit("/", 1)[-1]
        for method, path, query in calls
        if method == "GET" and not query.get("watch") and path.rsplit("/", 1)[-1] in COLLECTIONS
    )


def live_benchmark(root: Path, folders: list[Path]) -> bool:
    from bench_kubernetes import remote_cluster

    environments = root / "skytrain-environments.yml"
    with remote_cluster(delay=0.0) as emulated:
        deploy_fleet(folders, environments)
        emulated.send("calls")
        before = len(emulated.recv())
        start = time.perf_counter()
        changed = live_fleet_diff(folders, environments)
        first = time.perf_counter() - start
        emulated.send("calls")
        lists = lists_per_kind(emulated.recv()[before:])
        median = interleaved([lambda: live_fleet_diff(folders, environments)], repeats=5)[0]
    worst = max(lists.values())
    ok = changed == 0 and max(first, median) <= 2 and worst <= 1
    print(
        f"\nlive: {SERVICES} services x 1 environment deployed to the emulated Kubernetes API, nothing changed"
    )
    print(f"  diff (load, render, read, compare, format): {first:.3f} s first run,")
    print(f"  {median:.3f} s median of 5; {changed} services with changes   (target <= 2 s)")
    print(
        "  LIST calls per kind: "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(lists.items()))
        + f"   (target <= 1): {'PASS' if ok else 'FAIL'}"
    )
    return ok


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as temp:
        root = Path(temp)
        folders = generate_fleet(root)
        environments = root / "skytrain-environments.yml"
        change_some(folders)
        offline_diff(folders[:2], environments)  # warm imports and schema caches
        changed = offline_diff(folders, environments)
        render_seconds, diff_seconds = interleaved(
            [lambda: render_twice(folders, environments), lambda: offline_diff(folders, environments)]
        )
        ratio = diff_seconds / render_seconds
        print(f"fleet: {SERVICES} services x 1 environment x 2 targets, {changed} diffs with changes")
        print(f"render twice:                 {render_seconds * 1000:8.1f} ms (median of 7)")
        print(f"offline diff against {REF}:   {diff_seconds * 1000:8.1f} ms (median of 7)")
        print(f"ratio: {ratio:.2f}x (target <= 2x): {'PASS' if ratio <= 2 else 'FAIL'}")
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)  # what was committed
        live_ok = live_benchmark(root, folders)
    return 0 if ratio <= 2 and live_ok else 1


if __name__ == "__main__":
    sys.exit(main())
