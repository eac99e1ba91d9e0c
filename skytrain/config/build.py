"""From a service's files to one validated App per environment.

load → merge overlay → interpolate → schema → semantic checks → App, collecting every
error of every environment before giving up, so one run shows them all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from skytrain.config import checks, collisions, schemas
from skytrain.config.containment import resolves_inside
from skytrain.config.environments import Environment, Environments
from skytrain.config.interpolate import interpolate
from skytrain.config.limits import Limits
from skytrain.config.limits import current as current_limits
from skytrain.config.merge import merge_documents
from skytrain.config.model import (
    MAIN_PORT_NAME,
    App,
    Constraint,
    Dependency,
    DeployStrategy,
    HealthCheck,
    Maintainer,
    MigrationSettings,
    PipelineSpec,
    PipelineStageSpec,
    Port,
    ReadinessCheck,
    Resources,
    SecretRef,
    frozen,
    schedulers_of,
)
from skytrain.config.variables import TemplateVariables, template_variables
from skytrain.config.yamlfile import Positions, YamlDocument, parse_yaml, read_text
from skytrain.errors import ConfigError, ConfigErrors, Location, UsageError

BASE_FILE = "application.yml"
DEPLOY_DIR = "deploy"


@dataclass(frozen=True)
class ServiceFiles:
    """A service's deploy/ folder, parsed: the base and one overlay per environment."""

    directory: str
    base: YamlDocument
    overlays: Mapping[str, YamlDocument]
    # each file's text by the name messages give it, for the allow-list comment of a false positive
    sources: Mapping[str, str] = field(default_factory=dict)

    def overlay_names(self) -> list[str]:
        return sorted(self.overlays)


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _deploy_prefix(directory: str) -> str:
    """How messages name the deploy folder: `deploy` when the user stands in the service."""
    return f"{directory}/{DEPLOY_DIR}" if directory not in ("", ".") else DEPLOY_DIR


def parse_service(directory: str, texts: Mapping[str, str], limits: Limits | None = None) -> ServiceFiles:
    """Parse deploy/ contents given as {file name: text}: from disk, or from a git ref."""
    limits = limits or current_limits()
    prefix = _deploy_prefix(directory)
    base_name = f"{prefix}/{BASE_FILE}"
    errors: list[ConfigError] = []
    if BASE_FILE not in texts:
        raise ConfigErrors(
            [
                ConfigError(
                    Location(base_name, 1, 1),
                    "(top level)",
                    f"missing base file: every service needs {DEPLOY_DIR}/{BASE_FILE} with at least "
                    "name, image, scheduler and port (overlays alone are not enough)",
                )
            ]
        )
    documents: dict[str, YamlDocument] = {}
    for file_name, text in sorted(texts.items()):
        try:
            documents[file_name] = parse_yaml(text, f"{prefix}/{file_name}", limits)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    for file_name, document in documents.items():
        if document.data is not None and not isinstance(document.data, dict):
            where = document.positions.of_value(())
            errors.append(
                ConfigError(
                    where, "(top level)", "this file must be a mapping of fields (name: ..., image: ...)"
                )
            )
        elif document.data is None and file_name == BASE_FILE:
            errors.append(ConfigError(Location(document.file, 1, 1), "(top level)", "the base file is empty"))
    if errors:
        raise ConfigErrors(errors)
    base = documents.pop(BASE_FILE)
    overlays = {name.rsplit(".", 1)[0]: doc for name, doc in documents.items()}
    sources = {f"{prefix}/{file_name}": text for file_name, text in texts.items()}
    return ServiceFiles(directory, base, overlays, sources)


