"""Two environments never write one object.

Environments whose entries point at the same Marathon with the same group, or at the same
Kubernetes cluster and namespace, would deploy to the same app: a deploy to one replaces
the other's app and its release history, and `status` of one shows the other's tasks.
This is checked where it can be seen: the environments file when it is read, and a
service's files when they move a service into a namespace of their own.

What "the same" means, without any I/O (the pure path never resolves a name):
- Marathon: the same host and port (the scheme is ignored, and a default port, 80 or 443,
  is the same as none) and the same base path (trailing slashes ignored), and the same
  `marathon.group`. Two host names for one server (an alias, an IP) are not detected.
- Kubernetes: the same kube context name, and the same namespace. No context means "the
  cluster skytrain runs in (in-cluster config), else the kubeconfig's current context":
  the same cluster for every environment that names none. Two context names for one
  cluster, or a context that is also the current one, are not detected: that would need
  the kubeconfig of the machine that deploys, which the pure path never reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from skytrain.config.yamlfile import Positions, YamlDocument, YamlPath
from skytrain.errors import ConfigError, field_path

if TYPE_CHECKING:
    from skytrain.config.environments import Environment, KubernetesCluster, MarathonCluster
    from skytrain.config.model import App

DEFAULT_PORTS = frozenset({80, 443})
NAMESPACE_FIELD = ("routing", "namespace")


def marathon_address(url: str) -> str:
    """One spelling per Marathon: `HTTP://Marathon:80/` and `http://marathon` are the same."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a number: the schema lets it through, Marathon never will
        return parts.netloc.lower() + parts.path.rstrip("/")
    host = (parts.hostname or "").rstrip(".")
    where = host if port is None or port in DEFAULT_PORTS else f"{host}:{port}"
    return where + parts.path.rstrip("/")


def marathon_home(cluster: MarathonCluster) -> tuple[str, str]:
    """Where an environment's Marathon apps live: the server and the group."""
    return marathon_address(cluster.url), cluster.group


def kubernetes_home(cluster: KubernetesCluster, namespace: str) -> tuple[str | None, str]:
    """Where objects in `namespace` live: the context (None: in-cluster or current) and the namespace."""
    return cluster.context, namespace


def shared_schedulers(by_name: Mapping[str, Environment], positions: Positions) -> list[ConfigError]:
    """Environments (in file order) that would write the apps or objects of an earlier one,
    reported at the later one's entry, naming both."""
    errors = []
    marathons: dict[tuple[str, str], tuple[str, MarathonCluster]] = {}
    clusters: dict[tuple[str | None, str], str] = {}
    for name, environment in by_name.items():
        if environment.marathon is not None:
            first = marathons.setdefault(marathon_home(environment.marathon), (name, environment.marathon))
            if first[0] != name:
                errors.append(_marathon_clash(*first, name, environment.marathon, positions))
        if environment.kubernetes is not None:
            where = kubernetes_home(environment.kubernetes, environment.kubernetes.namespace)
            first = clusters.setdefault(where, name)
            if first != name:
                errors.append(_kubernetes_clash(first, name, where, positions))
    return errors


def _marathon_clash(
    first: str, used: MarathonCluster, later: str, cluster: MarathonCluster, positions: Positions
) -> ConfigError:
    path: YamlPath = ("environments", later, "marathon", "group" if cluster.group else "url")
    same = "" if used.url == cluster.url else f" (the same server as {used.url})"
    where = f"group {cluster.group}" if cluster.group else "no group"
    return ConfigError(
        positions.of_value(path),
        field_path(path),
        f"'{later}' and '{first}' would write the same Marathon apps: both deploy to the Marathon at "
        f"{cluster.url}{same} with {where}, so a deploy to one replaces the other's app and its version "
        f"history; give '{later}' a group of its own (marathon.group: /{later}) or its own Marathon",
    )


def _kubernetes_clash(
    first: str, later: str, where: tuple[str | None, str], positions: Positions
) -> ConfigError:
    path: YamlPath = ("environments", later, "kubernetes", "namespace")
    return ConfigError(
        positions.of_value(path),
        field_path(path),
        f"'{later}' and '{first}' would write the same Kubernetes objects: both deploy to namespace "
        f"'{where[1]}' of {_describe_cluster(where[0])}, so a deploy to one replaces the other's Deployment "
        f"and release history; give '{later}' a namespace of its own",
    )


def _describe_cluster(context: str | None) -> str:
    if context is None:
        return "the cluster reached without a context (in-cluster config, else kubeconfig's current context)"
    return f"kube context '{context}'"


def shared_namespaces(apps: Mapping[str, App]) -> list[ConfigError]:
    """A service whose `routing.namespace` puts two of its environments into one namespace of
    one cluster (each environment's own namespace is already distinct: shared_schedulers)."""
    errors = []
    seen: dict[tuple[str | None, str], App] = {}
    for app in apps.values():
        cluster = app.environment.kubernetes
        if cluster is None or not app.runs_on("kubernetes"):
            continue
        where = kubernetes_home(cluster, app.namespace)
        first = seen.setdefault(where, app)
        if first is app:
            continue
        # at least one of the two wrote routing.namespace; point at that line, the later's if both did
        blamed, other = (app, first) if _sets_namespace(app) or not _sets_namespace(first) else (first, app)
        errors.append(
            ConfigError(
                blamed.location_of(NAMESPACE_FIELD),
                field_path(NAMESPACE_FIELD),
                f"environments '{blamed.environment.name}' and '{other.environment.name}' would write the same "
                f"Kubernetes objects: both put {app.name} in namespace '{app.namespace}' of "
                f"{_describe_cluster(where[0])}, so a deploy to one replaces the other's Deployment and release "
                f"history; set routing.namespace per environment (in deploy/<env>.yml), or leave it out so each "
                f"environment uses its own namespace",
            )
        )
    return errors


def _sets_namespace(app: App) -> bool:
    return app.positions is not None and NAMESPACE_FIELD in app.positions.values


def may_share_namespaces(documents: Iterable[YamlDocument]) -> bool:
    """Only a routing.namespace written in the service's files can make two of its environments
    meet (their own namespaces differ); without one there is nothing to compare."""
    return any(
        isinstance(d.data, dict)
        and isinstance(d.data.get("routing"), dict)
        and "namespace" in d.data["routing"]
        for d in documents
    )
