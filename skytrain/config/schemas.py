"""Check documents against skytrain's JSON Schemas and say what is wrong like a person would.

Every error is reported (never only jsonschema's "best match"), at the line and column
of the offending key or value, with what was expected and, for a misspelt key or enum
value, the nearest known one. A subschema may carry `x-error`, the sentence to show
when its pattern or type does not match, and `x-sensitive`, which keeps a wrongly typed
value (a secret written where a reference belongs) out of the message; editors ignore both.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from skytrain.config.yamlfile import Positions, YamlDocument
from skytrain.errors import ConfigError, field_path
from skytrain.redact import redact
from skytrain.resources import schema_path
from skytrain.schema_verdict import SchemaVerdict
from skytrain.secret_shapes import PASSWORD_IN_URL, secret_kind

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

APPLICATION = "application.schema.json"
OVERLAY = "overlay.schema.json"
ENVIRONMENTS = "environments.schema.json"
# deploy/application.yml on its own (not a published file): see base_schema
BASE = "application.base.schema.json"
_TEMPLATE_MARKERS = ("{{", "{%", "{#")

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@cache
def load_schema(name: str) -> dict[str, Any]:
    if name == OVERLAY:
        return overlay_schema(load_schema(APPLICATION))
    if name == BASE:
        return base_schema(load_schema(APPLICATION))
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


def _copied(schema: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of plain JSON data, through json (~30 times copy.deepcopy's speed)."""
    return json.loads(json.dumps(schema))


