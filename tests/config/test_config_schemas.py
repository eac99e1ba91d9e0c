"""The published schemas under schemas/: valid draft 2020-12, described field by field for
editors, their examples valid, the overlay schema generated, the example files valid."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from config_helpers import EXAMPLE_SERVICES
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from skytrain.config.schemas import load_schema
from skytrain.schedulers import render
from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES, ROOT, skytrain

SCHEMAS = ROOT / "schemas"
PUBLISHED = ("application", "overlay", "environments")


def published(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def validator(name: str) -> Draft202012Validator:
    schema = published(name)
    return Draft202012Validator(
        schema, registry=Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    )


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema, with a JSON-pointer-ish path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key not in ("examples", "default", "enum", "const"):
                yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


@pytest.mark.parametrize("name", PUBLISHED)
def test_schema_is_valid_draft_2020_12(name):
    schema = published(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_overlay_schema_is_generated_from_the_application_schema():
    """schemas/overlay.schema.json must be `skytrain schema overlay` (make schemas)."""
    result = skytrain("schema", "overlay")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == published("overlay")
    assert result.stdout == (SCHEMAS / "overlay.schema.json").read_text()


@pytest.mark.parametrize("name", PUBLISHED)
def test_the_cli_prints_the_published_schema(name):
    result = skytrain("schema", name)
    assert json.loads(result.stdout) == published(name)


@pytest.mark.parametrize("name", PUBLISHED)
def test_every_property_has_a_description(name):
    missing = [
        f"{path}/properties/{key}"
        for path, node in walk(published(name))
        for key, sub in node.get("properties", {}).items()
        if not (isinstance(sub, dict) and sub.get("description", "").strip())
    ]
    assert missing == []


@pytest.mark.parametrize("name", PUBLISHED)
def test_every_example_in_a_schema_is_valid_against_its_subschema(name):
    schema = published(name)
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    checked = 0
    for path, node in walk(schema):
        for example in node.get("examples", []):
            sub = {**node, "$defs": schema.get("$defs", {})}
            errors = [e.message for e in Draft202012Validator(sub, registry=registry).iter_errors(example)]
            assert errors == [], f"{path}: example {example!r}"
            checked += 1
    assert checked > 0


def test_the_application_schema_has_examples_for_the_fields_editors_complete():
    properties = published("application")["properties"]
    without = [
        key for key, sub in properties.items() if not sub.get("examples") and sub.get("type") != "boolean"
    ]
    assert without == []


def _raw(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("service", EXAMPLE_SERVICES)
def test_example_files_as_written_pass_the_published_schemas(service):
    """What an editor with yaml-language-server sees: the files before interpolation."""
    deploy = EXAMPLES / service / "deploy"
    assert list(validator("application").iter_errors(_raw(deploy / "application.yml"))) == []
    for overlay in sorted(deploy.glob("*.yml")):
        if overlay.name != "application.yml":
            assert list(validator("overlay").iter_errors(_raw(overlay) or {})) == [], overlay


def test_example_environments_file_passes_its_schema():
    assert list(validator("environments").iter_errors(_raw(EXAMPLE_ENVIRONMENTS))) == []


def test_the_loaded_schema_is_the_published_one():
    for name in PUBLISHED:
        assert load_schema(f"{name}.schema.json") == published(name)


def test_overlays_allow_null_everywhere_and_require_nothing():
    overlay = validator("overlay")
    assert overlay.is_valid({})
    assert overlay.is_valid({"healthCheck": None, "env": {"A": None}, "resources": {"cpu": None}})
    assert not overlay.is_valid({"replicas": -1})
    assert not overlay.is_valid({"replica": 1})


def test_the_every_field_example_in_docs_is_valid(load):
    """docs/config.md shows every field; that example must itself validate and render."""
    text = (ROOT / "docs" / "config.md").read_text()
    block = re.search(r"## application.yml, every field\n\n```yaml\n(.*?)```", text, re.S).group(1)
    example = "\n".join(
        line for line in block.splitlines() if not line.startswith("pipeline:")
    )  # see pipeline.md
    apps = load({"application.yml": example + "\n", "staging.yml": ""})
    app = apps["staging"]
    assert app.name == "giphy" and app.schedulers == ("marathon", "kubernetes")
    for target in app.schedulers:
        render(app, target)
