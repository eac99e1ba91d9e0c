"""Pure renderers: App models in, scheduler objects (plain dicts) out, no I/O.

`render` is the one entry point the commands and backends use: it renders for a target
and checks every object against that scheduler's own schema, so nothing a scheduler
would refuse ever leaves the pure path.
"""

from __future__ import annotations

from typing import Any

from skytrain.config.model import App
from skytrain.errors import ConfigError, ConfigErrors
from skytrain.render import upstream
from skytrain.render.kubernetes import render_kubernetes
from skytrain.render.marathon import render_marathon

TARGETS = ("marathon", "kubernetes")
_SCHEDULER_NAMES = {"marathon": "Marathon", "kubernetes": "Kubernetes"}


def render(app: App, target: str) -> list[dict[str, Any]]:
    if target == "marathon":
        objects = [render_marathon(app)]
        legacy = app.environment.marathon is not None and app.environment.marathon.legacy_networking
        problems = [("app", p) for p in upstream.marathon_problems(objects[0], legacy)]
    else:
        objects = render_kubernetes(app)
        version = app.environment.kubernetes.version if app.environment.kubernetes else "1.33"
        problems = [(o["kind"], p) for o in objects for p in upstream.kubernetes_problems(o, version)]
    if problems:
        raise ConfigErrors([_problem(app, target, kind, problem) for kind, problem in problems])
    return objects


def _problem(app: App, target: str, kind: str, problem: str) -> ConfigError:
    scheduler = _SCHEDULER_NAMES[target]
    if target in app.origins:
        return ConfigError(
            app.origins[target],
            target,
            f"with this escape hatch applied, the {scheduler} {kind} fails {scheduler}'s own schema at {problem}; fix the patch",
        )
    return ConfigError(
        app.origins["(top level)"],
        "(top level)",
        f"skytrain rendered a {scheduler} {kind} that fails {scheduler}'s own schema ({problem}); "
        "this is a skytrain bug, please report it with this file",
    )
