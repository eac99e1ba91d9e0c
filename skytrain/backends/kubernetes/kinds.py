"""Where each kind skytrain touches lives in the Kubernetes REST API.

A small table instead of discovery: every kind here is a stable built-in, and asking the
server (discovery costs a dozen requests) for what has not moved since 1.21 would triple
the requests of a deploy. The emulator serves the same table, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    # whether the server bumps metadata.generation on a spec change (workload controllers)
    generation: bool = False
    # whether `status` is a subresource (a write to the object itself leaves it alone)
    status: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The REST path, e.g. /apis/apps/v1/namespaces/default/deployments/giphy/status."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [base]
        if self.namespaced and namespace is not None:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
        if subresource is not None:
            parts.append(subresource)
        return "/".join(parts)


KINDS: tuple[Kind, ...] = (
    Kind("Namespace", "", "v1", "namespaces", namespaced=False, status=True),
    Kind("ConfigMap", "", "v1", "configmaps"),
    Kind("Secret", "", "v1", "secrets"),
    Kind("ServiceAccount", "", "v1", "serviceaccounts"),
    Kind("Service", "", "v1", "services", status=True),
    Kind("Pod", "", "v1", "pods", status=True),
    Kind("Event", "", "v1", "events"),
    Kind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"),
    Kind("Deployment", "apps", "v1", "deployments", generation=True, status=True),
    Kind("ReplicaSet", "apps", "v1", "replicasets", generation=True, status=True),
    Kind("DaemonSet", "apps", "v1", "daemonsets", generation=True, status=True),  # the Skyline bridge
    Kind("Lease", "coordination.k8s.io", "v1", "leases"),
)

BY_KIND: dict[str, Kind] = {k.kind: k for k in KINDS}
BY_RESOURCE: dict[tuple[str, str, str], Kind] = {(k.group, k.version, k.plural): k for k in KINDS}


def kind_of(name: str) -> Kind:
    try:
        return BY_KIND[name]
    except KeyError:
        raise ValueError(
            f"skytrain does not know where the kind {name!r} lives in the Kubernetes API; "
            f"it knows {', '.join(sorted(BY_KIND))}"
        ) from None
