"""Changes that damage an app definition where a schema would notice: for a place in an
app, the values and removals its schemas' constraints make interesting (every JSON type,
the edges of each range and length, strings against each pattern, every enumeration
member in either schema plus a non-member and a wrong-case member, each key removed,
unknown keys, and the keys another form or schema knows there), and a hypothesis strategy
that applies a few of them, or random values, to any app.

What a place allows is read from the schemas themselves (draft 4's definitions and tuple
items, 2020-12's $defs and prefixItems alike), so the probes follow both schemas without
a list of fields here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]
Change = tuple[Path, Any]
Schemas = list[dict[str, Any]]


class _Removed:
    def __repr__(self) -> str:
        return "<removed>"


REMOVED = _Removed()  # a change's value that removes the key or item
NON_MEMBER = "NOT_A_MEMBER"
OF_EVERY_TYPE = (None, True, "text", 7, 0.5, 2.0, [], {})
PATTERN_PROBES = (
    "",
    "a",
    "A",
    "1a",
    "a-",
    "-a",
    "a_b",
    "a.b",
    "..",
    "/a/-b",
    "/x//y",
    "//cmd",
    "a\n",
    "UPPER",
)
EXTRA_KEYS = ("unknown", "networks", "storeUrls", "tty", "executorResources", "ipProtocol", "profileName")
EXTRA_KEYS += (
    "networkNames",
    "pullConfig",
    "portMappings",
    "network",
    "ipAddress",
    "labels",
    "value",
    "secret",
)
RUNS = ("cmd", "args")  # what an app runs: kept in every cut-down app (the command rule)


def locations(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) in a JSON document, the document itself first."""
    yield path, value
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        yield from locations(child, (*path, key))


def schemas_at(root: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """Every subschema of `root` that applies to the instance at `path`."""
    return list(_at(root, root, path))


def _at(root: dict[str, Any], node: Any, path: Path) -> Iterator[dict[str, Any]]:
    if not isinstance(node, dict):
        return
    for alternative in _alternatives(root, node):
        if not path:
            yield alternative
            continue
        for child in _children(alternative, path[0]):
            yield from _at(root, child, path[1:])


def _alternatives(root: dict[str, Any], node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The node and every subschema that applies to the same instance."""
    yield node
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].split("#", 1)[1].strip("/").split("/"):
            target = target[part]
        yield from _alternatives(root, target)
    for keyword in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(keyword, []):
            yield from _alternatives(root, sub)


def _children(node: dict[str, Any], step: str | int) -> list[Any]:
    if isinstance(step, str):
        named = node.get("properties", {}).get(step)
        if named is not None:
            return [named]
        return [node.get("additionalProperties"), *node.get("patternProperties", {}).values()]
    positional = node.get("prefixItems") or (node["items"] if isinstance(node.get("items"), list) else [])
    if step < len(positional):
        return [positional[step]]
    return [node.get("items"), node.get("additionalItems")]


def enums_at(schema: dict[str, Any], path: Path) -> set[str]:
    """The enumeration members (enum, const) the schema allows at `path`, as text."""
    return {
        str(member)
        for node in schemas_at(schema, path)
        for member in [*node.get("enum", []), *([node["const"]] if "const" in node else [])]
    }


def changes_at(schemas: Schemas, path: Path, value: Any) -> list[Change]:
    """The changes worth trying at `path`, whose value is `value`."""
    nodes = [node for schema in schemas for node in schemas_at(schema, path)]
    values = [*OF_EVERY_TYPE, *(v for node in nodes for v in _edge_values(node, value))] if path else []
    changes = [(path, v) for v in values]
    if isinstance(value, dict):
        changes += [((*path, key), REMOVED) for key in value]
        changes += [((*path, key), 1) for key in ("unknown", *(k + "s" for k in value)) if key not in value]
        known = {key for node in nodes for key in node.get("properties", {})}
        changes += [((*path, key), v) for key in sorted(known - value.keys()) for v in OF_EVERY_TYPE]
    unique: dict[str, Change] = {}
    for change in changes:
        unique.setdefault(repr(change), change)
    return list(unique.values())


def _edge_values(node: dict[str, Any], value: Any) -> list[Any]:
    members = [*node.get("enum", []), *([node["const"]] if "const" in node else [])]
    values = [*members, NON_MEMBER, *(m.lower() for m in members if isinstance(m, str))] if members else []
    step = 1 if node.get("type") == "integer" else 0.0001
    for bound, outside in (("minimum", -step), ("maximum", step)):
        if bound in node:
            values += [node[bound], node[bound] + outside]
    for bound, outside in (("minLength", -1), ("maxLength", 1)):
        if bound in node:
            values += ["a" * node[bound], "a" * max(0, node[bound] + outside)]
    if "pattern" in node:
        values += PATTERN_PROBES
    if isinstance(value, list):
        values += [value[: max(0, node.get("minItems", 1) - 1)], [*value, "extra"]]
    return values


def changed(document: Any, change: Change) -> Any:
    """A copy of `document` with the change made."""
    path, value = change
    result = copy.deepcopy(document)
    owner = result
    for step in path[:-1]:
        owner = owner[step]
    if value is REMOVED:
        del owner[path[-1]]
    else:
        owner[path[-1]] = value
    return result


def cut_down(schemas: Schemas, document: Any, path: Path, prefix: Path = ()) -> Any:
    """The part of `document` that a change at `path` needs: along the path, each object
    keeps the next key and its required ones (the app also what it runs), each list its
    items up to the one on the path; the value at `path` stays whole. Validating it is
    many times faster than validating the whole app."""
    if not path:
        return copy.deepcopy(document)
    step, rest = path[0], path[1:]
    inner = cut_down(schemas, document[step], rest, (*prefix, step))
    if isinstance(document, list):
        return [*copy.deepcopy(document[:step]), inner]
    kept = {
        key for schema in schemas for node in schemas_at(schema, prefix) for key in node.get("required", [])
    }
    kept |= set(RUNS) if not prefix else set()
    return {**{k: copy.deepcopy(v) for k, v in document.items() if k in kept}, step: inner}


@st.composite
def mutated(draw: st.DrawFn, bases: list[Any], schemas: Schemas) -> Any:
    """One of `bases` with one to three changes: one of `changes_at` for a random place, or
    a random number or string there."""
    document = draw(st.sampled_from(bases))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path, value = draw(st.sampled_from(list(locations(document))[1:] or [((), document)]))
        if not path:
            break
        anything = st.one_of(
            st.integers(min_value=-3, max_value=70000),
            st.floats(min_value=-2, max_value=3, allow_nan=False),
            st.text(alphabet="az09./-_ \nA", max_size=8),
        )
        change = draw(
            st.one_of(st.sampled_from(changes_at(schemas, path, value)), st.tuples(st.just(path), anything))
        )
        document = changed(document, change)
    return document
