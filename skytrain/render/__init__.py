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


def render(app: App, target: str, check: bool = True) -> list[dict[str, Any]]:
    """`check=False` skips the schema checks, for renders that are only read, never sent
    (the diff's old side: a base branch that a pull request fixes must still diff)."""
    objects = [render_marathon(app)] if target == "marathon" else render_kubernetes(app)
    problems = _problems(app, target, objects) if check else []
    if problems:
        raise ConfigErrors([_problem(app, target, kind, problem) for kind, problem in problems])
    return objects


def _problems(app: App, target: str, objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    if target == "marathon":
        legacy = app.environment.marathon is not None and app.environment.marathon.legacy_networking
        return [("app", p) for p in upstream.marathon_problems(objects[0], legacy)]
    version = app.environment.kubernetes.version if app.environment.kubernetes else "1.33"
    return [(o["kind"], p) for o in objects for p in upstream.kubernetes_problems(o, version)]


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
