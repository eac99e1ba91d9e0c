"""A fast yes or no: does a document pass a JSON Schema (Draft 2020-12)?

Nearly every document skytrain checks is valid: each service's files, their merged form
per environment, and every object rendered from them. jsonschema walks a schema anew for
each document (0.2-2 ms a document) and costs ~60 ms to import, which was most of what
`skytrain validate` spent. Here a schema is turned once into plain Python functions, one
per subschema, each built the first time a document reaches it; a document is then judged
in microseconds, with nothing imported but the standard library.

Explaining a failure stays with jsonschema: the messages, their positions and their order
are made from its errors (skytrain/config/schemas.py, skytrain/render/upstream.py). So
this module only answers "passes" or "ask jsonschema": a document it does not pass is
checked again by jsonschema, which has the final word. It follows jsonschema's own rules
keyword by keyword (Python's `re` for patterns, `format` as an annotation, bool apart from
numbers in `enum` and `const`); a keyword it does not know to judge (`$dynamicRef`,
`unevaluatedProperties`) or anything it cannot tell (a key that is not a string where a
pattern reads keys) means "ask jsonschema". tests/config/test_schema_verdict.py holds it
to jsonschema's verdict on every example, the broken-input corpus and generated documents.

jsonschema-rs would judge as fast, but importing it loads `socket` (through
`email.utils`, for its build metadata), which the pure path must not load, and its regular
expressions differ from Python's on `$` and `\\s`.
"""

from __future__ import annotations

import itertools
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

Check = Callable[[Any], bool]
Exempt = Callable[[str], bool]

# keywords jsonschema's Draft 2020-12 validator judges and this module does not
_UNSUPPORTED = frozenset(("$dynamicRef", "unevaluatedItems", "unevaluatedProperties"))


class Unsupported(Exception):
    """The schema uses something this module does not judge: jsonschema decides."""


def _accept(instance: Any) -> bool:
    return True


def _reject(instance: Any) -> bool:
    return False


# jsonschema's Draft 2020-12 type checker: a bool is not a number, 1.0 is an integer
_TYPES: dict[str, Check] = {
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "integer": lambda x: (
        not isinstance(x, bool) and (isinstance(x, int) or (isinstance(x, float) and x.is_integer()))
    ),
    "null": lambda x: x is None,
    "number": lambda x: not isinstance(x, bool) and isinstance(x, numbers.Number),
    "object": lambda x: isinstance(x, dict),
    "string": lambda x: isinstance(x, str),
}
_is_number = _TYPES["number"]


def _unbool(value: Any, true: object = object(), false: object = object()) -> Any:
    """True and 1 (False and 0) are different values to JSON Schema (jsonschema._utils.unbool)."""
    if value is True:
        return true
    if value is False:
        return false
    return value


def equal(one: Any, two: Any) -> bool:
    """jsonschema._utils.equal: ==, with bools apart from numbers, all the way down."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(equal(i, j) for i, j in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(
            key in two and equal(value, two[key]) for key, value in one.items()
        )
    return _unbool(one) == _unbool(two)


def unique(items: list[Any]) -> bool:
    """jsonschema._utils.uniq."""
    try:
        ordered = sorted(_unbool(i) for i in items)
        return not any(equal(i, j) for i, j in itertools.pairwise(ordered))
    except (NotImplementedError, TypeError):
        seen: list[Any] = []
        for item in map(_unbool, items):
            if any(equal(other, item) for other in seen):
                return False
            seen.append(item)
        return True


def _multiple_of(instance: Any, divisor: Any) -> bool:
    """jsonschema's multipleOf, float rounding and all."""
    if isinstance(divisor, float):
        quotient = instance / divisor
        try:
            return int(quotient) == quotient
        except OverflowError:
            from fractions import Fraction

            return (Fraction(instance) / Fraction(divisor)).denominator == 1
    return not instance % divisor


