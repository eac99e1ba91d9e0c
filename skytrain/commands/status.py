"""`skytrain status`: what runs now, and whether it is healthy."""

from __future__ import annotations

import argparse

from skytrain.commands.operate import (
    add_operation_arguments,
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
    from skytrain.schedulers import backend

    results = run_concurrently(
        plan_operations(args), lambda app, target: backend(target, app.environment).status(app)
    )
    return print_results(results, args.output)
