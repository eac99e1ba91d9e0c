"""`skytrain rollback`: restore a recorded revision and gate it like a deploy."""

from __future__ import annotations

import argparse

from skytrain.commands.operate import add_operation_arguments, plan_operations, run_gated


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="go back to the previous (or a given) revision, gated",
        description="Restore the revision before the current one (Kubernetes: a recorded release; Marathon: an app "
        "version), then gate it like a deploy.",
    )
    add_operation_arguments(parser)
    parser.add_argument(
        "--to-revision",
        "--to-version",
        dest="to_revision",
        metavar="REVISION",
        help="Kubernetes release revision or Marathon app version to restore (see `skytrain status`)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain import lifecycle
    from skytrain.reporting.results import print_results

    results = run_gated(
        args,
        plan_operations(args),
        lambda backend, op, options, reporter: lifecycle.rollback(
            backend, op.app, args.to_revision, options, reporter, op.where
        ),
    )
    return print_results(results, args.output)
