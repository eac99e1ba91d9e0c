"""`skytrain render`: the scheduler objects for one environment, to stdout or a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skytrain.commands.common import add_service_arguments, add_target_argument, load_apps, targets_for
from skytrain.errors import EXIT_OK, UsageError
from skytrain.outputs import check_directory, write_file


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="print the Marathon app JSON or Kubernetes manifests for one environment",
        description="Render one environment: Kubernetes as a YAML stream, Marathon as app JSON.",
    )
    add_service_arguments(parser)
    parser.add_argument("--env", required=True, help="environment to render")
    add_target_argument(parser)
    parser.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="write one file per object here instead of stdout",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain.schedulers import render, scheduler

    if args.output_dir is not None:
        check_directory(args.output_dir, "-o")
    app = load_apps(args.service, args.environments, args.env, args.variables)[args.env]
    targets = targets_for(app, args.target)
    if args.output_dir is None and len(targets) > 1:
        raise UsageError(
            f"{app.name} runs on both schedulers in {app.environment.name}; pick one with --target, "
            "or write both with -o DIR"
        )
    rendered = {target: render(app, target) for target in targets}
    if args.output_dir is None:
        target, objects = next(iter(rendered.items()))
        sys.stdout.write(scheduler(target).text(objects))
        return EXIT_OK
    for target, objects in rendered.items():
        for name, text in scheduler(target).files(app, objects):
            path = args.output_dir / name
            write_file(path, text, "-o")
            print(path)
    return EXIT_OK
