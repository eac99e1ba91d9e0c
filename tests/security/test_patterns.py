"""Every pattern skytrain judges a value with matches the whole value: a valid value with a
newline after it (or before it) is refused. Python's `$` also matches before a final
newline, which let `name: "giphy\\n"` through; the schemas end their patterns with
`$(?!\\n)` (see the `$comment` in schemas/application.schema.json) and Python code uses
`fullmatch`. This walks all of them, so a new pattern without the guard fails here.

The upstream Marathon schemas (schemas/marathon/) are byte-for-byte copies, left as
published: they check rendered objects, whose values come from fields checked here."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from skytrain.config import schemas
from skytrain.schema_verdict import SchemaVerdict
from tests.support import ROOT

# regular expressions that detect (a secret's name, a config line to rewrite) rather than
# accept: matching more is their safe side, so a trailing newline may match
DETECTORS = {("skytrain/secret_shapes.py", "SECRET_NAME")}


def schema_patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        yield from node.get("patternProperties", {})
        for value in node.values():
            yield from schema_patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_patterns(value)


def all_schema_patterns() -> list[str]:
    documents = [json.loads(path.read_text()) for path in sorted((ROOT / "schemas").glob("*.json"))]
    documents += [schemas.load_schema(schemas.BASE), schemas.load_schema(schemas.OVERLAY)]
    return sorted({p for document in documents for p in schema_patterns(document)})


def python_patterns() -> list[tuple[str, str, str]]:
    """(file, name, pattern) of every regular expression written as a literal in
    skytrain's code and anchored with `$`: re.compile/search/match/fullmatch(r"...")."""
    found = []
    for path in sorted((ROOT / "skytrain").rglob("*.py")):
        if path.parent.name == "emulators":  # stand-ins for the schedulers, not judges of input
            continue
        tree = ast.parse(path.read_text())
        names = {
            id(node.value): node.targets[0].id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in ("compile", "search", "match", "fullmatch")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                continue
            pattern = node.args[0].value
            if _anchored_at_end(pattern) and not _multiline(node):
                file = str(path.relative_to(ROOT))
                found.append((file, names.get(id(node), node.func.attr), pattern))
    return found


def _multiline(call: ast.Call) -> bool:
    """Whether the call's flags (or the pattern's inline flags) include re.MULTILINE."""
    flags = [*call.args[1 if call.func.attr == "compile" else 2 :], *(k.value for k in call.keywords)]  # type: ignore[attr-defined]
    named = {n.attr for f in flags for n in ast.walk(f) if isinstance(n, ast.Attribute)}
    inline = re.match(r"\(\?[aiLmsux]+\)", call.args[0].value)  # type: ignore[attr-defined]
    return bool(named & {"M", "MULTILINE"}) or bool(inline and "m" in inline.group())


def _anchored_at_end(pattern: str) -> bool:
    """Whether `$` appears as an anchor (not escaped, not inside [...])."""
    return any(token == "$" for token in re.findall(r"\\.|\[(?:\\.|[^\]])*\]|.", pattern))


SCHEMA_PATTERNS = all_schema_patterns()
PYTHON_PATTERNS = [p for p in python_patterns() if (p[0], p[1]) not in DETECTORS]
CHECK = settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_walk_finds_the_patterns():
    assert len(SCHEMA_PATTERNS) >= 15
    assert "^(?!service-)(?!.*-service$)(?!service$)[a-z]([a-z0-9-]*[a-z0-9])?$(?!\\n)" in SCHEMA_PATTERNS
    assert {name for _, name, _ in python_patterns()} >= {"SECRET_NAME"}


# both engines that judge a value: jsonschema, and the fast verdict that passes valid
# documents without it (skytrain/schema_verdict.py)
JUDGES = (
    lambda schema: Draft202012Validator(schema).is_valid,
    lambda schema: SchemaVerdict(schema).passes,
)


@pytest.mark.parametrize("pattern", SCHEMA_PATTERNS)
def test_a_schema_pattern_matches_the_whole_value(pattern: str):
    judges = [judge({"type": "string", "pattern": pattern}) for judge in JUDGES]

    @CHECK
    @given(st.from_regex(pattern, fullmatch=True))
    def check(valid: str) -> None:
        for passes in judges:
            assert passes(valid)
            assert not passes(valid + "\n")
            assert not passes("\n" + valid)

    check()


def test_every_python_pattern_anchored_with_dollar_matches_the_whole_value():
    """Today every such pattern in skytrain is a detector or uses fullmatch without `$`;
    one added later is checked here the same way as the schemas' patterns."""
    for file, name, pattern in PYTHON_PATTERNS:
        compiled = re.compile(pattern)

        @CHECK
        @given(st.from_regex(compiled, fullmatch=True))
        def check(valid: str) -> None:
            assert compiled.search(valid + "\n") is None, f"{file}: {name}"  # noqa: B023
            assert compiled.search("\n" + valid) is None, f"{file}: {name}"  # noqa: B023

        check()


def test_the_walk_sees_a_pattern_with_the_hole():
    """The check itself can fail: a plain `^...$` lets a trailing newline through."""
    for judge in JUDGES:
        assert judge({"type": "string", "pattern": "^[a-z]+$"})("giphy\n")
        assert not judge({"type": "string", "pattern": "^[a-z]+$(?!\\n)"})("giphy\n")