def base_schema(application: dict[str, Any]) -> dict[str, Any]:
    """The base file on its own: the application schema with only the top-level fields
    required (name, image, scheduler, port: the base says what the service is). A nested
    object may be completed by each overlay (a secret's key, a health check's path), so
    that completeness is checked on the merged configuration only."""
    schema = _copied(application)
    schema["$id"] = schema["$id"].replace(APPLICATION, BASE)

    def drop_required(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("required", None)
            for sub in node.values():
                drop_required(sub)
        elif isinstance(node, list):
            for sub in node:
                drop_required(sub)

    top_level = schema.pop("required", [])
    drop_required(schema)
    schema["required"] = top_level
    return schema


def overlay_schema(application: dict[str, Any]) -> dict[str, Any]:
    """The overlay schema is the application schema with nothing required and null allowed
    everywhere (null removes a key). Generated, so the two can never drift apart."""
    schema = _copied(application)
    schema["$id"] = schema["$id"].replace(APPLICATION, OVERLAY)
    schema["title"] = "skytrain deploy/<env>.yml overlay"
    schema["description"] = (
        "Per-environment overlay on deploy/application.yml: every field optional; mappings merge "
        "key by key, scalars and lists replace, null removes a key."
    )

    def relax(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("required", None)
            for key, sub in list(node.get("properties", {}).items()):
                relax(sub)
                node["properties"][key] = {
                    "anyOf": [{"type": "null"}, sub],
                    "description": sub.get("description", ""),
                }
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):  # env: {LOG_LEVEL: null} removes one variable
                relax(extra)
                node["additionalProperties"] = {"anyOf": [{"type": "null"}, extra]}
            for key, sub in node.items():
                if key not in ("properties", "additionalProperties"):
                    relax(sub)
        elif isinstance(node, list):
            for sub in node:
                relax(sub)

    for key in service_wide_fields(application):
        del schema["properties"][key]
    relax(schema)
    return schema


def service_wide_fields(application: dict[str, Any]) -> list[str]:
    """Top-level fields marked `x-service-wide`: the same for every environment, so written
    only in application.yml and absent from the overlay schema."""
    return [key for key, sub in application["properties"].items() if sub.get("x-service-wide")]


@cache
def verdict(name: str) -> SchemaVerdict:
    """The fast answer for the valid documents that nearly all are (skytrain/schema_verdict.py)."""
    return SchemaVerdict(load_schema(name), exempt=templated)


@cache
def validator(name: str) -> Draft202012Validator:
    """The Python engine, whose errors the messages are made from: imported (~60 ms) and
    built only for a document the fast verdict does not pass."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schema = load_schema(name)
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft202012Validator(schema, registry=registry)


def check(document: YamlDocument, schema_name: str, as_written: bool = False) -> list[ConfigError]:
    """Every error of the document. `as_written`: the document is a file before templating,
    so a value holding a template is left to the check after templating."""
    if verdict(schema_name).passes(document.data, exempting=as_written):
        return []
    return [
        error
        for raw in validator(schema_name).iter_errors(document.data)
        if not (as_written and templated(raw.instance))
        for error in _translate(raw, document.positions)
    ]


def templated(value: Any) -> bool:
    return isinstance(value, str) and any(marker in value for marker in _TEMPLATE_MARKERS)


def _shown(value: Any) -> str:
    """The value for a message: a URL's credentials masked, a value shaped like a secret not at all."""
    if isinstance(value, str) and not PASSWORD_IN_URL.search(value) and secret_kind("", value):
        return "a value that looks like a secret (not shown)"
    text = redact(json.dumps(value, default=str), [])
    return text if len(text) <= 60 else text[:57] + "..."


def _expected_types(schema_type: str | list[str]) -> str:
    types = [schema_type] if isinstance(schema_type, str) else schema_type
    return " or ".join(_TYPE_NAMES.get(t, t) for t in types)


def _got(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", bool: "a boolean", type(None): "null"}.get(type(value))
    return kind or _shown(value)


def _json_type(value: Any) -> str:
    for name, kinds in (
        ("boolean", bool),
        ("integer", int),
        ("number", float),
        ("string", str),
        ("array", list),
    ):
        if isinstance(value, kinds):
            return name
    return "object" if isinstance(value, dict) else "null"


def _suggest(word: str, choices: list[str]) -> str:
    from difflib import get_close_matches  # only to word an error

    close = get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; expected one of: {', '.join(sorted(choices))}" if choices else ""


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not the one in 'e.g. ')."""
    return re.split(r"(?<![.\s][a-z])\.\s+(?=[A-Z])", text, maxsplit=1)[0].rstrip(".")


def _translate(error: ValidationError, positions: Positions) -> list[ConfigError]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("x-error")
    kind = error.validator
    value = error.instance

    if "propertyNames" in error.relative_schema_path:
        key_path = (*path, value)
        choices = schema.get("enum")
        if kind == "enum" and choices:
            message = f"unknown kind '{value}'{_suggest(value, choices)}"
        else:
            message = f"{custom or 'this key is not allowed'}; got '{value}'"
        return [ConfigError(positions.of_key(key_path), field_path(key_path), message)]

    if kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        extras = [k for k in value if k not in known]
        return [
            ConfigError(
                positions.of_key((*path, key)),
                field_path((*path, key)),
                f"unknown field '{key}'{_suggest(key, known)}",
            )
            for key in extras
        ]

    if kind == "required":
        missing = [k for k in error.validator_value if k not in value]
        out = []
        for key in missing:
            about = schema.get("properties", {}).get(key, {}).get("description", "")
            hint = f" ({_first_sentence(about)})" if about else ""
            removed = positions.keys.get((*path, key))  # an overlay's `key: null`
            where = removed or positions.of_key(path)
            how = "; this overlay removes it with null, but it is required" if removed else ""
            out.append(ConfigError(where, field_path(path), f"missing required field '{key}'{hint}{how}"))
        return out

    where = positions.of_value(path)
    name = field_path(path)
    if kind == "type":
        expected = _expected_types(error.validator_value)
        # where a value may be a secret written by mistake, say what kind of value it is, never the value
        got = _TYPE_NAMES[_json_type(value)] if schema.get("x-sensitive") else _got(value)
        message = f"{custom}; got {got}" if custom else f"expected {expected}, got {got}"
    elif kind == "enum":
        choices = [str(c) for c in error.validator_value]
        message = f"got {_shown(value)}{_suggest(str(value), choices)}"
    elif kind == "pattern":
        message = (
            f"{custom}; got {_shown(value)}"
            if custom
            else f"{_shown(value)} does not match {error.validator_value}"
        )
    elif kind in {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}:
        relation = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }[kind]
        message = f"must be {relation} {error.validator_value}; got {_shown(value)}"
    elif kind in {"minLength", "maxLength"}:
        relation = "at least" if kind == "minLength" else "at most"
        message = f"must be {relation} {error.validator_value} characters long; got {len(value)}"
    elif kind in {"minItems", "minProperties"}:
        message = (
            f"must have at least {error.validator_value} entr{'y' if error.validator_value == 1 else 'ies'}"
        )
    elif kind == "uniqueItems":
        message = "lists the same entry twice; keep each once"
    elif kind in {"anyOf", "oneOf"}:
        message = f"{custom}; got {_got(value)}" if custom else error.message
    else:
        message = error.message
    return [ConfigError(where, name, message)]
