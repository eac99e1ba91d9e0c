"""Make desired and live objects comparable, so that an unchanged object shows no diff.

A scheduler answers with more than it was given: fields it fills in (status, uid,
Marathon's version and task counts), defaults it applies (a Service's type, a health
check's delaySeconds) and, for Marathon 1.5+, a different form of the same app. Each
target's module lists what it drops and what it defaults, as data with the source of
every value; this module holds the small tree operations they share (the scheduler
plug-ins pick the normaliser).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

Obj = dict[str, Any]
# Defaults as nested data: a plain key is set when missing (a nested map is created);
# "name[]" applies its nested defaults to every item of the list `name`; "name?" applies
# them to the map `name` only when the object has it (a probe's httpGet, a volume's secret).
Defaults = Mapping[str, Any]


def apply_defaults(obj: Any, defaults: Defaults) -> None:
    """Fill in, in place, what a server would fill in when the field is absent."""
    if not isinstance(obj, dict):
        return
    for key, default in defaults.items():
        if key.endswith("[]"):
            for item in obj.get(key[:-2]) or ():
                apply_defaults(item, default)
        elif key.endswith("?"):
            apply_defaults(obj.get(key[:-1]), default)
        elif isinstance(default, Mapping):
            apply_defaults(obj.setdefault(key, {}), default)
        elif key not in obj:
            obj[key] = copy.deepcopy(default)


def drop(obj: Any, path: tuple[str, ...]) -> None:
    """Remove the field at `path` if it is there; a "name[]" step walks every item."""
    if not path or not isinstance(obj, dict):
        return
    head, rest = path[0], path[1:]
    if head.endswith("[]"):
        for item in obj.get(head[:-2]) or ():
            drop(item, rest)
    elif not rest:
        obj.pop(head, None)
    else:
        drop(obj.get(head), rest)


def get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


# Empty maps whose presence is the setting (a volume's `emptyDir: {}`), never dropped.
MEANINGFUL_EMPTY = frozenset({"emptyDir"})


def tidy(value: Any) -> Any:
    """Drop nulls and empty maps and lists (servers write either for "not set"), and
    write whole floats as ints (Marathon's `128.0` is the config's `128`)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = tidy(item)
            if item is None or (item in ({}, []) and key not in MEANINGFUL_EMPTY):
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [tidy(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


PairNormaliser = Callable[[Obj | None, Obj | None], tuple[Obj | None, Obj | None]]
