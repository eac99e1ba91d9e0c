"""What deploy, rollback, scale and status share: options, and running one operation per
(service, environment, target) concurrently through the lifecycle."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skytrain.commands.common import add_service_arguments, add_target_argument, load_many, targets_for
from skytrain.config.model import App

if TYPE_CHECKING:
    from skytrain.backends.base import Backend, DeployOptions
    from skytrain.progress import Reporter


@dataclass(frozen=True)
class Operation:
    """One app on one scheduler, and the service directory as the command line named it
    (for the commands a result suggests)."""

    app: App
    target: str
    where: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.app.name, self.app.environment.name, self.target


def add_operation_arguments(parser: argparse.ArgumentParser, gated: bool = True) -> None:
    add_service_arguments(parser, many=True)
    parser.add_argument("--env", required=True, help="environment")
    add_target_argument(parser)
    parser.add_argument(
        "--output", choices=("text", "json"), default="text", help="json: one machine-readable result"
    )
    parser.add_argument(
        "--kube-context",
        metavar="NAME",
        help="Kubernetes context (cluster) to use instead of the one the environments file names",
    )
    if gated:
        parser.add_argument(
            "--no-wait", dest="wait", action="store_false", help="apply and return without gating"
        )
        parser.add_argument(
            "--timeout",
            type=timeout_seconds,
            metavar="SECONDS",
            help="gate timeout, a positive number of seconds (default: deploy.gateTimeoutSeconds)",
        )
        parser.add_argument(
            "--no-rollback",
            dest="rollback",
            action="store_const",
            const=False,
            default=None,
            help="leave a failed version in place for debugging",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="supersede a deployment or lock in progress instead of waiting",
        )


def timeout_seconds(text: str) -> float:
    """A gate timeout: a positive, finite number of seconds (0, -1 or nan would apply a
    change, time out at once and roll it back)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def deploy_options(args: argparse.Namespace) -> DeployOptions:
    from skytrain.backends.base import DeployOptions

    return DeployOptions(
        wait=args.wait, timeout_seconds=args.timeout, rollback=args.rollback, force=args.force
    )


def plan_operations(args: argparse.Namespace) -> list[Operation]:
    """Every (app, target) the command touches; all of them validated before any is contacted."""
    loaded: dict[Path, dict[str, App]] = load_many(args.services, args.environments, args.env, args.variables)
    return [
        Operation(with_kube_context(app, args.kube_context), target, str(directory))
        for directory, apps in loaded.items()
        for app in apps.values()
        for target in targets_for(app, args.target)
    ]


def with_kube_context(app: App, context: str | None) -> App:
    """The app aimed at another Kubernetes cluster of the same environment (Makefile.base.mk's
    K8S_CLUSTER_<env>); unchanged when no context is given or the environment has no Kubernetes."""
    kubernetes = app.environment.kubernetes
    if not context or kubernetes is None:
        return app
    environment = replace(app.environment, kubernetes=replace(kubernetes, context=context))
    return replace(app, environment=environment)


def configured_backends(operations: list[Operation]) -> dict[tuple[str, str, str], Backend]:
    """A backend per (app, environment, target), all made before any is used: a setting that
    is wrong (a missing scheduler in the environments file, SKYTRAIN_MARATHON_TIMEOUT, a
    kubeconfig) is exit 2 before anything is sent."""
    from skytrain.schedulers import backend

    return {op.key: backend(op.target, op.app.environment) for op in operations}


def run_gated(
    args: argparse.Namespace,
    operations: list[Operation],
    call: Callable[[Backend, Operation, DeployOptions, Reporter], Any],
) -> list[Any]:
    """Run `call(backend, operation, options, reporter)` for every operation, concurrently,
    with one progress reporter shared by all of them; SIGINT and SIGTERM stop their waiting
    (skytrain.interrupts) instead of killing the process half-way."""
    from skytrain import interrupts
    from skytrain.lifecycle import concurrently
    from skytrain.progress import make_reporter
    from skytrain.terminal import terminal

    options = deploy_options(args)
    backends = configured_backends(operations)
    reporter = make_reporter(args.output, terminal(args))
    try:
        with interrupts.handled():
            return concurrently(operations, lambda op: call(backends[op.key], op, options, reporter))
    finally:
        reporter.close()
