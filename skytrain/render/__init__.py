"""Pure renderers: App models in, scheduler objects (plain dicts) out, no I/O.

`render` is the one entry point the commands and backends use: it renders for a target
and checks every object against that scheduler's own schema, so nothing a scheduler
would refuse ever leaves the pure path.
"""

from __future__ import annotations

from typing import Any

from skytrain.config.model import App
from skytrain.errors import ConfigError, ConfigErrors, Location, field_path
from skytrain.render import upstream
from skytrain.render.kubernetes import render_kubernetes
from skytrain.render.marathon import render_marathon

TARGETS = ("marathon", "kubernetes")
_SCHEDULER_NAMES = {"marathon": "Marathon", "kubernetes": "Kubernetes"}


def render(app: App, target: str, check: bool = True) -> list[dict[str, Any]]:
    """`check=False` skips the schema checks, for renders that are only read, never sent
    (the diff's old side: a base branch that a pull request fixes must still diff)."""
    objects = [render_marathon(app)] if target == "marathon" else render_kubernetes(app)
    if not check:
        return objects
    if target == "kubernetes":
        unused = _unused_patches(app, objects)
        if unused:
            raise ConfigErrors(unused)
    problems = _problems(app, target, objects)
    if problems:
        raise ConfigErrors([_problem(app, target, kind, problem) for kind, problem in problems])
    return objects


def _unused_patches(app: App, objects: list[dict[str, Any]]) -> list[ConfigError]:
    """A patch for a kind skytrain does not render for this service would silently do nothing."""
    rendered = {o["kind"] for o in objects}
    errors = []
    for kind in sorted(set(app.kubernetes_overrides) - rendered):
        path = ("kubernetes", kind)
        where = app.positions.keys.get(path) if app.positions else None
        errors.append(
            ConfigError(
                where or app.origins["kubernetes"],
                field_path(path),
                f"there is no {kind} to patch: skytrain renders {', '.join(sorted(rendered))} for this service "
                "(a ConfigMap only when it has env or dependencies)",
            )
        )
    return errors


def _problems(app: App, target: str, objects: list[dict[str, Any]]) -> list[tuple[str, upstream.Problem]]:
    if target == "marathon":
        legacy = app.environment.marathon is not None and app.environment.marathon.legacy_networking
        return [("app", p) for p in upstream.marathon_errors(objects[0], legacy)]
    version = app.environment.kubernetes.version if app.environment.kubernetes else "1.33"
    return [(o["kind"], p) for o in objects for p in upstream.kubernetes_errors(o, version)]


def _problem(app: App, target: str, kind: str, problem: upstream.Problem) -> ConfigError:
    scheduler = _SCHEDULER_NAMES[target]
    if target in app.origins:
        where, path = _patch_location(app, target, kind, problem[0])
        return ConfigError(
            where,
            path,
            f"with this escape hatch applied, the {scheduler} {kind} fails the {scheduler} schema at "
            f"{upstream.describe(problem)}; fix the patch",
        )
    return ConfigError(
        app.origins["(top level)"],
        "(top level)",
        f"skytrain rendered a {scheduler} {kind} that fails the {scheduler} schema "
        f"({upstream.describe(problem)}); this is a skytrain bug, please report it with this file",
    )


def _patch_location(app: App, target: str, kind: str, path: tuple[str | int, ...]) -> tuple[Location, str]:
    """The deepest field of the escape hatch on the failing path, else the hatch itself."""
    root: tuple[str | int, ...] = (target,) if target == "marathon" else (target, kind)
    if app.positions is not None:
        for end in range(len(path), -1, -1):
            written = (*root, *path[:end])
            if written in app.positions.keys:
                return app.positions.keys[written], field_path(written)
    return app.origins[target], target
