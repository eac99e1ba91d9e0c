"""What every backend offers the commands, and the results it hands back.

Both schedulers answer the same questions (deploy and gate, status, roll back, scale,
read what runs) with the same result shapes, so that the CLI, the pipeline and the
diff treat them alike and a user sees one tool.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from skytrain.config.model import App
from skytrain.progress import Reporter


class Outcome(StrEnum):
    DEPLOYED = "deployed"  # new version rolled out and passed its gate
    UNCHANGED = "unchanged"  # what runs already matches; gate passed at once
    STARTED = "started"  # applied, gate not awaited (--no-wait)
    FAILED = "failed"  # gate failed (a doomed state) or the scheduler refused
    TIMED_OUT = "timed-out"  # gate did not pass within its timeout
    ROLLED_BACK = "rolled-back"  # failed or timed out, then the previous version was restored
    ROLLBACK_FAILED = "rollback-failed"  # and the restore did not pass its gate either


@dataclass(frozen=True)
class DeployOptions:
    wait: bool = True
    timeout_seconds: float | None = None  # None: the app's deploy.gateTimeoutSeconds
    rollback: bool | None = None  # None: the app's deploy.rollbackOnFailure
    force: bool = False  # supersede a deployment in progress instead of waiting for it

    def gate_timeout(self, app: App) -> float:
        return (
            self.timeout_seconds
            if self.timeout_seconds is not None
            else float(app.deploy.gate_timeout_seconds)
        )

    def rolls_back(self, app: App) -> bool:
        return self.rollback if self.rollback is not None else app.deploy.rollback_on_failure


@dataclass
class FailureReport:
    """One block per failing object: why, and the evidence (events, logs, task failures)."""

    object: str
    reason: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class GateResult:
    passed: bool
    timed_out: bool = False
    seconds: float = 0.0
    summary: str = ""
    failures: list[FailureReport] = field(default_factory=list)

    @property
    def not_passed(self) -> Outcome:
        """The outcome of an operation whose gate did not pass (before any rollback)."""
        return Outcome.TIMED_OUT if self.timed_out else Outcome.FAILED


@dataclass
class DeployResult:
    app: str
    environment: str
    target: str
    outcome: Outcome
    revision: str | None = None
    previous_revision: str | None = None
    gate: GateResult | None = None
    rollback_gate: GateResult | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.DEPLOYED, Outcome.UNCHANGED, Outcome.STARTED)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ObjectStatus:
    name: str
    healthy: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusResult:
    app: str
    environment: str
    target: str
    exists: bool
    healthy: bool
    revision: str | None = None
    objects: list[ObjectStatus] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Backend(Protocol):
    target: str

    def deploy(
        self, app: App, objects: list[dict[str, Any]], options: DeployOptions, reporter: Reporter
    ) -> DeployResult:
        """Apply the rendered objects, then (unless options.wait is false) gate them; on a
        failed gate roll back when the options say so, and gate the rollback too."""

    def status(self, app: App) -> StatusResult: ...

    def rollback(
        self, app: App, to_revision: str | None, options: DeployOptions, reporter: Reporter
    ) -> DeployResult:
        """Restore a recorded revision (default: the one before the current) and gate it."""

    def scale(self, app: App, replicas: int, options: DeployOptions, reporter: Reporter) -> DeployResult: ...

    def live_objects(self, apps: list[App]) -> dict[str, list[dict[str, Any]]]:
        """What runs now for each app (by app name), as the scheduler returns it, for the diff."""
