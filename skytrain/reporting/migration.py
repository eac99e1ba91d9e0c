"""A migrate run's result (cutover, fallback, finish) as text or as one JSON object, with
secrets masked, and the exit code its ending means (docs/migration.md): 0 done or nothing
to do, 1 a step failed (and was reverted), 2 a precondition did not hold and nothing was
changed, 130 / 143 interrupted."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from skytrain import interrupts
from skytrain.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from skytrain.migration.live.steps import Ending, Result
from skytrain.migration.phases import Standing
from skytrain.redact import redact, redact_data, secret_values

EXIT_CODES = {
    Ending.DONE: EXIT_OK,
    Ending.UNCHANGED: EXIT_OK,
    Ending.FELL_BACK: EXIT_FAILED,
    Ending.FAILED: EXIT_FAILED,
    Ending.REFUSED: EXIT_USAGE,
}


def exit_code(result: Result) -> int:
    return EXIT_CODES.get(result.ending, interrupts.exit_code())


def format_migration(result: Result) -> str:
    """The ending with the first line, the other lines and the commands to go on indented."""
    lines = [
        f"{result.ending.value}: {line}" if i == 0 else f"  {line}" for i, line in enumerate(result.lines)
    ]
    return "\n".join(lines + [f"  {step}" for step in result.next_steps])


def migration_json(
    operation: str, service: str, environment: str, result: Result, now: Standing
) -> dict[str, Any]:
    """The whole run in one object: the steps as they ended, whether and why the traffic
    went back to Mesos, and where the service stands afterwards, read again (`now` is the
    service as `migrate status --format json` shows it)."""
    return {
        "operation": operation,
        "service": service,
        "environment": environment,
        "outcome": result.ending.value,
        "exitCode": exit_code(result),
        "before": result.before,
        "steps": [step.to_json() for step in result.steps],
        "fellBack": bool(result.fell_back),
        "fallBackReason": result.fell_back or None,
        "messages": result.lines,
        "nextSteps": result.next_steps,
        "now": now.to_json(),
    }


def plan_json(operation: str, service: str, environment: str, plan: Sequence[str]) -> dict[str, Any]:
    """A --dry-run: what the operation would do; nothing was changed."""
    return {
        "operation": operation,
        "service": service,
        "environment": environment,
        "dryRun": True,
        "outcome": Ending.UNCHANGED.value,
        "exitCode": EXIT_OK,
        "plan": list(plan),
    }


def print_json(document: dict[str, Any]) -> None:
    json.dump(redact_data(document, secret_values()), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def print_migration(result: Result) -> int:
    """The text result, masked; returns the exit code."""
    text = format_migration(result)
    if text:
        print(redact(text))
    return exit_code(result)
