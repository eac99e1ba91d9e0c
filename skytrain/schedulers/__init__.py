"""The one list of schedulers skytrain deploys to, and the way to each one's plug-in.

Everything that differs between schedulers (how to render, check, compare and identify
their objects, and how to talk to them) sits behind the `Scheduler` protocol of
base.py; the rest of skytrain asks this registry for the plug-in by name and never
branches on the name itself. A plug-in is imported on first use, so that `validate`
does not load a renderer it does not need, and no plug-in imports a network library
until its backend is created.

Adding a scheduler: write its plug-in (a package under skytrain/schedulers/ that
defines `SCHEDULER`) and add one line to REGISTRY (docs/architecture.md).
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

from skytrain.errors import UsageError

if TYPE_CHECKING:
    from skytrain.backends.base import Backend
    from skytrain.config.environments import Environment
    from skytrain.config.model import App
    from skytrain.schedulers.base import Scheduler

REGISTRY: dict[str, str] = {
    "marathon": "skytrain.schedulers.marathon",
    "kubernetes": "skytrain.schedulers.kubernetes",
}
NAMES: tuple[str, ...] = tuple(REGISTRY)

# Commands reach plug-ins and create backends from worker threads (one per target); two
# threads importing the client libraries at once can see one half-initialised
# ("cannot import name ... from partially initialized module").
_importing = threading.RLock()


def scheduler(name: str) -> Scheduler:
    """The plug-in of the scheduler called `name`; an unknown name is a usage error."""
    module = REGISTRY.get(name)
    if module is None:
        raise UsageError(f"skytrain knows no scheduler called {name!r}; it knows {', '.join(NAMES)}")
    with _importing:
        plugin: Scheduler = importlib.import_module(module).SCHEDULER
    return plugin


def backend(name: str, environment: Environment) -> Backend:
    """The scheduler `name` of this environment, over the network (its client imported now)."""
    with _importing:
        return scheduler(name).backend(environment)


def render(app: App, name: str, check: bool = True) -> list[dict[str, Any]]:
    """The app's objects for one scheduler, checked against that scheduler's own schema
    (nothing it would refuse leaves the pure path). `check=False` skips the checks, for
    renders that are only read, never sent (the diff's old side: a base branch that a
    pull request fixes must still diff)."""
    from skytrain.errors import ConfigErrors

    plugin = scheduler(name)
    objects = plugin.render(app)
    if check:
        errors = plugin.check(app, objects)
        if errors:
            raise ConfigErrors(errors)
    return objects
