"""Several environments' configurations as one base and minimal overlays (the merge rules of
docs/config.md, backwards): what every environment agrees on goes into application.yml, each
overlay holds only its environment's differences, and a value an environment lacks is an
explicit null there.

A null of the `marathon:` escape hatch ("remove what skytrain renders") survives a merge only
when the base writes it (an overlay's null removes a key, and a null inside a mapping the base
lacks means "absent"), so such nulls go into the base, and an environment without one removes
it with a null of its own. The result is checked by merging it back.
"""

from __future__ import annotations

import json
from typing import Any

from skytrain.config.merge import merge_values


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def factor(documents: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(base, one overlay per document) such that base merged with overlay i is document i."""
    base = _choose(documents)
    overlays = [_overlay(base, document) for document in documents]
    overlays = [{} if overlay is MISSING else overlay for overlay in overlays]
    for document, overlay in zip(documents, overlays, strict=True):
        if _key(merge_values(base, overlay)) != _key(document):
            raise AssertionError("the overlays do not give back every environment's configuration")
    return base, overlays


def _key(value: Any) -> str:
    """Equality that tells 1 from 1.0 and from true, as YAML does."""
    return "\0missing" if value is MISSING else json.dumps(value, sort_keys=True)


def _has_null(value: Any) -> bool:
    return isinstance(value, dict) and any(v is None or _has_null(v) for v in value.values())


def _choose(values: list[Any]) -> Any:
    present = [v for v in values if v is not MISSING]
    if any(v is None for v in present):
        return None
    every_dict = bool(present) and all(isinstance(v, dict) for v in present)
    if every_dict and (len(present) == len(values) or any(_has_null(v) for v in present)):
        keys = list(dict.fromkeys(k for v in present for k in v))
        chosen = {
            k: _choose([v.get(k, MISSING) if v is not MISSING else MISSING for v in values]) for k in keys
        }
        return {k: v for k, v in chosen.items() if v is not MISSING}
    counts: dict[str, int] = {}
    for value in values:
        counts[_key(value)] = counts.get(_key(value), 0) + 1
    best = max(counts.values())
    return next(v for v in values if counts[_key(v)] == best)


def _overlay(base: Any, target: Any) -> Any:
    if target is MISSING:
        return MISSING if base is MISSING else None
    if base is MISSING:
        return target
    if isinstance(base, dict) and isinstance(target, dict):
        out = {}
        for key in [*target, *(k for k in base if k not in target)]:
            sub = _overlay(base.get(key, MISSING), target.get(key, MISSING))
            if sub is not MISSING:
                out[key] = sub
        return out or MISSING
    return MISSING if _key(base) == _key(target) else target
