"""How escape hatches are applied to rendered objects.

The rules are DESIGN.md's overlay rules (maps merge, scalars and lists replace, null
removes), with one addition for Kubernetes: a list whose items all have a `name`
(containers, ports, env, volumes) merges item by item by name, as kubectl's strategic
merge does, so a patch can touch one container without restating it.
"""

from __future__ import annotations

from typing import Any


def _named(items: Any) -> bool:
    return (
        isinstance(items, list)
        and bool(items)
        and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)
    )


def apply_patch(target: Any, patch: Any, merge_named_lists: bool = False) -> Any:
    if isinstance(target, dict) and isinstance(patch, dict):
        out = dict(target)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = apply_patch(out[key], value, merge_named_lists)
            else:
                out[key] = apply_patch({}, value, merge_named_lists) if isinstance(value, dict) else value
        return out
    if merge_named_lists and _named(target) and _named(patch):
        by_name = {item["name"]: item for item in target}
        for item in patch:
            by_name[item["name"]] = apply_patch(by_name.get(item["name"], {}), item, merge_named_lists)
        return list(by_name.values())
    return patch


def set_within(target: dict[str, Any], path: tuple[str, ...], key: str, value: Any) -> None:
    """target[path...][key] = value, creating missing mappings on the way but never replacing
    what a patch put there: a patch that broke the shape (`spec: []`) is left for the
    schema check to report at the patch, instead of failing here."""
    for part in path:
        if part not in target or target[part] is None:
            target[part] = {}
        target = target[part]
        if not isinstance(target, dict):
            return
    target[key] = value
