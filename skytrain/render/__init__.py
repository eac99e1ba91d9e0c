"""Pure renderers: App models in, scheduler objects (plain dicts) out, no I/O.

One module per scheduler (marathon.py, kubernetes.py) plus the routing renderers; the
scheduler plug-ins (skytrain/schedulers/) pick theirs, and `skytrain.schedulers.render`
is the entry point the commands and backends use. What the plug-ins' checks share lives
here: a problem the scheduler's own schema finds becomes a config error at the line of
the escape hatch that caused it (or, when no escape hatch is involved, a bug report).
"""

from __future__ import annotations

from collections.abc import Callable

from skytrain.config.model import App
from skytrain.errors import ConfigError, Location, field_path
from skytrain.render import upstream

# the escape hatch's path in the config for a kind: ("marathon",) or ("kubernetes", "Deployment")
HatchRoot = Callable[[str], tuple[str | int, ...]]


def schema_errors(
    app: App, hatch: str, title: str, root: HatchRoot, problems: list[tuple[str, upstream.Problem]]
) -> list[ConfigError]:
    """One config error per (kind, problem) the scheduler's schema found; `hatch` is the
    scheduler's escape-hatch key (`marathon:`), `title` its name in a sentence."""
    errors = []
    for kind, problem in problems:
        if hatch in app.origins:
            where, path = _patch_location(app, hatch, root(kind), problem[0])
            errors.append(
                ConfigError(
                    where,
                    path,
                    f"with this escape hatch applied, the {title} {kind} fails the {title} schema at "
                    f"{upstream.describe(problem)}; fix the patch",
                )
            )
        else:
            errors.append(
                ConfigError(
                    app.origins["(top level)"],
                    "(top level)",
                    f"skytrain rendered a {title} {kind} that fails the {title} schema "
                    f"({upstream.describe(problem)}); this is a skytrain bug, please report it with this file",
                )
            )
    return errors


def _patch_location(
    app: App, hatch: str, root: tuple[str | int, ...], path: tuple[str | int, ...]
) -> tuple[Location, str]:
    """The deepest field of the escape hatch on the failing path, else the hatch itself."""
    if app.positions is not None:
        for end in range(len(path), -1, -1):
            written = (*root, *path[:end])
            if written in app.positions.keys:
                return app.positions.keys[written], field_path(written)
    return app.origins[hatch], hatch
