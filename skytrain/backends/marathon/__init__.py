"""Deploy to Mesos/Marathon: our own REST client (client.py), the health gate (gate.py),
refusals mapped back to the config (fields.py) and the backend itself (backend.py).

Only `create_backend` is imported, by the Marathon plug-in (skytrain.schedulers.marathon); `requests` is
loaded here, never on the pure path.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from skytrain.backends.base import Backend
from skytrain.config.environments import Environment
from skytrain.errors import UsageError

if TYPE_CHECKING:
    from skytrain.backends.marathon.client import MarathonClient

TIMEOUT_ENV = "SKYTRAIN_MARATHON_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0


def create_backend(environment: Environment) -> Backend:
    """The backend for this environment's Marathon (URL from the environments file,
    credentials from MARATHON_USER/MARATHON_PASSWORD or MARATHON_TOKEN)."""
    from skytrain.backends.marathon.backend import MarathonBackend

    return MarathonBackend(create_client(environment))


def create_client(environment: Environment) -> MarathonClient:
    """The client of this environment's Marathon, for reads outside a deploy (`import marathon`)."""
    from skytrain.backends.marathon.client import MarathonClient

    if environment.marathon is None:
        raise UsageError(
            f"the environments file has no Marathon for {environment.name!r}; "
            "add environments.<name>.marathon.url or deploy with --target kubernetes"
        )
    return MarathonClient(environment.marathon.url, timeout=request_timeout(os.environ))


def request_timeout(environ: Mapping[str, str]) -> float:
    """Seconds a Marathon request may take: $SKYTRAIN_MARATHON_TIMEOUT, default 10."""
    text = environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_TIMEOUT:
        raise UsageError(
            f"{TIMEOUT_ENV} must be a number of seconds above 0 and at most {MAX_TIMEOUT:g} "
            f"(the default is {DEFAULT_TIMEOUT:g}); got {text[:20]!r}"
        )
    return seconds
