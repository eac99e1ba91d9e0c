"""envtpl-style interpolation: values of the allowed variables (the build variables, the
environments file's templateVariables, --set), strict on undefined variables, errors at
file:line, run after the merge. Hostile templates: tests/security/."""

from __future__ import annotations

import pytest
from config_helpers import ENVIRONMENTS_YAML, dedent, write_service

from skytrain.config import load_service
from skytrain.config.interpolate import render_simple
from skytrain.config.sandbox import compiled
from skytrain.errors import ConfigErrors

BASE = dedent(
    """
    name: giphy
    image: "registry.example.com/giphy:{{ BUILD_TAG }}"
    scheduler: both
    port: 8080
    """
)


def _only_error(exc: pytest.ExceptionInfo) -> str:
    (error,) = exc.value.errors
    return str(error).split("/deploy/", 1)[1]


def test_build_tag_from_the_environment(load):
    apps = load({"application.yml": BASE, "staging.yml": ""}, environ={"BUILD_TAG": "1.4.2"})
    assert apps["staging"].image == "registry.example.com/giphy:1.4.2"


def test_default_filter_when_unset(load):
    base = BASE.replace("{{ BUILD_TAG }}", "{{ BUILD_TAG | default('latest') }}")
    assert load({"application.yml": base, "staging.yml": ""})["staging"].image.endswith(":latest")
    assert load({"application.yml": base, "staging.yml": ""}, environ={"BUILD_TAG": "7"})[
        "staging"
    ].image.endswith(":7")


def test_undefined_variable_is_an_error_with_file_and_line_not_an_empty_string(load):
    with pytest.raises(ConfigErrors) as exc:
        load({"application.yml": BASE, "staging.yml": ""})
    assert _only_error(exc) == (
        "application.yml:2:8: error: image: the variable BUILD_TAG is not set; set it in the environment "
        "or with --set BUILD_TAG=VALUE, or give a fallback such as {{ BUILD_TAG | default('latest') }}"
    )


def test_undefined_variable_inside_a_jinja_expression(load):
    base = BASE.replace("{{ BUILD_TAG }}", "{{ BUILD_TAG | lower }}")
    with pytest.raises(ConfigErrors) as exc:
        load({"application.yml": base, "staging.yml": ""})
    assert "image: the variable BUILD_TAG is not set" in _only_error(exc)


def test_template_syntax_error(load):
    base = BASE.replace("{{ BUILD_TAG }}", "{{ BUILD_TAG ")
    with pytest.raises(ConfigErrors) as exc:
        load({"application.yml": base, "staging.yml": ""})
    assert _only_error(exc) == (
        "application.yml:2:8: error: image: template error: unexpected end of template, expected "
        "'end of print statement'; check the {{ }} braces"
    )


def test_environment_prefix_global_sees_only_the_allowed_variables(load):
    base = BASE + "env:\n  FLAGS: \"{{ environment('FEATURE_') | dictsort | map('first') | join(',') }}\"\n"
    apps = load(
        {"application.yml": base, "staging.yml": ""},
        environ={"BUILD_TAG": "1", "FEATURE_C": "on", "OTHER": "x"},
        set_variables={"FEATURE_B": "on", "FEATURE_A": "on"},
    )
    assert apps["staging"].env["FLAGS"] == "A,B"


def test_from_json_filter(load):
    base = BASE + 'env:\n  REGION: "{{ (CLUSTER_INFO | from_json).region }}"\n'
    apps = load(
        {"application.yml": base, "staging.yml": ""},
        environ={"BUILD_TAG": "1"},
        set_variables={"CLUSTER_INFO": '{"region": "eu-west-1"}'},
    )
    assert apps["staging"].env["REGION"] == "eu-west-1"


def test_from_json_on_bad_json_is_an_error_not_a_traceback(load):
    base = BASE + 'env:\n  REGION: "{{ (CLUSTER_INFO | from_json).region }}"\n'
    with pytest.raises(ConfigErrors) as exc:
        load(
            {"application.yml": base, "staging.yml": ""},
            environ={"BUILD_TAG": "1"},
            set_variables={"CLUSTER_INFO": "{nope"},
        )
    assert _only_error(exc) == (
        "application.yml:6:11: error: env.REGION: template failed: from_json was given text that is not "
        "JSON (Expecting property name enclosed in double quotes)"
    )


def test_a_base_value_an_overlay_replaces_need_not_resolve(load):
    apps = load({"application.yml": BASE, "staging.yml": "image: registry.example.com/giphy:pinned\n"})
    assert apps["staging"].image == "registry.example.com/giphy:pinned"


def test_an_undefined_variable_in_an_overlay_points_into_the_overlay(load):
    with pytest.raises(ConfigErrors) as exc:
        load(
            {"application.yml": BASE, "staging.yml": "\nenv:\n  MODE: '{{ BRANCH_NAME }}'\n"},
            environ={"BUILD_TAG": "1"},
        )
    assert _only_error(exc).startswith(
        "staging.yml:2:9: error: env.MODE: the variable BRANCH_NAME is not set"
    )


