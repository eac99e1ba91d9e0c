"""Arguments and loading shared by every command that reads a service."""

from __future__ import annotations

import argparse
from pathlib import Path

from skytrain.config import load_service
from skytrain.config.model import App
from skytrain.errors import ConfigError, ConfigErrors, UsageError
from skytrain.schedulers import NAMES


def add_service_arguments(parser: argparse.ArgumentParser, many: bool = False) -> None:
    if many:
        parser.add_argument(
            "services", nargs="+", type=Path, metavar="SERVICE_DIR", help="service repositories"
        )
    else:
        parser.add_argument("service", type=Path, metavar="SERVICE_DIR", help="the service repository")
    parser.add_argument(
        "--environments",
        metavar="FILE",
        help="environments file (default: $SKYTRAIN_ENVIRONMENTS, else skytrain-environments.yml in the "
        "service directory or a parent, else /etc/skytrain/environments.yml)",
    )


def add_target_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target", choices=NAMES, help="scheduler (default: every scheduler the service runs on)"
    )


def load_apps(directory: Path, environments_file: str | None, env: str | None) -> dict[str, App]:
    _, apps = load_service(directory, environments_file, [env] if env else None)
    return apps


def load_many(
    directories: list[Path], environments_file: str | None, env: str | None
) -> dict[Path, dict[str, App]]:
    """Every service's apps, collecting config errors across all of them before failing."""
    loaded: dict[Path, dict[str, App]] = {}
    errors: list[ConfigError] = []
    for directory in directories:
        try:
            loaded[directory] = load_apps(directory, environments_file, env)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigErrors(errors)
    return loaded


def targets_for(app: App, target: str | None) -> list[str]:
    if target is None:
        return list(app.schedulers)
    if not app.runs_on(target):
        raise UsageError(
            f"{app.name} does not run on {target} in {app.environment.name} "
            f"(scheduler: {' and '.join(app.schedulers)}); pick --target {app.schedulers[0]}"
        )
    return [target]
