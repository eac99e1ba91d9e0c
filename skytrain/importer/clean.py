"""A Marathon app as Marathon holds it: what the import converts, and what the round trip
is measured against.

Real app files are looser than the API: nulls for "not set", numbers written as strings,
a lower-case enum, fields Marathon ignores, both API forms in one app. Each such spot is
put the way Marathon reads it, with a warning where what runs could differ; what Marathon
would refuse outright (a template placeholder for a number, a schema violation left after
that) refuses the input. The app then takes the API form of the target Marathon (1.5+
translates a 1.4-form app the way the server does, API-NOTES §9).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from skytrain.diff.normalise_marathon import to_modern_form
from skytrain.importer.notes import Notes, pointer
from skytrain.render.marathon import READ_ONLY_KEYS
from skytrain.render.upstream import MARATHON_SCHEMA, marathon_validator
from skytrain.resources import schema_path

INTEGERS = ("instances", "maxLaunchDelaySeconds", "taskKillGracePeriodSeconds")
NUMBERS = ("cpus", "mem", "disk", "gpus", "backoffSeconds", "backoffFactor")
# fields newer than the Marathon versions skytrain renders (1.4 to 1.7)
NEWER_FIELDS = ("role", "resourceLimits", "check")


@cache
def known_fields() -> frozenset[str]:
    """Every top-level field of either API form in skytrain's Marathon app schema."""
    definitions = json.loads(schema_path(MARATHON_SCHEMA).read_text(encoding="utf-8"))["$defs"]
    return frozenset(definitions["app-1.4"]["properties"]) | frozenset(definitions["app-1.5"]["properties"])


