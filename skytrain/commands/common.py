"""Arguments and loading shared by every command that reads a service."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from pathlib import Path

from skytrain.config import load_service
from skytrain.config.model import App
from skytrain.errors import ConfigError, ConfigErrors, UsageError
from skytrain.schedulers import NAMES
from skytrain.secret_shapes import SECRET_NAME

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def add_service_arguments(parser: argparse.ArgumentParser, many: bool = False, required: bool = True) -> None:
    if many:
        parser.add_argument(
            "services",
            nargs="+" if required else "*",
            type=Path,
            metavar="SERVICE_DIR",
            help="service repositories",
        )
    else:
        parser.add_argument("service", type=Path, metavar="SERVICE_DIR", help="the service repository")
    parser.add_argument(
        "--environments",
        metavar="FILE",
        help="environments file (default: $SKYTRAIN_ENVIRONMENTS, else skytrain-environments.yml in the "
        "service directory or a parent, else /etc/skytrain/environments.yml)",
    )
    add_set_argument(parser)


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="variables",
        action="append",
        type=variable_assignment,
        default=[],
        metavar="NAME=VALUE",
        help="a variable the templates of deploy/*.yml may read as {{ NAME }}, besides the build variables "
        "and the environments file's templateVariables (repeatable)",
    )


def variable_assignment(text: str) -> tuple[str, str]:
    """One --set NAME=VALUE: a name a template can use, never a secret's."""
    name, equals, value = text.partition("=")
    if not equals or not _VARIABLE_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{name!r}: give NAME=VALUE, the name in letters, digits and _")
    if SECRET_NAME.search(name):
        raise argparse.ArgumentTypeError(
            f"{name} is named like a secret, and secrets never render into a service's files; "
            "reference them under secrets: instead"
        )
    return name, value


def add_target_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target", choices=NAMES, help="scheduler (default: every scheduler the service runs on)"
    )


def load_apps(
    directory: Path, environments_file: str | None, env: str | None, variables: Iterable[tuple[str, str]] = ()
) -> dict[str, App]:
    """The service's apps; `variables` are the --set pairs."""
    _, apps = load_service(
        directory, environments_file, [env] if env else None, set_variables=dict(variables)
    )
    return apps


def load_many(
    directories: list[Path],
    environments_file: str | None,
    env: str | None,
    variables: Iterable[tuple[str, str]] = (),
) -> dict[Path, dict[str, App]]:
    """Every service's apps, collecting config errors across all of them before failing."""
    loaded: dict[Path, dict[str, App]] = {}
    errors: list[ConfigError] = []
    for directory in directories:
        try:
            loaded[directory] = load_apps(directory, environments_file, env, variables)
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
