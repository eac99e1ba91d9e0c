"""The fast verdict (skytrain/schema_verdict.py) says "passes" exactly where jsonschema finds
no error. It decides alone for every valid document, so a document it passed wrongly would
skip its messages: held here to jsonschema over generated schemas and documents, every
example, the broken-input corpus, and mutations of all of them, for each schema skytrain
checks with (its own, the Marathon app schema in both forms, the Kubernetes kinds)."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from skytrain.config import load_service, schemas
from skytrain.config.build import read_service
from skytrain.config.merge import merge_documents
from skytrain.config.yamlfile import parse_yaml
from skytrain.errors import ConfigErrors, UsageError
from skytrain.render import kubernetes_schemas, upstream
from skytrain.render.kubernetes import render_kubernetes
from skytrain.render.marathon import render_marathon
from skytrain.schema_verdict import SchemaVerdict, Unsupported
from tests.support import EXAMPLES, probe

BROKEN = Path(__file__).parent / "broken"
CONFIG_SCHEMAS = (schemas.APPLICATION, schemas.BASE, schemas.OVERLAY, schemas.ENVIRONMENTS)
KUBERNETES = "1.33"
CHECK = settings(max_examples=300, derandomize=True, database=None, deadline=None)
MUTATIONS = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def jsonschema_passes(validator: Any, document: Any, exempt: Callable[[Any], bool] | None = None) -> bool:
    """jsonschema's verdict, as skytrain's checks read it: no error left once `exempt`'s are
    dropped (and no exception: the fast verdict must then leave the document to jsonschema)."""
    try:
        return not any(not (exempt and exempt(error.instance)) for error in validator.iter_errors(document))
    except (ValueError, TypeError, OverflowError):
        return False


def agree(verdict: SchemaVerdict, validator: Any, document: Any, exempt: Callable[[Any], bool] | None = None):
    expected = jsonschema_passes(validator, document, exempt)
    assert verdict.passes(document, exempting=exempt is not None) == expected, json.dumps(
        document, default=str
    )


def agree_on_config(document: Any) -> None:
    for name in CONFIG_SCHEMAS:
        agree(schemas.verdict(name), schemas.validator(name), document)
        agree(schemas.verdict(name), schemas.validator(name), document, schemas.templated)


def agree_on_rendered(obj: Any, like: dict[str, Any]) -> None:
    """Against the schema of what `like` is: a Marathon app (both forms) or its Kubernetes kind."""
    if "kind" not in like:
        for legacy in (True, False):
            agree(upstream.marathon_verdict(legacy), upstream.marathon_validator(legacy), obj)
        return
    key = (KUBERNETES, like["kind"], like["apiVersion"])
    agree(upstream.kubernetes_verdict(*key), upstream.kubernetes_validator(*key), obj)


# -- generated schemas and documents -----------------------------------------------------

PATTERNS = ["^[a-z]+$(?!\\n)", "^[a-z]+$", "a", "^$", "\\s", "^\\S+$"]
NAMES = ["a", "b", "c", "{{ x }}"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(),
    st.sampled_from([0.0, 1.0, 0.5, -2.5, 1e300, math.nan, math.inf, 2.0**70]),
    st.floats(),
    st.sampled_from(["", "a", "ab", "A", "a\n", " ", "{{ x }}", "{% if %}", "1"]),
    st.text(max_size=4),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)
    ),
    max_leaves=12,
)
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, 0.1, 1.5, 2.0]))
TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"]


def keywords(schema: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """One or two keywords of Draft 2020-12, with `schema` for their subschemas."""
    one = st.one_of(
        st.builds(
            lambda t: {"type": t}, st.sampled_from(TYPES) | st.lists(st.sampled_from(TYPES), max_size=3)
        ),
        st.builds(lambda v: {"enum": v}, st.lists(scalars, min_size=1, max_size=4)),
        st.builds(lambda v: {"const": v}, documents),
        st.builds(
            lambda k, n: {k: n},
            st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]),
            numbers,
        ),
        st.builds(lambda n: {"multipleOf": n}, st.sampled_from([1, 2, 0.5, 0.1, 1.5])),
        st.builds(
            lambda k, n: {k: n},
            st.sampled_from(
                ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]
            ),
            st.integers(0, 3),
        ),
        st.builds(lambda p: {"pattern": p}, st.sampled_from(PATTERNS)),
        st.builds(lambda v: {"uniqueItems": v}, st.booleans()),
        st.builds(lambda p: {"properties": p}, st.dictionaries(st.sampled_from(NAMES), schema, max_size=3)),
        st.builds(lambda a: {"additionalProperties": a}, schema),
        st.builds(
            lambda p: {"patternProperties": p}, st.dictionaries(st.sampled_from(PATTERNS), schema, max_size=2)
        ),
        st.builds(lambda s: {"propertyNames": s}, schema),
        st.builds(lambda r: {"required": r}, st.lists(st.sampled_from(NAMES), max_size=3, unique=True)),
        st.builds(
            lambda d: {"dependentRequired": d},
            st.dictionaries(st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=2), max_size=2),
        ),
        st.builds(
            lambda d: {"dependentSchemas": d}, st.dictionaries(st.sampled_from(NAMES), schema, max_size=2)
        ),
        st.builds(lambda i: {"items": i}, schema),
        st.builds(lambda p, i: {"prefixItems": p, "items": i}, st.lists(schema, max_size=2), schema),
        st.builds(
            lambda c, lo, hi: {"contains": c, **lo, **hi},
            schema,
            st.just({}) | st.builds(lambda n: {"minContains": n}, st.integers(0, 2)),
            st.just({}) | st.builds(lambda n: {"maxContains": n}, st.integers(0, 2)),
        ),
        st.builds(
            lambda k, s: {k: s},
            st.sampled_from(["allOf", "anyOf", "oneOf"]),
            st.lists(schema, min_size=1, max_size=3),
        ),
        st.builds(lambda s: {"not": s}, schema),
        st.builds(
            lambda i, t, e: {"if": i, **t, **e},
            schema,
            st.just({}) | st.builds(lambda s: {"then": s}, schema),
            st.just({}) | st.builds(lambda s: {"else": s}, schema),
        ),
        st.just({"$ref": "#/$defs/word"}),
        st.just({"description": "an annotation", "x-error": "ignored", "format": "email"}),
    )
    return st.builds(lambda a, b: {**a, **b}, one, st.just({}) | one)


schemas_strategy = st.recursive(st.booleans() | st.just({}), keywords, max_leaves=8)
DEFS = {"word": {"type": "string", "pattern": "^[a-z]+$(?!\\n)"}}


def exempt_template(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("{{", "{%"))


@CHECK
@given(schemas_strategy, documents)
def test_generated_schemas_and_documents(schema: Any, document: Any):
    root = {**schema, "$defs": DEFS} if isinstance(schema, dict) else schema
    validator = Draft202012Validator(root)
    agree(SchemaVerdict(root), validator, document)
    agree(SchemaVerdict(root, exempt=exempt_template), validator, document, exempt_template)


def test_json_schema_rules_that_python_would_get_wrong():
    """The rules a plain Python reading misses, each way round."""
    cases = [
        ({"enum": [1]}, True, False),  # bool is not a number
        ({"const": [0]}, [False], False),
        ({"uniqueItems": True}, [1, True], True),
        ({"uniqueItems": True}, [1, 1.0], False),
        ({"type": "integer"}, 1.0, True),
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"minimum": 1}, math.nan, True),  # jsonschema fails `x < minimum` only
        ({"multipleOf": 0.1}, 0.3, False),  # float rounding, as jsonschema has it
        ({"pattern": "^a$"}, "a\n", True),  # Python's `$`, as jsonschema has it
        ({"format": "email"}, "not an address", True),  # an annotation only
        ({"items": False, "prefixItems": [{}]}, [1, 2], False),
        ({"contains": {"type": "string"}, "minContains": 0}, [1], True),
        ({"contains": {"type": "string"}, "maxContains": 1}, ["a", "b"], False),
    ]
    for schema, document, passes in cases:
        assert SchemaVerdict(schema).passes(document) is passes, (schema, document)
        assert jsonschema_passes(Draft202012Validator(schema), document) is passes, (schema, document)


def test_an_exempt_string_is_judged_strictly_inside_any_of():
    """jsonschema counts every error inside anyOf before skytrain drops any: a template that
    fails there fails the anyOf, which is an error about the mapping, not the template."""
    schema = {
        "properties": {"port": {"type": "integer"}},
        "anyOf": [{"properties": {"image": {"pattern": "^[a-z]+$"}}}],
    }
    verdict = SchemaVerdict(schema, exempt=exempt_template)
    assert verdict.passes({"port": "{{ PORT }}"}, exempting=True)
    assert not verdict.passes({"port": "{{ PORT }}"})
    assert not verdict.passes({"image": "{{ IMAGE }}"}, exempting=True)


def test_what_it_cannot_judge_is_left_to_jsonschema():
    for schema in ({"unevaluatedProperties": False}, {"$dynamicRef": "#x"}, {"$ref": "other.json"}):
        assert not SchemaVerdict(schema).passes({})
    assert not SchemaVerdict({"patternProperties": {"^a": {}}}).passes({1: "a key that is no string"})
    with pytest.raises(Unsupported):
        SchemaVerdict({"$ref": "#anchor"})._strict({})


def test_references_resolve_against_the_resource_of_the_schema():
    resource = {"$id": "https://example.com/defs.json", "$defs": {"n": {"type": "integer"}}}
    schema = {"$id": "https://example.com/kinds/thing", "properties": {"n": {"$ref": "/defs.json#/$defs/n"}}}
    verdict = SchemaVerdict(schema, {resource["$id"]: resource})
    assert verdict.passes({"n": 1})
    assert not verdict.passes({"n": "1"})


# -- skytrain's own documents --------------------------------------------------------------


def example_services() -> list[Path]:
    return sorted(path for path in EXAMPLES.iterdir() if (path / "deploy").is_dir())


def config_documents(service: Path) -> Iterator[Any]:
    """Each deploy file of `service` and each environment's merge, before templating."""
    try:
        files = read_service(service)
    except (ConfigErrors, UsageError):
        return
    yield files.base.data
    for overlay in files.overlays.values():
        yield overlay.data
        yield merge_documents(files.base, overlay).data