class SchemaVerdict:
    """Whether documents pass one schema. `resources`: other schema documents its
    references may point into, by URI (jsonschema's registry); `exempt`: the strings
    whose errors the caller drops when it asks with `exempting`."""

    def __init__(self, schema: Any, resources: Mapping[str, Any] | None = None, exempt: Exempt | None = None):
        base = schema.get("$id", "") if isinstance(schema, dict) else ""
        self._resources = {**(resources or {}), base: schema}
        self._exempt = exempt or (lambda text: False)
        self._built: dict[tuple[int, bool], Check] = {}
        self._strict = self._lazy(schema, base, lenient=False)
        self._lenient = self._lazy(schema, base, lenient=True)

    def passes(self, document: Any, exempting: bool = False) -> bool:
        """True when jsonschema would find no error in `document`; `exempting`: none but
        errors about a string `exempt` accepts (which skytrain's check then drops). False
        means: ask jsonschema (there are errors, or this module cannot tell)."""
        try:
            return (self._lenient if exempting else self._strict)(document)
        except Exception:  # Unsupported, a regular expression given a key that is not a string...
            return False

    def _lazy(self, schema: Any, base: str, lenient: bool) -> Check:
        """The check of `schema`, built when a document first reaches it (a Kubernetes
        kind's schema reaches thousands of subschemas; a document, a few dozen)."""
        key = (id(schema), lenient)
        built = self._built.get(key)
        if built is not None:
            return built
        check: Check | None = None

        def lazily(instance: Any) -> bool:
            nonlocal check
            if check is None:
                check = self._build(schema, base, lenient)
            return check(instance)

        self._built[key] = lazily
        return lazily

    def _build(self, schema: Any, base: str, lenient: bool) -> Check:
        """`lenient`: a string the caller exempts passes, and so does everything that
        only propagates errors about it (properties, items, allOf, $ref...); keywords that
        judge a subschema as a whole (anyOf, oneOf, not, if, contains) still judge it
        strictly, as jsonschema counts every error there before anything is dropped."""
        if schema is True:
            return _accept
        if schema is False:
            exempt = self._exempt
            return (lambda x: isinstance(x, str) and exempt(x)) if lenient else _reject
        if not isinstance(schema, dict):
            raise Unsupported(f"not a schema: {schema!r}")
        if _UNSUPPORTED & schema.keys():
            raise Unsupported(", ".join(sorted(_UNSUPPORTED & schema.keys())))
        if "$id" in schema and schema is not self._resources.get(base):
            raise Unsupported("a subschema with its own $id")
        checks = [
            check
            for keyword, value in schema.items()
            if (check := self._keyword(keyword, value, schema, base, lenient)) is not None
        ]
        if lenient:
            exempt = self._exempt

            def unless_exempt(x: Any) -> bool:
                if isinstance(x, str) and exempt(x):
                    return True
                return _all(checks, x)

            return unless_exempt
        if len(checks) == 1:
            return checks[0]
        return lambda x: _all(checks, x)

    def _keyword(
        self, keyword: str, value: Any, schema: dict[str, Any], base: str, lenient: bool
    ) -> Check | None:
        """The check of one keyword, as jsonschema's _keywords module judges it; None for
        annotations and for keywords read by another one (then, else, minContains...)."""
        sub = lambda node: self._lazy(node, base, lenient)  # noqa: E731 - errors propagate
        strict = lambda node: self._lazy(node, base, False)  # noqa: E731 - judged as a whole
        if keyword in _OBJECT_KEYWORDS:
            return _object_keyword(keyword, value, schema, sub)
        if keyword in _ARRAY_KEYWORDS:
            return _array_keyword(keyword, value, schema, sub, strict)
        if keyword in _SCALAR_KEYWORDS:
            return _SCALAR_KEYWORDS[keyword](value)
        if keyword == "allOf":
            checks = [sub(node) for node in value]
            return lambda x: _all(checks, x)
        if keyword == "anyOf":
            checks = [strict(node) for node in value]
            return lambda x: any(check(x) for check in checks)
        if keyword == "oneOf":
            checks = [strict(node) for node in value]
            return lambda x: sum(1 for check in checks if check(x)) == 1
        if keyword == "not":
            check = strict(value)
            return lambda x: not check(x)
        if keyword == "if":
            condition = strict(value)
            then = sub(schema["then"]) if "then" in schema else _accept
            otherwise = sub(schema["else"]) if "else" in schema else _accept
            return lambda x: then(x) if condition(x) else otherwise(x)
        if keyword == "$ref":
            return self._reference(value, base, lenient)
        return None

    def _reference(self, reference: str, base: str, lenient: bool) -> Check:
        """A `$ref` into this schema or a resource, by JSON pointer (no anchors)."""
        uri, fragment = urldefrag(urljoin(base, reference))
        if uri not in self._resources:
            raise Unsupported(f"no resource {uri!r}")
        if fragment and not fragment.startswith("/"):
            raise Unsupported(f"anchor {fragment!r}")
        node = self._resources[uri]
        for part in fragment.split("/")[1:]:
            part = unquote(part).replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return self._lazy(node, uri, lenient)


def _all(checks: list[Check], x: Any) -> bool:
    for check in checks:  # noqa: SIM110 - a loop, not a generator: it runs for every value checked
        if not check(x):
            return False
    return True


Sub = Callable[[Any], Check]


