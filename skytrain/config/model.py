"""The App model: one service in one environment, typed, immutable, scheduler-neutral.

Built only from a document that passed the schema and the semantic checks, so every
renderer can trust it without checking again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from skytrain.config.environments import Environment
from skytrain.config.yamlfile import Positions
from skytrain.errors import Location

SCHEDULERS = ("marathon", "kubernetes")
SKYLINE_PORT = 5040
SERVICE_PORT = 8080


def schedulers_of(scheduler: str) -> tuple[str, ...]:
    """The schedulers an application.yml `scheduler:` value means ('both' while migrating)."""
    return SCHEDULERS if scheduler == "both" else (scheduler,)


def frozen(value: Any) -> Any:
    """Deep read-only copy of plain data, so a renderer cannot mutate the model by accident."""
    if isinstance(value, dict):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """A mutable deep copy of frozen data, for renderers building their output."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thawed(v) for v in value]
    return value


@dataclass(frozen=True)
class Maintainer:
    name: str
    email: str


@dataclass(frozen=True)
class Resources:
    cpu: float
    memory_mib: int


MAIN_PORT_NAME = "http"


@dataclass(frozen=True)
class Port:
    """A port the container listens on besides the main one (`port`, named MAIN_PORT_NAME)."""

    name: str
    number: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class HealthCheck:
    """An HTTP GET of `path`, or (`tcp`) a TCP connection, or a `command` run by a shell, on
    the port named `port`. Exactly one of path, tcp and command is set (the schema and the
    checks see to it)."""

    path: str | None = None
    grace_period_seconds: int = 60
    interval_seconds: int = 10
    timeout_seconds: int = 5
    consecutive_failures: int = 3
    tcp: bool = False
    command: str | None = None
    port: str = MAIN_PORT_NAME


@dataclass(frozen=True)
class ReadinessCheck:
    """When a new copy may take traffic (Marathon readinessChecks, Kubernetes readinessProbe)."""

    path: str
    port: str = MAIN_PORT_NAME
    interval_seconds: int = 30
    timeout_seconds: int = 10


@dataclass(frozen=True)
class Constraint:
    """Marathon's placement constraint, limited to the operators Kubernetes can express."""

    attribute: str
    operator: str
    value: str | None = None


@dataclass(frozen=True)
class SecretRef:
    env_name: str
    secret: str
    key: str


@dataclass(frozen=True)
class Dependency:
    """Another service this one calls. Its URL lands in `env_name` (<NAME>_URL unless the
    service reads another variable), with `path` after the service's root: the sub-path a
    caller uses keeps working when either side moves between schedulers."""

    name: str
    namespace: str
    env: str | None = None
    path: str = "/"

    @property
    def env_name(self) -> str:
        return self.env or self.name.upper().replace("-", "_") + "_URL"

    def skyline_url(self) -> str:
        return f"http://localhost:{SKYLINE_PORT}/service/{self.name}{self.path}"

    def cluster_url(self) -> str:
        return f"http://{self.name}.{self.namespace}.svc.cluster.local:{SERVICE_PORT}{self.path}"


@dataclass(frozen=True)
class DeployStrategy:
    minimum_healthy_capacity: float = 1.0
    maximum_over_capacity: float = 0.25
    gate_timeout_seconds: int = 300
    rollback_on_failure: bool = True


@dataclass(frozen=True)
class MigrationSettings:
    """How `skytrain migrate cutover` moves the service (application.yml `migration:`)."""

    canary_steps: tuple[int, ...] = (5, 25, 50, 100)
    soak_seconds: float = 60.0
    probe_path: str | None = None  # None: the health check's path, else "/"
    probe_rate: float = 20.0
    max_error_rate_increase: float = 0.01
    max_latency_increase_ms: float = 100.0


@dataclass(frozen=True)
class PipelineStageSpec:
    """One stage as application.yml's `pipeline:` writes it; None means "the default"."""

    environment: str
    targets: tuple[str, ...] | None = None
    approval: bool | None = None
    gate_timeout_seconds: int | None = None
    rollback_on_failure: bool | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """The service's own pipeline (application.yml `pipeline:`); skytrain.pipeline resolves it."""

    stages: tuple[PipelineStageSpec, ...]


@dataclass(frozen=True)
class App:
    name: str
    environment: Environment
    image: str
    schedulers: tuple[str, ...]
    port: int
    ports: tuple[Port, ...] = ()
    replicas: int = 1
    resources: Resources = Resources(0.1, 128)
    name_nice: str = ""
    description: str = ""
    maintainers: tuple[Maintainer, ...] = ()
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    secrets: tuple[SecretRef, ...] = ()
    health_check: HealthCheck | None = None
    readiness_check: ReadinessCheck | None = None
    always_pull_image: bool = False
    stop_grace_period_seconds: int | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    constraints: tuple[Constraint, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    mesh: bool = True
    namespace: str = "default"
    deploy: DeployStrategy = DeployStrategy()
    migration: MigrationSettings = MigrationSettings()
    marathon_overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    kubernetes_overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    pipeline: PipelineSpec | None = None  # None: the default pipeline
    # where each escape hatch was written, so a schema failure they cause is reported there
    origins: Mapping[str, Location] = field(default_factory=lambda: MappingProxyType({}))
    # where every field of the merged config was written, so a scheduler's refusal of a
    # rendered field can be reported at the line in application.yml or the overlay
    positions: Positions | None = field(default=None, compare=False, repr=False)

    def location_of(self, path: tuple[str | int, ...]) -> Location:
        """The file:line:col of a config field (or of its nearest written parent)."""
        if self.positions is None:
            return self.origins["(top level)"]
        return self.positions.of_value(path)

    def runs_on(self, scheduler: str) -> bool:
        return scheduler in self.schedulers

    @property
    def secret_env_names(self) -> frozenset[str]:
        return frozenset(s.env_name for s in self.secrets)

    def port_index(self, name: str) -> int:
        """The position of the port called `name` (0: the main port), as Marathon counts them."""
        names = [MAIN_PORT_NAME, *(p.name for p in self.ports)]
        return names.index(name)
