"""The config hash: it changes exactly when the running containers must restart, and the
exclusion list in skytrain/render/hashing.py holds (scaling never restarts anything)."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_helpers import BASE_YAML, CLEAN_ENVIRON, EXAMPLE_SERVICES, load_files

from skytrain.config import load_service
from skytrain.render.hashing import HASH_ANNOTATION, HASH_LABEL_MARATHON
from skytrain.schedulers import NAMES as TARGETS
from skytrain.schedulers import render
from tests.support import EXAMPLES

BASE = BASE_YAML + (
    "replicas: 2\n"
    "env: {LOG_LEVEL: info}\n"
    "resources: {cpu: 0.5, memory: 256Mi}\n"
    "healthCheck: {path: /status}\n"
    "deploy: {minimumHealthyCapacity: 0.5}\n"
    "maintainers: [{name: Jordan Siaw, email: jordan.siaw@example.com}]\n"
)


def hashes(objects: list[dict], target: str) -> set[str]:
    """Every hash the rendered objects carry: on the Marathon app, on the pod template."""
    if target == "marathon":
        return {o["labels"][HASH_LABEL_MARATHON] for o in objects}
    return {
        o["spec"]["template"]["metadata"]["annotations"][HASH_ANNOTATION]
        for o in objects
        if o["kind"] == "Deployment"
    }


def config_hash(tmp_path: Path, overlay: str, target: str) -> str:
    app = load_files(tmp_path / "svc", {"application.yml": BASE, "staging.yml": overlay})["staging"]
    (value,) = hashes(render(app, target), target)
    return value


@pytest.fixture
def changed(tmp_path):
    """changed(overlay, target): does this overlay change the hash of the plain base?"""
    return lambda overlay, target: config_hash(tmp_path, overlay, target) != config_hash(tmp_path, "", target)


@pytest.mark.parametrize("target", TARGETS)
def test_the_hash_sits_only_where_a_change_restarts_something(tmp_path, target):
    """On the pod template or the Marathon app: a Service or a ConfigMap never carries it, so
    an image bump changes one object."""
    app = load_files(tmp_path / "svc", {"application.yml": BASE, "staging.yml": ""})["staging"]
    objects = render(app, target)
    assert len(hashes(objects, target)) == 1
    elsewhere = [o for o in objects if HASH_ANNOTATION in (o.get("metadata") or {}).get("annotations", {})]
    assert elsewhere == []


@pytest.mark.parametrize("target", TARGETS)
def test_scaling_never_changes_the_hash(changed, target):
    assert not changed("replicas: 7\n", target)
    assert not changed("replicas: 0\n", target)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "overlay",
    [
        "image: registry.example.com/giphy:1.1\n",
        "env: {LOG_LEVEL: debug}\n",
        "env: {NEW: x}\n",
        "resources: {memory: 512Mi}\n",
        "resources: {cpu: 1}\n",
        "healthCheck: {path: /healthz}\n",
        "healthCheck: {timeoutSeconds: 9}\n",
        "command: [/bin/giphy]\n",
        "args: [--verbose]\n",
        "port: 9090\n",
        "secrets: {TOKEN: {secret: giphy, key: token}}\n",
        "dependencies: [organization]\n",
    ],
)
def test_what_the_containers_see_changes_the_hash(changed, overlay, target):
    assert changed(overlay, target)


@pytest.mark.parametrize(
    "overlay",
    [
        "deploy: {minimumHealthyCapacity: 1}\n",  # Deployment strategy
        "deploy: {gateTimeoutSeconds: 900}\n",  # progress deadline
        "maintainers: [{name: Someone Else, email: else@example.com}]\n",  # Deployment annotation
        "kubernetes: {Service: {spec: {type: NodePort}}}\n",  # the Service
        "kubernetes: {Deployment: {metadata: {labels: {team: gifs}}}}\n",  # Deployment metadata
        "description: something new\n",
        "nameNice: GIPHY\n",
    ],
)
def test_kubernetes_exclusions_hold(changed, overlay):
    """Outside the pod template and the env ConfigMap nothing restarts a pod."""
    assert not changed(overlay, "kubernetes")


def test_on_kubernetes_a_patch_to_the_pod_template_changes_the_hash(changed):
    assert changed(
        "kubernetes: {Deployment: {spec: {template: {spec: {nodeSelector: {a: b}}}}}}\n", "kubernetes"
    )


def test_on_marathon_every_field_but_instances_counts(changed):
    """Marathon restarts tasks on any change to the app but the instance count."""
    assert changed("deploy: {minimumHealthyCapacity: 1}\n", "marathon")
    assert changed("marathon: {constraints: [[hostname, UNIQUE]]}\n", "marathon")
    assert not changed("marathon: {instances: 9}\n", "marathon")


# GOLDEN HASHES. These pin the config hash of every example in every environment and target.
# If this test fails, a change to skytrain (a renderer, a default, the hash function) changes
# what the schedulers are asked to run, and deploying with the new skytrain would restart
# EVERY service in the fleet at once, although none of their files changed. Do not just
# update the values: make the change hash-neutral if you can; if the restart is intended,
# update them in a commit that says so, and tell the platform team before it ships.
# Last deliberate change: the Kubernetes values, when the env ConfigMap became immutable and
# named by its content (the pod template now names `<app>-env-<digest>`): the first deploy
# with that skytrain rolls every Kubernetes service's pods once. The Marathon values held.
GOLDEN = {
    ("giphy", "dev", "marathon"): "8c5a5b6689abb265",
    ("giphy", "dev", "kubernetes"): "ad3681c685de6b9a",
    ("giphy", "production", "marathon"): "f49aa14c69d612cf",
    ("giphy", "staging", "marathon"): "8ed3535d3bc46dbd",
    ("giphy", "staging", "kubernetes"): "ccaf6d16afbb7ed7",
    ("organization", "dev", "marathon"): "5f7000816900d167",
    ("organization", "production", "marathon"): "6153d385b9c190a7",
    ("organization", "staging", "marathon"): "be7e4674c32a4e5f",
    ("media", "dev", "kubernetes"): "89bb5043a7b26c15",
    ("media", "production", "kubernetes"): "cf6c70e7ca355d89",
    ("media", "staging", "kubernetes"): "be4198a5feb9da70",
}


def test_golden_hashes():
    current = {}
    for service in EXAMPLE_SERVICES:
        for env, app in load_service(EXAMPLES / service, environ=CLEAN_ENVIRON)[1].items():
            for target in app.schedulers:
                (current[(service, env, target)],) = hashes(render(app, target), target)
    assert current == GOLDEN
