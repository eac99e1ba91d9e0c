"""The emulator follows the Kubernetes API conventions the backend relies on, checked with
the official client's typed APIs (so a green backend test means a real server would do).

References: API concepts (resourceVersion, watch, 410 Gone, dryRun), server-side apply,
label/field selectors, the status subresource, optimistic concurrency on update."""

from __future__ import annotations

import json

import kubernetes
import pytest
import urllib3
import yaml
from kubernetes.client import ApiException

from skytrain.emulators.kubernetes import serve, write_kubeconfig


@pytest.fixture
def api(tmp_path):
    """The bare emulator (no controllers: nothing writes but the test)."""
    with serve() as emulator:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", emulator.address)
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(
            config_file=str(kubeconfig), context="staging", client_configuration=configuration
        )
        configuration.retries = 0
        client = kubernetes.client.ApiClient(configuration)
        yield kubernetes.client.CoreV1Api(client), kubernetes.client.AppsV1Api(client), emulator


def configmap(name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data or {"k": "v"},
    }


def deployment(name: str = "web", image: str = "web:1", replicas: int = 1) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    }


def apply(apps, body: dict, manager: str | None = "skytrain", dry_run: str | None = None):
    return apps.patch_namespaced_deployment(
        body["metadata"]["name"],
        "default",
        body,
        field_manager=manager,
        force=True,
        dry_run=dry_run,
        _content_type="application/apply-patch+yaml",
    )


def test_create_fills_identity_and_a_duplicate_is_409_already_exists(api):
    core, _, _ = api
    created = core.create_namespaced_config_map("default", configmap("a"))
    assert created.metadata.uid and created.metadata.creation_timestamp and created.metadata.resource_version
    assert created.metadata.namespace == "default"
    with pytest.raises(ApiException) as duplicate:
        core.create_namespaced_config_map("default", configmap("a"))
    assert duplicate.value.status == 409 and json.loads(duplicate.value.body)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("nope", "default")
    assert missing.value.status == 404 and json.loads(missing.value.body)["reason"] == "NotFound"


def test_resource_versions_grow_with_every_write_and_a_stale_replace_is_409(api):
    core, _, _ = api
    first = core.create_namespaced_config_map("default", configmap("a"))
    first.data = {"k": "w"}
    second = core.replace_namespaced_config_map("a", "default", first)
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    assert second.metadata.uid == first.metadata.uid
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("a", "default", first)  # still carries the old resourceVersion
    assert (
        stale.value.status == 409
        and "the object has been modified" in json.loads(stale.value.body)["message"]
    )
    first.metadata.resource_version = None
    with pytest.raises(ApiException) as unconditional:
        core.replace_namespaced_config_map("a", "default", first)
    assert unconditional.value.status == 422


def test_generation_rises_on_spec_changes_only_and_status_is_a_subresource(api):
    _, apps, emulator = api
    created = apps.create_namespaced_deployment("default", deployment())
    assert created.metadata.generation == 1
    emulator.patch(
        "Deployment", "default", "web", {"status": {"observedGeneration": 1}}, subresource="status"
    )
    labelled = apps.patch_namespaced_deployment(
        "web", "default", {"metadata": {"labels": {"x": "y"}}}, _content_type="application/merge-patch+json"
    )
    assert labelled.metadata.generation == 1
    changed = apps.patch_namespaced_deployment(
        "web",
        "default",
        {"spec": {"replicas": 3}, "status": {"observedGeneration": 99}},
        _content_type="application/merge-patch+json",
    )
    assert changed.metadata.generation == 2
    assert changed.status.observed_generation == 1  # a write to the object leaves status alone


def test_label_and_field_selectors_filter_lists(api):
    core, _, _ = api
    for name, labels in [
        ("a", {"app": "x", "tier": "web"}),
        ("b", {"app": "y"}),
        ("c", {"app": "z", "tier": "db"}),
    ]:
        core.create_namespaced_config_map("default", configmap(name, labels))

    def names(**selectors):
        return [i.metadata.name for i in core.list_namespaced_config_map("default", **selectors).items]

    assert names(label_selector="app=x") == ["a"]
    assert names(label_selector="app!=x") == ["b", "c"]
    assert names(label_selector="app in (x,z)") == ["a", "c"]
    assert names(label_selector="app notin (x,z)") == ["b"]
    assert names(label_selector="tier") == ["a", "c"]
    assert names(label_selector="!tier") == ["b"]
    assert names(label_selector="app in (x,z),tier=db") == ["c"]
    assert names(field_selector="metadata.name=b") == ["b"]
    with pytest.raises(ApiException) as bad:
        names(label_selector="app in x)")
    assert bad.value.status == 400


