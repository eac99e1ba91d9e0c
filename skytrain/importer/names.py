"""The skeleton's naming rule applied to Marathon ids: the last segment, lowercased, without
a `service` prefix or suffix (what `name` in application.yml allows)."""

from __future__ import annotations

import re

from skytrain.config.schemas import APPLICATION, load_schema

MAX_LENGTH = 40


def last_segment(app_id: str) -> str:
    return app_id.rstrip("/").rsplit("/", 1)[-1]


def group_of(app_id: str) -> str:
    """The Marathon group an app id lives in ("" for the root)."""
    return app_id.rstrip("/").rsplit("/", 1)[0]


def service_name(app_id: str) -> tuple[str | None, list[str]]:
    """(the name, what was changed to get it) or (None, why no name could be made). An app
    whose last segment is only `service` (/billing/service) is named by its group too."""
    segment = last_segment(app_id)
    if _without_service(segment.lower()) == "" and group_of(app_id):
        segment = f"{last_segment(group_of(app_id))}-{segment}"
    changes = []
    name = re.sub(r"[^a-z0-9-]+", "-", segment.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if name != segment:
        changes.append(f"{segment!r} is not a lowercase, dash-separated name: {name!r}")
    trimmed = _without_service(name)
    if trimmed != name:
        changes.append(f"a name says no 'service' prefix or suffix: {trimmed!r}")
    if not trimmed or not re.search(load_schema(APPLICATION)["properties"]["name"]["pattern"], trimmed):
        return None, [f"{segment!r} gives no valid service name ({trimmed!r}); give one with --name"]
    if len(trimmed) > MAX_LENGTH:
        return None, [f"{trimmed!r} is longer than {MAX_LENGTH} characters; give a shorter one with --name"]
    return trimmed, changes


def _without_service(name: str) -> str:
    while True:
        shorter = re.sub(r"^service(-|$)|-service$", "", name)
        if shorter == name:
            return name
        name = shorter


def dependency_name(segment: str) -> str | None:
    """The name a service called `segment` in a Skyline URL gets once imported itself."""
    name, _ = service_name(segment)
    return name
