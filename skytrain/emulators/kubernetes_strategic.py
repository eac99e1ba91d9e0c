"""Strategic merge patches (`application/strategic-merge-patch+json`): what `kubectl apply`
without `--server-side`, `kubectl edit` and `kubectl patch` send.

Unlike a JSON merge patch, a list the Kubernetes schema marks `x-kubernetes-patch-strategy:
merge` merges item by item on its `x-kubernetes-patch-merge-key` (containers by name, ports
by containerPort), so a patch of one container's image keeps the rest of it; other lists
replace. The directives kubectl sends are honoured: `$patch: replace|delete`,
`$retainKeys`, `$deleteFromPrimitiveList/<field>`; `$setElementOrder/<field>` only orders,
and is ignored (new items go last). The strategies come from the schemas kubernetes-validate
ships, the same ones the OpenAPI documents are built from (kubernetes_openapi.py).
"""

from __future__ import annotations

import copy
from typing import Any

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
ORDER = "$setElementOrder/"
DELETE_FROM = "$deleteFromPrimitiveList/"


def strategic_merge(target: Any, patch: Any, schema: dict[str, Any], definitions: dict[str, Any]) -> Any:
    """`patch` applied to `target`, whose schema is `schema` (references into `definitions`)."""
    schema = _resolved(schema, definitions)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get(PATCH) == "replace":
        return without_directives(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith(DELETE_FROM):
            field = key.removeprefix(DELETE_FROM)
            result[field] = [v for v in result.get(field) or [] if v not in value]
        elif key in (PATCH, RETAIN_KEYS) or key.startswith(ORDER):
            continue
        elif value is None:
            result.pop(key, None)
        else:
            child = _resolved(_property(schema, key), definitions)
            if isinstance(value, list) and "merge" in str(child.get("x-kubernetes-patch-strategy", "")).split(
                ","
            ):
                result[key] = _merge_list(result.get(key) or [], value, child, definitions)
            elif isinstance(value, dict):
                result[key] = strategic_merge(result.get(key), value, child, definitions)
            else:
                result[key] = copy.deepcopy(value)
    if RETAIN_KEYS in patch:
        result = {k: v for k, v in result.items() if k in patch[RETAIN_KEYS]}
    return result


def without_directives(node: Any) -> Any:
    """`node` without the patch's directives: what the object will hold."""
    if isinstance(node, list):
        return [without_directives(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: without_directives(v) for k, v in node.items() if not k.startswith("$")}


def _merge_list(
    current: list[Any], patch: list[Any], schema: dict[str, Any], definitions: dict[str, Any]
) -> list[Any]:
    key = schema.get("x-kubernetes-patch-merge-key")
    if key is None:  # a list of scalars: the union, in order
        return current + [v for v in patch if v not in current]
    items = _resolved(schema.get("items") or {}, definitions)
    merged = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict):
            continue
        index = next(
            (i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item.get(key)),
            None,
        )
        if item.get(PATCH) == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(strategic_merge({}, item, items, definitions))
        else:
            merged[index] = strategic_merge(merged[index], item, items, definitions)
    return merged


def _property(schema: dict[str, Any], key: str) -> dict[str, Any]:
    found = (schema.get("properties") or {}).get(key)
    if found is None and isinstance(schema.get("additionalProperties"), dict):
        found = schema["additionalProperties"]
    return found or {}


def _resolved(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        own = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**definitions[schema["$ref"].removeprefix("#/$defs/")], **own}
    return schema