def test_server_side_apply_creates_is_idempotent_and_drops_fields_no_longer_applied(api):
    _, apps, _ = api
    body = deployment()
    body["metadata"]["annotations"] = {"a": "1", "b": "2"}
    created = apply(apps, body)
    assert created.metadata.generation == 1 and created.metadata.managed_fields[0].manager == "skytrain"
    again = apply(apps, body)
    assert again.metadata.resource_version == created.metadata.resource_version  # a no-op write
    del body["metadata"]["annotations"]["b"]
    body["spec"]["replicas"] = 2
    updated = apply(apps, body)
    assert updated.metadata.annotations == {"a": "1"}
    assert (updated.spec.replicas, updated.metadata.generation) == (2, 2)
    with pytest.raises(ApiException) as no_manager:
        apply(apps, body, manager=None)
    assert no_manager.value.status == 400


def test_an_apply_patch_written_in_yaml_is_read_as_yaml(api):
    _, _, emulator = api
    body = "apiVersion: apps/v1\nkind: Deployment\n" + yaml.safe_dump(
        {k: v for k, v in deployment(replicas=2).items() if k not in ("apiVersion", "kind")}
    )
    answer = urllib3.request(
        "PATCH",
        emulator.address + "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=yaml-writer",
        body=body.encode(),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert answer.status == 201, answer.data
    assert emulator.get("Deployment", "default", "web")["spec"]["replicas"] == 2


def test_dry_run_validates_without_persisting(api):
    core, apps, emulator = api
    dry = core.create_namespaced_config_map("default", configmap("a"), dry_run="All")
    assert dry.metadata.name == "a"
    assert emulator.get("ConfigMap", "default", "a") is None
    apply(apps, deployment(), dry_run="All")
    assert emulator.get("Deployment", "default", "web") is None


def test_deleting_an_owner_collects_what_it_owns_now_unless_orphaned(api):
    _, apps, emulator = api

    def owned(name: str, *owners: dict) -> dict:
        refs = [
            {"kind": o["kind"], "name": o["metadata"]["name"], "uid": o["metadata"]["uid"]} for o in owners
        ]
        return emulator.create({**configmap(name), "metadata": {"name": name, "ownerReferences": refs}})

    web = emulator.create(deployment("web"))
    api_ = emulator.create(deployment("api"))
    child = owned("child", web)
    owned("grandchild", child)
    owned("moved", web)
    emulator.patch("ConfigMap", "default", "moved", {"metadata": {"ownerReferences": None}})
    owned("kept", api_)

    apps.delete_namespaced_deployment("web", "default")
    assert [c["metadata"]["name"] for c in emulator.list("ConfigMap", "default")] == ["kept", "moved"]

    owned("late", api_)
    apps.delete_namespaced_deployment("api", "default", propagation_policy="Orphan")
    assert [c["metadata"]["name"] for c in emulator.list("ConfigMap", "default")] == ["kept", "late", "moved"]


def test_services_get_a_cluster_ip_that_survives_a_replace(api):
    core, _, _ = api
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 8080}]},
    }
    first = core.create_namespaced_service("default", service)
    other = core.create_namespaced_service("default", {**service, "metadata": {"name": "t"}})
    assert first.spec.cluster_ip and first.spec.cluster_ip != other.spec.cluster_ip
    service["metadata"]["resourceVersion"] = first.metadata.resource_version
    replaced = core.replace_namespaced_service("s", "default", service)
    assert replaced.spec.cluster_ip == first.spec.cluster_ip


def test_watch_sends_current_state_then_changes_filtered_by_selector(api):
    core, _, emulator = api
    core.create_namespaced_config_map("default", configmap("a", {"app": "x"}))
    core.create_namespaced_config_map("default", configmap("other", {"app": "y"}))
    stream = kubernetes.watch.Watch().stream(
        core.list_namespaced_config_map, "default", label_selector="app=x", timeout_seconds=5
    )
    assert next(stream)["type"] == "ADDED"
    emulator.patch("ConfigMap", "default", "other", {"data": {"k": "other"}})
    emulator.patch("ConfigMap", "default", "a", {"data": {"k": "changed"}})
    emulator.delete("ConfigMap", "default", "a")
    events = [(e["type"], e["object"].metadata.name) for _, e in zip(range(2), stream, strict=False)]
    assert events == [("MODIFIED", "a"), ("DELETED", "a")]


def test_watch_resumes_from_a_resource_version_and_answers_410_once_compacted(api):
    core, _, emulator = api
    created = core.create_namespaced_config_map("default", configmap("a"))
    emulator.patch("ConfigMap", "default", "a", {"data": {"k": "1"}})
    emulator.patch("ConfigMap", "default", "a", {"data": {"k": "2"}})
    resumed = kubernetes.watch.Watch().stream(
        core.list_namespaced_config_map,
        "default",
        timeout_seconds=1,
        resource_version=created.metadata.resource_version,
    )
    assert [e["object"].data["k"] for e in resumed] == [
        "1",
        "2",
    ]  # only what came after, then the timeout ends it

    emulator.compact()
    gone = core.list_namespaced_config_map(
        "default",
        watch=True,
        resource_version=created.metadata.resource_version,
        timeout_seconds=1,
        _preload_content=False,
    )
    event = json.loads(gone.data.decode().splitlines()[0])
    assert (event["type"], event["object"]["code"], event["object"]["reason"]) == ("ERROR", 410, "Expired")