def test_values_cannot_change_the_document_structure(load):
    apps = load(
        {"application.yml": BASE + "env:\n  X: '{{ EVIL }}'\n", "staging.yml": ""},
        environ={"BUILD_TAG": "1"},
        set_variables={"EVIL": "a\nreplicas: 99"},
    )
    assert apps["staging"].env["X"] == "a\nreplicas: 99"
    assert apps["staging"].replicas == 1


def test_values_without_markers_are_untouched(load):
    apps = load(
        {"application.yml": BASE + "env:\n  BRACES: '{not a template}'\n  N: 3\n", "staging.yml": ""},
        environ={"BUILD_TAG": "1"},
    )
    assert dict(apps["staging"].env) == {"BRACES": "{not a template}", "N": "3"}


SIMPLE_CASES = [
    "{{ BUILD_TAG }}",
    "x:{{BUILD_TAG}}-{{ OTHER }}",
    "{{ MISSING | default('latest') }}",
    '{{ MISSING|default("a b") }}',
    "{{ BUILD_TAG | default('ignored') }}",
    "{{ EMPTY | default('not used, EMPTY is set') }}",
    "pre {{ BUILD_TAG }} post\n",
]


@pytest.mark.parametrize("source", SIMPLE_CASES)
def test_the_fast_path_gives_jinja2s_result(source):
    environ = {"BUILD_TAG": "1.2.3", "OTHER": "o", "EMPTY": ""}
    expected = compiled(source)[0].render(environ)
    assert render_simple(source, environ) == expected


@pytest.mark.parametrize(
    "source",
    [
        "{{ build_tag }}",
        "{{ BUILD_TAG | lower }}",
        "{% if X %}a{% endif %}",
        "{{ environment('A_') }}",
        "{{- BUILD_TAG }}",
        "{{ X | default('a\\'b') }}",
        "a }} b {{ BUILD_TAG }}",
    ],
)
def test_anything_else_goes_to_jinja2(source):
    assert render_simple(source, {"BUILD_TAG": "1", "X": "x"}) is None


def test_a_secret_arriving_through_a_variable_is_refused_without_printing_it(load):
    base = BASE + "env:\n  DATABASE_URL: '{{ DATABASE_URL }}'\n"
    with pytest.raises(ConfigErrors) as exc:
        load(
            {"application.yml": base, "staging.yml": ""},
            environ={"BUILD_TAG": "1"},
            set_variables={"DATABASE_URL": "postgres://giphy:hunter2@db/giphy"},
        )
    assert _only_error(exc) == (
        "application.yml:6:17: error: env.DATABASE_URL: the value of DATABASE_URL looks like a secret (a URL "
        "with a password in it), so no template renders it; secrets are referenced under secrets:, never "
        "filled in"
    )
    assert "hunter2" not in str(exc.value)


def test_the_environments_file_allows_more_variables(tmp_path):
    """templateVariables: names the platform lets templates read from the process environment."""
    base = BASE + "env:\n  REGION: '{{ REGION }}'\n"
    directory = write_service(
        tmp_path,
        {"application.yml": base, "staging.yml": ""},
        "templateVariables: [REGION]\n" + ENVIRONMENTS_YAML,
    )
    _, apps = load_service(
        directory,
        str(directory / "skytrain-environments.yml"),
        environ={"BUILD_TAG": "1", "REGION": "eu-west-1", "OTHER": "x"},
    )
    assert apps["staging"].env["REGION"] == "eu-west-1"


def test_an_environments_file_found_in_the_checkout_cannot_allow_more_variables(tmp_path):
    """A pull request can add skytrain-environments.yml next to the service: found by walking
    up, it must not be able to hand a CI variable to the service's templates."""
    base = BASE + "env:\n  STOLEN: '{{ DEPLOY_HOST }}'\n"
    directory = write_service(
        tmp_path,
        {"application.yml": base, "staging.yml": ""},
        "templateVariables: [DEPLOY_HOST]\n" + ENVIRONMENTS_YAML,
    )
    with pytest.raises(ConfigErrors) as exc:
        load_service(directory, environ={"BUILD_TAG": "1", "DEPLOY_HOST": "tok-4f9a2e"})
    assert str(exc.value).endswith(
        "skytrain-environments.yml:1:1: error: templateVariables: templateVariables is read only from an "
        "environments file the CI names (--environments, $SKYTRAIN_ENVIRONMENTS or /etc/skytrain/environments.yml); "
        "this one was found next to the service, where a pull request can change it. Name it explicitly, or "
        "give the variables with --set NAME=VALUE"
    )
    assert "tok-4f9a2e" not in str(exc.value)


def test_set_wins_over_the_environment(load):
    apps = load(
        {"application.yml": BASE, "staging.yml": ""},
        environ={"BUILD_TAG": "1"},
        set_variables={"BUILD_TAG": "2"},
    )
    assert apps["staging"].image.endswith(":2")
