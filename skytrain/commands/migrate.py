"""`skytrain migrate`: the guided cut-over of a service from Marathon to Kubernetes, and the
board of where the fleet stands (docs/migration.md).

    skytrain migrate status   --fleet services/ --env production [--format html -o board.html]
    skytrain migrate cutover  services/giphy --env production     # canary, shift, scale down
    skytrain migrate fallback services/giphy --env production     # back to Mesos, gated
    skytrain migrate finish   services/giphy --env production --yes
"""

from __future__ import annotations

import argparse
from pathlib import Path

from skytrain.commands.common import add_set_argument

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


def _status_parser(verbs: argparse._SubParsersAction) -> None:
    status = verbs.add_parser(
        "status",
        help="where each service of a fleet stands: text, markdown, JSON or an HTML board",
        description="Derive each service's phase from its files, live Marathon, live Kubernetes and the "
        "canary shares in the mesh's Consul. Exit 1 when one of them cannot be read.",
    )
    status.add_argument(
        "--fleet",
        nargs="+",
        type=Path,
        required=True,
        metavar="DIR",
        help="a folder of service repositories, or service repositories themselves",
    )
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
    from skytrain.commands.routes import fleet_services
    from skytrain.config.environments import find_environments_file, found_in_checkout, load_environments
    from skytrain.errors import UsageError
    from skytrain.migration.live.observe import Service

    services = fleet_services(paths)
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
