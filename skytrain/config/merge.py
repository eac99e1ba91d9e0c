"""The overlay merge rules of DESIGN.md, and where each merged value came from.

Mappings merge key by key, scalars and lists replace, an explicit null removes a key.
The merged document keeps, for every value, the position in the file that supplied it,
so an error in a value an overlay set points into the overlay.
"""

from __future__ import annotations

from typing import Any

from skytrain.config.yamlfile import Positions, YamlDocument, YamlPath


def merge_values(base: Any, overlay: Any, merge_named_lists: bool = False) -> Any:
    """Overlay on base. With `merge_named_lists` (the Kubernetes escape hatch), a list whose
    items all have a `name` (containers, ports, env, volumes) merges item by item by name, as
    kubectl's strategic merge does, so a patch can touch one container without restating it."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge_values(merged.get(key), value, merge_named_lists)
        return merged
    if merge_named_lists and _named(base) and _named(overlay):
        by_name = {item["name"]: item for item in base}
        for item in overlay:
            by_name[item["name"]] = merge_values(by_name.get(item["name"], {}), item, merge_named_lists)
        return list(by_name.values())
    if isinstance(overlay, dict):
        # a null inside a newly added mapping also means 'absent'
        return merge_values({}, overlay, merge_named_lists)
    return overlay


def _named(items: Any) -> bool:
    return (
        isinstance(items, list)
        and bool(items)
        and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)
    )


def merge_documents(base: YamlDocument, overlay: YamlDocument | None) -> YamlDocument:
    if overlay is None or overlay.data is None:
        return base
    if not isinstance(base.data, dict):
        return base
    if not isinstance(overlay.data, dict):
        return overlay
    data = merge_values(base.data, overlay.data)
    positions = Positions()
    _collect(data, base.data, (), base.positions, overlay.positions, positions)
    # a key the overlay removed with null keeps the null's spot, so "missing required
    # field" can point at the line that removed it
    for path, where in overlay.positions.keys.items():
        positions.keys.setdefault(path, where)
    return YamlDocument(overlay.file, data, positions)


def _collect(
    value: Any, base_value: Any, path: YamlPath, base: Positions, overlay: Positions, out: Positions
) -> None:
    """Positions of the merged value at `path`: a mapping both files wrote stays where the
    base wrote it (so a missing field is reported once, in the base, not once per overlay);
    any other value is where the file that supplied it wrote it."""
    merged_mapping = isinstance(value, dict) and isinstance(base_value, dict) and path in overlay.values
    source = overlay if path in overlay.values and not merged_mapping else base
    out.values[path] = source.values.get(path) or base.of_value(path)
    if path in overlay.keys or path in base.keys:
        keys = base if merged_mapping and path in base.keys else overlay
        out.keys[path] = keys.keys.get(path) or base.keys[path]
    if isinstance(value, dict):
        base_items = base_value if isinstance(base_value, dict) else {}
        for key, item in value.items():
            _collect(item, base_items.get(key), (*path, key), base, overlay, out)
    elif isinstance(value, list):
        # a list is replaced whole, so all its items come from the file that wrote it
        for index, item in enumerate(value):
            _collect(item, None, (*path, index), source, source, out)
