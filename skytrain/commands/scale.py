"""`skytrain scale`: change the replica count only, gated. On Marathon this is how traffic
moves to Kubernetes (scale to 0) and back (scale up again) during a migration."""

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
        "scale",
        help="set the number of instances (gated); scaling never restarts running copies",
        description="Scale a service. Scaling the Marathon app to 0 moves its Skyline traffic to Kubernetes; "
        "scaling it back up is the fall-back.",
    )
    add_operation_arguments(parser)
    parser.add_argument("--instances", "--replicas", dest="instances", type=int, required=True, metavar="N")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain.backends import backend_for
    from skytrain.errors import UsageError
    from skytrain.progress import make_reporter

    if args.instances < 0:
        raise UsageError(f"--instances must be 0 or more, not {args.instances}")
    operations = plan_operations(args)
    options = deploy_options(args)
    reporter = make_reporter(args.output)
    try:
        results = run_concurrently(
            operations,
            lambda app, target: backend_for(target, app.environment).scale(
                app, args.instances, options, reporter
            ),
        )
    finally:
        reporter.close()
    return print_results(results, args.output)
