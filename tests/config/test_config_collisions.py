"""Two environments never write one object: an environments file whose environments meet on
one Marathon app or one Kubernetes namespace is refused, and so is a service whose
routing.namespace makes two of its environments meet. (skytrain/config/collisions.py)"""

from __future__ import annotations

from pathlib import Path

import pytest
from config_helpers import BASE_YAML, dedent, messages, write_service
from test_config_render import marathon_schema_validator

from skytrain.config import load_service
from skytrain.config.environments import load_environments
from skytrain.errors import ConfigErrors
from skytrain.render.marathon import app_id
from skytrain.schedulers import render
from tests.support import skytrain


def environments(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "environments.yml"
    path.write_text(dedent(text))
    return path


def refusals(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as exc:
        load_environments(environments(tmp_path, text))
    return messages(exc)


def two_marathons(first: str, second: str) -> str:
    return f"""
        environments:
          production:
            marathon: {{url: "{first}"}}
          staging:
            marathon:
              url: "{second}"
        """


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("http://marathon.example.com:8080", "http://marathon.example.com:8080"),
        ("http://marathon.example.com:8080", "http://Marathon.Example.COM:8080/"),
        ("http://marathon.example.com", "http://marathon.example.com:80"),
        ("http://marathon.example.com", "https://marathon.example.com:443/"),
        ("https://marathon.example.com:8443", "http://marathon.example.com:8443"),
        ("https://dcos.example.com/service/marathon", "https://dcos.example.com/service/marathon//"),
        ("http://marathon.example.com.:8080", "http://marathon.example.com:8080"),
    ],
)
def test_one_marathon_spelled_two_ways_without_groups_is_refused(tmp_path, first, second):
    (shown,) = refusals(tmp_path, two_marathons(first, second))
    # at the later environment's url, naming both
    assert shown.startswith(
        f"{tmp_path / 'environments.yml'}:6:12: error: environments.staging.marathon.url: "
    )
    assert "'staging' and 'production' would write the same Marathon apps" in shown
    assert f"the Marathon at {second}" in shown
    assert "marathon.group: /staging" in shown
    if first != second:
        assert f"(the same server as {first})" in shown


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("http://marathon.example.com:8080", "http://marathon.example.com:8081"),
        ("http://marathon.example.com", "http://marathon.example.com:8080"),
        ("http://marathon-a.example.com:8080", "http://marathon-b.example.com:8080"),
        ("https://dcos.example.com/service/marathon", "https://dcos.example.com/service/marathon-staging"),
    ],
)
def test_different_marathons_are_fine(tmp_path, first, second):
    loaded = load_environments(environments(tmp_path, two_marathons(first, second)))
    assert loaded.names() == ["production", "staging"]


def test_one_marathon_with_a_group_per_environment_is_fine(tmp_path):
    loaded = load_environments(
        environments(
            tmp_path,
            """
            environments:
              production:
                marathon: {url: "http://marathon:8080"}
              staging:
                marathon: {url: "http://marathon:8080/", group: /staging}
              qa:
                marathon: {url: "http://marathon:8080", group: /team/qa}
            """,
        )
    )
    assert [loaded[n].marathon.group for n in loaded.names()] == ["", "/staging", "/team/qa"]


def test_the_same_group_on_one_marathon_is_refused_at_the_group(tmp_path):
    (shown,) = refusals(
        tmp_path,
        """
        environments:
          staging:
            marathon: {url: "http://marathon:8080", group: /pre}
          qa:
            marathon:
              url: "http://marathon:8080"
              group: /pre
        """,
    )
    assert (
        ":7:14: error: environments.qa.marathon.group: 'qa' and 'staging' would write the same Marathon apps"
        in shown
    )
    assert "with group /pre" in shown


@pytest.mark.parametrize(
    "group", ["staging", "/staging/", "/", "/Staging", "/-staging", "/a//b", "/..", "/a b"]
)
def test_a_group_is_a_whole_absolute_marathon_path(tmp_path, group):
    (shown,) = refusals(
        tmp_path,
        f"""
        environments:
          staging:
            marathon: {{url: "http://marathon:8080", group: "{group}"}}
        """,
    )
    assert (
        "environments.staging.marathon.group: a Marathon group is an absolute path such as /staging" in shown
    )


