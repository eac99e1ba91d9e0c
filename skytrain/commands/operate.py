"""What deploy, rollback, scale and status share: options, running one operation per
(service, environment, target) concurrently, and printing the results."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skytrain.commands.common import add_service_arguments, add_target_argument, load_many, targets_for
from skytrain.config.model import App
from skytrain.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from skytrain.backends.base import DeployOptions


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
            type=float,
            metavar="SECONDS",
            help="gate timeout (default: deploy.gateTimeoutSeconds)",
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
            "--force", action="store_true", help="supersede a deployment in progress instead of waiting"
        )


def deploy_options(args: argparse.Namespace) -> DeployOptions:
    from skytrain.backends.base import DeployOptions

    return DeployOptions(
        wait=args.wait, timeout_seconds=args.timeout, rollback=args.rollback, force=args.force
    )


def plan_operations(args: argparse.Namespace) -> list[tuple[App, str]]:
    """Every (app, target) the command touches; all of them validated before any is contacted."""
    loaded: dict[Path, dict[str, App]] = load_many(args.services, args.environments, args.env)
    return [
        (with_kube_context(app, args.kube_context), target)
        for apps in loaded.values()
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


def run_concurrently(operations: list[tuple[App, str]], action: Callable[[App, str], Any]) -> list[Any]:
    if len(operations) == 1:
        return [action(*operations[0])]
    # the threads only wait on schedulers; 64 lets a fleet of 50 roll out in one wave
    with ThreadPoolExecutor(max_workers=min(64, len(operations))) as pool:
        return list(pool.map(lambda op: action(*op), operations))


def run_gated(
    args: argparse.Namespace,
    operations: list[tuple[App, str]],
    call: Callable[[Any, App, str, Any, Any], Any],
) -> list[Any]:
    """Run `call(backend, app, target, options, reporter)` for every operation, concurrently,
    with one progress reporter shared by all of them."""
    from skytrain.progress import make_reporter
    from skytrain.schedulers import backend

    options = deploy_options(args)
    reporter = make_reporter(args.output)
    try:
        return run_concurrently(
            operations,
            lambda app, target: call(backend(target, app.environment), app, target, options, reporter),
        )
    finally:
        reporter.close()


def print_results(results: list[Any], output: str) -> int:
    """Print the results, masking secrets: a failure's evidence (pod logs, task failures) can
    echo a credential from the service's environment."""
    from skytrain.redact import redact, redact_data, secret_values

    secrets = secret_values()
    if output == "json":
        document = {"results": [redact_data(r.to_json(), secrets) for r in results]}
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        for result in results:
            print(redact(format_result(result), secrets))
    return EXIT_OK if all(getattr(r, "ok", getattr(r, "healthy", False)) for r in results) else EXIT_FAILED


def format_result(result: Any) -> str:
    from skytrain.backends.base import DeployResult

    if not isinstance(result, DeployResult):
        return format_status(result)
    head = f"{result.environment}/{result.app} on {result.target}: {result.outcome.value}"
    if result.revision:
        head += f" (revision {result.revision})"
    lines = [head, *[f"  {m}" for m in result.messages]]
    for title, gate in (("gate", result.gate), ("rollback gate", result.rollback_gate)):
        if gate is None:
            continue
        verdict = "passed" if gate.passed else "timed out" if gate.timed_out else "failed"
        lines.append(
            f"  {title} {verdict} after {gate.seconds:.1f}s" + (f": {gate.summary}" if gate.summary else "")
        )
        for failure in gate.failures:
            lines.append(f"  ✗ {failure.object}: {failure.reason}")
            lines.extend(f"      {line}" for line in failure.evidence)
    return "\n".join(lines)


def format_status(status: Any) -> str:
    state = "healthy" if status.healthy else "not running" if not status.exists else "unhealthy"
    head = f"{status.environment}/{status.app} on {status.target}: {state}"
    if status.revision:
        head += f" (revision {status.revision})"
    lines = [head]
    for obj in status.objects:
        lines.append(f"  {'✓' if obj.healthy else '✗'} {obj.name}: {obj.summary}")
    return "\n".join(lines)
