"""Benchmark of the config engine (issue 2). Prints its figures; asserts nothing.

1. A generated fleet (60 services x 4 environments x both targets) loaded, validated and
   rendered in one process. Target: at most 1.5 s on a 2-core machine.
2. `skytrain validate examples/giphy` as a fresh process against `python -c pass`.
   Target: at most 3 x (python -c pass) + 150 ms.
3. When kubectl is installed: skytrain's Kubernetes render of the same fleet against
   `kubectl kustomize` on equivalent bases and overlays, in the same run.

Run: PYTHONPATH=. python bench/bench_config.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skytrain.config import load_service  # noqa: E402
from skytrain.schedulers import render  # noqa: E402

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


def bench_fleet(services: list[Path]) -> tuple[float, float, int, tuple[float, float]]:
    """Wall and CPU seconds to load+validate+render everything, the render count, and the
    Kubernetes-only (wall, CPU) seconds."""
    environ: dict[str, str] = {}
    started, cpu = time.perf_counter(), time.process_time()
    renders = 0
    for service in services:
        _, apps = load_service(service, environ=environ)
        for app in apps.values():
            for target in app.schedulers:
                render(app, target)
                renders += 1
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    for service in services:
        _, apps = load_service(service, environ=environ)
        for app in apps.values():
            render(app, "kubernetes")
    return total, total_cpu, renders, (time.perf_counter() - started, time.process_time() - cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fresh_process_times(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, float, float]:
    """(median wall, best wall, median CPU) in ms of `command` as a new process, after one
    warm-up run. CPU time (user + system) hardly moves when other jobs load the machine."""
    subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), _children_cpu()
        subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
    return statistics.median(walls) * 1000, min(walls) * 1000, statistics.median(cpus) * 1000


def fresh_process_ms(command: list[str], runs: int, env: dict[str, str]) -> float:
    return fresh_process_times(command, runs, env)[0]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh-process runs per command (median)")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} cores, load average {load:.2f} (load inflates wall times, hardly CPU times)"
    )
    work = Path(tempfile.mkdtemp(prefix="skytrain-bench-"))
    try:
        services = write_fleet(work / "skytrain")
        total, total_cpu, renders, kubernetes_only = bench_fleet(services)
        print(
            f"fleet: {SERVICES} services x {len(ENVIRONMENTS)} environments x 2 targets = {renders} renders, "
            f"loaded, validated and rendered in one process: {total * 1000:.0f} ms total "
            f"({total * 1000 / renders:.2f} ms per render; CPU {total_cpu * 1000:.0f} ms; target <= 1500 ms total)"
        )

        # a real install has .pyc files; this checkout may run with PYTHONDONTWRITEBYTECODE
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONDONTWRITEBYTECODE", "BUILD_TAG"}}
        env["PYTHONPATH"] = str(REPO)
        bare, bare_best, bare_cpu = fresh_process_times([sys.executable, "-c", "pass"], args.runs, env)
        validate, validate_best, validate_cpu = fresh_process_times(
            [sys.executable, "-m", "skytrain", "validate", "examples/giphy"], args.runs, env
        )
        budget = 3 * bare + 150
        print(
            f"fresh process: python -c pass {bare:.1f} ms; skytrain validate examples/giphy {validate:.1f} ms "
            f"(median of {args.runs}); budget 3 x {bare:.1f} + 150 = {budget:.1f} ms: "
            f"{'within' if validate <= budget else 'OVER'} budget"
        )
        print(
            f"  best of {args.runs}: python -c pass {bare_best:.1f} ms, validate {validate_best:.1f} ms, "
            f"budget {3 * bare_best + 150:.1f} ms; CPU (user+sys, median): python -c pass {bare_cpu:.1f} ms, "
            f"validate {validate_cpu:.1f} ms, budget {3 * bare_cpu + 150:.1f} ms"
        )

        kubectl = shutil.which("kubectl")
        if kubectl is None:
            print("kubectl kustomize: kubectl not installed, ratio not measured")
            return
        roots = write_kustomize_fleet(work / "kustomize")
        started, cpu = time.perf_counter(), _children_cpu()
        for root in roots:
            subprocess.run([kubectl, "kustomize", str(root)], check=True, capture_output=True)
        kustomize, kustomize_cpu = time.perf_counter() - started, _children_cpu() - cpu
        wall, cpu = kubernetes_only
        print(
            f"kubectl kustomize: the same fleet's {SERVICES * len(ENVIRONMENTS)} overlays (Kubernetes only) "
            f"{kustomize * 1000:.0f} ms (CPU {kustomize_cpu * 1000:.0f} ms) in {len(roots)} runs; skytrain "
            f"load+validate+render Kubernetes {wall * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms) in one process: "
            f"ratio skytrain/kustomize = {wall / kustomize:.2f} wall, {cpu / kustomize_cpu:.2f} CPU"
        )
        one_skytrain = fresh_process_ms(
            [
                sys.executable,
                "-m",
                "skytrain",
                "render",
                str(services[0]),
                "--env",
                "staging",
                "--target",
                "kubernetes",
            ],
            args.runs,
            env,
        )
        one_kustomize = fresh_process_ms(
            [kubectl, "kustomize", str(work / "kustomize" / name(0) / "overlays" / "staging")], args.runs, env
        )
        print(
            f"one service, one environment, fresh process: skytrain render {one_skytrain:.1f} ms, "
            f"kubectl kustomize {one_kustomize:.1f} ms: ratio {one_skytrain / one_kustomize:.2f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
