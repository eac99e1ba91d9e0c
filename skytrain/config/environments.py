"""The platform team's environments file: what 'staging' means for Marathon, Kubernetes and the mesh.

It never holds credentials; those come from the process environment or kubeconfig.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from skytrain.config import collisions, schemas
from skytrain.config.containment import resolves_inside
from skytrain.config.yamlfile import YamlDocument, parse_yaml, read_text
from skytrain.errors import ConfigError, ConfigErrors, UsageError
from skytrain.secret_shapes import SECRET_NAME

ENV_VAR = "SKYTRAIN_ENVIRONMENTS"
FILE_NAME = "skytrain-environments.yml"
SYSTEM_PATH = Path("/etc/skytrain/environments.yml")
DEFAULT_MARATHON_VERSION = "1.7"
DEFAULT_KUBERNETES_VERSION = "1.33"


@dataclass(frozen=True)
class MarathonCluster:
    url: str
    version: str = DEFAULT_MARATHON_VERSION
    # the Marathon group the environment's apps live in ("/staging"); "" is the root. It lets
    # environments share one Marathon without writing each other's apps (see collisions.py)
    group: str = ""

    @property
    def legacy_networking(self) -> bool:
        """Marathon 1.4 and older only know the pre-`networks` app form."""
        return int(self.version.split(".")[1]) < 5


@dataclass(frozen=True)
class KubernetesCluster:
    context: str | None = None
    namespace: str = "default"
    version: str = DEFAULT_KUBERNETES_VERSION


@dataclass(frozen=True)
class Mesh:
    mesos_agents: tuple[str, ...] = ()
    kubernetes_workers: tuple[str, ...] = ()
    sdb_hosts: tuple[str, ...] = ()
    consul: str | None = None  # the Consul HTTP API holding the canary shares (docs/migration.md)


@dataclass(frozen=True)
class Environment:
    name: str
    marathon: MarathonCluster | None = None
    kubernetes: KubernetesCluster | None = None
    mesh: Mesh = Mesh()
    description: str = ""


@dataclass(frozen=True)
class Environments:
    file: str
    by_name: Mapping[str, Environment]
    # process environment variables templates may read besides the default build variables
    template_variables: tuple[str, ...] = ()
    # the folder of the fleet's service repositories (`fleet:`), resolved from the file's folder
    fleet: Path | None = None

    def __getitem__(self, name: str) -> Environment:
        return self.by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def names(self) -> list[str]:
        return list(self.by_name)


def find_environments_file(
    explicit: str | None, start: Path, environ: Mapping[str, str] = os.environ
) -> Path:
    """--environments, then $SKYTRAIN_ENVIRONMENTS, then skytrain-environments.yml in the
    service directory or any parent (a fleet checkout), then /etc/skytrain/environments.yml."""
    if explicit:
        chosen = Path(explicit)
    elif environ.get(ENV_VAR):
        chosen = Path(environ[ENV_VAR])
    else:
        service = start.resolve()
        for folder in [service, *service.parents]:
            candidate = folder / FILE_NAME
            if folder == service and not resolves_inside(candidate, service):
                raise UsageError(
                    f"{start / FILE_NAME} is a link to a place outside the service directory; skytrain "
                    "reads only files inside it, so replace the link with the file itself"
                )
            if candidate.is_file():
                return candidate
        chosen = SYSTEM_PATH
        if not chosen.is_file():
            raise UsageError(
                f"no environments file: pass --environments FILE, set ${ENV_VAR}, or put {FILE_NAME} "
                f"in the service directory or a parent (the platform team owns it)"
            )
    if not chosen.is_file():
        raise UsageError(f"the environments file {chosen} does not exist")
    return chosen


def found_in_checkout(explicit: str | None, path: Path, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether `path` was found by walking up from the service: then it lies in the checkout,
    where a pull request can write it, rather than where the CI or the platform put it."""
    return not explicit and not environ.get(ENV_VAR) and path != SYSTEM_PATH


