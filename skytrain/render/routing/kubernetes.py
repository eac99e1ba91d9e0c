"""The Kubernetes side of the mesh: the skyline-bridge DaemonSet, its ConfigMap, and one
Service per Mesos-resident service so Kubernetes callers use plain cluster DNS names.

A Service can only select pods of its own namespace. A Mesos-resident service in the
bridge's namespace gets a Service selecting the bridge pods; one in another namespace
gets an ExternalName Service pointing at the `skyline-bridge` Service, which reaches
the same pods (the caller's Host header still names the service, which is what the
bridge's egress matches on).
"""

from __future__ import annotations

from typing import Any

from skytrain.config.model import SERVICE_PORT
from skytrain.errors import ConfigError, ConfigErrors, Location
from skytrain.render import upstream
from skytrain.render.hashing import HASH_ANNOTATION, digest
from skytrain.render.kubernetes import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGER, NAME_LABEL
from skytrain.render.routing.model import BRIDGE_NAME, BRIDGE_PORT, Route, RoutingModel

CONFIG_KEY = "nginx.conf"
CONFIG_DIR = "/etc/skyline"
# on every object of the mesh: "bridge", or "mesos-resident" on a Service standing for a
# Mesos service (the service's own Service replaces it when it is deployed on Kubernetes)
SKYLINE_LABEL = "skytrain.io/skyline"


def _labels(model: RoutingModel, name: str, role: str = "bridge") -> dict[str, str]:
    return {
        NAME_LABEL: name,
        MANAGED_BY_LABEL: MANAGER,
        ENVIRONMENT_LABEL: model.environment,
        SKYLINE_LABEL: role,
    }


def _metadata(model: RoutingModel, name: str, namespace: str, role: str = "bridge") -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": _labels(model, name, role)}


def render_bridge_manifests(model: RoutingModel, bridge_conf: str) -> list[dict[str, Any]]:
    """ConfigMap, bridge Service (when needed), DaemonSet, then the per-service Services.

    Every object is checked against the upstream Kubernetes schema of the environment's
    version; a failure is a skytrain bug, reported as such.
    """
    objects = [_configmap(model, bridge_conf)]
    if any(r.namespace != model.namespace for r in model.resident_routes):
        objects.append(_bridge_service(model))
    objects.append(_daemonset(model, bridge_conf))
    objects += [_resident_service(model, r) for r in model.resident_routes]
    problems = [
        f"{o['kind']} {o['metadata']['name']}: {p}"
        for o in objects
        for p in upstream.kubernetes_problems(o, model.kubernetes_version)
    ]
    if problems:
        raise ConfigErrors(
            [
                ConfigError(
                    Location(model.settings.source, 1, 1),
                    "kubernetes",
                    f"skytrain rendered a bridge manifest that fails Kubernetes' own schema ({p}); "
                    "this is a skytrain bug, please report it",
                )
                for p in problems
            ]
        )
    return objects


def _configmap(model: RoutingModel, bridge_conf: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(model, BRIDGE_NAME, model.namespace),
        "data": {CONFIG_KEY: bridge_conf},
    }


def _daemonset(model: RoutingModel, bridge_conf: str) -> dict[str, Any]:
    selector = {NAME_LABEL: BRIDGE_NAME}
    temp_dir = model.settings.paths.temp_dir
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _metadata(model, BRIDGE_NAME, model.namespace),
        "spec": {
            "selector": {"matchLabels": selector},
            # one node at a time: the SDB retries a request on the next worker meanwhile
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": _labels(model, BRIDGE_NAME),
                    # a config change rolls the pods (a ConfigMap update alone would not reload NGINX)
                    "annotations": {HASH_ANNOTATION: digest(bridge_conf)},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": model.settings.bridge_image,
                            "command": ["nginx", "-c", f"{CONFIG_DIR}/{CONFIG_KEY}", "-g", "daemon off;"],
                            "ports": [
                                {
                                    "name": "skyline",
                                    "containerPort": BRIDGE_PORT,
                                    "hostPort": BRIDGE_PORT,
                                    "protocol": "TCP",
                                }
                            ],
                            "readinessProbe": {
                                "httpGet": {"path": "/skyline/healthz", "port": BRIDGE_PORT},
                                "periodSeconds": 5,
                                "failureThreshold": 2,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/skyline/healthz", "port": BRIDGE_PORT},
                                "periodSeconds": 10,
                                "failureThreshold": 3,
                            },
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "64Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                            "volumeMounts": [
                                {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                {"name": "temp", "mountPath": temp_dir},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": BRIDGE_NAME}},
                        {"name": "temp", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def _service_port() -> dict[str, Any]:
    return {"name": "http", "port": SERVICE_PORT, "targetPort": BRIDGE_PORT, "protocol": "TCP"}


def _bridge_service(model: RoutingModel) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(model, BRIDGE_NAME, model.namespace),
        "spec": {"selector": {NAME_LABEL: BRIDGE_NAME}, "ports": [_service_port()]},
    }


def _resident_service(model: RoutingModel, route: Route) -> dict[str, Any]:
    metadata = _metadata(model, route.name, route.namespace, "mesos-resident")
    if route.namespace == model.namespace:
        spec: dict[str, Any] = {"selector": {NAME_LABEL: BRIDGE_NAME}, "ports": [_service_port()]}
    else:
        domain = model.settings.cluster_domain
        spec = {
            "type": "ExternalName",
            "externalName": f"{BRIDGE_NAME}.{model.namespace}.{domain}",
            "ports": [_service_port()],
        }
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
