"""`skytrain validate`: every environment and target of each service, rendered and checked;
with --fleet, or a `fleet:` in the environments file, the services against their fleet.

`--output json` prints one document for machines (an editor, a bot commenting on a pull
request): every error with its file, line, column, field path and message, the warnings,
and per service and environment which targets validated. Secrets are masked in it as
everywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skytrain.commands.common import add_service_arguments, add_target_argument, load_apps, targets_for
from skytrain.errors import EXIT_OK, EXIT_USAGE, ConfigError, ConfigErrors, UsageError
from skytrain.reporting.junit import add_junit_argument, check_junit_path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check the service's files for every environment and target; no scheduler is contacted",
        description="Check deploy/application.yml and every overlay: schema, secrets, and the rendered "
        "objects against Marathon's and Kubernetes' own schemas. Reports every error at once.",
    )
    add_service_arguments(parser, many=True, required=False)
    parser.add_argument(
        "--fleet",
        nargs="+",
        type=Path,
        default=[],
        metavar="DIR",
        help="also every service in DIR (a folder of service repositories), and the fleet as a whole: each "
        "dependency names one of its services, no two share a name, no dependency cycle",
    )
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
    from skytrain.config.fleet import services_in

    check_junit_path(args.junit)
    if not args.services and not args.fleet:
        raise UsageError("give the service directories to validate, or --fleet DIR")
    directories = [*args.services, *services_in(args.fleet)]
    errors: list[ConfigError] = []
    warnings: list[ConfigError] = []
    services = [check(directory, args, errors, warnings) for directory in directories]
    lines = [s.summary(args.target) for s in services if s.environments]
    if args.fleet:
        lines.append(fleet(args.fleet, directories, errors, warnings))
    report(args, directories, errors)
    if args.output == "json":
        print_json(services, errors, warnings)
        return EXIT_USAGE if errors else EXIT_OK
    print_warnings(warnings)
    if errors:
        raise ConfigErrors(errors)
    print("\n".join(lines))
    return EXIT_OK


def check(
    directory: Path, args: argparse.Namespace, errors: list[ConfigError], warnings: list[ConfigError]
) -> Service:
    """Load and render one service, adding what is wrong to `errors` (and, without --fleet, what
    its configured fleet says to `errors` and `warnings`): a service that does not load does
    not stop the others from being checked."""
    from skytrain.config.fleet import against_configured_fleet
    from skytrain.schedulers import render

    service = Service(directory)
    try:
        apps = load_apps(directory, args.environments, args.env, args.variables)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
        return service
    if not args.fleet:
        findings = against_configured_fleet(directory, args.environments)
        errors += findings.errors
        warnings += findings.warnings
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


def fleet(
    folders: list[Path], services: list[Path], errors: list[ConfigError], warnings: list[ConfigError]
) -> str:
    """Adds what is wrong with the fleet to `errors` and `warnings`; the line to print when
    nothing fails."""
    from skytrain.config.fleet import check_fleet, read_fleet, shown_folder

    members, unreadable = read_fleet(services)
    shown = ", ".join(map(shown_folder, folders))
    findings = check_fleet(members, shown, unreadable)
    errors += findings.errors
    warnings += findings.warnings
    return f"ok  fleet {shown}: {len(services)} services, every dependency one of them"


def _as_json(found: tuple[ConfigError, ...]) -> list[dict[str, Any]]:
    return [
        {
            "file": e.location.file,
            "line": e.location.line,
            "column": e.location.column,
            "path": e.path,
            "message": e.message,
        }
        for e in found
    ]


def print_json(services: list[Service], errors: list[ConfigError], warnings: list[ConfigError]) -> None:
    from skytrain.redact import redact_data

    found = ConfigErrors(errors).errors  # sorted, without repeats, as the text lists them
    document = {
        "valid": not found,
        "errors": _as_json(found),
        "warnings": _as_json(tuple(sorted(set(warnings)))),
        "services": [s.to_json() for s in services],
    }
    print(json.dumps(redact_data(document), indent=2))


def print_warnings(warnings: list[ConfigError]) -> None:
    from skytrain.config.fleet import warning_text

    for warning in sorted(set(warnings)):
        print(warning_text(warning), file=sys.stderr)


def report(args: argparse.Namespace, services: list[Path], errors: list[ConfigError]) -> None:
    if args.junit is not None:
        from skytrain.reporting.junit import write_validation_report

        write_validation_report(args.junit, services, args.env, errors)
