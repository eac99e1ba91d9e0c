"""What the emulated Marathon makes of a posted app: validation and the stored form.

Validation uses skytrain's Marathon app schema (which also holds the server rules
Marathon's published schema missed, API-NOTES §6, §9), in the form of the emulated
version; answers carry Marathon's error bodies (API-NOTES §8), in the server's own words
where the schema records them (`x-marathon-message`). The stored form has the server's
defaults, and on 1.5+ the canonical networking form (API-NOTES §2.1, §9).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from skytrain.render.upstream import marathon_validator

# the RAML's minimum; the schema leaves it to the server, so that a deploy shows the
# server's refusal at the config line that set it (API-NOTES §6)
MIN_CPUS = 0.001
_JSON_TYPES = {
    "number": "jsnumber",
    "integer": "jsnumber",
    "string": "jsstring",
    "boolean": "jsboolean",
    "object": "jsobject",
    "array": "jsarray",
}


class ApiError(Exception):
    """An HTTP error answer: status and JSON body (None for an empty body)."""

    def __init__(self, status: int, body: dict[str, Any] | None):
        super().__init__(status)
        self.status = status
        self.body = body


class AppForms:
    """Validation and canonical form for one server flavour (1.4, or 1.5 and later)."""

    def __init__(self, legacy: bool):
        self.legacy = legacy
        self._service_ports = itertools.count(10000)

    def validate(self, body: dict[str, Any]) -> None:
        errors = list(marathon_validator(self.legacy).iter_errors(body))
        type_errors = [e for e in errors if e.validator in ("type", "enum")]
        if type_errors:
            details = [(_marathon_path(e.absolute_path), [_type_error(e)]) for e in type_errors]
            raise ApiError(
                400 if self.legacy else 422, {"message": "Invalid JSON", "details": _details(details)}
            )
        cpus = body.get("cpus")
        too_small = isinstance(cpus, (int, float)) and cpus < MIN_CPUS
        found = [("/cpus", [f"got {cpus}, expected {MIN_CPUS} or more"])] if too_small else []
        found += [(_marathon_path(e.absolute_path), [_server_words(e)]) for e in errors]
        if found:
            raise ApiError(422, invalid(found))

    def canonical(self, body: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
        """The definition as the server stores and answers it, defaults filled in."""
        app = copy(body)
        defaults: dict[str, Any] = {
            "instances": 1,
            "cpus": 1,
            "mem": 128,
            "disk": 0,
            "gpus": 0,
            "env": {},
            "labels": {},
            "constraints": [],
            "healthChecks": [],
            "backoffSeconds": 1,
            "backoffFactor": 1.15,
            "maxLaunchDelaySeconds": 3600,
            "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
            "killSelection": "YOUNGEST_FIRST",
            "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
            "requirePorts": False,
            "executor": "",
        }
        for key, value in defaults.items():
            app.setdefault(key, value)
        delay = 2 if self.legacy else 15
        app["healthChecks"] = [
            {
                "protocol": "HTTP",
                "gracePeriodSeconds": 300,
                "intervalSeconds": 60,
                "timeoutSeconds": 20,
                "maxConsecutiveFailures": 3,
                **({"delaySeconds": delay} if check.get("protocol", "HTTP").startswith("MESOS") else {}),
                **check,
            }
            for check in app["healthChecks"]
        ]
        if self.legacy:
            for key in ("ports", "uris", "storeUrls"):
                app.setdefault(key, [])
            app.setdefault("ipAddress", None)
            return app
        return self._modernise(app, before)

    def _modernise(self, app: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
        """1.5+ accepts the 1.4 networking form and answers in its own (API-NOTES §9)."""
        container = app.get("container") or {}
        docker = container.get("docker") or {}
        network = docker.pop("network", None)
        if "portMappings" in docker:
            container["portMappings"] = docker.pop("portMappings")
        if network and "networks" not in app:
            mode = {"BRIDGE": "container/bridge", "USER": "container"}.get(network, "host")
            app["networks"] = [{"mode": mode}]
        app.setdefault("networks", [{"mode": "host"}])
        if "uris" in app:
            app.setdefault("fetch", [{"uri": u} for u in app.pop("uris")])
        if "ports" in app:
            app.setdefault("portDefinitions", [{"port": p} for p in app.pop("ports")])
        host = app["networks"][0].get("mode") == "host"
        if host and not app.get("portDefinitions"):
            app["portDefinitions"] = [{"port": 0, "name": "default", "protocol": "tcp"}]
        # service ports are assigned once and kept by later updates that ask for "any" (0)
        old_definitions = before.get("portDefinitions", [])
        for index, definition in enumerate(app.get("portDefinitions", [])):
            if definition.get("port") == 0:
                kept = old_definitions[index]["port"] if index < len(old_definitions) else None
                definition["port"] = kept or next(self._service_ports)
        old_mappings = (before.get("container") or {}).get("portMappings", [])
        for index, mapping in enumerate(container.get("portMappings", [])):
            mapping.setdefault("hostPort", 0)
            if not mapping.get("servicePort"):
                kept = old_mappings[index].get("servicePort") if index < len(old_mappings) else None
                mapping["servicePort"] = kept or next(self._service_ports)
        app.pop("ipAddress", None)
        return drop_nulls(app)


def copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def parse(body: bytes, legacy: bool) -> Any:
    if not body.strip():
        raise ApiError(400, {"message": "Please specify data in JSON format", "details": "No content"})
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ApiError(400, {"message": "Invalid JSON", "details": str(exc)}) from None


def _marathon_path(path: Any) -> str:
    """jsonschema's path → Marathon's: `/healthChecks(0)/path`, map keys with / quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"({part})"
        else:
            out += "/" + (f'"{part}"' if "/" in part or "." in part else part)
    return out or "/"


def _server_words(error: Any) -> str:
    """What Marathon says for this failure: the schema's `x-marathon-message` where it
    records the server's wording, else the schema's own message."""
    wording = error.schema.get("x-marathon-message") if isinstance(error.schema, dict) else None
    return wording or error.message


def _type_error(error: Any) -> str:
    if error.validator == "enum":
        return "error.unknown.enum.literal"
    expected = error.validator_value if isinstance(error.validator_value, str) else error.validator_value[0]
    return f"error.expected.{_JSON_TYPES.get(expected, 'jsvalue')}"


def _details(found: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    by_path: dict[str, list[str]] = {}
    for path, messages in found:
        by_path.setdefault(path, []).extend(messages)
    return [{"path": p, "errors": m} for p, m in by_path.items()]


def invalid(found: list[tuple[str, list[str]]]) -> dict[str, Any]:
    return {"message": "Object is not valid", "details": _details(found)}
