"""Kubernetes objects as an API server returns them, made comparable with what skytrain renders.

Three kinds of difference are not changes:
- fields the server or a controller writes (status, uid, resourceVersion, managedFields,
  kubectl's last-applied annotation, the Deployment revision annotation, and the
  `skytrain.io/revision` label the backend stamps at deploy time): dropped from both sides;
- defaults the API server applies when a field is absent: filled into both sides;
- values the server assigns (a Service's clusterIP, its IP families): dropped from the
  live side when the config does not set them.
Quantities are written canonically on both sides (`1000m` and `1` are one CPU).
"""

from __future__ import annotations

import base64
import copy
import re
from decimal import Decimal
from typing import Any

from skytrain.diff.normalise import Obj, apply_defaults, drop, get, tidy

REVISION_LABEL = "skytrain.io/revision"

# Written by the server or by controllers, never by the config.
SERVER_FIELDS: tuple[tuple[str, ...], ...] = (
    ("status",),
    ("metadata", "uid"),
    ("metadata", "resourceVersion"),
    ("metadata", "generation"),
    ("metadata", "managedFields"),
    ("metadata", "creationTimestamp"),
    ("metadata", "selfLink"),
    ("metadata", "deletionTimestamp"),
    ("metadata", "deletionGracePeriodSeconds"),
    ("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"),
    ("metadata", "annotations", "deployment.kubernetes.io/revision"),
    ("metadata", "labels", REVISION_LABEL),
    ("spec", "template", "metadata", "creationTimestamp"),
    ("spec", "template", "metadata", "labels", REVISION_LABEL),
)

# Assigned by the API server when the config leaves them out (pkg/registry/core/service:
# the IP allocator and the IP-family defaulting); compared only when the config sets them.
ASSIGNED_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Service": (
        ("spec", "clusterIP"),
        ("spec", "clusterIPs"),
        ("spec", "ipFamilies"),
        ("spec", "ipFamilyPolicy"),
        ("spec", "healthCheckNodePort"),
    ),
}

# The API server's defaulting (kubernetes pkg/apis/core/v1/defaults.go SetDefaults_Probe,
# SetDefaults_HTTPGetAction). A key ending in "?" applies only when the field is present.
PROBE_DEFAULTS = {
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
    "httpGet?": {"path": "/", "scheme": "HTTP"},
}

# core/v1 SetDefaults_Container, SetDefaults_ContainerPort, SetDefaults_ObjectFieldSelector.
CONTAINER_DEFAULTS = {
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "ports[]": {"protocol": "TCP"},
    "env[]": {"valueFrom?": {"fieldRef?": {"apiVersion": "v1"}}},
    "livenessProbe?": PROBE_DEFAULTS,
    "readinessProbe?": PROBE_DEFAULTS,
    "startupProbe?": PROBE_DEFAULTS,
}

# core/v1 SetDefaults_PodSpec, SetDefaults_ConfigMapVolumeSource, SetDefaults_SecretVolumeSource.
POD_SPEC_DEFAULTS = {
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "dnsPolicy": "ClusterFirst",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "enableServiceLinks": True,
    "containers[]": CONTAINER_DEFAULTS,
    "initContainers[]": CONTAINER_DEFAULTS,
    "volumes[]": {"configMap?": {"defaultMode": 420}, "secret?": {"defaultMode": 420}},
}

# apps/v1 SetDefaults_Deployment (strategy is handled in code: rollingUpdate only for RollingUpdate).
DEFAULTS_BY_KIND: dict[str, dict[str, Any]] = {
    "Deployment": {
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {"spec": POD_SPEC_DEFAULTS},
        }
    },
    # core/v1 SetDefaults_Service (targetPort = port is handled in code).
    "Service": {
        "spec": {
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ports[]": {"protocol": "TCP"},
        }
    },
    # core/v1 SetDefaults_Secret.
    "Secret": {"type": "Opaque"},
}

ROLLING_UPDATE_DEFAULTS = {"maxUnavailable": "25%", "maxSurge": "25%"}


def normalise_pair(desired: Obj | None, live: Obj | None) -> tuple[Obj | None, Obj | None]:
    """Both sides of one object (either may be missing), normalised; inputs are not changed."""
    desired = normalise(desired) if desired is not None else None
    live = normalise(live) if live is not None else None
    if desired is not None and live is not None:
        for path in ASSIGNED_FIELDS.get(live.get("kind", ""), ()):
            if get(desired, path) is None:
                drop(live, path)
    return desired, live


def normalise(obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)
    for path in SERVER_FIELDS:
        drop(obj, path)
    kind = obj.get("kind", "")
    if kind == "Secret":
        _fold_string_data(obj)
    apply_defaults(obj, DEFAULTS_BY_KIND.get(kind, {}))
    if kind == "Deployment":
        _deployment_defaults(obj)
    elif kind == "Service":
        for port in obj.get("spec", {}).get("ports") or ():
            port.setdefault("targetPort", port.get("port"))
    for container in _containers(obj):
        _container_defaults(container)
    return tidy(obj)


def _deployment_defaults(obj: Obj) -> None:
    strategy = obj.setdefault("spec", {}).setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        apply_defaults(strategy.setdefault("rollingUpdate", {}), ROLLING_UPDATE_DEFAULTS)


def _containers(obj: Obj) -> list[Obj]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {}) if obj.get("kind") == "Deployment" else {}
    return [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]


def _container_defaults(container: Obj) -> None:
    container.setdefault("imagePullPolicy", _pull_policy(container.get("image", "")))
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests")
    if limits:
        # core/v1 SetDefaults_Pod: a limit without a request sets the request
        requests = resources.setdefault("requests", {} if requests is None else requests)
        for name, value in limits.items():
            requests.setdefault(name, value)
    for section in ("limits", "requests"):
        for name, value in (resources.get(section) or {}).items():
            resources[section][name] = canonical_quantity(value)


def _pull_policy(image: str) -> str:
    """core/v1 SetDefaults_Container: Always for `:latest` or no tag, else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _fold_string_data(secret: Obj) -> None:
    """The server merges write-only stringData into data (base64), stringData winning."""
    string_data = secret.pop("stringData", None) or {}
    data = secret.setdefault("data", {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()


_QUANTITY = re.compile(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"m": -1, "": 0, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def canonical_quantity(value: Any) -> Any:
    """A resource quantity in the form the API server writes back (apimachinery's
    resource.Quantity: keep the binary or decimal family, largest exact suffix)."""
    match = _QUANTITY.fullmatch(str(value))
    if not match:
        return value
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix in _BINARY:
        amount = number * 1024 ** _BINARY[suffix]
        for name, power in sorted(_BINARY.items(), key=lambda item: -item[1]):
            if amount % 1024**power == 0:
                return f"{int(amount / 1024**power)}{name}"
        return _decimal(amount)
    return _decimal(number * Decimal(1000) ** _DECIMAL[suffix])


def _decimal(amount: Decimal) -> str:
    if amount == 0:
        return "0"
    for name, power in sorted(_DECIMAL.items(), key=lambda item: -item[1]):
        scaled = amount / Decimal(1000) ** power
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{name}"
    return str(amount)
