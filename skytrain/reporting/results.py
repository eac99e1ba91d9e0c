"""An operation's or a status's result as text or JSON, with secrets masked, and the exit
code a set of results means (DESIGN.md): 0 all went well; 1 something failed (once
anything was sent, always 1); 2 only when nothing was sent because the request itself was
wrong; 130 / 143 when a signal interrupted it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from skytrain import interrupts
from skytrain.backends.base import DeployResult, Outcome, StatusResult
from skytrain.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from skytrain.redact import redact, redact_data, secret_values
from skytrain.wording import place

Result = DeployResult | StatusResult
HISTORY_SHOWN = 5


def exit_code(results: Sequence[Result]) -> int:
    deploys = [r for r in results if isinstance(r, DeployResult)]
    if any(r.outcome is Outcome.INTERRUPTED for r in deploys):
        return interrupts.exit_code()
    failed = [r for r in results if not (r.ok if isinstance(r, DeployResult) else r.healthy)]
    if not failed:
        return EXIT_OK
    if all(isinstance(r, DeployResult) and not r.sent and r.bad_input for r in failed):
        return EXIT_USAGE
    return EXIT_FAILED


def print_results(results: Sequence[Result], output: str) -> int:
    """Print the results, masking secrets (a failure's evidence, pod logs or task failures,
    can echo a credential from the service's environment); returns the exit code."""
    secrets = secret_values()
    if output == "json":
        document = {"results": [redact_data(r.to_json(), secrets) for r in results]}
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        for result in results:
            text = format_result(result) if isinstance(result, DeployResult) else format_status(result)
            print(redact(text, secrets))
    return exit_code(results)


def format_result(result: DeployResult) -> str:
    head = f"{place(result.environment, result.app, result.target)}: {result.said}"
    if result.revision:
        head += f" (revision {result.revision})"
    lines = [head, *[f"  {m}" for m in result.messages]]
    for title, gate in (("gate", result.gate), ("rollback gate", result.rollback_gate)):
        if gate is None:
            continue
        lines.append(
            f"  {title} {gate.verdict} after {gate.seconds:.1f}s"
            + (f": {gate.summary}" if gate.summary else "")
        )
        for failure in gate.failures:
            lines.append(f"  ✗ {failure.object}: {failure.reason}")
            lines.extend(f"      {line}" for line in failure.evidence)
    if result.running:
        lines.append(f"  runs now: {result.running}")
    lines.extend(f"  {step}" for step in result.next_steps)
    return "\n".join(lines)


def format_status(status: StatusResult) -> str:
    where = place(status.environment, status.app, status.target)
    if status.error:
        return f"{where}: {status.error}"
    state = "healthy" if status.healthy else "not running" if not status.exists else "unhealthy"
    head = f"{where}: {state}"
    if status.revision:
        head += f" (revision {status.revision})"
    lines = [head]
    for obj in status.objects:
        lines.append(f"  {'✓' if obj.healthy else '✗'} {obj.name}: {obj.summary}")
    if status.history:
        lines.append("  recent revisions (newest first):")
        for entry in status.history[:HISTORY_SHOWN]:
            said = [entry.outcome or "-", entry.image, entry.at, entry.note]
            lines.append(f"    {entry.revision}  " + "  ".join(s for s in said if s))
    return "\n".join(lines)
