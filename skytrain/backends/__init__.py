"""The only code that talks to a scheduler. Everything here may do I/O; nothing on the
pure path (config, render, offline diff) imports it.

`backend_for` picks the backend of a target; each backend module imports its client
(the Kubernetes client, or the HTTP library for Marathon) only when it is created.
"""

from __future__ import annotations

from skytrain.backends.base import Backend
from skytrain.config.environments import Environment


def backend_for(target: str, environment: Environment) -> Backend:
    if target == "marathon":
        from skytrain.backends.marathon import create_backend
    elif target == "kubernetes":
        from skytrain.backends.kubernetes import create_backend
    else:
        raise ValueError(f"unknown target {target!r}")
    return create_backend(environment)
