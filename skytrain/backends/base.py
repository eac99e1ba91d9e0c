"""The vocabulary the lifecycle and the scheduler backends share.

A backend does not deploy: it offers the steps of one operation on one app (a
`Session`: read what runs, plan, record, apply, gate, release) and skytrain.lifecycle
runs them in one order for every scheduler, deciding when to roll back and what to
tell the person. Backends raise `SchedulerError` (or `Refused`) for every failure of
their scheduler, so the lifecycle needs no scheduler's exception types.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from skytrain.config.model import App
from skytrain.errors import ConfigError
from skytrain.progress import Reporter
from skytrain.wording import done, place

Obj = dict[str, Any]
# notes a scale records on the app in the same change (Marathon labels, Kubernetes
# annotations), by a name of lowercase words and dashes; None removes one
Marks = Mapping[str, str | None]


def described(marks: Marks) -> str:
    """Marks as a result says them: `previous-instances=2, no cut-over-at`."""
    return ", ".join(f"{m}={v}" if v is not None else f"no {m}" for m, v in sorted(marks.items()))


def subject(app: App, scheduler: str) -> str:
    """How progress lines name one app on one scheduler: `staging/giphy on kubernetes`, as
    its result does."""
    return place(app.environment.name, app.name, scheduler)


class Outcome(StrEnum):
    """How one operation on one app ended: the terminal, --output json, JUnit and the
    pipeline all say it with these words."""

    DEPLOYED = "deployed"  # applied and passed its gate
    UNCHANGED = "unchanged"  # what runs already matched; nothing was applied
    STARTED = "started"  # applied, gate not awaited (--no-wait)
    FAILED = "failed"  # applied, the gate failed, and it was left in place
    TIMED_OUT = "timed-out"  # applied, the gate did not pass in time, left in place
    ROLLED_BACK = "rolled-back"  # applied, the gate failed, what ran before was restored
    ROLLBACK_FAILED = "rollback-failed"  # ... and the restore did not pass its gate either
    REFUSED = "refused"  # the scheduler refused or could not be reached; what ran before still runs
    INTERRUPTED = "interrupted"  # SIGINT/SIGTERM: waiting stopped, the state reached was recorded


OK_OUTCOMES = frozenset({Outcome.DEPLOYED, Outcome.UNCHANGED, Outcome.STARTED})


def said(outcome: Outcome, operation: str) -> str:
    """How the terminal says an outcome: what happened (`scaled`, `rolled back`) when the
    operation did what was asked, else the outcome's own word. JSON keeps the outcome, and
    names the operation beside it."""
    return done(operation) if outcome is Outcome.DEPLOYED else outcome.value


@dataclass(frozen=True)
class DeployOptions:
    wait: bool = True
    timeout_seconds: float | None = None  # None: the app's deploy.gateTimeoutSeconds
    rollback: bool | None = None  # None: the app's deploy.rollbackOnFailure
    force: bool = False  # supersede a deployment (or a lock) in progress instead of waiting

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
    interrupted: bool = False

    @property
    def verdict(self) -> str:
        if self.passed:
            return "passed"
        return "interrupted" if self.interrupted else "timed out" if self.timed_out else "failed"


@dataclass
class DeployResult:
    app: str
    environment: str
    target: str
    outcome: Outcome
    revision: str | None = None  # what this operation applied (or, unchanged, what runs)
    previous_revision: str | None = None  # what ran before it
    gate: GateResult | None = None
    rollback_gate: GateResult | None = None
    messages: list[str] = field(default_factory=list)
    running: str = ""  # what runs now, in a sentence, when it is not simply `revision`
    next_steps: list[str] = field(default_factory=list)  # exact commands to roll back or resume
    sent: bool = False  # whether anything was sent to the scheduler (exit 2 only when not)
    bad_input: bool = False  # refused before sending because the request itself was wrong
    operation: str = "deploy"  # deploy, rollback or scale: what was asked

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES

    @property
    def said(self) -> str:
        return said(self.outcome, self.operation)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Revision:
    """One entry of an app's release history, as `status` and `rollback` show it."""

    revision: str
    outcome: str = ""  # deployed, failed, refused, interrupted, applying...; "" when the scheduler keeps none
    image: str = ""
    at: str = ""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Live:
    """What runs before an operation: the revision running (None: nothing), whether it is
    healthy and settled (an unchanged deploy then passes at once), and the scheduler's own
    view of it for planning."""

    current: Revision | None
    healthy: bool
    state: Any = None


