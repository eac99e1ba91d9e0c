"""Marathon's published app schemas as the oracle for skytrain's own: read from
../shared/reference/marathon at test time (never copied into this repository), and the
verdict of one comparison: agreement, a documented difference, or a disagreement nobody
explained.

Upstream's schemas are draft 4 (`Draft4Validator` explicitly: their `$schema` URI is one
jsonschema does not know, see shared/reference/marathon/README.md). Neither side checks
`format`, as skytrain's validators do not.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.protocols import Validator
from marathon_schema_differences import DIFFERENCES, Difference

from skytrain.render.upstream import marathon_validator
from tests.support import shared_reference


@dataclass(frozen=True)
class Pairing:
    """One of our entry points held to one published schema."""

    form: str  # our API form: "1.4" or "1.5" (1.5 and later)
    upstream: str  # the tag of the published schema

    def __str__(self) -> str:
        return f"{self.form}~{self.upstream}"


PAIRINGS = (Pairing("1.4", "v1.4.13"), Pairing("1.5", "v1.5.15"), Pairing("1.5", "v1.7.236"))


def pairings_of(form: str) -> tuple[Pairing, ...]:
    return tuple(p for p in PAIRINGS if p.form == form)


@cache
def upstream_schema(tag: str) -> dict[str, Any]:
    return json.loads((shared_reference("marathon") / tag / "AppDefinition.json").read_text())


@cache
def upstream_validator(tag: str) -> Validator:
    return Draft4Validator(upstream_schema(tag))


def our_validator(form: str) -> Validator:
    return marathon_validator(form == "1.4")


def real_app_files() -> list[Path]:
    return sorted(shared_reference("marathon-apps").glob("*.json"))


def apps_in(document: Any) -> Iterator[Any]:
    """The app definitions of a file: a group's apps (nested groups too), else the document
    itself (an app, or a pod, which no app schema accepts)."""
    if isinstance(document, dict) and ("apps" in document or "groups" in document):
        yield from document.get("apps") or []
        for group in document.get("groups") or []:
            yield from apps_in(group)
    else:
        yield document


@dataclass(frozen=True)
class Verdict:
    ours: bool  # our schema accepts
    upstream: bool  # the published schema accepts
    documented: tuple[str, ...]  # differences that explain a disagreement
    explained: bool

    @property
    def agrees(self) -> bool:
        return self.ours == self.upstream


def applicable(app: Any, pairing: Pairing) -> list[Difference]:
    return [d for d in DIFFERENCES if pairing.upstream in d.upstream and d.present(app)]


def neutralised(app: Any, pairing: Pairing) -> Any:
    """A copy of `app` with every documented difference that applies taken out."""
    neutral = copy.deepcopy(app)
    for difference in applicable(app, pairing):
        difference.neutralise(neutral)
    return neutral


def judge(app: Any, pairing: Pairing) -> Verdict:
    """Accept/refuse of both schemas. A disagreement is explained when a documented
    difference that applies says ours does what it did, and the two agree once every
    applicable difference is taken out of the app."""
    ours, upstream = _accepts(app, pairing)
    if ours == upstream:
        return Verdict(ours, upstream, (), True)
    differences = applicable(app, pairing)
    agree_without = len(set(_accepts(neutralised(app, pairing), pairing))) == 1
    direction = any(d.ours_accepts == ours for d in differences)
    return Verdict(ours, upstream, tuple(d.name for d in differences), agree_without and direction)


def _accepts(app: Any, pairing: Pairing) -> tuple[bool, bool]:
    return our_validator(pairing.form).is_valid(app), upstream_validator(pairing.upstream).is_valid(app)


def explain(app: Any, pairing: Pairing) -> str:
    """What each side says, for a failing assertion."""
    ours = [e.message for e in our_validator(pairing.form).iter_errors(app)]
    upstream = [e.message for e in upstream_validator(pairing.upstream).iter_errors(app)]
    return (
        f"{pairing}: ours {ours or 'accepts'}; upstream {upstream or 'accepts'}; app {json.dumps(app)[:600]}"
    )
