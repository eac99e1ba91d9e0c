"""`skytrain pipeline show|run`: the service's stages, and running them one behind the other.

`show` is on the pure path (it starts as fast as `validate`); only `run` loads backends.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from skytrain.commands.common import add_service_arguments, load_apps
from skytrain.errors import EXIT_OK
from skytrain.reporting.junit import add_junit_argument

if TYPE_CHECKING:
    from skytrain.pipeline.definition import Stage
    from skytrain.pipeline.run import Approver, PipelineRun


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="show or run the service's deploy pipeline (validate, dev, staging, approval, production)",
        description="The stages a service goes through, each behind the previous one's health gate. "
        "Change them with a pipeline: section in deploy/application.yml.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the stages", description="Print the service's stages.")
    add_service_arguments(show)
    show.add_argument("--format", choices=("text", "json"), default="text", help="json: for Jenkins")
    show.set_defaults(run=run_show)

    run = actions.add_parser(
        "run",
        help="run the stages in order; stops at an approval unless --yes (exit 4)",
        description="Validate every environment the run touches, then deploy stage after stage, each only "
        "after the previous gate passed. A stage needing approval stops the run with exit 4 unless --yes "
        "(or a yes on a terminal); resume with --from <stage> --yes. Exit 1 when a stage failed.",
    )
    add_service_arguments(run)
    run.add_argument(
        "--from", dest="first", metavar="STAGE", help="start at this stage (validate, or an environment)"
    )
    run.add_argument("--until", dest="last", metavar="STAGE", help="stop after this stage")
    run.add_argument("--yes", action="store_true", help="approve every approval stage of this run")
    add_junit_argument(run)
    run.add_argument(
        "--output", choices=("text", "json"), default="text", help="json: the whole run as one object"
    )
    run.set_defaults(run=run_pipeline_command)


def run_show(args: argparse.Namespace) -> int:
    from skytrain.pipeline.definition import build_pipeline

    pipeline = build_pipeline(
        str(args.service), load_apps(args.service, args.environments, None, args.variables)
    )
    if args.format == "json":
        print(json.dumps(pipeline.to_json(), indent=2))
        return EXIT_OK
    origin = (
        "from deploy/application.yml"
        if pipeline.custom
        else "default; change it with pipeline: in deploy/application.yml"
    )
    print(f"{pipeline.service} pipeline ({origin})")
    width = max(len(n) for n in pipeline.names())
    print(f"  1. {'validate':<{width}}  render and check every environment and target")
    for number, stage in enumerate(pipeline.stages, start=2):
        approval = "approval, then " if stage.approval else ""
        rollback = "roll back on failure" if stage.rollback_on_failure else "no rollback"
        print(
            f"  {number}. {stage.name:<{width}}  {approval}deploy {', '.join(stage.targets)}; "
            f"gate {stage.gate_timeout_seconds}s; {rollback}"
        )
    return EXIT_OK


def run_pipeline_command(args: argparse.Namespace) -> int:
    from skytrain import interrupts
    from skytrain.config.fleet import against_configured_fleet, warning_text
    from skytrain.errors import ConfigErrors
    from skytrain.pipeline.definition import build_pipeline
    from skytrain.pipeline.run import EXIT_AWAITING_APPROVAL, checked_files, run_pipeline
    from skytrain.progress import PlainReporter, make_reporter
    from skytrain.reporting.junit import check_junit_path, config_errors_reported, service_files, write_junit
    from skytrain.terminal import terminal

    check_junit_path(args.junit)
    files = service_files(args.service)
    suite = f"skytrain.pipeline.{args.service.resolve().name}"
    with config_errors_reported(args.junit, suite, files):
        apps = load_apps(args.service, args.environments, None, args.variables)
        pipeline = build_pipeline(str(args.service), apps)
    files = checked_files(args.service, pipeline, args.first, args.last)  # a bad --from/--until: exit 2 now
    validates, stages = pipeline.select(args.first, args.last)
    fleet = against_configured_fleet(args.service, args.environments) if validates else None
    if fleet is not None:
        for warning in fleet.warnings:
            print(warning_text(warning), file=sys.stderr)
    suite = f"skytrain.pipeline.{pipeline.service}"
    # a live view redrawing over the approval question would hide it: plain lines when asking
    asks = interactive(args) and any(stage.approval for stage in stages)
    settings = terminal(args)
    reporter = (
        PlainReporter(colour=settings.colour(sys.stderr))
        if asks and not settings.quiet
        else make_reporter(args.output, settings)
    )
    try:
        with interrupts.handled():
            run = run_pipeline(
                pipeline,
                apps,
                files,
                first=args.first,
                last=args.last,
                approve=approver(args),
                reporter=reporter,
                fleet_errors=fleet.errors if fleet is not None else (),
            )
    finally:
        reporter.close()
    if args.junit is not None:
        write_junit(args.junit, {suite: run.steps})
    if args.output == "json":
        print(json.dumps(run.to_json(), indent=2, default=str))
    if run.errors:
        raise ConfigErrors(run.errors)
    if args.output == "text":
        print_summary(run)
    if run.exit_code == EXIT_AWAITING_APPROVAL:
        message = next(s.message for s in run.steps if s.kind == "approval" and s.stage == run.resume_from)
        print(f"skytrain: stopped: {message}", file=sys.stderr)
    return run.exit_code


def interactive(args: argparse.Namespace) -> bool:
    """A person at a terminal, who can answer an approval question."""
    return not args.yes and args.output == "text" and sys.stdin.isatty() and sys.stderr.isatty()


def approver(args: argparse.Namespace) -> Approver:
    """--yes approves; a person at a terminal is asked; anyone else (Jenkins) gets exit 4."""
    if args.yes:
        return lambda stage: True
    if interactive(args):

        def ask(stage: Stage) -> bool:
            print(f"Deploy to {stage.name}? [y/N] ", end="", file=sys.stderr, flush=True)
            return sys.stdin.readline().strip().lower() in ("y", "yes")

        return ask
    return lambda stage: False


def print_summary(run: PipelineRun) -> None:
    from skytrain.reporting.steps import Status

    marks = {Status.PASSED: "✓", Status.FAILED: "✗", Status.SKIPPED: "-", Status.AWAITING_APPROVAL: "?"}
    for step in run.steps:
        line = f"{marks[step.status]} {step.title}"
        if step.status in (Status.SKIPPED, Status.AWAITING_APPROVAL):
            line += f" ({step.status.value})"
        print(line)
        if step.status is Status.FAILED:
            print("\n".join(f"    {text}" for text in step.message.splitlines()))
    print(f"{run.pipeline.service}: {run.status}")