def rendered_objects() -> Iterator[dict[str, Any]]:
    """What the examples render to, before any check."""
    for service in example_services():
        _, apps = load_service(service, environ={})
        for app in apps.values():
            if app.runs_on("marathon"):
                yield render_marathon(app)
            if app.runs_on("kubernetes"):
                yield from render_kubernetes(app)


BROKEN_CASES = sorted(path for path in BROKEN.iterdir() if path.is_dir())
ENVIRONMENT_FILES = [EXAMPLES / "skytrain-environments.yml", BROKEN / "skytrain-environments.yml"]


@pytest.mark.parametrize("service", example_services() + BROKEN_CASES, ids=lambda path: path.name)
def test_every_deploy_file_and_merge(service: Path):
    for document in config_documents(service):
        agree_on_config(document)


def test_every_environments_file():
    for path in ENVIRONMENT_FILES:
        document = parse_yaml(path.read_text(), str(path)).data
        agree(schemas.verdict(schemas.ENVIRONMENTS), schemas.validator(schemas.ENVIRONMENTS), document)


def test_every_example_passes_the_fast_verdict():
    """Valid documents never reach jsonschema: the fast verdict passes every example."""
    for service in example_services():
        files = read_service(service)
        assert schemas.verdict(schemas.BASE).passes(files.base.data, exempting=True)
        for overlay in files.overlays.values():
            merged = merge_documents(files.base, overlay).data
            assert schemas.verdict(schemas.APPLICATION).passes(merged, exempting=True)
    for obj in EXAMPLE_RENDERED:
        agree_on_rendered(obj, obj)
        if "kind" in obj:
            assert upstream.kubernetes_verdict(KUBERNETES, obj["kind"], obj["apiVersion"]).passes(obj)
        else:
            assert upstream.marathon_verdict("networks" not in obj).passes(obj)


