"""The record of a run, step by step: what the terminal summary, --output json and the
JUnit report are all made of, so the three always agree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from skytrain.errors import ConfigError
from skytrain.redact import redact, redact_data

if TYPE_CHECKING:
    from skytrain.backends.base import DeployResult

VALIDATE = "validate"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    AWAITING_APPROVAL = "awaiting-approval"


@dataclass
class Step:
    """One line of the run's record, and one JUnit test case."""

    stage: str  # "validate" or the stage's name
    kind: str  # validate | approval | deploy | gate | rollback
    name: str  # the file validated, or the target
    status: Status
    message: str = ""
    seconds: float = 0.0
    result: dict[str, Any] | None = None

    @property
    def title(self) -> str:
        if self.kind == VALIDATE:
            return f"validate {self.name}"
        return f"{self.stage}: {self.kind} {self.name}".rstrip()

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "kind": self.kind,
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "seconds": round(self.seconds, 3),
            "result": self.result,
        }


def validation_steps(files: Iterable[str], errors: Iterable[ConfigError]) -> list[Step]:
    """One step per file checked, failed with every error found in it (files named only by an
    error, such as the environments file, get a step too)."""
    by_file: dict[str, list[ConfigError]] = {name: [] for name in files}
    for error in errors:
        by_file.setdefault(error.location.file, []).append(error)
    return [
        Step(
            VALIDATE,
            VALIDATE,
            name,
            Status.FAILED if found else Status.PASSED,
            redact("\n".join(str(e) for e in sorted(found))),
        )
        for name, found in by_file.items()
    ]


def deploy_steps(stage: str, result: DeployResult, seconds: float) -> list[Step]:
    """A deploy step (did the scheduler take it) and, when it did, a gate step (did it become
    healthy); a failure carries the text `skytrain deploy` prints for it."""
    from skytrain.backends.base import Outcome
    from skytrain.reporting.results import format_result

    message = redact(format_result(result))
    applied = result.ok or (result.sent and result.outcome is not Outcome.REFUSED)
    steps = [
        Step(
            stage,
            "deploy",
            result.target,
            Status.PASSED if applied else Status.FAILED,
            "" if applied else message,
            seconds,
            redact_data(result.to_json()),
        )
    ]
    if applied:
        steps.append(
            Step(
                stage,
                "gate",
                result.target,
                Status.PASSED if result.ok else Status.FAILED,
                "" if result.ok else message,
                result.gate.seconds if result.gate else 0.0,
            )
        )
    return steps
