"""The routing model: which service is reachable where, built from one environment's fleet.

Pure data, validated once: the renderers (NGINX templates, bridge manifests) trust it.
Where a service runs comes from its files (`scheduler`, `replicas`, `routing.mesh`);
`mesos_nodes` lets a caller that knows better (a live view of Marathon, or a test) say
on which Mesos agents a service has healthy tasks right now, which is what decides
whether the SDB routes it to Mesos or lets it fall through to Kubernetes.

Between Skyline NGINXes every request keeps its Skyline URL (`/service/<name>/<path>`):
the SDB sends it to the destination NGINX (:5041) of a Mesos agent, or to the
skyline-bridge (:5041) of a Kubernetes worker, and only that last hop turns it into
the app's own path. This is what lets the Kubernetes workers be the backup servers of
every Mesos upstream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from skytrain.config.environments import DEFAULT_KUBERNETES_VERSION, Environment
from skytrain.config.model import SERVICE_PORT, SKYLINE_PORT, App
from skytrain.errors import ConfigErrors, Location
from skytrain.render.routing.canary import share_key
from skytrain.render.routing.validate import DOMAIN, IMAGE, NAME, NAMESPACE, USER, WORKERS, Checker

BRIDGE_PORT = 5041  # skyline-bridge on Kubernetes workers, and the destination NGINX on Mesos agents
SDB_PORT = SKYLINE_PORT  # the SDB speaks Skyline URLs, on the Skyline port
CLUSTER_DOMAIN = "svc.cluster.local"
DEFAULT_CLUSTER_DNS = "10.96.0.10"  # kube-dns's ClusterIP in kubeadm, kind and minikube clusters
BRIDGE_IMAGE = "nginx:1.27"
BRIDGE_NAME = "skyline-bridge"
ROLES = ("local", "sdb", "bridge")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Paths:
    """Where each NGINX keeps its pid file, temp files and access log.

    The defaults are the production ones (Debian's nginx package creates /var/lib/nginx;
    the bridge DaemonSet mounts an emptyDir there). `under(prefix)` puts everything in
    one folder, so an unprivileged user can run `nginx -t` or a whole test mesh.
    """

    pid_dir: str = "/run"
    temp_dir: str = "/var/lib/nginx"
    access_log: str = "/dev/stdout"
    user: str | None = None  # `user` directive; only meaningful when the master runs as root

    @classmethod
    def under(cls, prefix: str, user: str | None = None) -> Paths:
        return cls(pid_dir=prefix, temp_dir=prefix, access_log="off", user=user)


@dataclass(frozen=True)
class RoutingSettings:
    """How the mesh is placed. Production defaults; tests move everything to 127.0.0.1."""

    local_listen: str = str(SKYLINE_PORT)
    sdb_listen: str = str(SDB_PORT)
    bridge_listen: str = str(BRIDGE_PORT)
    cluster_dns: str = DEFAULT_CLUSTER_DNS
    cluster_domain: str = CLUSTER_DOMAIN
    bridge_image: str = BRIDGE_IMAGE
    worker_processes: str = "auto"  # one per CPU in production; tests pin it
    paths: Paths = Paths()
    # service name -> host:port to use instead of <name>.<ns>.svc.cluster.local:8080 (tests)
    service_addresses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "skytrain routes"  # where these settings came from, for error messages


@dataclass(frozen=True)
class Route:
    """One mesh service and where it can be reached."""

    name: str
    namespace: str
    marathon: bool  # the files place it on Marathon
    kubernetes: bool  # the files place it on Kubernetes
    mesos_upstreams: tuple[Endpoint, ...]  # destination NGINX of agents with healthy tasks
    cluster_address: str  # where the bridge sends it inside Kubernetes
    share: int = 0  # canary: percent of its requests the SDB sends to Kubernetes first (Mesos backs them)
    share_key: str = ""  # where consul-template reads that share (render/routing/canary.py)

    @property
    def on_mesos(self) -> bool:
        """Healthy on Mesos: the SDB gives it a location ahead of the Kubernetes catch-all."""
        return bool(self.mesos_upstreams)

    @property
    def mesos_resident(self) -> bool:
        """Lives only on Mesos: Kubernetes callers reach it through the bridge's egress."""
        return self.marathon and not self.kubernetes

    @property
    def upstream(self) -> str:
        return "skyline_mesos_" + self.variable

    @property
    def variable(self) -> str:
        """The name as NGINX variable and upstream names allow it (no dashes)."""
        return self.name.replace("-", "_")

    def server_names(self, cluster_domain: str) -> tuple[str, ...]:
        return (self.name, f"{self.name}.{self.namespace}", f"{self.name}.{self.namespace}.{cluster_domain}")