def read_service(directory: Path) -> ServiceFiles:
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory; give the path of a service repository")
    deploy = directory / DEPLOY_DIR
    shown = display_path(directory)
    prefix = _deploy_prefix(shown)
    if not resolves_inside(deploy, directory):
        raise UsageError(
            f"{prefix} is a link to a folder outside the service directory ({shown}); skytrain reads a service's files only from "
            "inside its directory, so replace the link with the folder itself"
        )
    texts: dict[str, str] = {}
    errors: list[ConfigError] = []
    limits = current_limits()
    for path in sorted(deploy.glob("*.y*ml")):
        if path.name.startswith("."):  # editor swap and lock files
            continue
        where = f"{prefix}/{path.name}"
        if not resolves_inside(path, directory):  # refused before anything follows the link
            errors.append(
                ConfigError(
                    Location(where, 1, 1),
                    "(top level)",
                    f"this file is a link to a place outside the service directory ({shown}); skytrain reads "
                    "only files inside it, so replace the link with the file itself",
                )
            )
            continue
        if not path.is_file():
            continue
        if path.suffix != ".yml":
            errors.append(
                ConfigError(
                    Location(where, 1, 1),
                    "(top level)",
                    f"skytrain reads only .yml files, so this file would be ignored; rename it to {path.stem}.yml",
                )
            )
            continue
        try:
            texts[path.name] = read_text(path, where, limits)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigErrors(errors)
    return parse_service(shown, texts, limits)


def build_apps(
    files: ServiceFiles,
    environments: Environments,
    only: list[str] | None = None,
    variables: TemplateVariables | None = None,
    each_file: bool = True,
) -> dict[str, App]:
    """One App per environment (all overlays present, or `only` those); every error at once.
    Templates read `variables` (default: those of this process's environment and no --set).
    `each_file`: also check each file on its own (see _each_file)."""
    variables = template_variables(environments) if variables is None else variables
    errors: list[ConfigError] = _unknown_environments(files, environments) + _service_wide_fields(files)
    names = files.overlay_names()
    if each_file:
        errors += _each_file(
            files, [name for name in only or names if name in files.overlays and name in environments]
        )
    if not names:
        errors.append(
            ConfigError(
                files.base.positions.of_value(()),
                "(top level)",
                f"no environment overlays next to this file; add one per environment the service deploys to "
                f"(e.g. {DEPLOY_DIR}/staging.yml, empty if nothing differs); known environments: "
                f"{', '.join(environments.names())}",
            )
        )
    for name in only or []:
        if name not in files.overlays:
            raise UsageError(
                f"{files.directory} has no {DEPLOY_DIR}/{name}.yml; its environments are: {', '.join(names) or 'none'}"
            )
    apps: dict[str, App] = {}
    for name in only or names:
        if name not in environments:
            continue
        try:
            apps[name] = build_app(files, environments[name], environments, variables)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    if collisions.may_share_namespaces([files.base, *files.overlays.values()]):
        errors += collisions.shared_namespaces(_every_environment(files, environments, apps, variables))
    if errors:
        raise ConfigErrors(errors)
    return apps


def _every_environment(
    files: ServiceFiles, environments: Environments, apps: dict[str, App], variables: TemplateVariables
) -> dict[str, App]:
    """The apps of this run plus those of the service's other environments (in the environments
    file's order), so a deploy to one environment also sees a collision with another. One whose
    files do not build is left out: its own run reports why."""
    every = {}
    for name in environments.names():
        if name in apps:
            every[name] = apps[name]
        elif name in files.overlays:
            with contextlib.suppress(ConfigErrors):
                every[name] = build_app(files, environments[name], environments, variables)
    return every


