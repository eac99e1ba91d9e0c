"""A running Kubernetes API emulator with its controllers, and helpers to deploy to it with
the real backend (official client → HTTP → emulator). KUBECONFIG points at the emulator."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from skytrain import lifecycle
from skytrain.backends.base import DeployOptions, DeployResult, StatusResult
from skytrain.backends.kubernetes.history import HISTORY_ROLE, ROLE_LABEL
from skytrain.backends.kubernetes.lock import HOLDER, RENEWED, SECONDS, lock_holder
from skytrain.config import load_service
from skytrain.config.model import App
from skytrain.emulators.kubernetes import ClusterEmulator, micro_now
from skytrain.emulators.kubernetes_controllers import HEALTHY, Controller
from skytrain.progress import NullReporter
from skytrain.render.kubernetes import env_configmap_name, owner_labels
from skytrain.schedulers import backend, render
from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES

NAMESPACE = "default"
HISTORY = "skytrain-release-giphy"


@functools.cache
def app(tag: str = "good", service: str = "giphy", env: str = "staging") -> App:
    """The example service in one environment, with its image tag set as CI would (BUILD_TAG)."""
    _, apps = load_service(
        EXAMPLES / service, str(EXAMPLE_ENVIRONMENTS), only=[env], environ={"BUILD_TAG": tag}
    )
    return apps[env]


def env_configmap(service: str = "giphy") -> str:
    """The name of the service's content-named env ConfigMap (the same for every image tag)."""
    return env_configmap_name(app(service=service))


@dataclass
class Cluster:
    emulator: ClusterEmulator
    controller: Controller
    kubeconfig: Path

    def backend(self, target_app: App | None = None):
        return backend("kubernetes", (target_app or app()).environment)

    def deploy(self, target_app: App | None = None, **options: Any) -> DeployResult:
        target_app = target_app or app()
        options.setdefault("timeout_seconds", 5)
        return lifecycle.deploy(
            self.backend(target_app),
            target_app,
            render(target_app, "kubernetes"),
            DeployOptions(**options),
            NullReporter(),
        )

    def rollback(
        self, to_revision: str | None = None, target_app: App | None = None, **options: Any
    ) -> DeployResult:
        target_app = target_app or app()
        options.setdefault("timeout_seconds", 5)
        return lifecycle.rollback(
            self.backend(target_app), target_app, to_revision, DeployOptions(**options), NullReporter()
        )

    def scale(self, replicas: int, target_app: App | None = None, **options: Any) -> DeployResult:
        target_app = target_app or app()
        options.setdefault("timeout_seconds", 5)
        return lifecycle.scale(
            self.backend(target_app), target_app, replicas, DeployOptions(**options), NullReporter()
        )

    def status(self, target_app: App | None = None) -> StatusResult:
        return lifecycle.status(self.backend(target_app), target_app or app())

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.emulator.get(kind, NAMESPACE, name)

    def image(self, name: str = "giphy") -> str:
        deployment = self.get("Deployment", name)
        assert deployment is not None
        return deployment["spec"]["template"]["spec"]["containers"][0]["image"]

    def finish_rollout(self, name: str = "giphy") -> None:
        """Once the controller has reconciled the Deployment's current generation (in its
        configured behaviour), make the rollout healthy: a test decides when a gate may pass,
        instead of racing a delay."""

        def reconciled() -> bool:
            deployment = self.get("Deployment", name) or {}
            generation = deployment.get("metadata", {}).get("generation")
            return (
                generation is not None
                and deployment.get("status", {}).get("observedGeneration") == generation
            )

        self.emulator.wait_until(reconciled)
        self.controller.reconcile(NAMESPACE, name, HEALTHY)

    def hold_lock(self, holder: str, renewed_ago: datetime.timedelta = datetime.timedelta(0)) -> None:
        """The deploy lock of giphy, held by another deploy that last renewed it `renewed_ago`
        (written into its release history, as a deploy holding it would)."""
        annotations = {HOLDER: holder, RENEWED: micro_now(renewed_ago), SECONDS: "30"}
        history = self.get("ConfigMap", HISTORY)
        if history is None:
            self.emulator.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": HISTORY,
                        "namespace": NAMESPACE,
                        "labels": {**owner_labels(app()), ROLE_LABEL: HISTORY_ROLE},
                        "annotations": annotations,
                    },
                    "data": {},
                }
            )
        else:
            self.emulator.modify(
                "ConfigMap",
                NAMESPACE,
                HISTORY,
                lambda c: c["metadata"].setdefault("annotations", {}).update(annotations),
            )

    def lock_holder(self) -> str | None:
        return lock_holder(self.get("ConfigMap", HISTORY))

    def writes(self, since: int = 0) -> list[str]:
        return [
            f"{c.method} {c.path}"
            for c in self.emulator.calls[since:]
            if c.method in ("POST", "PUT", "PATCH")
        ]


@pytest.fixture
def k8s(kube_cluster: tuple[ClusterEmulator, Controller, Path]) -> Cluster:
    return Cluster(*kube_cluster)
