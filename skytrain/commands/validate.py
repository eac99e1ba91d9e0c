"""`skytrain validate`: every environment and target of each service, rendered and checked."""

from __future__ import annotations

import argparse

from skytrain.commands.common import add_service_arguments, add_target_argument, load_apps, targets_for
from skytrain.errors import EXIT_OK, ConfigError, ConfigErrors
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain.schedulers import render

    check_junit_path(args.junit)
    errors: list[ConfigError] = []
    lines = []
    for directory in args.services:
        # a service that does not load does not stop the others from being checked
        try:
            apps = load_apps(directory, args.environments, args.env, args.variables)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue
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
    report(args, errors)
    if errors:
        raise ConfigErrors(errors)
    print("\n".join(lines))
    return EXIT_OK


def report(args: argparse.Namespace, errors: list[ConfigError] | tuple[ConfigError, ...]) -> None:
    if args.junit is not None:
        from skytrain.reporting.junit import write_validation_report

        write_validation_report(args.junit, args.services, args.env, errors)
