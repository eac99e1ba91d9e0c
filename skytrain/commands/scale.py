"""`skytrain scale`: change the replica count only, gated. On Marathon this is how traffic
moves to Kubernetes (scale to 0) and back (scale up again) during a migration."""

from __future__ import annotations

import argparse

from skytrain.commands.operate import add_operation_arguments, plan_operations, run_gated


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
    from skytrain import lifecycle
    from skytrain.errors import UsageError
    from skytrain.reporting.results import print_results

    if args.instances < 0:
        raise UsageError(f"--instances must be 0 or more, not {args.instances}")
    results = run_gated(
        args,
        plan_operations(args),
        lambda backend, op, options, reporter: lifecycle.scale(
            backend, op.app, args.instances, options, reporter, op.where
        ),
    )
    return print_results(results, args.output)
