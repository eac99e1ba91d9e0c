"""Apply rendered objects idempotently: skip what already matches, server-side apply the
rest, or read-modify-replace on servers without server-side apply.

An object counts as unchanged when everything skytrain renders for it is already in the
live object (the server adds defaults and status, which are not a change). Identical
objects are not written at all: no new resourceVersion, no watch event, no managedFields churn.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from skytrain.backends.kubernetes.client import APPLY, Kube, KubeError
from skytrain.backends.kubernetes.kinds import kind_of
from skytrain.render.kubernetes import KIND_ORDER, MANAGER

REVISION_LABEL = "skytrain.io/revision"
CONFLICT_ATTEMPTS = 5


_QUANTITY = re.compile(r"([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?")
_FACTORS = {
    None: 1,
    "m": Decimal("0.001"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity's value ("1000m" and "1" are the same CPU; the server canonicalises)."""
    match = _QUANTITY.fullmatch(str(value))
    if not match:
        return None
    try:
        return Decimal(match[1]) * _FACTORS[match[2]]
    except InvalidOperation:
        return None


def contains(live: Any, desired: Any, in_resources: bool = False) -> bool:
    """Whether every field of `desired` has the same value in `live` (lists item by item;
    quantities under `resources` compared by value)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            contains(live.get(k), v, in_resources or k == "resources") for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(contains(a, b, in_resources) for a, b in zip(live, desired, strict=True))
        )
    if in_resources and live != desired and quantity(live) is not None:
        return quantity(live) == quantity(desired)
    return live == desired


def without_revision(obj: dict[str, Any]) -> dict[str, Any]:
    clean = copy.deepcopy(obj)
    clean["metadata"].get("labels", {}).pop(REVISION_LABEL, None)
    return clean


def with_revision(obj: dict[str, Any], revision: int) -> dict[str, Any]:
    """The release revision labels the object, never its pod template: that would restart pods."""
    labelled = without_revision(obj)
    labelled["metadata"].setdefault("labels", {})[REVISION_LABEL] = str(revision)
    return labelled


def order(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """krane's order: config and accounts before the workloads that read them."""
    return sorted(
        objects, key=lambda o: KIND_ORDER.index(o["kind"]) if o["kind"] in KIND_ORDER else len(KIND_ORDER)
    )


@dataclass
class Applier:
    kube: Kube
    server_side: bool = True  # switched off for good once the server answers 415

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind = kind_of(obj["kind"])
        namespace, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
        if self.server_side:
            try:
                return self.kube.request(
                    "PATCH", kind.path(namespace, name), {"fieldManager": MANAGER, "force": True}, obj, APPLY
                )
            except KubeError as exc:
                if exc.status != 415:
                    raise
                self.server_side = False
        return self._replace(obj)

    def _replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Read, modify, replace with the read resourceVersion; on 409, read again."""
        kind = kind_of(obj["kind"])
        namespace, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
        for _ in range(CONFLICT_ATTEMPTS):
            live = self.kube.get(kind, namespace, name)
            try:
                if live is None:
                    return self.kube.request("POST", kind.path(namespace), {"fieldManager": MANAGER}, obj)
                return self.kube.request(
                    "PUT", kind.path(namespace, name), {"fieldManager": MANAGER}, _merged(live, obj)
                )
            except KubeError as exc:
                if exc.status != 409:
                    raise
        raise KubeError(
            409,
            "Conflict",
            f"{obj['kind']} {name} kept changing under skytrain ({CONFLICT_ATTEMPTS} conflicting writes in a row)",
        )


def _merged(live: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The desired object on top of the live one's identity, keeping others' labels and annotations."""
    new = copy.deepcopy(desired)
    meta = new["metadata"]
    live_meta = live["metadata"]
    meta["resourceVersion"] = live_meta["resourceVersion"]
    meta["labels"] = {**live_meta.get("labels", {}), **meta.get("labels", {})}
    meta["annotations"] = {**live_meta.get("annotations", {}), **meta.get("annotations", {})}
    if desired["kind"] == "Service":
        for key in ("clusterIP", "clusterIPs"):
            if key in live.get("spec", {}):
                new.setdefault("spec", {}).setdefault(key, live["spec"][key])
    return new