@dataclass(frozen=True)
class RoutingModel:
    environment: str
    namespace: str  # where the skyline-bridge DaemonSet runs
    kubernetes_version: str
    routes: tuple[Route, ...]
    sdb_hosts: tuple[Endpoint, ...]
    kubernetes_workers: tuple[Endpoint, ...]
    settings: RoutingSettings

    @property
    def mesos_routes(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.on_mesos)

    @property
    def marathon_routes(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.marathon)

    @property
    def canary_routes(self) -> tuple[Route, ...]:
        """Services whose requests the SDB partly sends to Kubernetes first."""
        return tuple(r for r in self.routes if r.marathon and r.share)

    @property
    def kubernetes_routes(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.kubernetes)

    @property
    def resident_routes(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.mesos_resident)


def build_routing(
    apps: Iterable[App],
    environment: Environment,
    settings: RoutingSettings | None = None,
    mesos_nodes: Mapping[str, Sequence[str]] | None = None,
    source: str = "environments file",
    shares: Mapping[str, int] | None = None,
) -> RoutingModel:
    """The routing model of one environment; every refused value of every input at once.
    `shares` are the canary shares of services migrating (docs/migration.md), by name."""
    settings = settings or RoutingSettings()
    mesos_nodes = mesos_nodes or {}
    shares = shares or {}
    check = Checker()
    env_where = Location(source, 1, 1)
    check.match(NAME, environment.name, env_where, "environments", "an environment name such as 'staging'")
    mesh_field = f"environments.{environment.name}.mesh"
    mesh = environment.mesh
    agents = _endpoints(check, mesh.mesos_agents, BRIDGE_PORT, env_where, f"{mesh_field}.mesosAgents")
    workers = _endpoints(
        check, mesh.kubernetes_workers, BRIDGE_PORT, env_where, f"{mesh_field}.kubernetesWorkers"
    )
    sdb_hosts = _endpoints(check, mesh.sdb_hosts, SDB_PORT, env_where, f"{mesh_field}.sdbHosts")
    for nodes, key, what in (
        (sdb_hosts, "sdbHosts", "the local proxies"),
        (workers, "kubernetesWorkers", "the SDB"),
    ):
        if not nodes:
            check.refuse(
                env_where,
                f"{mesh_field}.{key}",
                f"environment '{environment.name}' lists no {key}; {what} need at least one to send requests to",
            )
    _check_settings(check, settings)
    routes = []
    seen: dict[str, App] = {}
    for app in sorted((a for a in apps if a.mesh), key=lambda a: a.name):
        if app.name in seen:
            check.refuse(
                app.location_of(("name",)), "name", f"two services of the fleet are both named {app.name!r}"
            )
            continue
        seen[app.name] = app
        route = _route(check, app, settings, agents, mesos_nodes)
        if route is not None:
            routes.append(_with_share(check, route, environment.name, shares, settings.source))
    for name in sorted(set(mesos_nodes) - set(seen)):
        check.refuse(
            Location(settings.source, 1, 1),
            "mesos_nodes",
            f"{name!r} has Mesos nodes but no service files in the fleet",
        )
    for name in sorted(set(shares) - {r.name for r in routes if r.marathon}):
        check.refuse(
            Location(settings.source, 1, 1),
            "shares",
            f"{name!r} has a canary share, but the fleet's files place no such service on Marathon; "
            f"`skytrain migrate fallback` or `finish` removes it",
        )
    if not agents and any(r.marathon and r.name not in mesos_nodes for r in routes):
        check.refuse(
            env_where,
            f"{mesh_field}.mesosAgents",
            f"environment '{environment.name}' lists no mesosAgents, but services run on Marathon there",
        )
    kubernetes = environment.kubernetes
    namespace = kubernetes.namespace if kubernetes else "default"
    check.match(
        NAMESPACE,
        namespace,
        env_where,
        f"environments.{environment.name}.kubernetes.namespace",
        "a DNS label",
    )
    if check.errors:
        raise ConfigErrors(check.errors)
    return RoutingModel(
        environment=environment.name,
        namespace=namespace,
        kubernetes_version=kubernetes.version if kubernetes else DEFAULT_KUBERNETES_VERSION,
        routes=tuple(routes),
        sdb_hosts=sdb_hosts,
        kubernetes_workers=workers,
        settings=settings,
    )


