"""skytrain's Marathon app schema (schemas/marathon-app.schema.json) held to the schemas
Marathon published (../shared/reference/marathon, read at test time): both must accept and
refuse the same apps, the rendered examples in both API forms, 50 real apps and generated
mutations of them all, except where marathon_schema_differences.py says why ours differs.

Pairings: our 1.4 form against v1.4.13; our 1.5+ form against v1.5.15 and v1.7.236.
Without ../shared the tests that need it skip (they fail under CI=true).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import subprocess
from dataclasses import replace
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from marathon_full_apps import FULL_APPS
from marathon_schema_differences import DIFFERENCES, Difference
from marathon_schema_oracle import (
    PAIRINGS,
    Pairing,
    apps_in,
    explain,
    judge,
    neutralised,
    pairings_of,
    real_app_files,
    upstream_schema,
    upstream_validator,
)
from marathon_schema_probes import changed, changes_at, cut_down, enums_at, locations, mutated

from skytrain.config import App, load_service
from skytrain.config.environments import MarathonCluster
from skytrain.schedulers import render
from tests.support import EXAMPLES, ROOT, SHARED_REFERENCE, shared_reference

OUR_SCHEMA = json.loads((ROOT / "schemas" / "marathon-app.schema.json").read_text())
SERVICES = sorted(p.parent.parent.name for p in EXAMPLES.glob("*/deploy/application.yml"))
FORMS = ("1.4", "1.5")
RENDERED_AS = {"1.4": "1.4", "1.5": "1.7"}  # the Marathon version whose form a render takes


@pytest.fixture(scope="module")
def upstream() -> None:
    """The published schemas and the real apps, or a skip (a failure under CI=true)."""
    shared_reference("marathon")
    shared_reference("marathon-apps")


def unexplained(app: Any, pairings: tuple[Pairing, ...] = PAIRINGS) -> list[str]:
    return [explain(app, p) for p in pairings if not judge(app, p).explained]


# -- our schema on its own -------------------------------------------------------------------


def test_our_schema_is_draft_2020_12_with_both_entry_points():
    assert OUR_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(OUR_SCHEMA)
    assert {"app-1.4", "app-1.5"} <= OUR_SCHEMA["$defs"].keys()


def _described(node: Any) -> bool:
    while isinstance(node, dict):
        if node.get("description", "").strip():
            return True
        node = OUR_SCHEMA["$defs"].get(node.get("$ref", "").removeprefix("#/$defs/"))
    return False


def test_every_field_of_our_schema_is_described():
    """Fields are the properties of object schemas (the rules only constrain fields)."""
    fields = [
        (path, key, sub)
        for path, node in locations(OUR_SCHEMA)
        if isinstance(node, dict)
        and (node.get("type") == "object" or node.get("additionalProperties") is False)
        for key, sub in node.get("properties", {}).items()
    ]
    assert len(fields) > 150
    assert [f"{path}/{key}" for path, key, sub in fields if not _described(sub)] == []


def test_a_reference_only_adds_keywords_to_its_target():
    """What lets skytrain.render.upstream inline the references (a description may be
    more specific than the target's)."""
    clashes = [
        (path, clash)
        for path, node in locations(OUR_SCHEMA)
        if isinstance(node, dict) and "$ref" in node
        for target in [OUR_SCHEMA["$defs"][node["$ref"].removeprefix("#/$defs/")]]
        for clash in (node.keys() & target.keys()) - {"description", "$ref"}
    ]
    assert clashes == []


# -- the rendered examples -------------------------------------------------------------------


@cache
def example_apps(service: str) -> dict[str, App]:
    return load_service(EXAMPLES / service, environ={})[1]


def marathon_renders() -> list[tuple[str, str, str]]:
    return [
        (service, env, form)
        for service in SERVICES
        for env, app in example_apps(service).items()
        if "marathon" in app.schedulers
        for form in FORMS
    ]


def rendered(service: str, env: str, form: str) -> dict[str, Any]:
    """The example as skytrain renders it for a cluster that speaks `form`."""
    app = example_apps(service)[env]
    cluster = app.environment.marathon or MarathonCluster(url="http://marathon.example.com")
    environment = replace(app.environment, marathon=replace(cluster, version=RENDERED_AS[form]))
    (definition,) = render(replace(app, environment=environment), "marathon", check=False)
    return definition


def test_the_examples_render_for_marathon_in_both_forms():
    renders = marathon_renders()
    assert {service for service, _, _ in renders} >= {"giphy", "organization"}
    assert {form for _, _, form in renders} == set(FORMS)


@pytest.mark.parametrize(("service", "env", "form"), marathon_renders())
def test_a_rendered_example_is_accepted_by_both(upstream, service, env, form):
    app = rendered(service, env, form)
    for pairing in pairings_of(form):
        verdict = judge(app, pairing)
        assert (verdict.ours, verdict.upstream) == (True, True), explain(app, pairing)


# -- 50 real apps ----------------------------------------------------------------------------


def real_apps() -> list[tuple[str, Any]]:
    return [(path.name, app) for path in real_app_files() for app in apps_in(json.loads(path.read_text()))]


def test_the_real_apps_get_the_same_verdict(upstream):
    files = real_app_files()
    assert len(files) == 50
    failures = [f"{name}: {why}" for name, app in real_apps() for why in unexplained(app)]
    assert failures == []


def test_some_real_apps_pass_and_some_fail_each_pairing(upstream):
    """The corpus is no trivial agreement: each schema accepts some apps and refuses others."""
    for pairing in PAIRINGS:
        verdicts = {judge(app, pairing).upstream for _, app in real_apps()}
        assert verdicts == {True, False}, pairing


# -- apps that set every field, damaged field by field ----------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_the_full_apps_are_valid_in_their_form(upstream, form):
    """Ours accepts them; upstream does too, once the documented differences are taken out."""
    for app, pairing in itertools.product(FULL_APPS[form], pairings_of(form)):
        assert judge(app, pairing).ours, explain(app, pairing)
        assert upstream_validator(pairing.upstream).is_valid(neutralised(app, pairing)), explain(app, pairing)


def _enum_sets(schema: Any) -> set[tuple[str, ...]]:
    return {
        tuple(sorted(map(str, node["enum"])))
        for _, node in locations(schema)
        if isinstance(node, dict) and isinstance(node.get("enum"), list)
    }


@pytest.mark.parametrize("form", FORMS)
def test_every_change_to_every_field_gets_the_same_verdict(upstream, form):
    """Each place of the full apps, with each change its constraints suggest (in either
    schema): other types, range and length edges, pattern probes, every enumeration member
    and a non-member, removed and unknown keys. Checked on the app cut down to that place."""
    schemas = [OUR_SCHEMA, *(upstream_schema(p.upstream) for p in pairings_of(form))]
    failures, probed = [], set()
    for app in FULL_APPS[form]:
        for path, value in locations(app):
            base = cut_down(schemas, app, path)
            for change in changes_at(schemas, path, value):
                failures += unexplained(changed(base, change), pairings_of(form))
            probed.add(path)
    assert failures == []
    for pairing in pairings_of(form):
        schema = upstream_schema(pairing.upstream)
        covered = {tuple(sorted(enums_at(schema, path))) for path in probed}
        assert _enum_sets(schema) <= covered, pairing


# -- generated mutations ---------------------------------------------------------------------


@cache
def mutation_bases() -> list[Any]:
    renders = [rendered(service, env, form) for service, env, form in marathon_renders()]
    return [*FULL_APPS["1.4"], *FULL_APPS["1.5"], *renders, *(app for _, app in real_apps())]


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_apps_get_the_same_verdict(upstream, data):
    schemas = [OUR_SCHEMA, *(upstream_schema(tag) for tag in {p.upstream for p in PAIRINGS})]
    app = data.draw(mutated(mutation_bases(), schemas))
    assert unexplained(app) == []


# -- the documented differences --------------------------------------------------------------


@pytest.mark.parametrize("difference", DIFFERENCES, ids=lambda d: d.name)
def test_each_documented_difference_shows_and_is_all_there_is(upstream, difference: Difference):
    app = difference.example
    for pairing in (p for p in PAIRINGS if p.upstream in difference.upstream):
        verdict = judge(app, pairing)
        assert (verdict.ours, verdict.upstream) == (difference.ours_accepts, not difference.ours_accepts)
        assert verdict.documented == (difference.name,) and verdict.explained
        without = copy.deepcopy(app)
        difference.neutralise(without)
        assert judge(without, pairing).ours and judge(without, pairing).upstream, explain(without, pairing)


# -- the two hand-written patterns -----------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "alphabet"),
    [
        ("appPath", ("definitions", "pathType"), "a0.-/A"),
        ("executor", ("properties", "executor"), "/cmd.\n"),
    ],
)
def test_our_patterns_accept_exactly_the_strings_upstream_accepts(upstream, ours, theirs, alphabet):
    """Every string of up to 6 characters over an alphabet that exercises the pattern: the
    same verdict on each without a newline, and ours refuses each with one (the documented
    difference newline-in-patterned-values)."""
    our_pattern = re.compile(OUR_SCHEMA["$defs"][ours]["pattern"])
    strings = ["".join(chars) for n in range(7) for chars in itertools.product(alphabet, repeat=n)]
    plain = [s for s in strings if "\n" not in s]
    assert [s for s in strings if "\n" in s and our_pattern.search(s)] == []
    for tag in sorted({p.upstream for p in PAIRINGS}):
        node = upstream_schema(tag)
        for key in theirs:
            node = node[key]
        their_pattern = re.compile(node["pattern"])
        assert [s for s in plain if bool(our_pattern.search(s)) != bool(their_pattern.search(s))] == [], tag


# -- reference data stays outside ------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_no_file_of_the_shared_reference_is_in_the_repository(upstream):
    reference = {_digest(p.read_bytes()): p for p in SHARED_REFERENCE.rglob("*") if p.is_file()}
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    copies = [
        f"{name} is {reference[digest]}"
        for name in tracked.decode().split("\0")
        if name and (ROOT / name).is_file()
        for digest in [_digest((ROOT / name).read_bytes())]
        if digest in reference
    ]
    assert copies == []
