"""The overlay rules of DESIGN.md: mappings merge key by key, scalars and lists replace,
an explicit null removes a key; and every merged value keeps the spot it was written at."""

from __future__ import annotations

import pytest
from config_helpers import BASE_YAML, dedent

from skytrain.config.merge import merge_documents, merge_values
from skytrain.config.yamlfile import parse_yaml
from skytrain.errors import ConfigErrors, Location


def test_nested_mappings_merge_key_by_key():
    base = {"resources": {"cpu": 0.5, "memory": "256Mi"}, "healthCheck": {"path": "/s", "timeoutSeconds": 5}}
    overlay = {"resources": {"memory": "1Gi"}, "healthCheck": {"intervalSeconds": 3}}
    assert merge_values(base, overlay) == {
        "resources": {"cpu": 0.5, "memory": "1Gi"},
        "healthCheck": {"path": "/s", "timeoutSeconds": 5, "intervalSeconds": 3},
    }


def test_lists_are_replaced_whole_not_appended():
    assert merge_values({"args": ["-a", "-b"], "dependencies": ["x"]}, {"args": ["-c"]}) == {
        "args": ["-c"],
        "dependencies": ["x"],
    }


def test_an_empty_list_replaces_too():
    assert merge_values({"dependencies": ["x", "y"]}, {"dependencies": []}) == {"dependencies": []}


def test_scalars_replace_and_may_change_type():
    assert merge_values(
        {"replicas": 2, "resources": {"cpu": 0.5}}, {"replicas": 5, "resources": {"cpu": "250m"}}
    ) == {
        "replicas": 5,
        "resources": {"cpu": "250m"},
    }


def test_null_removes_a_key_at_any_depth():
    base = {"env": {"A": "1", "B": "2"}, "healthCheck": {"path": "/s"}, "replicas": 3}
    assert merge_values(base, {"env": {"A": None}, "healthCheck": None}) == {"env": {"B": "2"}, "replicas": 3}


def test_null_for_a_key_the_base_lacks_is_harmless():
    assert merge_values({"replicas": 1}, {"command": None}) == {"replicas": 1}


def test_an_overlay_may_set_a_key_the_base_lacks():
    assert merge_values({"name": "giphy"}, {"routing": {"namespace": "web"}, "replicas": 4}) == {
        "name": "giphy",
        "routing": {"namespace": "web"},
        "replicas": 4,
    }


def test_null_inside_a_new_mapping_means_absent():
    assert merge_values({"name": "giphy"}, {"routing": {"namespace": "web", "mesh": None}}) == {
        "name": "giphy",
        "routing": {"namespace": "web"},
    }


def test_a_mapping_replaces_a_scalar_and_a_scalar_a_mapping():
    assert merge_values({"a": 1, "b": {"x": 1}}, {"a": {"y": 2}, "b": 3}) == {"a": {"y": 2}, "b": 3}


def test_merge_does_not_mutate_its_inputs():
    base = {"env": {"A": "1"}, "args": ["x"]}
    overlay = {"env": {"B": "2"}, "args": ["y"]}
    merge_values(base, overlay)
    assert base == {"env": {"A": "1"}, "args": ["x"]}
    assert overlay == {"env": {"B": "2"}, "args": ["y"]}


BASE = dedent(
    """
    name: giphy
    image: registry.example.com/giphy:1.0
    resources:
      cpu: 0.5
      memory: 256Mi
    args: ["--a", "--b"]
    env:
      LOG_LEVEL: info
      KEEP: yes
    """
)
OVERLAY = dedent(
    """
    resources:
      memory: 1Gi
    args:
      - --c
    env:
      LOG_LEVEL: null
    routing:
      namespace: web
    """
)


def test_positions_follow_the_file_that_supplied_each_value():
    merged = merge_documents(parse_yaml(BASE, "application.yml"), parse_yaml(OVERLAY, "staging.yml"))
    where = merged.positions.of_value
    assert merged.data["resources"] == {"cpu": 0.5, "memory": "1Gi"}
    assert where(("resources", "cpu")) == Location("application.yml", 4, 8)
    assert where(("resources", "memory")) == Location("staging.yml", 2, 11)
    assert where(("args",)) == Location("staging.yml", 4, 3)
    assert where(("args", 0)) == Location("staging.yml", 4, 5)
    assert where(("env", "KEEP")) == Location("application.yml", 9, 9)
    assert where(("routing", "namespace")) == Location("staging.yml", 8, 14)
    assert where(("name",)) == Location("application.yml", 1, 7)
    # a mapping both files wrote stays where the base wrote it
    assert merged.positions.of_key(("resources",)) == Location("application.yml", 3, 1)
    assert where(()) == Location("application.yml", 1, 1)


def test_a_key_removed_with_null_remembers_the_null(load):
    with pytest.raises(ConfigErrors) as exc:
        load({"application.yml": BASE_YAML, "staging.yml": "replicas: 2\nport: null\n"})
    assert [str(e) for e in exc.value.errors] == [
        f"{exc.value.errors[0].location.file}:2:1: error: (top level): missing required field 'port' "
        "(The one port the service listens on inside its container); this overlay removes it with null, "
        "but it is required"
    ]
    assert exc.value.errors[0].location.file.endswith("deploy/staging.yml")


def test_a_field_missing_from_the_base_is_reported_once_not_once_per_overlay(load):
    base = BASE_YAML.replace("port: 8080\n", "")
    with pytest.raises(ConfigErrors) as exc:
        load({"application.yml": base, "dev.yml": "replicas: 1\n", "staging.yml": "replicas: 2\n"})
    assert len(exc.value.errors) == 1
    assert exc.value.errors[0].location.file.endswith("deploy/application.yml")
    assert "missing required field 'port'" in exc.value.errors[0].message


def test_an_overlay_value_error_points_into_the_overlay(load):
    with pytest.raises(ConfigErrors) as exc:
        load({"application.yml": BASE_YAML, "staging.yml": "# staging\nreplicas: -1\n"})
    (error,) = exc.value.errors
    assert (error.location.file.rsplit("/", 1)[-1], error.location.line, error.location.column) == (
        "staging.yml",
        2,
        11,
    )
    assert error.path == "replicas"


def test_merged_app_for_each_environment(load):
    apps = load(
        {
            "application.yml": BASE_YAML + "replicas: 2\nenv: {A: '1', B: '2'}\nargs: [x, y]\n",
            "dev.yml": "env: {A: null, C: '3'}\nargs: [z]\n",
            "staging.yml": "",
        }
    )
    assert dict(apps["dev"].env) == {"B": "2", "C": "3"}
    assert apps["dev"].args == ("z",)
    assert dict(apps["staging"].env) == {"A": "1", "B": "2"}
    assert apps["staging"].args == ("x", "y")
    assert apps["staging"].replicas == apps["dev"].replicas == 2


def test_an_empty_overlay_is_the_base(load):
    apps = load({"application.yml": BASE_YAML, "staging.yml": "# nothing differs here\n"})
    assert apps["staging"].name == "giphy"
    assert apps["staging"].replicas == 1
