"""The `marathon:` escape hatch of an imported service: what the model's own fields do not
say, so that `skytrain render --target marathon` gives back the app that runs now.

It is computed, not guessed: render the configuration without the hatch, compare it with
the intended app the way the diff compares desired and live (skytrain.diff.normalise_marathon:
defaults a server fills in count as written), and keep what differs, as the app wrote it:
a changed value, a missing key (null removes what skytrain renders), a list whole (lists
replace). Then the same comparison proves that the render with the hatch is the app.
"""

from __future__ import annotations

import copy
from typing import Any

from skytrain.config.build import app_of
from skytrain.config.environments import Environment
from skytrain.config.merge import merge_values
from skytrain.diff.normalise import apply_defaults, tidy
from skytrain.diff.normalise_marathon import app_defaults, to_modern_form
from skytrain.render.hashing import HASH_LABEL_MARATHON
from skytrain.render.marathon import render_marathon

# what the import never writes into the hatch: the id comes from name and the environment's
# group, and skytrain's own labels are skytrain's
OWN_LABEL_PREFIX = "SKYTRAIN_"


class NotExact(Exception):
    """The render with the hatch still differs from the intended app (a bug of the importer)."""


def comparable(app: dict[str, Any], legacy: bool) -> dict[str, Any]:
    """The app as the diff sees it (defaults filled in, the 1.5+ form unless `legacy`), without
    what the import does not carry (id, skytrain's labels)."""
    normalised = copy.deepcopy(app)
    if not legacy:
        to_modern_form(normalised)
    apply_defaults(normalised, app_defaults((1, 4) if legacy else (1, 7)))
    normalised = tidy(normalised)
    normalised.pop("id", None)
    labels = {k: v for k, v in (normalised.get("labels") or {}).items() if not k.startswith(OWN_LABEL_PREFIX)}
    if labels:
        normalised["labels"] = labels
    else:
        normalised.pop("labels", None)
    return normalised


def escape_hatch(
    document: dict[str, Any], intended: dict[str, Any], environment: Environment
) -> dict[str, Any]:
    """The `marathon:` patch that turns the render of `document` into `intended`."""
    legacy = environment.marathon is not None and environment.marathon.legacy_networking
    rendered = render_marathon(app_of(document, environment))
    want = comparable(intended, legacy)
    patch = _difference(comparable(rendered, legacy), want, intended)
    if comparable(merge_values(rendered, patch), legacy) != want:
        raise NotExact(f"the escape hatch does not reproduce the app: {sorted(patch)}")
    return patch


def _difference(have: dict[str, Any], want: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    """The merge patch from `have` to `want` (both normalised), in the values as `written`."""
    patch: dict[str, Any] = {}
    for key in [*want, *(k for k in have if k not in want)]:
        if key == "id" or key == HASH_LABEL_MARATHON:
            continue
        if key not in want:
            patch[key] = None
        elif key not in have:
            patch[key] = written.get(key, want[key]) if isinstance(written, dict) else want[key]
        elif isinstance(have[key], dict) and isinstance(want[key], dict):
            inner = written.get(key) if isinstance(written, dict) else None
            sub = _difference(have[key], want[key], inner if isinstance(inner, dict) else want[key])
            if sub:
                patch[key] = sub
        elif have[key] != want[key]:
            patch[key] = written.get(key, want[key]) if isinstance(written, dict) else want[key]
    return patch
