"""`skytrain status`: what runs now, and whether it is healthy."""

from __future__ import annotations

import argparse

from skytrain.commands.operate import (
    add_operation_arguments,
    configured_backends,
    plan_operations,
    print_results,
    run_concurrently,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show what runs in an environment and whether it is healthy",
        description="Read the live state: revision, replicas ready, recent history. Exit 1 when unhealthy.",
    )
    add_operation_arguments(parser, gated=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    operations = plan_operations(args)
    backends = configured_backends(operations)
    results = run_concurrently(
        operations, lambda app, target: backends[(app.name, app.environment.name, target)].status(app)
    )
    return print_results(results, args.output)
