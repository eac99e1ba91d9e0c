"""`skytrain validate`: every environment and target of each service, rendered and checked;
with --fleet, or a `fleet:` in the environments file, the services against their fleet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skytrain.commands.common import add_service_arguments, add_target_argument, load_apps, targets_for
from skytrain.errors import EXIT_OK, ConfigError, ConfigErrors, UsageError
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain.config.fleet import against_configured_fleet, services_in
    from skytrain.schedulers import render

    check_junit_path(args.junit)
    if not args.services and not args.fleet:
        raise UsageError("give the service directories to validate, or --fleet DIR")
    services = [*args.services, *services_in(args.fleet)]
    errors: list[ConfigError] = []
    warnings: list[ConfigError] = []
    lines = []
    for directory in services:
        # a service that does not load does not stop the others from being checked
        try:
            apps = load_apps(directory, args.environments, args.env, args.variables)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        if not args.fleet:
            findings = against_configured_fleet(directory, args.environments)
            errors += findings.errors
            warnings += findings.warnings
        summary = []
        for env_name, app in apps.items():
            targets = targets_for(app, args.target) if args.target is None or app.runs_on(args.target) else []
            for target in targets:
                try:
                    render(app, target)
                except ConfigErrors as exc:
                    errors.extend(exc.errors)
            summary.append(f"{env_name} ({', '.join(targets) or 'not on ' + args.target})")
        if apps:
            lines.append(f"ok  {next(iter(apps.values())).name}: {'; '.join(summary)}")
    if args.fleet:
        lines.append(fleet(args.fleet, services, errors, warnings))
    print_warnings(warnings)
    report(args, services, errors)
    if errors:
        raise ConfigErrors(errors)
    print("\n".join(lines))
    return EXIT_OK


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


def print_warnings(warnings: list[ConfigError]) -> None:
    from skytrain.config.fleet import warning_text

    for warning in sorted(set(warnings)):
        print(warning_text(warning), file=sys.stderr)


def report(args: argparse.Namespace, services: list[Path], errors: list[ConfigError]) -> None:
    if args.junit is not None:
        from skytrain.reporting.junit import write_validation_report

        write_validation_report(args.junit, services, args.env, errors)
