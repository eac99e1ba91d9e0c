"""Objects as the server-side tables `kubectl get` asks for (`Accept: ...;as=Table;g=meta.k8s.io`).

A real API server prints its own columns (a pod's READY, STATUS and RESTARTS, a
Deployment's UP-TO-DATE and AVAILABLE); kubectl only lays them out. Without tables kubectl
shows NAME and AGE, which hides exactly what someone looking at a failed rollout wants
to see (`CrashLoopBackOff`). The columns follow kubectl's own printers (the ones the API
server uses) for the kinds the emulator stores; `-o wide` adds the priority-1 columns.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

Cell = Callable[[dict[str, Any]], Any]
TABLE_ACCEPT = "as=Table"


def wants_table(accept: str) -> bool:
    return TABLE_ACCEPT in accept and "g=meta.k8s.io" in accept


def age(obj: dict[str, Any]) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    since = datetime.datetime.now(datetime.UTC) - datetime.datetime.fromisoformat(
        created.replace("Z", "+00:00")
    )
    return human_duration(since.total_seconds())


def human_duration(seconds: float) -> str:
    """kubectl's short ages: 45s, 5m30s, 3h, 2d4h, 400d."""
    seconds = max(0, int(seconds))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def pod_ready(pod: dict[str, Any]) -> str:
    statuses = _status(pod).get("containerStatuses") or []
    containers = pod.get("spec", {}).get("containers") or []
    return f"{sum(bool(s.get('ready')) for s in statuses)}/{len(containers)}"


def pod_status(pod: dict[str, Any]) -> str:
    """What kubectl prints as STATUS: a waiting or terminated container's reason beats the phase."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    reason = _status(pod).get("reason") or _status(pod).get("phase") or "Pending"
    for container in _status(pod).get("containerStatuses") or []:
        state = container.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or f"ExitCode:{state['terminated'].get('exitCode')}"
    return reason


def service_ports(service: dict[str, Any]) -> str:
    ports = service.get("spec", {}).get("ports") or []
    return ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _count(obj: dict[str, Any], *keys: str) -> int:
    return sum(len(obj.get(key) or {}) for key in keys)


def _involved(event: dict[str, Any]) -> str:
    involved = event.get("involvedObject") or {}
    return f"{involved.get('kind', '').lower()}/{involved.get('name', '')}"


# kind → (column name, type, priority, cell); "Name" comes first and "Age" last for every kind but Event
COLUMNS: dict[str, list[tuple[str, str, int, Cell]]] = {
    "Pod": [
        ("Ready", "string", 0, pod_ready),
        ("Status", "string", 0, pod_status),
        (
            "Restarts",
            "string",
            0,
            lambda p: str(sum(s.get("restartCount", 0) for s in _status(p).get("containerStatuses") or [])),
        ),
        ("IP", "string", 1, lambda p: _status(p).get("podIP", "<none>")),
        ("Node", "string", 1, lambda p: p.get("spec", {}).get("nodeName", "<none>")),
    ],
    "Deployment": [
        (
            "Ready",
            "string",
            0,
            lambda d: f"{_status(d).get('readyReplicas', 0)}/{d['spec'].get('replicas', 1)}",
        ),
        ("Up-to-date", "integer", 0, lambda d: _status(d).get("updatedReplicas", 0)),
        ("Available", "integer", 0, lambda d: _status(d).get("availableReplicas", 0)),
        (
            "Containers",
            "string",
            1,
            lambda d: ",".join(c["name"] for c in d["spec"]["template"]["spec"]["containers"]),
        ),
        (
            "Images",
            "string",
            1,
            lambda d: ",".join(c.get("image", "") for c in d["spec"]["template"]["spec"]["containers"]),
        ),
    ],
    "ReplicaSet": [
        ("Desired", "integer", 0, lambda r: r["spec"].get("replicas", 1)),
        ("Current", "integer", 0, lambda r: _status(r).get("replicas", 0)),
        ("Ready", "integer", 0, lambda r: _status(r).get("readyReplicas", 0)),
    ],
    "Service": [
        ("Type", "string", 0, lambda s: s["spec"].get("type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda s: s["spec"].get("clusterIP", "<none>")),
        ("External-IP", "string", 0, lambda s: ",".join(s["spec"].get("externalIPs") or []) or "<none>"),
        ("Port(s)", "string", 0, service_ports),
    ],
    "DaemonSet": [
        ("Desired", "integer", 0, lambda d: _status(d).get("desiredNumberScheduled", 0)),
        ("Current", "integer", 0, lambda d: _status(d).get("currentNumberScheduled", 0)),
        ("Ready", "integer", 0, lambda d: _status(d).get("numberReady", 0)),
        ("Up-to-date", "integer", 0, lambda d: _status(d).get("updatedNumberScheduled", 0)),
        ("Available", "integer", 0, lambda d: _status(d).get("numberAvailable", 0)),
    ],
    "ConfigMap": [("Data", "integer", 0, lambda c: _count(c, "data", "binaryData"))],
    "Secret": [
        ("Type", "string", 0, lambda s: s.get("type", "Opaque")),
        ("Data", "integer", 0, lambda s: _count(s, "data")),
    ],
    "Namespace": [("Status", "string", 0, lambda n: _status(n).get("phase", "Active"))],
    "EndpointSlice": [
        ("AddressType", "string", 0, lambda e: e.get("addressType", "")),
        (
            "Endpoints",
            "string",
            0,
            lambda e: (
                ",".join(a for ep in e.get("endpoints") or [] for a in ep.get("addresses", [])) or "<unset>"
            ),
        ),
    ],
    "Lease": [("Holder", "string", 0, lambda le: le.get("spec", {}).get("holderIdentity", ""))],
}
EVENT_COLUMNS: list[tuple[str, str, int, Cell]] = [
    ("Last Seen", "string", 0, lambda e: age({"metadata": {"creationTimestamp": e.get("lastTimestamp")}})),
    ("Type", "string", 0, lambda e: e.get("type", "")),
    ("Reason", "string", 0, lambda e: e.get("reason", "")),
    ("Object", "string", 0, _involved),
    ("Message", "string", 0, lambda e: e.get("message", "")),
]
NAME: tuple[str, str, int, Cell] = ("Name", "string", 0, lambda o: o["metadata"]["name"])
AGE: tuple[str, str, int, Cell] = ("Age", "string", 0, age)


def table(
    kind: str, objects: list[dict[str, Any]], resource_version: str, include: str | None
) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of `objects`; `include` is the request's includeObject
    (None / Metadata: each row carries the object's metadata, as kubectl's --show-labels needs)."""
    columns = EVENT_COLUMNS if kind == "Event" else [NAME, *COLUMNS.get(kind, []), AGE]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": type_,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": priority,
            }
            for name, type_, priority, _ in columns
        ],
        "rows": [
            {"cells": [cell(obj) for *_, cell in columns], "object": _row_object(obj, include)}
            for obj in objects
        ],
    }


def _row_object(obj: dict[str, Any], include: str | None) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def as_table(kind: str, body: dict[str, Any], include: str | None) -> dict[str, Any]:
    """A GET's answer (one object or a list) as a table."""
    objects = body.get("items", [body])
    return table(kind, objects, body.get("metadata", {}).get("resourceVersion", ""), include)


def event_as_table(kind: str, event: dict[str, Any], include: str | None) -> dict[str, Any]:
    """A watch event whose object is a one-row table (bookmarks and errors stay as they are)."""
    if event.get("type") in ("BOOKMARK", "ERROR"):
        return event
    return {"type": event["type"], "object": as_table(kind, event["object"], include)}
