"""The only code that talks to a scheduler. Everything here may do I/O; nothing on the
pure path (config, render, offline diff) imports it.

`backend_for` picks the backend of a target; each backend module imports its client
(the Kubernetes client, or the HTTP library for Marathon) only when it is created.
"""

from __future__ import annotations

import threading

from skytrain.backends.base import Backend
from skytrain.config.environments import Environment

# Commands create their backends from worker threads (one per target). The first creation
# imports the client libraries, and both import requests: two threads importing it at once
# can see it half-initialised ("cannot import name ... from partially initialized module").
_creating = threading.Lock()


def backend_for(target: str, environment: Environment) -> Backend:
    with _creating:
        if target == "marathon":
            from skytrain.backends.marathon import create_backend
        elif target == "kubernetes":
            from skytrain.backends.kubernetes import create_backend
        else:
            raise ValueError(f"unknown target {target!r}")
        return create_backend(environment)
