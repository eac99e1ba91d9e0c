"""Secrets never reach a diff: each secret value is replaced, on both sides, by a note
that still tells its length and whether it changed (as helm-diff does).

Secret values are: every value of a Kubernetes Secret's data and stringData, and any literal value given to an env entry the config
marks secret (`App.secret_env_names`): a container env `value`, a ConfigMap key, a
Marathon `env` string. References (secretKeyRef, Marathon `{"secret": ...}`) are not
secret and stay visible. Redaction runs before the comparison, so the plan itself
never holds a secret, whatever format prints it.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Iterator
from typing import Any

from skytrain.diff.normalise import Obj

Slot = tuple[tuple[str, ...], dict[str, Any], str]  # (stable key, parent, field)


def redact_pair(
    desired: Obj | None, live: Obj | None, secret_names: frozenset[str]
) -> tuple[Obj | None, Obj | None]:
    """Copies of both sides with every secret value replaced by its redaction note; the sides
    themselves when neither holds a secret value (copying every object of a fleet's diff
    cost as much as rendering it)."""
    if not any(side is not None and next(_slots(side, secret_names), None) for side in (desired, live)):
        return desired, live
    desired = copy.deepcopy(desired) if desired is not None else None
    live = copy.deepcopy(live) if live is not None else None
    raw_desired = _values(desired, secret_names)
    raw_live = _values(live, secret_names)
    for side, own, other, is_live in (
        (desired, raw_desired, raw_live, False),
        (live, raw_live, raw_desired, True),
    ):
        if side is None:
            continue
        for key, parent, field in _slots(side, secret_names):
            parent[field] = note(
                own[key][1], key in other, own[key][0] == other.get(key, (None,))[0], is_live
            )
    return desired, live


def note(length: int, on_both_sides: bool, same: bool, is_live: bool) -> str:
    """`(redacted: 24 bytes, unchanged)`; a changed value reads differently on each side
    so that the diff still shows a change, without showing either value."""
    text = f"(redacted: {length} bytes"
    if on_both_sides:
        text += ", unchanged" if same else ("" if is_live else ", changed")
    return text + ")"


def _values(obj: Obj | None, names: frozenset[str]) -> dict[tuple[str, ...], tuple[Any, int]]:
    if obj is None:
        return {}
    return {key: (parent[field], _length(key, parent[field])) for key, parent, field in _slots(obj, names)}


def _length(key: tuple[str, ...], value: Any) -> int:
    if key[0] == "secret-data":
        try:
            return len(base64.b64decode(str(value), validate=True))
        except (binascii.Error, ValueError):
            return len(str(value).encode())
    return len(str(value).encode())


def _slots(obj: Obj, names: frozenset[str]) -> Iterator[Slot]:
    kind = obj.get("kind")
    if kind == "Secret":
        for field in obj.get("data") or {}:
            yield ("secret-data", field), obj["data"], field
        for field in obj.get("stringData") or {}:
            yield ("secret-string-data", field), obj["stringData"], field
    elif kind == "ConfigMap":
        for field in obj.get("data") or {}:
            if field in names:
                yield ("configmap-data", field), obj["data"], field
    elif kind is None and isinstance(obj.get("env"), dict):  # a Marathon app
        for field, value in obj["env"].items():
            if field in names and not isinstance(value, dict):
                yield ("marathon-env", field), obj["env"], field
    pod = (obj.get("spec") or {}).get("template", {}).get("spec") or {}
    for container in [*(pod.get("containers") or ()), *(pod.get("initContainers") or ())]:
        for entry in container.get("env") or ():
            if entry.get("name") in names and "value" in entry:
                yield ("container-env", str(container.get("name")), entry["name"]), entry, "value"
