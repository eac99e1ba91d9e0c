"""`skytrain validate`: every environment and target of each service, rendered and checked.

`--output json` prints one document for machines (an editor, a bot commenting on a pull
request): every error with its file, line, column, field path and message, and per service
and environment which targets validated. Secrets are masked in it as everywhere.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skytrain.commands.common import add_service_arguments, add_target_argument, load_apps, targets_for
from skytrain.errors import EXIT_OK, EXIT_USAGE, ConfigError, ConfigErrors
from skytrain.reporting.junit import add_junit_argument, check_junit_path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check the service's files for every environment and target; no scheduler is contacted",
        description="Check deploy/application.yml and every overlay: schema, secrets, and the rendered "
        "objects against Marathon's and Kubernetes' own schemas. Reports every error at once.",
    )
    add_service_arguments(parser, many=True)
    parser.add_argument("--env", help="only this environment")
    add_target_argument(parser)
    add_junit_argument(parser)
    parser.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: one document with every error (file, line, column, path, message) and what validated",
    )
    parser.set_defaults(run=run)


@dataclass
class Checked:
    """One environment of a service: the targets rendered and checked, and those that failed."""

    environment: str
    targets: list[str]
    failed: list[str] = field(default_factory=list)


@dataclass
class Service:
    directory: Path
    name: str | None = None  # None: the service's files did not load
    environments: list[Checked] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.name is not None and not any(c.failed for c in self.environments)

    def summary(self, target: str | None) -> str:
        """The text line: `ok  giphy: dev (marathon, kubernetes); staging (...)`."""
        said = [f"{c.environment} ({', '.join(c.targets) or f'not on {target}'})" for c in self.environments]
        return f"ok  {self.name}: {'; '.join(said)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "name": self.name,
            "valid": self.valid,
            "environments": [
                {"environment": c.environment, "targets": c.targets, "failed": c.failed}
                for c in self.environments
            ],
        }


def run(args: argparse.Namespace) -> int:
    check_junit_path(args.junit)
    errors: list[ConfigError] = []
    services = [check(directory, args, errors) for directory in args.services]
    report(args, errors)
    if args.output == "json":
        print_json(services, errors)
        return EXIT_USAGE if errors else EXIT_OK
    if errors:
        raise ConfigErrors(errors)
    print("\n".join(s.summary(args.target) for s in services if s.environments))
    return EXIT_OK


def check(directory: Path, args: argparse.Namespace, errors: list[ConfigError]) -> Service:
    """Load and render one service, adding what is wrong to `errors`: a service that does not
    load does not stop the others from being checked."""
    from skytrain.schedulers import render

    service = Service(directory)
    try:
        apps = load_apps(directory, args.environments, args.env, args.variables)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
        return service
    for env_name, app in apps.items():
        service.name = app.name
        targets = targets_for(app, args.target) if args.target is None or app.runs_on(args.target) else []
        checked = Checked(env_name, targets)
        for target in targets:
            try:
                render(app, target)
            except ConfigErrors as exc:
                errors.extend(exc.errors)
                checked.failed.append(target)
        service.environments.append(checked)
    return service


def print_json(services: list[Service], errors: list[ConfigError]) -> None:
    from skytrain.redact import redact_data

    found = ConfigErrors(errors).errors  # sorted, without repeats, as the text lists them
    document = {
        "valid": not found,
        "errors": [
            {
                "file": e.location.file,
                "line": e.location.line,
                "column": e.location.column,
                "path": e.path,
                "message": e.message,
            }
            for e in found
        ],
        "services": [s.to_json() for s in services],
    }
    print(json.dumps(redact_data(document), indent=2))


def report(args: argparse.Namespace, errors: list[ConfigError] | tuple[ConfigError, ...]) -> None:
    if args.junit is not None:
        from skytrain.reporting.junit import write_validation_report

        write_validation_report(args.junit, args.services, args.env, errors)