def without_nulls(value: Any) -> Any:
    """Marathon reads a null as "not set" (a UI export writes dozens)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def clean(raw: dict[str, Any], notes: Notes, legacy: bool) -> dict[str, Any]:
    """The app as a Marathon of the target form (`legacy`: 1.4) holds it, or Refused."""
    app = without_nulls(copy.deepcopy(raw))
    for key in READ_ONLY_KEYS:
        app.pop(key, None)
    _unknown_fields(app, notes)
    _numbers(app, notes)
    _shapes(app, notes)
    if (
        legacy
        and not in_legacy_form(app)
        and ("networks" in app or "portMappings" in (app.get("container") or {}))
    ):
        raise notes.refuse(
            "/networks",
            "this app is written in the Marathon 1.5+ form (networks, container.portMappings), but the "
            "environment's Marathon is 1.4 in the environments file; import it for a 1.5+ Marathon",
        )
    _schema(app, notes, legacy)  # before the translation: it reads a valid app only
    if not legacy:
        to_modern_form(app)
    return app


def in_legacy_form(app: dict[str, Any]) -> bool:
    """Written in the 1.4 form: networking under container.docker."""
    return "network" in _mapping(_mapping(app.get("container")).get("docker"))


def _unknown_fields(app: dict[str, Any], notes: Notes) -> None:
    for key in list(app):
        if key in NEWER_FIELDS:
            notes.warn(
                "fix-unknown",
                pointer(key),
                f"{key} is a field of Marathon 1.8 and later, which skytrain does not render (1.4 to 1.7); "
                "dropped: a 1.7 Marathon refuses it",
                (pointer(key),),
            )
        elif key == "storeUrls" and not app[key]:
            pass  # a 1.4 server writes an empty one into every answer
        elif key not in known_fields() or key == "storeUrls":
            notes.warn(
                "fix-unknown",
                pointer(key),
                f"Marathon does not know the field {key!r} (it ignores it, or a 1.5+ Marathon refuses it); dropped",
                (pointer(key),),
            )
        else:
            continue
        del app[key]


def _numbers(app: dict[str, Any], notes: Notes) -> None:
    for key in (*INTEGERS, *NUMBERS):
        value = app.get(key)
        if not isinstance(value, str):
            continue
        try:
            number = float(value)
        except ValueError:
            raise notes.refuse(
                pointer(key),
                f"{key} must be a number, and this is text ({_placeholder_hint(value)}); fill it in and import again",
            ) from None
        app[key] = int(number) if key in INTEGERS or number.is_integer() else number
        notes.warn("fix-type", pointer(key), f"{key} was written as a string; read as the number {app[key]}")
    for section in ("env", "labels"):
        values = app.get(section)
        for name, value in values.items() if isinstance(values, dict) else ():
            if isinstance(value, bool | int | float):
                app[section][name] = json.dumps(value)
                notes.warn(
                    "fix-type",
                    pointer(section, name),
                    f"Marathon takes only strings in {section}; read as the string {app[section][name]!r}",
                )
    selection = app.get("killSelection")
    if isinstance(selection, str) and selection != selection.upper():
        app["killSelection"] = selection.upper()
        notes.warn(
            "fix-type", "/killSelection", f"killSelection is upper case in Marathon: {selection.upper()}"
        )


def _placeholder_hint(value: str) -> str:
    return "a template placeholder" if "{{" in value or "$" in value else "not a number"


def _shapes(app: dict[str, Any], notes: Notes) -> None:
    container = app.get("container")
    docker = container.get("docker") if isinstance(container, dict) else None
    if isinstance(docker, dict) and "type" in docker:
        kind = docker.pop("type")
        container.setdefault("type", kind)
        notes.warn(
            "fix-shape",
            "/container/docker/type",
            f"type belongs to container, not container.docker: container.type {kind}",
        )
    if isinstance(docker, dict) and "network" in docker and "networks" in app:
        docker.pop("network")
        notes.warn(
            "fix-shape",
            "/container/docker/network",
            "the app gives both networks and the 1.4 field container.docker.network; Marathon 1.5+ refuses both "
            "together, so networks is kept",
        )
    _health_port_names(app, notes)
    strategy = app.get("upgradeStrategy")
    for key, value in strategy.items() if isinstance(strategy, dict) else ():
        if isinstance(value, int | float) and not isinstance(value, bool) and not 0 <= value <= 1:
            strategy[key] = min(1, max(0, value))
            notes.warn(
                "fix-range",
                pointer("upgradeStrategy", key),
                f"upgradeStrategy.{key} is a share between 0 and 1; {value} read as {strategy[key]} "
                "(Marathon refuses the app as written)",
                (pointer("upgradeStrategy", key),),
            )
    if "cmd" in app and "args" in app:
        app.pop("args")
        notes.warn(
            "cmd-and-args",
            "/args",
            "Marathon refuses an app with both cmd and args; cmd is kept and args dropped: check which one the "
            "app needs",
            ("/args",),
        )


def _health_port_names(app: dict[str, Any], notes: Notes) -> None:
    """A health check's portName is a pod's field; an app's checks say portIndex."""
    names = [port.get("name") for port in port_list(app)]
    checks = app.get("healthChecks")
    for index, check in enumerate(checks if isinstance(checks, list) else []):
        if isinstance(check, dict) and "portName" in check:
            name = check.pop("portName")
            if name in names:
                check.setdefault("portIndex", names.index(name))
            notes.warn(
                "fix-shape",
                pointer("healthChecks", index, "portName"),
                f"an app's health check names its port by portIndex, not portName; read as portIndex "
                f"{check.get('portIndex', 0)}",
                (pointer("healthChecks", index),),
            )


def port_list(app: dict[str, Any]) -> list[dict[str, Any]]:
    """The ports the app declares, in Marathon's order (what portIndex counts)."""
    container = _mapping(app.get("container"))
    mappings = container.get("portMappings") or _mapping(container.get("docker")).get("portMappings")
    for ports in (mappings, app.get("portDefinitions")):
        if ports and isinstance(ports, list):
            return [p for p in ports if isinstance(p, dict)]
    legacy = app.get("ports")
    return [{"port": port} for port in legacy if isinstance(port, int)] if isinstance(legacy, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _schema(app: dict[str, Any], notes: Notes, legacy: bool) -> None:
    errors = sorted(
        marathon_validator(legacy).iter_errors(app), key=lambda e: list(map(str, e.absolute_path))
    )
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise notes.refuse(
            pointer(*first.absolute_path),
            f"Marathon 1.4 to 1.7 (as skytrain's app schema holds it) would refuse this app here: {_why(first)}{more}; "
            "fix the app and import again",
        )


def _why(error: Any) -> str:
    """The schema's complaint without the value itself (which could be a secret)."""
    if error.validator in ("additionalProperties", "required"):
        return str(error.message)
    text = json.dumps(error.validator_value, default=str)
    return f"{error.validator} {text if len(text) <= 80 else text[:77] + '...'}"
