"""The plan: desired vs live (or vs a git ref), object by object and field by field.

Objects are matched by identity (Kubernetes kind, namespace and name; a Marathon app
id). Fields are compared by a small walker of our own rather than deepdiff: the plan
needs RFC 6901 JSON pointers, old and new values and a restart flag per change, over
plain JSON data, which is thirty lines; deepdiff's paths (`root['a'][0]`) would need
translating back, and its import alone costs more than a fleet's comparison.

Which change restarts containers follows the config-hash rules of render/hashing.py:
a change the hash covers restarts pods or tasks; anything else (metadata, replica
count, a Service) does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from skytrain.diff.normalise import Obj
from skytrain.render.kubernetes import KIND_ORDER

if TYPE_CHECKING:
    from skytrain.schedulers.base import Scheduler


class Action(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class FieldChange:
    path: str  # RFC 6901 JSON pointer into the object
    op: str  # "add", "remove" or "replace"
    old: Any
    new: Any
    restarts: bool

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "op": self.op}
        if self.op != "add":
            out["old"] = self.old
        if self.op != "remove":
            out["new"] = self.new
        out["restarts"] = self.restarts
        return out


@dataclass(frozen=True)
class ObjectDiff:
    kind: str
    name: str
    namespace: str | None
    action: Action
    desired: Obj | None  # normalised and redacted: safe to print
    live: Obj | None
    changes: tuple[FieldChange, ...] = ()

    @property
    def restarts(self) -> bool:
        return any(c.restarts for c in self.changes)

    @property
    def title(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        out.update(action=self.action.value, restarts=self.restarts)
        out["changes"] = [c.to_json() for c in self.changes]
        if self.action in (Action.ADDED, Action.REMOVED):
            out["object"] = self.desired if self.action == Action.ADDED else self.live
        return out


@dataclass
class DiffResult:
    """One app in one environment on one target, against live state or a git ref."""

    app: str
    environment: str
    target: str
    against: str  # "live" or "git:<ref>"
    objects: list[ObjectDiff] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(1 for o in self.objects if o.action == action)

    @property
    def changed(self) -> bool:
        return any(o.action != Action.UNCHANGED for o in self.objects)

    @property
    def restarts(self) -> bool:
        return any(o.restarts for o in self.objects)

    def summary(self) -> dict[str, int]:
        return {a.value: self.count(a) for a in Action}

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "environment": self.environment,
            "target": self.target,
            "against": self.against,
            "summary": self.summary(),
            "restarts": self.restarts,
            "objects": [o.to_json() for o in self.objects],
        }


def compare_object(scheduler: Scheduler, desired: Obj | None, live: Obj | None) -> ObjectDiff:
    """One object's diff; both sides already normalised and redacted."""
    either = desired if desired is not None else live
    assert either is not None, "compare_object needs at least one side"
    kind, name, namespace = scheduler.identity(either)
    if live is None:
        return ObjectDiff(kind, name, namespace, Action.ADDED, desired, None)
    if desired is None:
        return ObjectDiff(kind, name, namespace, Action.REMOVED, None, live)
    changes = tuple(
        FieldChange(pointer(path), op, old, new, scheduler.restarts(kind, path))
        for path, op, old, new in walk(live, desired, ())
    )
    return ObjectDiff(
        kind, name, namespace, Action.CHANGED if changes else Action.UNCHANGED, desired, live, changes
    )


def walk(old: Any, new: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str, Any, Any]]:
    """Every leaf-most difference between two JSON values: maps key by key, lists index by index."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in new:
                out.append(((*path, key), "remove", old[key], None))
            elif key not in old:
                out.append(((*path, key), "add", None, new[key]))
            else:
                out.extend(walk(old[key], new[key], (*path, key)))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for index in range(max(len(old), len(new))):
            step = (*path, str(index))
            if index >= len(new):
                out.append((step, "remove", old[index], None))
            elif index >= len(old):
                out.append((step, "add", None, new[index]))
            else:
                out.extend(walk(old[index], new[index], step))
        return out
    if old == new and type(old) is type(new):
        return []
    return [(path, "replace", old, new)]


def pointer(path: tuple[str, ...]) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)


def sort_key(diff: ObjectDiff) -> tuple[int, str, str]:
    """Objects in apply order (krane's kind order), then by namespace and name."""
    rank = KIND_ORDER.index(diff.kind) if diff.kind in KIND_ORDER else len(KIND_ORDER)
    return rank, diff.namespace or "", diff.name
