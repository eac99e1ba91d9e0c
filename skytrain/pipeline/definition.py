"""The pipeline of one service: which stages run, in which order, on which schedulers.

Built from the validated App models, so it is pure and fast (`skytrain pipeline show`
must start as quickly as `validate`): no backend, no rich. Every stage is named by its
environment; `validate` always comes first and is the name `--from`/`--until` use for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skytrain.config.model import App, PipelineSpec, PipelineStageSpec
from skytrain.errors import ConfigError, ConfigErrors, UsageError
from skytrain.reporting.steps import VALIDATE

DEFAULT_ENVIRONMENTS = ("dev", "staging", "production")
APPROVAL_BY_DEFAULT = frozenset({"production"})


@dataclass(frozen=True)
class Stage:
    """One deploy stage, fully resolved: deploy these targets, then gate them."""

    environment: str
    targets: tuple[str, ...]
    approval: bool
    gate_timeout_seconds: int
    rollback_on_failure: bool

    @property
    def name(self) -> str:
        return self.environment

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "deploy",
            "environment": self.environment,
            "targets": list(self.targets),
            "approval": self.approval,
            "gateTimeoutSeconds": self.gate_timeout_seconds,
            "rollbackOnFailure": self.rollback_on_failure,
        }


@dataclass(frozen=True)
class Pipeline:
    service: str
    directory: str
    stages: tuple[Stage, ...]
    custom: bool  # defined in application.yml, not the default

    def names(self) -> list[str]:
        return [VALIDATE, *(s.name for s in self.stages)]

    def select(self, first: str | None, last: str | None) -> tuple[bool, tuple[Stage, ...]]:
        """(does validate run as a stage, the deploy stages) between --from and --until, inclusive."""
        names = self.names()
        for option, value in (("--from", first), ("--until", last)):
            if value is not None and value not in names:
                raise UsageError(
                    f"{option} {value}: {self.service}'s pipeline has no stage of that name; "
                    f"its stages are: {', '.join(names)}"
                )
        start = names.index(first) if first else 0
        end = names.index(last) if last else len(names) - 1
        if start > end:
            raise UsageError(
                f"--from {first} comes after --until {last}; stages run in the order {', '.join(names)}"
            )
        return start == 0, self.stages[max(start - 1, 0) : end]

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "directory": self.directory,
            "custom": self.custom,
            "stages": [{"name": VALIDATE, "kind": "validate"}, *(s.to_json() for s in self.stages)],
        }


def build_pipeline(directory: str, apps: Mapping[str, App]) -> Pipeline:
    """The service's pipeline from its apps (one per environment overlay), checked against them."""
    if not apps:
        raise UsageError(f"{directory} has no environment to deploy to")
    any_app = next(iter(apps.values()))
    spec = any_app.pipeline
    specs = spec.stages if spec else _default_specs(apps)
    errors: list[ConfigError] = []
    stages = []
    for index, stage_spec in enumerate(specs):
        try:
            stages.append(_resolve(stage_spec, index, apps, any_app, spec))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    if spec:
        errors.extend(_repeated(spec, any_app))
    if errors:
        raise ConfigErrors(errors)
    return Pipeline(any_app.name, directory, tuple(stages), custom=spec is not None)


def _default_specs(apps: Mapping[str, App]) -> tuple[PipelineStageSpec, ...]:
    return tuple(PipelineStageSpec(name) for name in DEFAULT_ENVIRONMENTS if name in apps)


def _resolve(
    spec: PipelineStageSpec, index: int, apps: Mapping[str, App], any_app: App, custom: PipelineSpec | None
) -> Stage:
    path = ("pipeline", "stages", index)
    app = apps.get(spec.environment)
    if app is None:
        raise ConfigErrors(
            [
                ConfigError(
                    any_app.location_of((*path, "environment")),
                    f"pipeline.stages[{index}].environment",
                    f"there is no deploy/{spec.environment}.yml, so this stage has nothing to deploy; "
                    f"the service's environments are: {', '.join(sorted(apps))}",
                )
            ]
        )
    targets = spec.targets or app.schedulers
    wrong = [t for t in targets if not app.runs_on(t)]
    if wrong:
        raise ConfigErrors(
            [
                ConfigError(
                    any_app.location_of((*path, "targets")),
                    f"pipeline.stages[{index}].targets",
                    f"{app.name} does not run on {' and '.join(wrong)} in {spec.environment} "
                    f"(scheduler: {' and '.join(app.schedulers)}); list only those",
                )
            ]
        )
    return Stage(
        environment=spec.environment,
        targets=tuple(t for t in app.schedulers if t in targets),
        approval=spec.approval if spec.approval is not None else spec.environment in APPROVAL_BY_DEFAULT,
        gate_timeout_seconds=spec.gate_timeout_seconds or app.deploy.gate_timeout_seconds,
        rollback_on_failure=spec.rollback_on_failure
        if spec.rollback_on_failure is not None
        else app.deploy.rollback_on_failure,
    )


def _repeated(spec: PipelineSpec, any_app: App) -> list[ConfigError]:
    seen: set[str] = set()
    errors = []
    for index, stage in enumerate(spec.stages):
        if stage.environment in seen:
            errors.append(
                ConfigError(
                    any_app.location_of(("pipeline", "stages", index, "environment")),
                    f"pipeline.stages[{index}].environment",
                    f"{stage.environment} already has a stage; each environment is deployed once per run",
                )
            )
        seen.add(stage.environment)
    return errors