def _unknown_environments(files: ServiceFiles, environments: Environments) -> list[ConfigError]:
    errors = []
    for name in files.overlay_names():
        if name not in environments:
            from difflib import get_close_matches  # only to word this error

            close = get_close_matches(name, environments.names(), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            errors.append(
                ConfigError(
                    Location(files.overlays[name].file, 1, 1),
                    "(top level)",
                    f"this is an overlay for environment '{name}', which {environments.file} does not define "
                    f"(known: {', '.join(environments.names())}){hint}",
                )
            )
    return errors


def _each_file(files: ServiceFiles, built: list[str]) -> list[ConfigError]:
    """The base checked on its own, as written, so that a wrong value is reported even where
    every overlay overrides it (`replicas: "lots"` in a base whose every overlay sets
    replicas never reaches a merged check). Only the fields every built overlay writes need
    it, and the fields the base must have: the rest reaches every merged check as written.
    An overlay needs no check of its own: its environment's merged configuration holds
    every value it writes (an overlay wins the merge). Found both ways, an error is the same
    ConfigError, shown once."""
    base = files.base
    overlays = [files.overlays[name].data for name in built]
    if overlays and isinstance(base.data, dict):
        written = set.intersection(*(set(data) if isinstance(data, dict) else set() for data in overlays))
        keep = written | set(schemas.load_schema(schemas.BASE)["required"])
        base = YamlDocument(base.file, {k: v for k, v in base.data.items() if k in keep}, base.positions)
    return schemas.check(base, schemas.BASE, as_written=True)


def _service_wide_fields(files: ServiceFiles) -> list[ConfigError]:
    """Fields that describe the service as a whole may not differ per environment."""
    return [
        ConfigError(
            overlay.positions.of_key((key,)),
            key,
            f"'{key}' is service-wide and cannot differ per environment; move it to {DEPLOY_DIR}/{BASE_FILE}",
        )
        for overlay in files.overlays.values()
        if isinstance(overlay.data, dict)
        for key in schemas.service_wide_fields(schemas.load_schema(schemas.APPLICATION))
        if key in overlay.data
    ]


def build_app(
    files: ServiceFiles, environment: Environment, environments: Environments, variables: TemplateVariables
) -> App:
    merged = merge_documents(files.base, files.overlays.get(environment.name))
    template_errors: list[ConfigError] = []
    data = interpolate(merged.data, merged.positions, variables, template_errors)
    document = YamlDocument(merged.file, data, merged.positions)
    # checked after templating, so a secret that arrives through a variable is caught too;
    # a value whose template failed is still the raw template: say only why it failed
    failed = {e.location for e in template_errors}
    allowlisted = checks.allowlisted_spots(merged, files.sources)
    later = checks.inline_secrets(document, allowlisted) + schemas.check(document, schemas.APPLICATION)
    errors = template_errors + [e for e in later if e.location not in failed]
    if errors:
        raise ConfigErrors(errors)
    errors = checks.consistency(document, environment, environments)
    if errors:
        raise ConfigErrors(errors)
    return _app(document, environment)


def app_of(data: dict[str, Any], environment: Environment, file: str = BASE_FILE) -> App:
    """The App of a configuration that is already valid, given as data (one `skytrain import`
    is about to write), without files or positions."""
    return _app(YamlDocument(file, data, Positions(values={(): Location(file, 1, 1)})), environment)


def _memory_mib(text: str) -> int:
    number = int(text.rstrip("MiG"))
    return number * 1024 if text.rstrip("i").endswith("G") else number


def _cpu(value: float | str) -> float:
    return int(value[:-1]) / 1000 if isinstance(value, str) else float(value)


def _app(document: YamlDocument, environment: Environment) -> App:
    data: dict[str, Any] = document.data
    resources = data.get("resources") or {}
    health = data.get("healthCheck")
    deploy = data.get("deploy") or {}
    routing = data.get("routing") or {}
    default_namespace = environment.kubernetes.namespace if environment.kubernetes else "default"
    namespace = routing.get("namespace", default_namespace)
    scheduler = data["scheduler"]
    return App(
        name=data["name"],
        environment=environment,
        image=data["image"],
        schedulers=schedulers_of(scheduler),
        port=data["port"],
        replicas=data.get("replicas", 1),
        resources=Resources(_cpu(resources.get("cpu", 0.1)), _memory_mib(resources.get("memory", "128Mi"))),
        name_nice=data.get("nameNice", data["name"]),
        description=data.get("description", ""),
        maintainers=tuple(Maintainer(m["name"], m["email"]) for m in data.get("maintainers", [])),
        command=tuple(data["command"]) if "command" in data else None,
        args=tuple(data["args"]) if "args" in data else None,
        env=MappingProxyType({k: _env_value(v) for k, v in sorted((data.get("env") or {}).items())}),
        secrets=tuple(
            SecretRef(k, v["secret"], v["key"]) for k, v in sorted((data.get("secrets") or {}).items())
        ),
        health_check=_health_check(health) if health else None,
        readiness_check=_readiness_check(data["readinessCheck"]) if data.get("readinessCheck") else None,
        ports=tuple(Port(p["name"], p["port"], p.get("protocol", "tcp")) for p in data.get("ports") or []),
        always_pull_image=data.get("alwaysPullImage", False),
        stop_grace_period_seconds=data.get("stopGracePeriodSeconds"),
        labels=MappingProxyType(dict(sorted((data.get("labels") or {}).items()))),
        constraints=tuple(
            Constraint(c["attribute"], c["operator"], c.get("value")) for c in data.get("constraints") or []
        ),
        dependencies=tuple(
            Dependency(d, default_namespace)
            if isinstance(d, str)
            else Dependency(
                d["name"], d.get("namespace", default_namespace), d.get("env"), d.get("path", "/")
            )
            for d in data.get("dependencies", [])
        ),
        mesh=routing.get("mesh", True),
        namespace=namespace,
        deploy=DeployStrategy(
            minimum_healthy_capacity=float(deploy.get("minimumHealthyCapacity", 1.0)),
            maximum_over_capacity=float(deploy.get("maximumOverCapacity", 0.25)),
            gate_timeout_seconds=deploy.get("gateTimeoutSeconds", 300),
            rollback_on_failure=deploy.get("rollbackOnFailure", True),
        ),
        migration=_migration(data.get("migration") or {}),
        marathon_overrides=frozen(data.get("marathon") or {}),
        kubernetes_overrides=frozen(data.get("kubernetes") or {}),
        pipeline=_pipeline(data.get("pipeline")),
        positions=document.positions,
        origins=MappingProxyType(
            {
                "(top level)": Location(document.file, 1, 1),
                **{
                    key: document.positions.of_key((key,))
                    for key in ("marathon", "kubernetes")
                    if key in data
                },
            }
        ),
    )


def _health_check(raw: dict[str, Any]) -> HealthCheck:
    return HealthCheck(
        path=raw.get("path"),
        grace_period_seconds=raw.get("gracePeriodSeconds", 60),
        interval_seconds=raw.get("intervalSeconds", 10),
        timeout_seconds=raw.get("timeoutSeconds", 5),
        consecutive_failures=raw.get("consecutiveFailures", 3),
        tcp=raw.get("tcp", False),
        command=raw.get("command"),
        port=raw.get("port", MAIN_PORT_NAME),
    )


def _readiness_check(raw: dict[str, Any]) -> ReadinessCheck:
    return ReadinessCheck(
        path=raw["path"],
        port=raw.get("port", MAIN_PORT_NAME),
        interval_seconds=raw.get("intervalSeconds", 30),
        timeout_seconds=raw.get("timeoutSeconds", 10),
    )


def _migration(raw: dict[str, Any]) -> MigrationSettings:
    default = MigrationSettings()
    return MigrationSettings(
        canary_steps=tuple(raw.get("canarySteps", default.canary_steps)),
        soak_seconds=float(raw.get("soakSeconds", default.soak_seconds)),
        probe_path=raw.get("probePath"),
        probe_rate=float(raw.get("probeRate", default.probe_rate)),
        max_error_rate_increase=float(raw.get("maxErrorRateIncrease", default.max_error_rate_increase)),
        max_latency_increase_ms=float(raw.get("maxLatencyIncreaseMs", default.max_latency_increase_ms)),
    )


def _pipeline(raw: dict[str, Any] | None) -> PipelineSpec | None:
    if not raw:
        return None
    return PipelineSpec(
        tuple(
            PipelineStageSpec(
                environment=stage["environment"],
                targets=tuple(stage["targets"]) if "targets" in stage else None,
                approval=stage.get("approval"),
                gate_timeout_seconds=stage.get("gateTimeoutSeconds"),
                rollback_on_failure=stage.get("rollbackOnFailure"),
            )
            for stage in raw["stages"]
        )
    )


def _env_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