def _object_keyword(keyword: str, value: Any, schema: dict[str, Any], sub: Sub) -> Check | None:
    if keyword == "properties":
        checks = {name: sub(node) for name, node in value.items()}

        def properties(x: Any) -> bool:
            if isinstance(x, dict):
                for key, item in x.items():
                    check = checks.get(key)
                    if check is not None and not check(item):
                        return False
            return True

        return properties
    if keyword == "additionalProperties":
        return _additional_properties(value, schema, sub)
    if keyword == "patternProperties":
        pairs = [(re.compile(pattern).search, sub(node)) for pattern, node in value.items()]
        return lambda x: (
            not isinstance(x, dict)
            or all(check(item) for search, check in pairs for key, item in x.items() if search(key))
        )
    if keyword == "propertyNames":
        check = sub(value)
        return lambda x: not isinstance(x, dict) or all(check(key) for key in x)
    if keyword == "required":
        return lambda x: not isinstance(x, dict) or all(name in x for name in value)
    if keyword == "dependentRequired":
        return lambda x: (
            not isinstance(x, dict)
            or all(name in x for key, names in value.items() if key in x for name in names)
        )
    if keyword == "dependentSchemas":
        pairs = [(key, sub(node)) for key, node in value.items()]
        return lambda x: not isinstance(x, dict) or all(check(x) for key, check in pairs if key in x)
    if keyword == "minProperties":
        return lambda x: not (isinstance(x, dict) and len(x) < value)
    return lambda x: not (isinstance(x, dict) and len(x) > value)


def _additional_properties(value: Any, schema: dict[str, Any], sub: Sub) -> Check | None:
    known = schema.get("properties", {})
    patterns = "|".join(schema.get("patternProperties", {}))
    search = re.compile(patterns).search if patterns else None

    def extras(x: dict[Any, Any]) -> list[Any]:
        return [key for key in x if key not in known and not (search and search(key))]

    if isinstance(value, dict):
        check = sub(value)
        return lambda x: not isinstance(x, dict) or all(check(x[key]) for key in extras(x))
    if not value:
        return lambda x: not isinstance(x, dict) or not extras(x)
    return None


def _array_keyword(keyword: str, value: Any, schema: dict[str, Any], sub: Sub, strict: Sub) -> Check:
    if keyword == "items":
        prefix = len(schema.get("prefixItems", []))
        if value is False:
            return lambda x: not isinstance(x, list) or len(x) <= prefix
        check = sub(value)

        def items(x: Any) -> bool:
            if isinstance(x, list):
                for item in x[prefix:] if prefix else x:
                    if not check(item):
                        return False
            return True

        return items
    if keyword == "prefixItems":
        checks = [sub(node) for node in value]
        return lambda x: (
            not isinstance(x, list) or all(check(item) for check, item in zip(checks, x, strict=False))
        )
    if keyword == "contains":
        check = strict(value)
        least = schema.get("minContains", 1)

        def contains(x: Any) -> bool:
            if not isinstance(x, list):
                return True
            most = schema.get("maxContains", len(x))
            matches = sum(1 for item in x if check(item))
            return least <= matches <= most

        return contains
    if keyword == "minItems":
        return lambda x: not (isinstance(x, list) and len(x) < value)
    if keyword == "maxItems":
        return lambda x: not (isinstance(x, list) and len(x) > value)
    return lambda x: not (value and isinstance(x, list)) or unique(x)


def _type(value: Any) -> Check:
    if isinstance(value, str):
        return _TYPES[value]
    kinds = [_TYPES[kind] for kind in value]
    return lambda x: any(kind(x) for kind in kinds)


def _pattern(value: str) -> Check:
    search = re.compile(value).search
    return lambda x: not isinstance(x, str) or search(x) is not None


def _enum(value: list[Any]) -> Check:
    texts = {each for each in value if isinstance(each, str)}
    others = [each for each in value if not isinstance(each, str)]
    return lambda x: x in texts if isinstance(x, str) else any(equal(each, x) for each in others)


# each as jsonschema words its failure: `x < minimum` fails (so NaN passes), and so on
_SCALAR_KEYWORDS: dict[str, Callable[[Any], Check]] = {
    "type": _type,
    "enum": _enum,
    "const": lambda value: lambda x: equal(x, value),
    "pattern": _pattern,
    "minLength": lambda value: lambda x: not (isinstance(x, str) and len(x) < value),
    "maxLength": lambda value: lambda x: not (isinstance(x, str) and len(x) > value),
    "minimum": lambda value: lambda x: not (_is_number(x) and x < value),
    "maximum": lambda value: lambda x: not (_is_number(x) and x > value),
    "exclusiveMinimum": lambda value: lambda x: not (_is_number(x) and x <= value),
    "exclusiveMaximum": lambda value: lambda x: not (_is_number(x) and x >= value),
    "multipleOf": lambda value: lambda x: not _is_number(x) or _multiple_of(x, value),
}
_OBJECT_KEYWORDS = frozenset(
    (
        "properties",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "required",
        "dependentRequired",
        "dependentSchemas",
        "minProperties",
        "maxProperties",
    )
)
_ARRAY_KEYWORDS = frozenset(("items", "prefixItems", "contains", "minItems", "maxItems", "uniqueItems"))
