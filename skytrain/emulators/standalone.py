"""Each emulator on its own, in the foreground, for someone trying things by hand:

    python -m skytrain.emulators.marathon --help
    python -m skytrain.emulators.kubernetes --help

Both run until Ctrl-C or SIGTERM. The whole local platform (both emulators, three
environments, an environments file, a kubeconfig and faults on purpose, in the background)
is `skytrain dev up` (docs/dev.md).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

from skytrain.outputs import write_file

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
MARATHON_FLAVOURS = ("1.4", "1.5", "1.6", "1.7")


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back from every thread started inside (they inherit the
    mask), so that `wait_for_stop` receives them instead of a thread in the middle of a
    request."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def wait_for_stop() -> int:
    """Block until SIGINT or SIGTERM arrives (inside `signals_held`); the signal's number."""
    return signal.sigwait(STOP_SIGNALS)


def marathon_main(argv: list[str] | None = None) -> None:
    from skytrain.emulators.marathon import Behaviour, MarathonEmulator

    parser = argparse.ArgumentParser(
        prog="python -m skytrain.emulators.marathon",
        description="An emulated Marathon REST API (v2) on 127.0.0.1: apps, versions, deployments "
        "and tasks that start and pass their health checks by themselves. It validates apps "
        "like the Marathon version it plays. Runs until Ctrl-C.",
        epilog="Point an environments file at the URL it prints (marathon: {url: ...}). "
        "For both schedulers with three environments and faults on purpose: skytrain dev up.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free one)")
    parser.add_argument(
        "--flavour", default="1.7", choices=MARATHON_FLAVOURS, help="Marathon version to play (default: 1.7)"
    )
    parser.add_argument(
        "--healthy-after",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="how long a new task takes to run and pass its health check (default: 0.5)",
    )
    args = parser.parse_args(argv)
    with signals_held():
        emulator = MarathonEmulator(
            args.flavour, Behaviour.healthy(args.healthy_after), port=args.port
        ).start()
        print(f"Marathon {args.flavour} emulator on {emulator.url}", flush=True)
        wait_for_stop()
        emulator.stop()


def kubernetes_main(argv: list[str] | None = None) -> None:
    from skytrain.emulators.kubernetes import kubeconfig, serve
    from skytrain.emulators.kubernetes_controllers import BEHAVIOURS, HEALTHY, Controller

    parser = argparse.ArgumentParser(
        prog="python -m skytrain.emulators.kubernetes",
        description="An emulated Kubernetes API server on 127.0.0.1 with its controllers: "
        "Deployments roll out to pods, ReplicaSets, events, logs and endpoints by themselves. "
        "It stores ConfigMaps, Secrets, Services, Deployments, ReplicaSets, Pods, Events, "
        "EndpointSlices, Leases, Namespaces and ServiceAccounts; kubectl works against it. Runs until Ctrl-C.",
        epilog="For both schedulers with three environments and faults on purpose: skytrain dev up.",
    )
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: any free one)")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="write a kubeconfig pointing at the emulator (contexts dev, staging, production)",
    )
    parser.add_argument(
        "--rollouts",
        default=HEALTHY,
        choices=BEHAVIOURS,
        help="how every rollout ends (default: healthy)",
    )
    args = parser.parse_args(argv)
    with signals_held(), serve(port=args.port) as emulator:
        controller = Controller(emulator, behaviour=args.rollouts)
        print(f"Kubernetes API emulator on {emulator.address}", flush=True)
        if args.kubeconfig is not None:
            contexts = ("dev", "staging", "production")
            write_file(args.kubeconfig, kubeconfig(dict.fromkeys(contexts, emulator.address)), "--kubeconfig")
            print(f"export KUBECONFIG={args.kubeconfig.resolve()}", flush=True)
        wait_for_stop()
        controller.stop()