def two_clusters(first: str, second: str) -> str:
    return f"""
        environments:
          production:
            kubernetes: {{{first}}}
          staging:
            kubernetes: {{{second}}}
        """


@pytest.mark.parametrize(
    ("first", "second", "cluster"),
    [
        ("context: shared, namespace: web", "context: shared, namespace: web", "kube context 'shared'"),
        ("context: shared", "context: shared, namespace: default", "kube context 'shared'"),
        ("namespace: web", "namespace: web", "the cluster reached without a context"),
        ("", "", "the cluster reached without a context"),
    ],
)
def test_one_namespace_of_one_cluster_is_refused(tmp_path, first, second, cluster):
    (shown,) = refusals(tmp_path, two_clusters(first, second))
    # at the later one's namespace, or at its kubernetes entry when the namespace is the default
    line = f"    kubernetes: {{{second}}}"
    column = line.index("namespace: ") + len("namespace: ") if "namespace" in second else line.index("{")
    assert f"environments.yml:5:{column + 1}: error: " in shown
    assert ": error: environments.staging.kubernetes.namespace: " in shown
    assert "'staging' and 'production' would write the same Kubernetes objects" in shown
    assert f"namespace '{'web' if 'web' in first else 'default'}' of {cluster}" in shown


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("context: shared, namespace: production", "context: shared, namespace: staging"),
        ("context: production, namespace: web", "context: staging, namespace: web"),
        ("namespace: production", "namespace: staging"),
        # no context is the current one, which may or may not be 'staging': not known without kubeconfig
        ("namespace: web", "context: staging, namespace: web"),
    ],
)
def test_other_namespaces_or_contexts_are_fine(tmp_path, first, second):
    assert load_environments(environments(tmp_path, two_clusters(first, second))).names() == [
        "production",
        "staging",
    ]


def test_validate_refuses_the_file_with_exit_2_and_every_collision(tmp_path):
    service = write_service(tmp_path / "svc", {"application.yml": BASE_YAML, "staging.yml": "{}\n"}, None)
    path = environments(
        tmp_path,
        """
        environments:
          production:
            marathon: {url: "http://marathon:8080"}
            kubernetes: {context: shared, namespace: default}
          staging:
            marathon: {url: "http://marathon:8080/"}
            kubernetes: {context: shared}
        """,
    )
    done = skytrain("validate", service, "--environments", path)
    assert done.returncode == 2
    assert f"{path}:6:21: error: environments.staging.marathon.url: 'staging' and 'production'" in done.stderr
    assert (
        f"{path}:7:17: error: environments.staging.kubernetes.namespace: 'staging' and 'production'"
        in done.stderr
    )
    assert "2 errors; nothing was sent to any scheduler." in done.stderr


# -- a service that moves itself into one namespace --------------------------------------

SHARED_CLUSTER = """\
environments:
  staging:
    kubernetes: {context: shared, namespace: staging}
  production:
    kubernetes: {context: shared, namespace: production}
  other:
    kubernetes: {context: elsewhere, namespace: production}
"""

SERVICE = """\
name: giphy
image: registry.example.com/giphy:{{ BUILD_TAG }}
scheduler: kubernetes
port: 8080
"""


def service_apps(tmp_path: Path, files: dict[str, str], only: list[str] | None = None, tag: bool = True):
    directory = write_service(tmp_path / "svc", files, SHARED_CLUSTER)
    return load_service(directory, only=only, environ={"BUILD_TAG": "1"} if tag else {})[1]