def _endpoints(
    check: Checker, hosts: Iterable[str], default_port: int, where: Location, field: str
) -> tuple[Endpoint, ...]:
    out = []
    for i, text in enumerate(hosts):
        parsed = check.host_port(text, default_port, where, f"{field}[{i}]")
        if parsed:
            out.append(Endpoint(*parsed))
    return tuple(out)


def _check_settings(check: Checker, settings: RoutingSettings) -> None:
    where = Location(settings.source, 1, 1)
    for role in ROLES:
        check.listen(getattr(settings, f"{role}_listen"), where, f"{role}_listen")
    check.host_port(settings.cluster_dns, 53, where, "cluster_dns")
    check.match(
        DOMAIN, settings.cluster_domain, where, "cluster_domain", "a DNS domain such as svc.cluster.local"
    )
    check.match(
        IMAGE, settings.bridge_image, where, "bridge_image", "a container image reference such as nginx:1.27"
    )
    check.match(
        WORKERS, settings.worker_processes, where, "worker_processes", "'auto' or a number from 1 to 64"
    )
    paths = settings.paths
    check.path(paths.pid_dir, where, "paths.pid_dir")
    check.path(paths.temp_dir, where, "paths.temp_dir")
    if paths.access_log != "off":
        check.path(paths.access_log, where, "paths.access_log")
    if paths.user is not None:
        check.match(USER, paths.user, where, "paths.user", "a Unix user name")
    for name, address in sorted(settings.service_addresses.items()):
        check.match(NAME, name, where, "service_addresses", "a service name")
        check.host_port(address, SERVICE_PORT, where, f"service_addresses.{name}")


def _with_share(
    check: Checker, route: Route, environment: str, shares: Mapping[str, int], source: str
) -> Route:
    share = shares.get(route.name, 0)
    if not (isinstance(share, int) and not isinstance(share, bool) and 0 <= share <= 100):
        check.refuse(
            Location(source, 1, 1), f"shares.{route.name}", f"{share!r} is not a share from 0 to 100"
        )
        share = 0
    return dataclasses.replace(route, share=share, share_key=share_key(environment, route.name))


def _route(
    check: Checker,
    app: App,
    settings: RoutingSettings,
    agents: tuple[Endpoint, ...],
    mesos_nodes: Mapping[str, Sequence[str]],
) -> Route | None:
    ok = check.match(NAME, app.name, app.location_of(("name",)), "name", "a DNS-1035 label such as 'giphy'")
    ok &= check.match(
        NAMESPACE,
        app.namespace,
        app.location_of(("routing", "namespace")),
        "routing.namespace",
        "a DNS label",
    )
    if not ok:
        return None
    marathon = app.runs_on("marathon")
    if app.name in mesos_nodes:
        where = Location(settings.source, 1, 1)
        upstreams = _endpoints(check, mesos_nodes[app.name], BRIDGE_PORT, where, f"mesos_nodes.{app.name}")
    else:
        # from the files alone: any agent may run a task, its destination NGINX knows
        upstreams = agents if marathon and app.replicas > 0 else ()
    address = settings.service_addresses.get(
        app.name, f"{app.name}.{app.namespace}.{settings.cluster_domain}:{SERVICE_PORT}"
    )
    return Route(app.name, app.namespace, marathon, app.runs_on("kubernetes"), upstreams, address)
