"""`skytrain migrate`: the guided cut-over of a service from Marathon to Kubernetes, and the
board of where the fleet stands (docs/migration.md).

    skytrain migrate status   --fleet services/ --env production [--format html -o board.html]
    skytrain migrate cutover  services/giphy --env production     # canary, shift, scale down
    skytrain migrate fallback services/giphy --env production     # back to Mesos, gated
    skytrain migrate finish   services/giphy --env production --yes
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from skytrain.commands.common import add_service_arguments, add_set_argument
from skytrain.commands.operate import timeout_seconds
from skytrain.commands.routes import add_fleet_argument

if TYPE_CHECKING:
    from skytrain.config.model import App
    from skytrain.migration.canary import Plan
    from skytrain.migration.live.steps import Migration, Result

FORMATS = ("text", "markdown", "json", "html")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="move a service from Marathon to Kubernetes with a traffic canary; the fleet's migration board",
        description="Guided migration: `status` shows where every service stands; `cutover` sends a growing "
        "share of a service's requests to Kubernetes through the SDB, compares both sides at each step, falls "
        "back by itself when Kubernetes is worse, and scales Marathon to 0; `fallback` returns to Mesos; "
        "`finish` edits the files to scheduler: kubernetes and (--yes) removes the Marathon app. "
        "See docs/migration.md.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="STEP")
    _status_parser(verbs)
    _cutover_parser(verbs)
    _fallback_parser(verbs)
    _finish_parser(verbs)


def _status_parser(verbs: argparse._SubParsersAction) -> None:
    status = verbs.add_parser(
        "status",
        help="where each service of a fleet stands: text, markdown, JSON or an HTML board",
        description="Derive each service's phase from its files, live Marathon, live Kubernetes and the "
        "canary shares in the mesh's Consul. Exit 1 when one of them cannot be read.",
    )
    add_fleet_argument(status)
    status.add_argument(
        "--env",
        action="append",
        metavar="ENV",
        help="environment (repeatable; default: every environment a service of the fleet has an overlay for)",
    )
    status.add_argument("--format", choices=FORMATS, default="text", help="how to show the board")
    status.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the board to FILE")
    status.add_argument("--environments", metavar="FILE", help="environments file")
    add_set_argument(status)
    status.set_defaults(run=run_status)


def _step_arguments(parser: argparse.ArgumentParser) -> None:
    add_service_arguments(parser)
    parser.add_argument("--env", required=True, help="environment")
    parser.add_argument("--dry-run", action="store_true", help="print the steps; change nothing")
    parser.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: one machine-readable result of the run (each step with its evidence, where the service "
        "stands after it, the exit code); no progress lines",
    )
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        metavar="SECONDS",
        help="how long a Marathon scale may take to pass its gate, and how long to wait for the SDBs to "
        "serve a new share (default: deploy.gateTimeoutSeconds)",
    )
    parser.add_argument(
        "--lock-wait",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait while another migrate or deploy holds the service's lock (default 10)",
    )


def _cutover_parser(verbs: argparse._SubParsersAction) -> None:
    cutover = verbs.add_parser(
        "cutover",
        help="preflight, canary through the SDB, then Marathon to 0; falls back by itself",
        description="Preflight (config says both, Kubernetes healthy, the bridge answers for the service, "
        "its dependencies reachable from Kubernetes), then each canary step: the SDB sends that share of "
        "requests to Kubernetes first (Mesos retried where safe), a probe compares both sides for the soak "
        "time, and a worse Kubernetes falls back at once (exit 1). At 100 %% Marathon is scaled to 0, its "
        "count recorded on the app. Run again to resume.",
    )
    _step_arguments(cutover)
    cutover.add_argument(
        "--steps",
        type=_steps,
        metavar="P,P,...",
        help="canary shares in percent, rising to 100 (default: migration.canarySteps, else 5,25,50,100)",
    )
    cutover.add_argument(
        "--soak",
        type=timeout_seconds,
        metavar="SECONDS",
        help="each step's soak (default: migration.soakSeconds)",
    )
    cutover.add_argument(
        "--probe-rate",
        type=timeout_seconds,
        metavar="PER_SECOND",
        help="probe requests per second (default: migration.probeRate)",
    )
    cutover.add_argument(
        "--max-error-rate-increase",
        type=_fraction,
        metavar="FRACTION",
        help="how much higher Kubernetes' error rate may be (default: migration.maxErrorRateIncrease)",
    )
    cutover.add_argument(
        "--max-latency-increase-ms",
        type=_non_negative,
        metavar="MS",
        help="how much slower Kubernetes' 95th percentile may be (default: migration.maxLatencyIncreaseMs)",
    )
    cutover.set_defaults(run=run_cutover)


def _fallback_parser(verbs: argparse._SubParsersAction) -> None:
    fallback = verbs.add_parser(
        "fallback",
        help="back to Mesos: the share first, then Marathon to its recorded count, gated",
        description="Send every request to Mesos first again, then scale Marathon back to the instance count "
        "recorded at the cut-over (or --instances) and gate it. Loses no request.",
    )
    _step_arguments(fallback)
    fallback.add_argument(
        "--instances", type=int, metavar="N", help="Marathon instances when none is recorded on the app"
    )
    fallback.set_defaults(run=run_fallback)


def _finish_parser(verbs: argparse._SubParsersAction) -> None:
    finish = verbs.add_parser(
        "finish",
        help="after the soak: the files say scheduler: kubernetes; --yes removes the Marathon app",
        description="Once the cut-over has soaked (--soak, default one hour since it was cut over), edit "
        "deploy/<env>.yml to scheduler: kubernetes (comments and layout kept) and print the diff for the pull "
        "request. With --yes also delete the Marathon app and the service's canary entry; without it nothing "
        "live changes.",
    )
    _step_arguments(finish)
    finish.add_argument(
        "--soak",
        type=_non_negative,
        default=3600.0,
        metavar="SECONDS",
        help="how long the cut-over must have run (default 3600)",
    )
    finish.add_argument(
        "--yes", action="store_true", help="also remove the Marathon app and the canary entry"
    )
    finish.set_defaults(run=run_finish)


def _steps(text: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give whole percents separated by commas, such as 5,25,50,100; not {text!r}"
        ) from None
    if not steps or list(steps) != sorted(set(steps)) or steps[0] < 1 or steps[-1] != 100:
        raise argparse.ArgumentTypeError(f"the steps must rise from at least 1 and end at 100; got {text}")
    return steps


def _fraction(text: str) -> float:
    value = _non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"a fraction from 0 to 1 (0.01 is one percentage point); not {text}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, not {text}")
    return value


# -- status -------------------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    from skytrain.errors import EXIT_FAILED, EXIT_OK
    from skytrain.migration import board
    from skytrain.migration.live.observe import Live, observe
    from skytrain.migration.phases import stand
    from skytrain.outputs import check_file, write_file

    if args.output:
        check_file(args.output, "--output")
    fleet = load_fleet(args.fleet, args.environments, args.env, args.variables)
    lives = {name: Live.of(environment) for name, (environment, _) in fleet.items()}
    standings = [
        stand(seen) for name, (_, services) in fleet.items() for seen in observe(lives[name], services)
    ]
    if args.format == "html":
        from skytrain.migration.html import page
        from skytrain.migration.live.graphviz import render_svg

        text = page(standings, render_svg)
    else:
        text = {"text": board.text, "markdown": board.markdown, "json": board.as_json}[args.format](standings)
    if args.output:
        write_file(args.output, text, "--output")
        print(f"wrote {args.output}: {board.summary(standings)}")
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return EXIT_FAILED if any(s.seen.unreadable for s in standings) else EXIT_OK


def load_fleet(
    paths: list[Path],
    environments_file: str | None,
    wanted: list[str] | None,
    variables: list[tuple[str, str]],
) -> dict:
    """{environment: (Environment, [Service])} for the fleet: each service in every wanted
    environment it has an overlay for; every config error of every service at once."""
    from skytrain.commands.common import load_many
    from skytrain.config.environments import find_environments_file, found_in_checkout, load_environments
    from skytrain.config.fleet import services_in
    from skytrain.errors import UsageError
    from skytrain.migration.live.observe import Service

    services = services_in(paths)
    path = find_environments_file(environments_file, services[0])
    environments = load_environments(path, found_in_checkout(environments_file, path))
    unknown = sorted(set(wanted or ()) - set(environments.names()))
    if unknown:
        raise UsageError(
            f"{environments.file} has no environment {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(environments.names())}"
        )
    names = wanted or environments.names()
    fleet: dict = {}
    for name in names:
        deployed = [s for s in services if (s / "deploy" / f"{name}.yml").is_file()]
        loaded = load_many(deployed, str(environments.file), name, variables)
        members = [Service(apps[name], str(directory)) for directory, apps in loaded.items()]
        if members or wanted:
            fleet[name] = (environments[name], members)
    return fleet


# -- cutover and fallback -----------------------------------------------------------------------


def run_cutover(args: argparse.Namespace) -> int:
    from skytrain.migration.canary import describe, plan_for

    app, where = _service(args)
    plan = plan_for(
        app,
        steps=args.steps,
        soak_seconds=args.soak,
        probe_rate=args.probe_rate,
        max_error_rate_increase=args.max_error_rate_increase,
        max_latency_increase_ms=args.max_latency_increase_ms,
        timeout_seconds=args.timeout,
    )
    if args.dry_run:
        return _dry_run(args, app, where, describe(plan, app.name, args.env, app.replicas))
    return _migrate(args, app, where, plan, lambda migration: migration.cutover())


def run_fallback(args: argparse.Namespace) -> int:
    from skytrain.errors import UsageError
    from skytrain.migration.canary import plan_for

    if args.instances is not None and args.instances < 1:
        raise UsageError(f"--instances must be at least 1 to fall back to Mesos, not {args.instances}")
    app, where = _service(args)
    plan = plan_for(app, timeout_seconds=args.timeout)
    if args.dry_run:
        return _dry_run(
            args,
            app,
            where,
            [
                f"set the canary share of {app.name} to 0 and wait until every SDB prefers Mesos again",
                "if Marathon runs no instance: scale it back to the count recorded at the cut-over "
                f"(or --instances), gated within {plan.timeout_seconds:g}s",
            ],
        )
    return _migrate(args, app, where, plan, lambda migration: migration.fallback(args.instances))


def _dry_run(args: argparse.Namespace, app: App, where: str, plan: list[str]) -> int:
    from skytrain.errors import EXIT_OK
    from skytrain.reporting.migration import plan_json, print_json

    if args.output == "json":
        print_json(plan_json(args.verb, app.name, args.env, plan))
        return EXIT_OK
    print(f"skytrain migrate {args.verb} {where} --env {args.env} would (nothing is changed with --dry-run):")
    for line in plan:
        print(f"  {line}")
    return EXIT_OK


def _service(args: argparse.Namespace) -> tuple[App, str]:
    from skytrain.commands.common import load_apps

    return load_apps(args.service, args.environments, args.env, args.variables)[args.env], str(args.service)


def _migrate(
    args: argparse.Namespace, app: App, where: str, plan: Plan, operation: Callable[[Migration], Result]
) -> int:
    """Run one migration operation in a worker thread (signals reach the main thread, which
    only waits), print what it did and how to go on (or, as JSON, all of it and where the
    service stands now); the exit code its ending means."""
    from skytrain import interrupts
    from skytrain.errors import UsageError
    from skytrain.lifecycle import concurrently
    from skytrain.migration.live.observe import Live
    from skytrain.migration.live.steps import Migration
    from skytrain.progress import make_reporter
    from skytrain.redact import redact
    from skytrain.reporting.migration import migration_json, print_json, print_migration

    environment = app.environment
    live = Live.of(environment)
    missing = [
        what
        for what, present in (
            ("marathon", live.marathon),
            ("kubernetes", live.kubernetes),
            ("mesh.consul", live.store),
            ("mesh.sdbHosts", environment.mesh.sdb_hosts),
            ("mesh.kubernetesWorkers", environment.mesh.kubernetes_workers),
        )
        if not present
    ]
    if missing:
        raise UsageError(
            f"environment {environment.name!r} lacks {', '.join(missing)} in the environments file; a migration "
            "needs both schedulers, the mesh's Consul, its SDBs and its Kubernetes workers"
        )
    reporter = make_reporter(args.output)

    def say(line: str) -> None:
        if args.output == "text":
            print(redact(line), flush=True)

    migration = Migration(app, where, live, plan, reporter, say, args.lock_wait)
    try:
        with interrupts.handled():
            (result,) = concurrently([migration], operation)
    finally:
        reporter.close()
    if args.output == "text":
        return print_migration(result)
    now = migration.now(_service(args)[0])  # read again: finish edits the files
    document = migration_json(args.verb, app.name, environment.name, result, now)
    print_json(document)
    return document["exitCode"]


def run_finish(args: argparse.Namespace) -> int:
    from skytrain.migration.canary import plan_for

    app, where = _service(args)
    plan = plan_for(app, timeout_seconds=args.timeout)
    return _migrate(
        args, app, where, plan, lambda migration: migration.finish(args.soak, args.yes, args.dry_run)
    )