def load_environments(path: Path, in_checkout: bool = False) -> Environments:
    """The file's environments. Every service of a fleet names the same file: it is read each
    time, but parsed and checked once per content.

    A file found in the checkout (`in_checkout`) may not widen what templates read: in a
    pull-request build its author could list a CI secret's name under templateVariables and
    have the value rendered into the diff posted on the pull request."""
    display = _display(path)
    environments = _parse_environments(display, read_text(path, display))
    if environments.fleet is not None:
        environments = _with_fleet(environments, environments.fleet, path, in_checkout)
    if in_checkout and environments.template_variables:
        document = parse_yaml(read_text(path, display), display)
        raise ConfigErrors(
            [
                ConfigError(
                    document.positions.of_key(("templateVariables",)),
                    "templateVariables",
                    "templateVariables is read only from an environments file the CI names (--environments, "
                    f"${ENV_VAR} or {SYSTEM_PATH}); this one was found next to the service, where a pull "
                    "request can change it. Name it explicitly, or give the variables with --set NAME=VALUE",
                )
            ]
        )
    return environments


@lru_cache(maxsize=8)
def _parse_environments(display: str, text: str) -> Environments:
    document = parse_yaml(text, display)
    errors = schemas.check(document, schemas.ENVIRONMENTS)
    errors += _secret_variable_names(document)
    if errors:
        raise ConfigErrors(errors)
    by_name = {name: _environment(name, raw or {}) for name, raw in document.data["environments"].items()}
    errors = collisions.shared_schedulers(by_name, document.positions)
    if errors:
        raise ConfigErrors(errors)
    fleet = document.data.get("fleet")
    return Environments(
        document.file,
        by_name,
        tuple(document.data.get("templateVariables") or ()),
        Path(fleet) if fleet is not None else None,
    )


def _with_fleet(environments: Environments, written: Path, path: Path, in_checkout: bool) -> Environments:
    """`fleet:` made absolute from the file's folder. In a file found in the checkout it must
    stay inside that folder: a pull request that can change the file must not point skytrain
    at folders elsewhere on the agent."""
    folder = path.resolve().parent
    fleet = (folder / written).resolve()
    if in_checkout and not fleet.is_relative_to(folder):
        document = parse_yaml(read_text(path, environments.file), environments.file)
        raise ConfigErrors(
            [
                ConfigError(
                    document.positions.of_value(("fleet",)),
                    "fleet",
                    f"{written} lies outside {folder}; this file was found next to the service, where "
                    f"a pull request can change it, so its fleet must be inside its folder (or name the file "
                    f"with --environments or ${ENV_VAR})",
                )
            ]
        )
    return dataclasses.replace(environments, fleet=fleet)


def _secret_variable_names(document: YamlDocument) -> list[ConfigError]:
    """A template variable named like a secret would hand that secret to whoever writes a
    service's files: refused here, where the platform declares it."""
    names = document.data.get("templateVariables") if isinstance(document.data, dict) else None
    return [
        ConfigError(
            document.positions.of_value(("templateVariables", index)),
            f"templateVariables[{index}]",
            f"{name} is named like a secret; a template variable's value can end up in any rendered object "
            "and diff, so secrets are never template variables (services reference them under secrets:)",
        )
        for index, name in enumerate(names if isinstance(names, list) else [])
        if isinstance(name, str) and SECRET_NAME.search(name)
    ]


def _environment(name: str, raw: dict) -> Environment:
    marathon = raw.get("marathon")
    kubernetes = raw.get("kubernetes")
    mesh = raw.get("mesh") or {}
    return Environment(
        name=name,
        description=raw.get("description", ""),
        marathon=MarathonCluster(
            marathon["url"], marathon.get("version", DEFAULT_MARATHON_VERSION), marathon.get("group", "")
        )
        if marathon
        else None,
        kubernetes=KubernetesCluster(
            kubernetes.get("context"),
            kubernetes.get("namespace", "default"),
            kubernetes.get("version", DEFAULT_KUBERNETES_VERSION),
        )
        if kubernetes is not None
        else None,
        mesh=Mesh(
            tuple(mesh.get("mesosAgents", ())),
            tuple(mesh.get("kubernetesWorkers", ())),
            tuple(mesh.get("sdbHosts", ())),
            mesh.get("consul"),
        ),
    )


def _display(path: Path) -> str:
    """Paths in messages are relative to where the user stands, when that is shorter."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
