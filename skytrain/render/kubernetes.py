"""Render an App as Kubernetes manifests: ConfigMap (when there is env), Deployment, Service.

Objects carry the labels skytrain finds its own objects by (`app.kubernetes.io/name`,
`app.kubernetes.io/managed-by: skytrain`, `skytrain.io/environment`).

The env ConfigMap is immutable and named by a digest of its data (`giphy-env-5f2c9a1b7d`,
as kustomize's generators do): applying a new one never changes what running pods read,
and a pod restarted for any reason gets the env its Deployment was written with. The
ConfigMap of a change is new, the pod template names it, so a change of env rolls the
pods through the Deployment, and a Deployment write that fails leaves every running
version whole. The config hash sits only where a change restarts something, the pod
template: an image bump changes one object, the Deployment.
"""

from __future__ import annotations

import math
from typing import Any

from skytrain.config.merge import merge_values
from skytrain.config.model import MAIN_PORT_NAME, SERVICE_PORT, App, thawed
from skytrain.errors import ConfigError, field_path
from skytrain.render.hashing import HASH_ANNOTATION, digest
from skytrain.render.patch import set_within

NAME_LABEL = "app.kubernetes.io/name"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
ENVIRONMENT_LABEL = "skytrain.io/environment"
MAINTAINERS_ANNOTATION = "skytrain.io/maintainers"
# what a content-named object was generated from ("giphy-env"): the diff pairs its versions by it
GENERATED_FROM_LABEL = "skytrain.io/generated-from"
MANAGER = "skytrain"
PORT_NAME = MAIN_PORT_NAME

# the order an apply must follow (krane's): config before the workloads that read it
KIND_ORDER = ("ConfigMap", "Secret", "ServiceAccount", "Service", "Deployment")


def env_configmap_base(app: App) -> str:
    return f"{app.name}-env"


def env_data(app: App) -> dict[str, str]:
    data = dict(app.env)
    data.update({d.env_name: d.cluster_url() for d in app.dependencies})
    return dict(sorted(data.items()))


def env_configmap_name(app: App) -> str:
    """Named by its content: another env is another ConfigMap."""
    return f"{env_configmap_base(app)}-{digest(env_data(app))[:10]}"


def owner_labels(app: App) -> dict[str, str]:
    return {NAME_LABEL: app.name, MANAGED_BY_LABEL: MANAGER, ENVIRONMENT_LABEL: app.environment.name}


def selector(app: App) -> dict[str, str]:
    return {NAME_LABEL: app.name}


def render_kubernetes(app: App) -> list[dict[str, Any]]:
    objects = [o for o in (_configmap(app), _deployment(app), _service(app)) if o is not None]
    patches = thawed(app.kubernetes_overrides)
    objects = [
        merge_values(o, patches[o["kind"]], merge_named_lists=True) if o["kind"] in patches else o
        for o in objects
    ]
    config_hash = kubernetes_config_hash(objects)
    for obj in objects:
        if obj["kind"] == "Deployment":
            set_within(obj, ("spec", "template", "metadata", "annotations"), HASH_ANNOTATION, config_hash)
    return sorted(
        objects, key=lambda o: KIND_ORDER.index(o["kind"]) if o["kind"] in KIND_ORDER else len(KIND_ORDER)
    )


def unused_patches(app: App, objects: list[dict[str, Any]]) -> list[ConfigError]:
    """A patch for a kind skytrain does not render for this service would silently do nothing."""
    rendered = {o["kind"] for o in objects}
    errors = []
    for kind in sorted(set(app.kubernetes_overrides) - rendered):
        path = ("kubernetes", kind)
        where = app.positions.keys.get(path) if app.positions else None
        errors.append(
            ConfigError(
                where or app.origins["kubernetes"],
                field_path(path),
                f"there is no {kind} to patch: skytrain renders {', '.join(sorted(rendered))} for this service "
                "(a ConfigMap only when it has env or dependencies)",
            )
        )
    return errors


def kubernetes_config_hash(objects: list[dict[str, Any]]) -> str:
    """The pod template and the env ConfigMap's data (see render/hashing.py)."""
    parts = []
    for obj in objects:
        if obj["kind"] == "Deployment":
            spec = obj.get("spec")
            template = thawed(spec.get("template")) if isinstance(spec, dict) else None
            metadata = template.get("metadata") if isinstance(template, dict) else None
            annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
            if isinstance(annotations, dict):
                annotations.pop(HASH_ANNOTATION, None)
            parts.append(template)
        elif obj["kind"] == "ConfigMap":
            parts.append(obj.get("data", {}))
    return digest(*parts)