@dataclass
class Change:
    """What one operation sends: recorded as `revision` ("" until the scheduler names it,
    as Marathon does when it accepts a version)."""

    revision: str
    description: str  # for messages: "image registry.example.com/giphy:v2", "scale to 4"
    payload: Any  # the scheduler's own: manifests, an app definition, a replica count
    restores: str | None = None  # the revision a rollback restores


class SchedulerError(Exception):
    """The scheduler could not be reached or answered with an error; the message names the
    scheduler and the call, is safe to print, and says nothing about what the lifecycle does next."""


class Refused(SchedulerError):
    """The scheduler refused a change. `applied` lists what this operation had already
    applied before it; `errors` locate a refused field in the config when they can."""

    def __init__(
        self, message: str, applied: list[str] | None = None, errors: list[ConfigError] | None = None
    ):
        super().__init__(message)
        self.applied = applied or []
        self.errors = errors or []


class LockHeld(SchedulerError):
    """Another deploy of the app holds its lock (the message names them); nothing was changed."""


class Contended(SchedulerError):
    """Another deploy wrote between this one's read and its first write: read and plan again."""


class Session(Protocol):
    """One operation on one app on one scheduler, step by step (skytrain.lifecycle runs them).

    Every step raises SchedulerError (or a subclass) for its scheduler's failures and
    skytrain.interrupts.Interrupted when a signal stopped its waiting."""

    notes: list[str]  # what the result should say about how the changes went ("waited 2s for ...")

    def read(self) -> Live:
        """What runs (waiting while another deploy holds the app's lock, unless forced)."""

    def history(self, live: Live) -> list[Revision]:
        """The recorded revisions, newest first (what --to-revision may name)."""

    def plan(self, objects: list[Obj], live: Live) -> Change | None:
        """The change that makes `objects` run; None when they already do."""

    def plan_rollback(self, revision: str, live: Live) -> Change:
        """The change that restores a recorded revision (the lifecycle checked it exists)."""

    def rollback_target(self, live: Live) -> Revision | None:
        """The revision `rollback` restores when none is named: the one before what runs."""

    def plan_scale(self, replicas: int, live: Live, marks: Marks | None = None) -> Change | None:
        """The change to `replicas` copies, never restarting any, recording `marks` on the
        app in the same change; None when already so."""

    def record(self, change: Change, outcome: str, last: bool = False) -> None:
        """Write down what `change` reached (before apply: "applying"); `last` also releases
        the app's lock in the same write where the scheduler can."""

    def apply(self, change: Change) -> None:
        """Send the change (raises Refused with what it applied before a refusal); sets
        change.revision when the scheduler names it."""

    def gate(self, change: Change | None, timeout: float) -> GateResult:
        """Wait until what was applied (None: what runs) is healthy, failed or timed out;
        an interrupt ends the wait with `interrupted` set."""

    def running(self) -> str:
        """What runs now, read again, in a sentence (after a failure: the truth, not the plan)."""

    def release(self) -> None:
        """Give the lock back if a record did not already; raises SchedulerError if it cannot."""


class Backend(Protocol):
    """One scheduler of one environment."""

    name: str

    def session(self, app: App, options: DeployOptions, reporter: Reporter) -> Session: ...

    def status(self, app: App) -> StatusResult: ...

    def live_objects(self, apps: list[App]) -> dict[str, list[Obj]]:
        """What runs now for each app (by app name), as the scheduler returns it, for the diff."""

    def census(self, apps: list[App]) -> dict[str, Census]:
        """How many copies of each app run (by app name; absent: none deployed), from one
        list per kind for all of them, whatever their number."""

    def hold(self, app: App, options: DeployOptions) -> AbstractContextManager[None]:
        """Hold the app's deploy lock across several operations (a migration's steps):
        waits up to the gate timeout for another holder (not at all with `force`), then
        raises LockHeld; nothing is changed before it is held."""

    def remove(self, app: App, timeout: float) -> str:
        """Delete the app from this scheduler and wait until it is gone; what was removed,
        in a sentence. Raises SchedulerError (Refused when the scheduler refused)."""


@dataclass(frozen=True)
class Census:
    """What a scheduler runs of one app, counted: how many copies are wanted and ready,
    whether a rollout is still going on, and the marks skytrain recorded with a scale."""

    desired: int
    ready: int
    settled: bool  # no rollout in progress and every wanted copy ready
    marks: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "marks": dict(self.marks)}


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
    history: list[Revision] = field(default_factory=list)
    error: str = ""  # the scheduler could not be read: why, in a sentence

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
