"""Deploy to Mesos/Marathon: our own REST client (client.py), the health gate (gate.py),
refusals mapped back to the config (fields.py) and the backend itself (backend.py).

Only `create_backend` is imported, by the Marathon plug-in (skytrain.schedulers.marathon); `requests` is
loaded here, never on the pure path.
"""

from __future__ import annotations

import os

from skytrain.backends.base import Backend
from skytrain.config.environments import Environment
from skytrain.errors import UsageError

TIMEOUT_ENV = "SKYTRAIN_MARATHON_TIMEOUT"


def create_backend(environment: Environment) -> Backend:
    """The backend for this environment's Marathon (URL from the environments file,
    credentials from MARATHON_USER/MARATHON_PASSWORD or MARATHON_TOKEN)."""
    from skytrain.backends.marathon.backend import MarathonBackend
    from skytrain.backends.marathon.client import MarathonClient

    if environment.marathon is None:
        raise UsageError(
            f"the environments file has no Marathon for {environment.name!r}; "
            "add environments.<name>.marathon.url or deploy with --target kubernetes"
        )
    timeout = float(os.environ.get(TIMEOUT_ENV) or 10)
    return MarathonBackend(MarathonClient(environment.marathon.url, timeout=timeout))
