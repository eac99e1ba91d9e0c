"""What the emulated API server says about itself: its version and the API discovery
documents (`/api`, `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`).

kubectl finds every resource through these before it sends anything, so they list exactly
the kinds the emulator stores (skytrain's own table, backends/kubernetes/kinds.py) with the
verbs, short names and categories a real server gives them: `kubectl get cm`, `kubectl get
all` and `kubectl logs` work, and a kind the emulator does not keep is "the server doesn't
have a resource type", as on a cluster without it. (kmock's bundled discovery describes a
k3s 1.26 with sixty kinds, answers `/api/v1` with the group version "/v1", which kubectl
cannot read, and would send kubectl to kinds nobody stores.)
"""

from __future__ import annotations

import re
from typing import Any

from skytrain.backends.kubernetes.kinds import KINDS, Kind

# the Kubernetes release the emulator answers as; its OpenAPI comes from kubernetes-validate
SERVER_VERSION = (1, 33)

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SHORT_NAMES = {
    "Namespace": ["ns"],
    "ConfigMap": ["cm"],
    "ServiceAccount": ["sa"],
    "Service": ["svc"],
    "Pod": ["po"],
    "Event": ["ev"],
    "Deployment": ["deploy"],
    "ReplicaSet": ["rs"],
    "DaemonSet": ["ds"],
}
IN_ALL = {"Service", "Pod", "Deployment", "ReplicaSet", "DaemonSet"}  # `kubectl get all`
# subresource → its verbs; `log` only on pods
SUBRESOURCES = {"status": ["get", "patch", "update"]}
POD_SUBRESOURCES = {"log": ["get"]}

DISCOVERY_PATH = re.compile(r"/(api|apis)(?:/([^/]+))?(?:/([^/]+))?/?")


def server_version() -> dict[str, str]:
    major, minor = SERVER_VERSION
    return {
        "major": str(major),
        "minor": str(minor),
        "gitVersion": f"v{major}.{minor}.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def group_versions() -> dict[str, list[str]]:
    """Each API group the emulator serves (not the core one) and its versions."""
    groups: dict[str, list[str]] = {}
    for kind in KINDS:
        if kind.group and kind.version not in groups.setdefault(kind.group, []):
            groups[kind.group].append(kind.version)
    return groups


def discovery(path: str) -> dict[str, Any] | None:
    """The discovery document at `path`, or None when the path is not one (or names an
    API group or version the emulator does not serve)."""
    match = DISCOVERY_PATH.fullmatch(path)
    if match is None:
        return None
    prefix, first, second = match.groups()
    if prefix == "api":
        if first is None:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        return resource_list("", first) if second is None else None
    groups = group_versions()
    if first is None:
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [_group(g, v) for g, v in groups.items()],
        }
    if first not in groups:
        return None
    if second is None:
        return {"kind": "APIGroup", "apiVersion": "v1", **_group(first, groups[first])}
    return resource_list(first, second)


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    kinds = [k for k in KINDS if k.group == group and k.version == version]
    if not kinds:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [entry for kind in kinds for entry in _resources(kind)],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def _resources(kind: Kind) -> list[dict[str, Any]]:
    main = {
        "name": kind.plural,
        "singularName": kind.kind.lower(),
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": VERBS,
        "shortNames": SHORT_NAMES.get(kind.kind, []),
        **({"categories": ["all"]} if kind.kind in IN_ALL else {}),
    }
    subresources = dict(SUBRESOURCES if kind.status else {})
    if kind.kind == "Pod":
        subresources.update(POD_SUBRESOURCES)
    return [
        main,
        *(
            {
                "name": f"{kind.plural}/{sub}",
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": verbs,
            }
            for sub, verbs in subresources.items()
        ),
    ]
