"""The Kubernetes backend (see backend.py). Importing this package is cheap: the official
client is imported only when a backend is created for an environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skytrain.config.environments import Environment
from skytrain.errors import UsageError

if TYPE_CHECKING:
    from skytrain.backends.kubernetes.backend import KubernetesBackend


def create_backend(environment: Environment) -> KubernetesBackend:
    if environment.kubernetes is None:
        raise UsageError(
            f"the environment {environment.name!r} has no kubernetes cluster in the environments file; "
            f"ask the platform team to add one, or deploy with --target marathon"
        )
    from skytrain.backends.kubernetes.backend import KubernetesBackend
    from skytrain.backends.kubernetes.client import Kube, api_client_for

    return KubernetesBackend(Kube(api_client_for(environment.kubernetes.context)))