def test_each_verdict_is_built_once_per_process():
    """Like jsonschema's validators (test_config_render.py), a verdict is built once per
    schema and process, and then only reused."""

    def check_all() -> tuple[int, int]:
        for obj in EXAMPLE_RENDERED:
            if "kind" in obj:
                upstream.kubernetes_errors(obj, KUBERNETES)
            else:
                upstream.marathon_errors(obj, "networks" not in obj)
        return upstream.marathon_verdict.cache_info().misses, upstream.kubernetes_verdict.cache_info().misses

    built = check_all()
    assert check_all() == built
    assert built[0] <= 2  # one per Marathon form


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from paths(value, (*prefix, index))


def mutated(document: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    """`document` with the value at `path` replaced, removed, or given a sibling."""
    copy = json.loads(json.dumps(document))
    if not path:
        return value
    *parents, last = path
    node = copy
    for part in parents:
        node = node[part]
    if how == "remove":
        del node[last]
    elif how == "add" and isinstance(node, dict):
        node[f"{last}x"] = value
    else:
        node[last] = value
    return copy


EXAMPLE_CONFIG = [doc for service in example_services() for doc in config_documents(service)]
EXAMPLE_RENDERED = list(rendered_objects())


def mutations(pool: list[Any]) -> st.SearchStrategy[tuple[Any, Any]]:
    """(a document of `pool`, that document with one value replaced by generated data or
    another of its own values, removed, or given a new sibling)."""

    @st.composite
    def one(draw: st.DrawFn) -> Any:
        document = draw(st.sampled_from(pool))
        path = draw(st.sampled_from(list(paths(document))))
        own = [value for p in paths(document) if not isinstance(value := _at(document, p), dict | list)] or [
            None
        ]
        value = draw(documents | st.sampled_from(own) | st.sampled_from(own).map(lambda v: f"{v}\n"))
        return document, mutated(document, path, draw(st.sampled_from(["replace", "remove", "add"])), value)

    return one()


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@MUTATIONS
@given(mutations(EXAMPLE_CONFIG))
def test_mutated_deploy_files(pair: tuple[Any, Any]):
    agree_on_config(pair[1])


@MUTATIONS
@given(mutations(EXAMPLE_RENDERED))
def test_mutated_rendered_objects(pair: tuple[Any, Any]):
    original, document = pair
    agree_on_rendered(document, original)


PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from skytrain.cli import main
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["validate", *sys.argv[1:]])
    print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
    """
)


def validate_in_a_fresh_process(*services: Path) -> tuple[int, list[str]]:
    """`skytrain validate SERVICES` in a new process: (exit code, the modules it loaded)."""
    report = probe(PROBE, *services)
    return report["code"], report["modules"]


def test_valid_services_are_checked_without_importing_jsonschema():
    """jsonschema (~60 ms to import) is for explaining errors; a valid service never needs it."""
    code, modules = validate_in_a_fresh_process(*example_services())
    assert code == 0
    assert [m for m in modules if m.split(".")[0] in ("jsonschema", "referencing")] == []


def test_an_invalid_service_is_explained_by_jsonschema():
    code, modules = validate_in_a_fresh_process(BROKEN / "negative-replicas")
    assert code == 2
    assert "jsonschema" in modules


@pytest.mark.parametrize(
    "folder",
    sorted(kubernetes_schemas.schema_dir("1.99").parent.glob("v1.*-local-strict")),
    ids=lambda p: p.name,
)
def test_definitions_read_one_by_one_are_the_definitions(folder: Path):
    """Each definition read from its own stretch of _definitions.json (the whole file is
    parsed only for jsonschema) is the one the whole file holds; none needs the whole file."""
    text = (folder / kubernetes_schemas.DEFINITIONS).read_bytes()
    whole = json.loads(text)["$defs"]
    on_demand = kubernetes_schemas.DefinitionsOnDemand(text, lambda: pytest.fail("parsed the whole file"))
    for name, definition in whole.items():
        assert on_demand[name] == definition, name


def test_a_definition_of_another_layout_is_read_from_the_whole_file():
    document = {"$defs": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    text = json.dumps(document).encode()  # on one line: no stretch to find
    on_demand = kubernetes_schemas.DefinitionsOnDemand(text, lambda: json.loads(text)["$defs"])
    assert on_demand["b"] == {"type": "integer"}
    assert dict(on_demand) == document["$defs"]
