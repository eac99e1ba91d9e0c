"""Build diffs: pair desired and live (or old) objects by identity, normalise, redact, compare.

`diff_live` takes exactly what a backend's `live_objects(apps)` returns, so the same
function serves the CLI, the round-trip tests through each emulator and the benchmark.
`diff_rendered` compares two renders (the working tree against a git ref).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from skytrain.config.model import App
from skytrain.diff.compare import DiffResult, ObjectDiff, compare_object, sort_key
from skytrain.diff.normalise import Obj, PairNormaliser
from skytrain.diff.redact import redact_pair
from skytrain.schedulers import render, scheduler

LIVE = "live"


def diff_live(
    apps: Sequence[App],
    target: str,
    live_objects: Mapping[str, Sequence[Obj]],
    rendered: Mapping[str, Sequence[Obj]] | None = None,
) -> list[DiffResult]:
    """Each app's rendered objects against `live_objects` ({app name: objects as the
    scheduler returns them}, a backend's `live_objects(apps)`); `rendered` ({app name:
    objects}) saves rendering again when the caller already did."""
    plugin = scheduler(target)
    results = []
    for app in apps:
        desired = rendered[app.name] if rendered is not None else render(app, target)
        live = [
            obj
            for obj in (plugin.comparable(app, o) for o in live_objects.get(app.name, ()))
            if _applied(obj)
        ]
        normalise = plugin.normaliser(app)
        results.append(
            DiffResult(
                app.name,
                app.environment.name,
                target,
                LIVE,
                pair(target, desired, live, app.secret_env_names, normalise),
            )
        )
    return results


def diff_rendered(
    app: App | None, old_app: App | None, target: str, new: Sequence[Obj], old: Sequence[Obj], against: str
) -> DiffResult:
    """Two renders of one app, e.g. the working tree (`app`, `new`) against a git ref
    (`old_app`, `old`); either app may be missing (a new or a removed environment).
    Both come from the same renderer, so only redaction applies, no normalisation."""
    some = app if app is not None else old_app
    assert some is not None, "diff_rendered needs at least one of the two apps"
    secret_names = frozenset().union(*(a.secret_env_names for a in (app, old_app) if a is not None))
    objects = pair(target, new, old, secret_names, lambda d, live: (d, live))
    return DiffResult(some.name, some.environment.name, target, against, objects)


def pair(
    target: str,
    desired: Sequence[Obj],
    live: Sequence[Obj],
    secret_names: frozenset[str],
    normalise: PairNormaliser,
) -> list[ObjectDiff]:
    """Match objects by identity, then normalise, redact and compare each pair."""
    plugin = scheduler(target)
    by_identity: dict[tuple[str, str, str | None], list[Obj | None]] = {}
    for index, side in enumerate((desired, live)):
        for obj in side:
            by_identity.setdefault(plugin.identity(obj), [None, None])[index] = obj
    diffs = []
    for wanted, running in by_identity.values():
        if running is not None:  # an added object is shown as rendered, without server defaults
            wanted, running = normalise(wanted, running)
        wanted, running = redact_pair(wanted, running, secret_names)
        diffs.append(compare_object(plugin, wanted, running))
    return sorted(diffs, key=sort_key)


def _applied(obj: Obj) -> bool:
    """Objects a controller made (a ReplicaSet, a Pod: they carry ownerReferences) are never
    applied by skytrain, so they are not "removed" when the config does not render them."""
    return not (obj.get("metadata") or {}).get("ownerReferences")