def _metadata(app: App, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": app.namespace, "labels": owner_labels(app)}


def _configmap(app: App) -> dict[str, Any] | None:
    data = env_data(app)
    if not data:
        return None
    metadata = _metadata(app, env_configmap_name(app))
    metadata["labels"][GENERATED_FROM_LABEL] = env_configmap_base(app)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "immutable": True, "data": data}


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _deployment(app: App) -> dict[str, Any]:
    metadata = _metadata(app, app.name)
    if app.maintainers or app.labels:
        # labels' values may be any text (a list of hosts, a JSON blob): annotations, not labels
        metadata["annotations"] = dict(app.labels)
    if app.maintainers:
        metadata["annotations"][MAINTAINERS_ANNOTATION] = ", ".join(m.email for m in app.maintainers)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": app.replicas,
            "selector": {"matchLabels": selector(app)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {
                    "maxUnavailable": _percent(1 - app.deploy.minimum_healthy_capacity),
                    "maxSurge": _percent(app.deploy.maximum_over_capacity),
                },
            },
            "progressDeadlineSeconds": app.deploy.gate_timeout_seconds,
            "revisionHistoryLimit": 10,
            "template": {
                "metadata": {"labels": {**selector(app), ENVIRONMENT_LABEL: app.environment.name}},
                "spec": {"containers": [_container(app)], **_pod_placement(app)},
            },
        },
    }


def _container(app: App) -> dict[str, Any]:
    container: dict[str, Any] = {"name": app.name, "image": app.image}
    if app.always_pull_image:
        container["imagePullPolicy"] = "Always"
    if app.command:
        container["command"] = list(app.command)
    if app.args is not None:
        container["args"] = list(app.args)
    container["ports"] = [
        {"name": PORT_NAME, "containerPort": app.port, "protocol": "TCP"},
        *({"name": p.name, "containerPort": p.number, "protocol": p.protocol.upper()} for p in app.ports),
    ]
    if app.env or app.dependencies:
        container["envFrom"] = [{"configMapRef": {"name": env_configmap_name(app)}}]
    if app.secrets:
        container["env"] = [
            {"name": s.env_name, "valueFrom": {"secretKeyRef": {"name": s.secret, "key": s.key}}}
            for s in app.secrets
        ]
    memory = f"{app.resources.memory_mib}Mi"
    container["resources"] = {
        "requests": {"cpu": f"{round(app.resources.cpu * 1000)}m", "memory": memory},
        "limits": {"memory": memory},
    }
    if app.health_check:
        container.update(_probes(app))
    return container


def _probes(app: App) -> dict[str, Any]:
    """Marathon's grace period (failures ignored until the first success) is a startup probe;
    a readiness check of its own replaces the health check as the readiness probe."""
    check = app.health_check
    assert check is not None
    if check.command is not None:
        action: dict[str, Any] = {"exec": {"command": ["/bin/sh", "-c", check.command]}}
    elif check.tcp:
        action = {"tcpSocket": {"port": check.port}}
    else:
        action = {"httpGet": {"path": check.path, "port": check.port}}

    def probe(failure_threshold: int) -> dict[str, Any]:
        return {
            **action,
            "periodSeconds": check.interval_seconds,
            "timeoutSeconds": check.timeout_seconds,
            "failureThreshold": failure_threshold,
        }

    startup_attempts = max(1, math.ceil(check.grace_period_seconds / check.interval_seconds))
    return {
        "startupProbe": probe(startup_attempts),
        "readinessProbe": _readiness_probe(app) or probe(check.consecutive_failures),
        "livenessProbe": probe(check.consecutive_failures),
    }


def _readiness_probe(app: App) -> dict[str, Any] | None:
    ready = app.readiness_check
    if ready is None:
        return None
    return {
        "httpGet": {"path": ready.path, "port": ready.port},
        "periodSeconds": ready.interval_seconds,
        "timeoutSeconds": ready.timeout_seconds,
    }


# Marathon's hostname attribute is this well-known node label; other attributes keep their name
HOSTNAME_LABEL = "kubernetes.io/hostname"


def _pod_placement(app: App) -> dict[str, Any]:
    """What the pod spec gets besides its containers, only when the config asks for it:
    the stop grace period, and Marathon's constraints as Kubernetes says them (UNIQUE:
    required anti-affinity; GROUP_BY, MAX_PER: topology spread; LIKE a value: node selector)."""
    spec: dict[str, Any] = {}
    if app.stop_grace_period_seconds is not None:
        spec["terminationGracePeriodSeconds"] = app.stop_grace_period_seconds
    apart, spread, selector_labels = [], [], {}
    for constraint in app.constraints:
        key = HOSTNAME_LABEL if constraint.attribute == "hostname" else constraint.attribute
        if constraint.operator == "UNIQUE":
            apart.append({"labelSelector": {"matchLabels": selector(app)}, "topologyKey": key})
        elif constraint.operator in ("GROUP_BY", "MAX_PER"):
            skew = int(constraint.value) if constraint.operator == "MAX_PER" and constraint.value else 1
            spread.append(
                {
                    "maxSkew": skew,
                    "topologyKey": key,
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": selector(app)},
                }
            )
        else:
            selector_labels[key] = constraint.value
    if apart:
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": apart}}
    if spread:
        spec["topologySpreadConstraints"] = spread
    if selector_labels:
        spec["nodeSelector"] = selector_labels
    return spec


def _service(app: App) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(app, app.name),
        "spec": {
            "selector": selector(app),
            "ports": [
                {"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": PORT_NAME, "protocol": "TCP"},
                *(
                    {"name": p.name, "port": p.number, "targetPort": p.name, "protocol": p.protocol.upper()}
                    for p in app.ports
                ),
            ],
        },
    }
