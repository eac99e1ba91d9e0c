"""Check rendered objects against the schedulers' schemas.

Marathon apps are checked against skytrain's own Marathon app schema
(schemas/marathon-app.schema.json, held to Marathon's published one by the tests), at the
entry point of the API form the cluster speaks; Kubernetes objects against the schemas
the kubernetes-validate package ships (skytrain/render/kubernetes_schemas.py). An object
first gets the fast verdict of skytrain/schema_verdict.py (microseconds); only one that
does not pass it is checked by jsonschema, imported only then, whose errors the messages
are made from. Validators of either kind are built once per process and schema (building
a jsonschema one per object cost ~13 ms; reusing it ~0.25 ms per object), here and
nowhere else.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from skytrain.render import kubernetes_schemas
from skytrain.resources import schema_path
from skytrain.schema_verdict import SchemaVerdict

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

MARATHON_SCHEMA = "marathon-app.schema.json"
# the schema's entry point for each API form: 1.4 (legacy networking) or 1.5 and later
MARATHON_FORM = {True: "app-1.4", False: "app-1.5"}


def _no_network(uri: str) -> Resource:
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)


@cache
def _marathon_document() -> dict[str, Any]:
    return json.loads(schema_path(MARATHON_SCHEMA).read_text(encoding="utf-8"))


@cache
def marathon_validator(legacy: bool) -> Draft202012Validator:
    """jsonschema at the entry point of the 1.4 form (`legacy`) or the 1.5+ one, references inlined."""
    from jsonschema import Draft202012Validator

    definitions = _marathon_document()["$defs"]
    return Draft202012Validator(_inlined(definitions[MARATHON_FORM[legacy]], definitions))


@cache
def marathon_verdict(legacy: bool) -> SchemaVerdict:
    """The fast verdict at the same entry point; it follows references as documents reach
    them, building each definition's check once, so it needs no inlining."""
    document = _marathon_document()
    entry = {"$ref": f"{document['$id']}#/$defs/{MARATHON_FORM[legacy]}"}
    return SchemaVerdict(entry, {document["$id"]: document})


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    """`node` with each `{"$ref": "#/$defs/x", ...}` replaced by x's keywords and its own.

    The schema shares a definition per field between its two forms; jsonschema would look
    every reference up again on every use, which made checking an app 2.4x slower. The
    schema has no recursion, and a reference's own keywords only add to its target's
    (tests/marathon/test_schema_upstream.py checks both)."""
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    own = {key: _inlined(value, definitions) for key, value in node.items() if key != "$ref"}
    if "$ref" not in node:
        return own
    return {**_inlined(definitions[node["$ref"].removeprefix("#/$defs/")], definitions), **own}


@cache
def _kubernetes_registry(version: str) -> Registry:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    document = kubernetes_schemas.definitions(version)
    resource = Resource(document, DRAFT202012)
    return Registry(retrieve=_no_network).with_resource(document["$id"], resource)


@cache
def kubernetes_validator(version: str, kind: str, api_version: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = kubernetes_schemas.kind_schema(version, kind, api_version)
    return Draft202012Validator(schema, registry=_kubernetes_registry(version))


@cache
def kubernetes_verdict(version: str, kind: str, api_version: str) -> SchemaVerdict:
    document = kubernetes_schemas.definitions_on_demand(version)
    return SchemaVerdict(
        kubernetes_schemas.kind_schema(version, kind, api_version), {document["$id"]: document}
    )


Problem = tuple[tuple[str | int, ...], str]


def marathon_errors(app: dict[str, Any], legacy: bool) -> list[Problem]:
    """(path in the object, what is wrong) for each way `app` fails the Marathon app schema."""
    if marathon_verdict(legacy).passes(app):
        return []
    return [(tuple(e.absolute_path), e.message) for e in marathon_validator(legacy).iter_errors(app)]


def kubernetes_errors(obj: dict[str, Any], version: str) -> list[Problem]:
    """(path in the object, what is wrong) for each way `obj` fails its Kubernetes schema."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    try:
        if kubernetes_verdict(version, str(kind), str(api_version)).passes(obj):
            return []
    except FileNotFoundError:
        return [((), f"Kubernetes {version} has no kind {kind!r} in apiVersion {api_version!r}")]
    validator = kubernetes_validator(version, str(kind), str(api_version))
    return [(tuple(e.absolute_path), e.message) for e in validator.iter_errors(obj)]


def describe(problem: Problem) -> str:
    path, message = problem
    return f"{'/'.join(map(str, path)) or '(top level)'}: {message}"


def kubernetes_problems(obj: dict[str, Any], version: str) -> list[str]:
    return [describe(p) for p in kubernetes_errors(obj, version)]
