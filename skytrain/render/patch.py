"""Stamping values into rendered objects after an escape hatch may have reshaped them.

The escape hatches themselves are applied with the overlay rules
(`skytrain.config.merge.merge_values`), with named lists merged by name on Kubernetes.
"""

from __future__ import annotations

from typing import Any


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
