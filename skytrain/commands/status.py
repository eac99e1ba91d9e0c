"""`skytrain status`: what runs now, and whether it is healthy."""

from __future__ import annotations

import argparse

from skytrain.commands.operate import add_operation_arguments, configured_backends, plan_operations


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show what runs in an environment and whether it is healthy",
        description="Read the live state: the revision that runs, replicas ready, the recent revisions with "
        "their outcomes. Exit 1 when unhealthy or when the scheduler cannot be read.",
    )
    add_operation_arguments(parser, gated=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain import lifecycle
    from skytrain.reporting.results import print_results

    operations = plan_operations(args)
    backends = configured_backends(operations)
    results = lifecycle.concurrently(operations, lambda op: lifecycle.status(backends[op.key], op.app))
    return print_results(results, args.output)