def test_breaking_watches_cuts_the_connection_mid_stream(api):
    core, _, emulator = api
    core.create_namespaced_config_map("default", configmap("a"))
    stream = kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=5)
    assert next(stream)["type"] == "ADDED"
    emulator.wait_until(emulator.watching)
    assert emulator.break_watches() == 1
    with pytest.raises(urllib3.exceptions.ProtocolError):
        next(stream)


def test_leases_take_turns_by_resource_version(api):
    _, _, emulator = api
    coordination = kubernetes.client.CoordinationV1Api(api[0].api_client)
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "lock"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 30},
    }
    lease = coordination.create_namespaced_lease("default", body)
    lease.spec.holder_identity = "b"
    taken = coordination.replace_namespaced_lease("lock", "default", lease)
    assert taken.spec.holder_identity == "b"
    with pytest.raises(ApiException) as late:
        coordination.replace_namespaced_lease("lock", "default", lease)
    assert late.value.status == 409
    with pytest.raises(ApiException) as wrong_owner:
        coordination.delete_namespaced_lease(
            "lock", "default", body={"preconditions": {"uid": "someone-else"}}
        )
    assert wrong_owner.value.status == 409
    coordination.delete_namespaced_lease(
        "lock", "default", body={"preconditions": {"uid": taken.metadata.uid}}
    )
    assert emulator.get("Lease", "default", "lock") is None


def test_pod_logs_and_injected_faults(api):
    core, _, emulator = api
    core.create_namespaced_pod(
        "default",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
    )
    emulator.logs[("default", "p", "c")] = ["one", "two", "three"]
    assert core.read_namespaced_pod_log("p", "default", container="c", tail_lines=2) == "two\nthree\n"
    emulator.fail("GET", "pods/p$", 503)
    with pytest.raises(ApiException) as fault:
        core.read_namespaced_pod("p", "default")
    assert fault.value.status == 503
    assert core.read_namespaced_pod("p", "default").metadata.name == "p"


def test_discovery_lists_exactly_the_kinds_it_stores(api):
    """kubectl resolves every resource (and short name) through discovery: it must name what
    the emulator keeps and nothing else, so a kind it does not keep is "the server doesn't
    have a resource type" as on a real cluster without it."""
    core, _, emulator = api
    api_client = core.api_client
    core_resources = {r.name: r for r in core.get_api_resources().resources}
    assert set(core_resources) == {
        "namespaces", "namespaces/status", "configmaps", "secrets", "serviceaccounts", "services",
        "services/status", "pods", "pods/status", "pods/log", "events",
    }  # fmt: skip
    assert core_resources["configmaps"].short_names == ["cm"] and core_resources["pods"].categories == ["all"]
    assert not core_resources["namespaces"].namespaced
    groups = {
        g.name: g.preferred_version.group_version
        for g in kubernetes.client.ApisApi(api_client).get_api_versions().groups
    }
    assert groups == {
        "apps": "apps/v1",
        "discovery.k8s.io": "discovery.k8s.io/v1",
        "coordination.k8s.io": "coordination.k8s.io/v1",
    }
    apps = {r.name for r in kubernetes.client.AppsV1Api(api_client).get_api_resources().resources}
    assert apps == {
        "deployments", "deployments/status", "replicasets", "replicasets/status", "daemonsets", "daemonsets/status",
    }  # fmt: skip
    for unknown in (
        "/apis/batch/v1",
        "/apis/batch/v1/namespaces/default/jobs",
        "/api/v1/namespaces/default/persistentvolumeclaims",
    ):
        assert urllib3.request("GET", emulator.address + unknown).status == 404, unknown
    version = kubernetes.client.VersionApi(api_client).get_code()
    assert (version.major, version.minor) == ("1", "33")


def test_openapi_declares_field_validation_and_the_server_applies_it(api):
    """kubectl leaves validation to servers whose OpenAPI v3 PATCH operations take
    `fieldValidation`; then the server must refuse (Strict) or warn about (Warn) unknown fields."""
    _, _, emulator = api
    root = urllib3.request("GET", emulator.address + "/openapi/v3").json()["paths"]
    assert {"api/v1", "apis/apps/v1"} <= set(root)
    document = urllib3.request("GET", emulator.address + root["apis/apps/v1"]["serverRelativeURL"]).json()
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    assert "io.k8s.api.apps.v1.DeploymentSpec" in document["components"]["schemas"]

    typo = deployment()
    typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    url = emulator.address + "/apis/apps/v1/namespaces/default/deployments"
    refused = urllib3.request("POST", url + "?fieldValidation=Strict", json=typo)
    assert refused.status == 400
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolice"' in refused.json()["message"]
    warned = urllib3.request("POST", url + "?fieldValidation=Warn", json=typo)
    assert warned.status == 201 and "imagePullPolice" in warned.headers["Warning"]
    assert emulator.get("Deployment", "default", "web") is not None
