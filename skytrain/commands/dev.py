"""`skytrain dev up|status|down|fault`: a local Marathon and Kubernetes to deploy to, and
failures on purpose to watch the gates and rollbacks work (docs/dev.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from skytrain.commands.dev_platform import Running, find, forget, start, stop
from skytrain.emulators.local_layout import ENVIRONMENTS, ERROR_COUNT, FAULTS, SLOW_SECONDS, TARGETS
from skytrain.errors import EXIT_FAILED, EXIT_OK, UsageError

DEFAULT_DIR = Path(".skytrain-dev")
FAULT_HELP = {
    "crash-loop": "the next rollout's containers crash, again and again",
    "image-pull": "the next rollout's image cannot be pulled",
    "slow": f"the next rollout takes --seconds (default {SLOW_SECONDS:g}) to become ready",
    "5xx": f"the next --count (default {ERROR_COUNT}) requests answer 503",
}
CLEAR = "clear"  # not a fault: disarms the ones not yet spent


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dev",
        help="a local Marathon and Kubernetes (emulated) to deploy to, with faults on purpose",
        description="Start an emulated Marathon and Kubernetes on 127.0.0.1 in the background with three "
        "environments (dev, staging, production), then deploy to them from any shell with the two export "
        "lines `dev up` prints. See docs/dev.md.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "up",
        help="start the platform in the background; prints two export lines",
        description="Start the platform in the background, write DIR/environments.yml and DIR/kubeconfig, "
        'and print the two export lines pointing at them (eval "$(skytrain dev up)" runs them). '
        "A platform already up in DIR is left as it is.",
    )
    up.set_defaults(run=run_up)
    status = actions.add_parser(
        "status", help="what runs: the platform, each environment's services, armed faults"
    )
    status.add_argument("--output", choices=("text", "json"), default="text")
    status.set_defaults(run=run_status)
    down = actions.add_parser("down", help="stop the platform (by the pid it recorded) and remove its files")
    down.set_defaults(run=run_down)
    fault = actions.add_parser(
        "fault",
        help="make the next deploy fail (or be slow) on purpose",
        description="Arm a fault for the next rollout of a service (any, unless --service) in an environment "
        "(any, unless --env), on both schedulers unless --target. The deploy after it meets the fault; "
        "its rollback, a rollout of its own, runs as usual. Faults: "
        + "; ".join(f"{name}: {FAULT_HELP[name]}" for name in FAULTS)
        + f"; {CLEAR} disarms the faults not yet spent"
        + ".",
    )
    fault.add_argument("kind", choices=(*FAULTS, CLEAR), metavar="FAULT", help=", ".join((*FAULTS, CLEAR)))
    fault.add_argument("--service", metavar="NAME", help="only this service (default: any)")
    fault.add_argument("--env", choices=ENVIRONMENTS, help="only this environment (default: any)")
    fault.add_argument("--target", choices=TARGETS, help="only this scheduler (default: both)")
    fault.add_argument("--seconds", type=float, default=SLOW_SECONDS, help="slow: how long the rollout takes")
    fault.add_argument("--count", type=int, default=ERROR_COUNT, help="5xx: how many requests answer 503")
    fault.set_defaults(run=run_fault)
    for action in (up, status, down, fault):
        action.add_argument(
            "--dir",
            type=Path,
            default=DEFAULT_DIR,
            help=f"where the platform keeps its files and pid (default: {DEFAULT_DIR})",
        )


def exports(running: Running) -> list[str]:
    return [
        f"export SKYTRAIN_ENVIRONMENTS={running.state['environments']}",
        f"export KUBECONFIG={running.state['kubeconfig']}",
    ]


def running_in(directory: Path) -> Running:
    running = find(directory)
    if running is None:
        raise UsageError(
            f"no local platform runs in {directory}; start one with: skytrain dev up --dir {directory}"
        )
    return running


def run_up(args: argparse.Namespace) -> int:
    running = find(args.dir)
    if running is not None:
        print(f"# the local platform in {args.dir} is already up (pid {running.pid})")
    else:
        running = start(args.dir)
        state = running.state
        print(
            f"# local platform up in {args.dir} (pid {running.pid}): Marathon {state['marathon']}, Kubernetes {state['kubernetes']}"
        )
        print(
            "# environments dev, staging, production: Marathon groups /dev, /staging, /production; namespaces alike"
        )
    print("\n".join(exports(running)))
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    running = find(args.dir)
    if running is None:
        print(f"no local platform runs in {args.dir}; start one with: skytrain dev up --dir {args.dir}")
        return EXIT_FAILED
    state = running.ask("GET", "/status")
    if args.output == "json":
        files = {key: running.state[key] for key in ("environments", "kubeconfig", "log")}
        print(json.dumps({**state, "files": files}, indent=2))
        return EXIT_OK
    print(f"local platform in {args.dir}: up since {state['started']} (pid {running.pid})")
    print(f"  Marathon    {state['marathon']}")
    print(f"  Kubernetes  {state['kubernetes']}")
    for environment, services in state["deployed"].items():
        lines = [describe(s) for s in services] or ["nothing deployed"]
        print(f"  {environment + ':':<12}{lines[0]}")
        for line in lines[1:]:
            print(f"  {'':<12}{line}")
    for fault in state["faults"]:
        print(f"  armed: {fault}")
    print("\n".join(exports(running)))
    return EXIT_OK


def describe(service: dict[str, Any]) -> str:
    return f"{service['service']} on {service['target']}: {service['ready']} ready, {service['image']}"


def run_down(args: argparse.Namespace) -> int:
    running = find(args.dir)
    if running is None:
        forget(args.dir)  # a platform that died leaves its files pointing at nothing
        print(f"no local platform runs in {args.dir}; nothing to stop")
        return EXIT_OK
    killed = stop(running)
    how = "killed (it did not stop on SIGTERM)" if killed else "stopped"
    print(f"local platform in {args.dir} {how} (pid {running.pid}); unset SKYTRAIN_ENVIRONMENTS KUBECONFIG")
    return EXIT_OK


def run_fault(args: argparse.Namespace) -> int:
    running = running_in(args.dir)
    if args.kind == CLEAR:
        cleared = running.ask("DELETE", "/faults")["cleared"]
        print(f"disarmed {cleared} fault{'s' if cleared != 1 else ''}")
        return EXIT_OK
    answer = running.ask(
        "POST",
        "/faults",
        {
            "kind": args.kind,
            "environment": args.env,
            "service": args.service,
            "targets": [args.target] if args.target else list(TARGETS),
            "seconds": args.seconds,
            "count": args.count,
        },
    )
    print(f"armed: {answer['armed']}")
    return EXIT_OK