@pytest.mark.parametrize(
    ("files", "where", "namespace"),
    [
        pytest.param(
            {"application.yml": SERVICE + "routing:\n  namespace: web\n", "production.yml": "replicas: 2\n"},
            "application.yml:6:14",
            "web",
            id="the base sets it for both",
        ),
        pytest.param(
            {"application.yml": SERVICE, "production.yml": "routing: {namespace: staging}\n"},
            "production.yml:1:22",
            "staging",
            id="an overlay moves into the other's namespace",
        ),
    ],
)
def test_a_routing_namespace_that_puts_two_environments_together_is_refused(
    tmp_path, files, where, namespace
):
    files = {**files, "staging.yml": "{}\n"}
    with pytest.raises(ConfigErrors) as exc:
        service_apps(tmp_path, files)
    (shown,) = messages(exc)
    assert f"svc/deploy/{where}: error: routing.namespace: " in shown
    assert "environments 'production' and 'staging' would write the same Kubernetes objects" in shown
    assert f"giphy in namespace '{namespace}' of kube context 'shared'" in shown
    # a deploy to one environment builds only that one, and still sees the other
    for only in (["staging"], ["production"]):
        with pytest.raises(ConfigErrors) as exc:
            service_apps(tmp_path, files, only=only)
        assert messages(exc) == [shown]


def test_routing_namespaces_that_differ_per_environment_or_cluster_are_fine(tmp_path):
    files = {
        "application.yml": SERVICE + "routing: {namespace: web}\n",
        "staging.yml": "routing: {namespace: web-staging}\n",
        "production.yml": "{}\n",
        "other.yml": "{}\n",  # namespace web too, but of another cluster
    }
    apps = service_apps(tmp_path, files)
    assert {name: app.namespace for name, app in apps.items()} == {
        "staging": "web-staging",
        "production": "web",
        "other": "web",
    }


def test_an_environment_on_marathon_there_is_not_compared(tmp_path):
    environments_text = SHARED_CLUSTER.replace(
        "  other:",
        '  legacy:\n    marathon: {url: "http://marathon:8080"}\n    kubernetes: {context: shared}\n  other:',
    )
    directory = write_service(
        tmp_path / "svc",
        {
            "application.yml": SERVICE.replace("kubernetes", "both") + "routing: {namespace: web}\n",
            "staging.yml": "scheduler: kubernetes\n",
            "legacy.yml": "scheduler: marathon\n",
        },
        environments_text,
    )
    apps = load_service(directory, environ={"BUILD_TAG": "1"})[1]
    assert apps["legacy"].schedulers == ("marathon",) and apps["staging"].namespace == "web"


def test_an_environment_whose_files_do_not_build_is_left_to_its_own_run(tmp_path):
    files = {
        "application.yml": SERVICE.replace("{{ BUILD_TAG }}", "1") + "routing: {namespace: web}\n",
        "staging.yml": "{}\n",
        "production.yml": "image: 'registry.example.com/giphy:{{ PRODUCTION_TAG }}'\n",
    }
    # production cannot be built without PRODUCTION_TAG: the staging deploy cannot compare with it
    assert service_apps(tmp_path, files, only=["staging"], tag=False)["staging"].namespace == "web"
    with pytest.raises(ConfigErrors) as exc:
        service_apps(tmp_path, files, tag=False)
    assert any("PRODUCTION_TAG" in m for m in messages(exc))


# -- the way out on one Marathon: a group, which the rendered app id carries -------------------


@pytest.mark.parametrize("version", ["1.4", "1.7"])
def test_a_group_prefixes_the_app_id_in_both_api_forms(tmp_path, version):
    path = environments(
        tmp_path,
        f"""
        environments:
          production:
            marathon: {{url: "http://marathon:8080", version: "{version}"}}
          staging:
            marathon: {{url: "http://marathon:8080", version: "{version}", group: /team/staging}}
        """,
    )
    directory = write_service(
        tmp_path / "svc",
        {
            "application.yml": BASE_YAML.replace("both", "marathon"),
            "staging.yml": "{}\n",
            "production.yml": "{}\n",
        },
        None,
    )
    apps = load_service(directory, str(path), environ={})[1]
    (staging,) = render(apps["staging"], "marathon")
    (production,) = render(apps["production"], "marathon")
    assert staging["id"] == app_id(apps["staging"]) == "/team/staging/giphy"
    assert production["id"] == app_id(apps["production"]) == "/giphy"
    legacy = version == "1.4"
    assert ("network" in staging["container"]["docker"]) is legacy and ("networks" in staging) is not legacy
    assert [e.message for e in marathon_schema_validator(version).iter_errors(staging)] == []
