"""The emulated API server's OpenAPI v3 (`/openapi/v3` and one document per group version),
and its server-side field validation (`?fieldValidation=Strict|Warn|Ignore`).

kubectl validates what it sends (`--validate=strict`, its default): it reads the OpenAPI v3
document of the object's group version, and when the PATCH operation of that kind takes a
`fieldValidation` query parameter it leaves the check to the server, as against any
cluster since 1.27 (else it wants the OpenAPI v2 protobuf, which nothing here speaks). So
each document lists the kinds' paths with that parameter, and their schemas for `kubectl
explain`; and the emulator checks unknown fields as a real server does.

The schemas are built at run time from the ones kubernetes-validate ships for
SERVER_VERSION (the same files `skytrain validate` checks manifests against): the JSON
Schema `$defs` become OpenAPI `components.schemas`, `["string", "null"]` types become
"string". Only the definitions the served kinds reach are included.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from skytrain.backends.kubernetes.kinds import KINDS, Kind
from skytrain.emulators.kubernetes_discovery import SERVER_VERSION
from skytrain.render.kubernetes_schemas import definitions as kubernetes_definitions
from skytrain.render.upstream import kubernetes_validator

ROOT = "/openapi/v3"
SCHEMA_VERSION = "{}.{}".format(*SERVER_VERSION)
QUERY = {
    "fieldValidation": "Strict, Warn or Ignore: what the server does with fields the schema does not declare.",
    "fieldManager": "the name of the actor making the change (required for apply patches).",
    "dryRun": "All: validate and answer without storing.",
    "force": "apply patches: take fields another manager owns.",
}
STRICT, WARN = "Strict", "Warn"


def group_version_path(kind: Kind) -> str:
    """The key of the kind's document in `/openapi/v3`: api/v1, apis/apps/v1."""
    return f"apis/{kind.group}/{kind.version}" if kind.group else f"api/{kind.version}"


def openapi(path: str) -> bytes | None:
    """The document at `path` (JSON), or None when it is not one."""
    if path == ROOT:
        return _root()
    return _documents().get(path.removeprefix(ROOT + "/"))


@cache
def _root() -> bytes:
    paths = {
        key: {"serverRelativeURL": f"{ROOT}/{key}?hash={hashlib.sha256(document).hexdigest()[:32].upper()}"}
        for key, document in _documents().items()
    }
    return json.dumps({"paths": paths}).encode()


@cache
def _documents() -> dict[str, bytes]:
    by_group_version: dict[str, list[Kind]] = {}
    for kind in KINDS:
        by_group_version.setdefault(group_version_path(kind), []).append(kind)
    return {key: json.dumps(_document(kinds)).encode() for key, kinds in by_group_version.items()}


def _document(kinds: list[Kind]) -> dict[str, Any]:
    definitions = schema_definitions()
    roots = [_definition_name(definitions, kind) for kind in kinds]
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": f"v{SCHEMA_VERSION}.0"},
        "paths": {
            path: item for kind, root in zip(kinds, roots, strict=True) for path, item in _paths(kind, root)
        },
        "components": {
            "schemas": {name: _schema(definitions[name]) for name in _reachable(definitions, roots)}
        },
    }


def schema_definitions() -> dict[str, Any]:
    return kubernetes_definitions(SCHEMA_VERSION)["$defs"]


@cache
def kind_schema(kind: Kind) -> dict[str, Any]:
    """The schema of `kind`'s objects (its references point into `schema_definitions()`)."""
    definitions = schema_definitions()
    return definitions[_definition_name(definitions, kind)]


def _definition_name(definitions: dict[str, Any], kind: Kind) -> str:
    wanted = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    return next(
        name
        for name, schema in definitions.items()
        if wanted in schema.get("x-kubernetes-group-version-kind", [])
    )


def _reachable(definitions: dict[str, Any], roots: list[str]) -> list[str]:
    seen: list[str] = []
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.append(name)
        pending.extend(_references(definitions[name]))
    return sorted(seen)


def _references(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"].removeprefix("#/$defs/")] if "$ref" in node else []
    return own + [ref for value in node.values() for ref in _references(value)]


def _schema(node: Any) -> Any:
    """A JSON Schema node in OpenAPI 3.0's dialect."""
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _schema(value) for key, value in node.items()}
    if "$ref" in converted:
        converted["$ref"] = converted["$ref"].replace("#/$defs/", "#/components/schemas/")
    if isinstance(converted.get("type"), list):
        types = [t for t in converted["type"] if t != "null"]
        converted["type"] = types[0] if len(types) == 1 else types
    return converted


def _paths(kind: Kind, definition: str) -> list[tuple[str, dict[str, Any]]]:
    gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{definition}"}}}}
    answer = {"200": {"description": "OK", **body}}

    def operation(action: str, *parameters: str, request: bool = False) -> dict[str, Any]:
        return {
            "operationId": f"{action}{kind.kind}",
            "parameters": [
                {"name": p, "in": "query", "description": QUERY[p], "schema": {"type": "string"}}
                for p in parameters
            ],
            **({"requestBody": body} if request else {}),
            "responses": answer,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        }

    writes = ("dryRun", "fieldManager", "fieldValidation")
    collection = kind.path("{namespace}" if kind.namespaced else None)
    return [
        (collection, {"get": operation("list"), "post": operation("post", *writes, request=True)}),
        (
            f"{collection}/{{name}}",
            {
                "get": operation("get"),
                "put": operation("put", *writes, request=True),
                "patch": operation("patch", *writes, "force", request=True),
                "delete": operation("delete", "dryRun"),
            },
        ),
    ]


def unknown_fields(obj: dict[str, Any]) -> list[str]:
    """The fields of `obj` its kind's schema does not declare (`.spec.replica`), as the
    server's strict decoding names them."""
    validator = kubernetes_validator(SCHEMA_VERSION, str(obj.get("kind")), str(obj.get("apiVersion")))
    found = []
    for error in validator.iter_errors(obj):
        if error.validator != "additionalProperties":
            continue
        allowed = error.schema.get("properties", {})
        prefix = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        found.extend(f"{prefix}.{key}" for key in error.instance if key not in allowed)
    return sorted(found)
