"""`skytrain rollback`: restore a recorded revision and gate it like a deploy."""

from __future__ import annotations

import argparse

from skytrain.commands.operate import (
    add_operation_arguments,
    deploy_options,
    plan_operations,
    print_results,
    run_concurrently,
)


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
        help="Kubernetes release revision or Marathon app version to restore",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain.backends import backend_for
    from skytrain.progress import make_reporter

    operations = plan_operations(args)
    options = deploy_options(args)
    reporter = make_reporter(args.output)
    try:
        results = run_concurrently(
            operations,
            lambda app, target: backend_for(target, app.environment).rollback(
                app, args.to_revision, options, reporter
            ),
        )
    finally:
        reporter.close()
    return print_results(results, args.output)
