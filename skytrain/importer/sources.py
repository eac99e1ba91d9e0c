"""The apps in what the user gave: one app, `{"app": ...}` (GET /v2/apps/{id}), a group (its
apps and sub-groups, ids relative to the group resolved) or `{"apps": [...]}` (GET /v2/apps).
A pod is not an app, and anything else is refused with the reason."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from skytrain.importer.notes import Note, Refused

MAX_GROUP_DEPTH = 32


@dataclass(frozen=True)
class Found:
    app_id: str  # absolute
    app: dict[str, Any]
    pointer: str  # where the app is in its source


POD = (
    "this is a Marathon pod (it has containers), not an app; skytrain deploys one container per "
    "service: import each container as an app of its own, or write its deploy/ by hand"
)


def apps_in(document: Any, source: str) -> tuple[list[Found], list[Note]]:
    if not isinstance(document, dict):
        raise Refused(
            source,
            "",
            f"this is a JSON {_kind(document)}, not a Marathon app, group or GET /v2/apps answer (an object with an id)",
        )
    if isinstance(document.get("app"), dict) and "id" not in document:
        return [_app(document["app"], "/", source, "/app")], []
    if "containers" in document:
        raise Refused(source, "/containers", POD)
    if any(key in document for key in ("apps", "groups", "pods")) and not _looks_like_app(document):
        found: list[Found] = []
        notes: list[Note] = []
        _group(document, "/", source, "", found, notes, 0)
        if not found:
            raise Refused(source, "", "this group holds no apps")
        return found, notes
    return [_app(document, "/", source, "")], []


def _looks_like_app(document: dict[str, Any]) -> bool:
    return any(key in document for key in ("cmd", "container", "instances", "cpus", "mem"))


def _kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _app(app: Any, parent: str, source: str, where: str) -> Found:
    if not isinstance(app, dict):
        raise Refused(source, where, f"an app is a JSON object; this is a {_kind(app)}")
    if "containers" in app:
        raise Refused(source, where + "/containers", POD)
    app_id = app.get("id")
    if not isinstance(app_id, str) or not app_id.strip("/ "):
        raise Refused(
            source, where + "/id", "the app has no id; Marathon names every app by its id (e.g. /giphy)"
        )
    if "{{" in app_id or "$" in app_id:
        raise Refused(
            source,
            where + "/id",
            "the id is a template placeholder: this is a template of an app, not an app; fill it in and import again",
        )
    return Found(_absolute(app_id, parent), app, where)


def _absolute(app_id: str, parent: str) -> str:
    joined = app_id if app_id.startswith("/") else posixpath.join(parent, app_id)
    return posixpath.normpath("/" + joined.lstrip("/"))


def _group(
    group: dict[str, Any],
    parent: str,
    source: str,
    where: str,
    found: list[Found],
    notes: list[Note],
    depth: int,
) -> None:
    if depth > MAX_GROUP_DEPTH:
        raise Refused(source, where, f"groups nest deeper than {MAX_GROUP_DEPTH} levels")
    group_id = group.get("id")
    here = _absolute(group_id, parent) if isinstance(group_id, str) and group_id.strip("/") else parent
    for key in ("apps", "groups", "pods"):
        if key in group and not isinstance(group[key], list):
            raise Refused(
                source, f"{where}/{key}", f"a group's {key} is a list; this is a {_kind(group[key])}"
            )
    for index, app in enumerate(group.get("apps") or []):
        found.append(_app(app, here, source, f"{where}/apps/{index}"))
    for index in range(len(group.get("pods") or [])):
        notes.append(Note(source, f"{where}/pods/{index}", "pod", POD + "; skipped"))
    for index, sub in enumerate(group.get("groups") or []):
        if not isinstance(sub, dict):
            raise Refused(
                source, f"{where}/groups/{index}", f"a group is a JSON object; this is a {_kind(sub)}"
            )
        _group(sub, here, source, f"{where}/groups/{index}", found, notes, depth + 1)
