"""`skytrain deploy`: apply, gate, and roll back on failure."""

from __future__ import annotations

import argparse

from skytrain.commands.operate import add_operation_arguments, plan_operations, run_gated
from skytrain.reporting.junit import add_junit_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="deploy one environment and wait until it is healthy, or roll back",
        description="Validate, render and apply; then gate until healthy, failing fast on what cannot heal "
        "and rolling back (unless --no-rollback). Several services deploy concurrently.",
    )
    add_operation_arguments(parser)
    add_junit_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain import lifecycle
    from skytrain.reporting.junit import (
        check_junit_path,
        config_errors_reported,
        service_files,
        write_deploy_report,
    )
    from skytrain.reporting.results import print_results
    from skytrain.schedulers import render

    check_junit_path(args.junit)

    files = [f for service in args.services for f in service_files(service, [args.env])]
    with config_errors_reported(args.junit, "skytrain.deploy", files):
        operations = plan_operations(args)
        rendered = {(op.app.name, op.target): render(op.app, op.target) for op in operations}
    results = run_gated(
        args,
        operations,
        lambda backend, op, options, reporter: lifecycle.deploy(
            backend, op.app, rendered[(op.app.name, op.target)], options, reporter, op.where
        ),
    )
    if args.junit is not None:
        write_deploy_report(args.junit, results)
    return print_results(results, args.output)
