"""The one deploy lifecycle, for every scheduler.

    lock → read what runs → plan → record the intended revision → apply → gate
         → (roll back → gate) → record the outcome → unlock

A scheduler's backend supplies the steps (a `Session`, backends/base.py); the order,
the recording, the decision to roll back and every message live here, so Marathon and
Kubernetes (and any scheduler after them) end in the same outcomes, say them the same
way, and keep one failure contract:

- before anything is sent, a request that cannot be done is bad input (`bad_input`:
  the command exits 2) and the scheduler is untouched;
- once anything was sent, the result says what was applied, what was restored and
  what runs now, and the command exits 1 (never "nothing was sent");
- a signal stops the waiting: the applied revision is recorded as interrupted, the
  lock released, and the result carries the commands to roll back or to resume;
- no step raises past this module: a scheduler's failure ends in an outcome, and a
  failure to record it or to release the lock is said after it, never instead of it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from skytrain import interrupts
from skytrain.backends.base import (
    Backend,
    Change,
    Contended,
    DeployOptions,
    DeployResult,
    GateResult,
    Live,
    LockHeld,
    Marks,
    Obj,
    Outcome,
    Refused,
    SchedulerError,
    Session,
    StatusResult,
    said,
    subject,
)
from skytrain.config.model import App
from skytrain.errors import UsageError
from skytrain.progress import Reporter

CONTENDED_ATTEMPTS = 3  # reads and plans again when another deploy wrote first

Planner = Callable[[Session, Live], Change | None]
T = TypeVar("T")
R = TypeVar("R")


def deploy(
    backend: Backend,
    app: App,
    objects: list[Obj],
    options: DeployOptions,
    reporter: Reporter,
    where: str = "",
) -> DeployResult:
    """Make `objects` run: apply what differs, gate it, roll back to what ran before when
    the gate fails (unless the options or the app say not to)."""
    return _Operation(backend, app, options, reporter, where, "deploy").run(
        lambda session, live: session.plan(objects, live), restores=True
    )


def rollback(
    backend: Backend,
    app: App,
    to_revision: str | None,
    options: DeployOptions,
    reporter: Reporter,
    where: str = "",
) -> DeployResult:
    """Restore a recorded revision (default: the one before what runs) and gate it. A
    revision that is not recorded is bad input: nothing is sent, the real ones are listed."""

    def plan(session: Session, live: Live) -> Change:
        known = session.history(live)
        if to_revision is None:
            target = session.rollback_target(live)
            if target is None:
                raise UsageError(
                    f"{app.name} has no earlier revision to roll back to in {app.environment.name} "
                    f"on {backend.name}; recorded: {_listed(known)}"
                )
            return session.plan_rollback(target.revision, live)
        if to_revision not in {r.revision for r in known}:
            raise UsageError(
                f"{app.name} has no revision {to_revision} in {app.environment.name} on {backend.name}; "
                f"recorded: {_listed(known)}"
            )
        return session.plan_rollback(to_revision, live)

    return _Operation(backend, app, options, reporter, where, "rollback").run(plan, restores=False)


def scale(
    backend: Backend,
    app: App,
    replicas: int,
    options: DeployOptions,
    reporter: Reporter,
    where: str = "",
    marks: Marks | None = None,
) -> DeployResult:
    """Change the number of copies only (never a restart), gated; nothing to scale is bad
    input. `marks` are recorded on the app in the same change (a migration notes there the
    count it scaled from, so that a fall-back knows where to return)."""

    def plan(session: Session, live: Live) -> Change | None:
        if live.current is None:
            raise UsageError(
                f"{app.name} does not run in {app.environment.name} on {backend.name}: deploy it first"
            )
        return session.plan_scale(replicas, live, marks)

    return _Operation(backend, app, options, reporter, where, "scale").run(plan, restores=False)


def status(backend: Backend, app: App) -> StatusResult:
    """What runs and whether it is healthy; a scheduler that cannot be read is a sentence."""
    try:
        return backend.status(app)
    except SchedulerError as exc:
        return StatusResult(
            app.name,
            app.environment.name,
            backend.name,
            exists=False,
            healthy=False,
            error=f"could not read what runs on {backend.name} in {app.environment.name}: {exc}",
        )


def _listed(known: list) -> str:
    return ", ".join(r.revision for r in known) or "none"


@dataclass
class _Operation:
    backend: Backend
    app: App
    options: DeployOptions
    reporter: Reporter
    where: str
    verb: str

    def __post_init__(self) -> None:
        self.result = DeployResult(
            self.app.name,
            self.app.environment.name,
            self.backend.name,
            Outcome.UNCHANGED,
            operation=self.verb,
        )
        self.subject = subject(self.app, self.backend.name)
        self.live: Live | None = None

    # -- the order -------------------------------------------------------------------------

    def run(self, plan: Planner, restores: bool) -> DeployResult:
        try:
            session = self.backend.session(self.app, self.options, self.reporter)
        except SchedulerError as exc:
            return self._refused(f"could not reach {self.backend.name}: {exc}; nothing was changed")
        try:
            self._run(session, plan, restores)
        finally:
            self._release(session)
            self.result.messages[:0] = session.notes
        return self.result

    def _run(self, session: Session, plan: Planner, restores: bool) -> None:
        change = self._plan(session, plan)
        if change is None or self.live is None:
            return
        if not self._apply(session, change):
            return
        self.result.revision = change.revision
        self.result.messages.append(
            f"restored revision {change.restores} as revision {change.revision}"
            if change.restores
            else f"applied {change.description}"
        )
        if not self.options.wait:
            self._record(session, change, Outcome.STARTED.value, last=True)
            self._finish(
                Outcome.STARTED, f"{self.verb} applied as revision {change.revision}; gate not awaited"
            )
            return
        gate = self.result.gate = self._gate(session, change)
        if gate.passed:
            self._record(session, change, Outcome.DEPLOYED.value, last=True)
            self._finish(Outcome.DEPLOYED, f"revision {change.revision}")
            return
        if gate.interrupted:
            self._record(session, change, Outcome.INTERRUPTED.value, last=True)
            self._interrupted(session, change)
            return
        self.result.outcome = _not_passed(gate)
        left = self._why_left(restores)
        self._record(session, change, self.result.outcome.value, last=left is not None)
        if left is None:
            self._restore(session)
        else:
            self._left(session, left)

    def _plan(self, session: Session, plan: Planner) -> Change | None:
        """Read and plan, again when another deploy wrote in between; None when there is
        nothing to apply (the result then says why)."""
        for _ in range(CONTENDED_ATTEMPTS):
            try:
                interrupts.check()
                self.live = session.read()
                self.result.previous_revision = self.live.current.revision if self.live.current else None
                change = plan(session, self.live)
                if change is None:
                    self._unchanged(session)
                    return None
                self.reporter.update(self.subject, "applying", change.description)
                session.record(change, "applying")
                return change
            except Contended:
                continue
            except interrupts.Interrupted:
                self._nothing_changed(
                    Outcome.INTERRUPTED, f"{interrupts.signal_name()} before anything was sent"
                )
            except UsageError as exc:
                self._nothing_changed(Outcome.REFUSED, str(exc))
                self.result.bad_input = True
            except LockHeld as exc:
                self._nothing_changed(Outcome.REFUSED, str(exc))
            except SchedulerError as exc:
                self._nothing_changed(Outcome.REFUSED, f"{exc}")
            return None
        self._nothing_changed(
            Outcome.REFUSED,
            f"other deploys of {self.app.name} kept writing first ({CONTENDED_ATTEMPTS} times)",
        )
        return None

    def _unchanged(self, session: Session) -> None:
        assert self.live is not None
        self.result.revision = self.result.previous_revision
        self.result.messages.append("what runs already matches; nothing was applied")
        if not self.options.wait or self.live.healthy:
            if self.live.healthy:
                self.result.gate = GateResult(True, summary="already running and healthy")
            self.reporter.update(self.subject, "unchanged", f"revision {self.result.revision}")
            return
        gate = self.result.gate = self._gate(session, None)
        if gate.passed:
            self.result.outcome = Outcome.UNCHANGED
        elif gate.interrupted:
            self.result.outcome = Outcome.INTERRUPTED
            self._next_steps(resume=True)
        else:
            self.result.outcome = _not_passed(gate)
            self.result.running = self._running(session)

    def _apply(self, session: Session, change: Change) -> bool:
        """Send the change; False (the result says what happened) when it did not fully go."""
        try:
            session.apply(change)
            self.result.sent = True
            return True
        except interrupts.Interrupted:
            self._record(session, change, Outcome.INTERRUPTED.value, last=True)
            self._nothing_changed(
                Outcome.INTERRUPTED, f"{interrupts.signal_name()} before the change was applied"
            )
        except Refused as exc:
            self.result.sent = True
            self._record(session, change, Outcome.REFUSED.value, last=True)
            self.result.outcome = Outcome.REFUSED
            self.result.messages.extend(str(e) for e in sorted(exc.errors))
            self.result.messages.append(f"{self.backend.name} refused {change.description}: {exc}")
            self.result.messages.append(
                f"applied before the refusal: {', '.join(exc.applied)}"
                if exc.applied
                else "nothing of it was applied"
            )
            self.result.running = self._running(session)
        except SchedulerError as exc:
            self.result.sent = True
            self._record(session, change, Outcome.REFUSED.value, last=True)
            self.result.outcome = Outcome.REFUSED
            self.result.messages.append(f"{change.description} did not reach {self.backend.name}: {exc}")
            self.result.running = self._running(session)
        return False

    def _gate(self, session: Session, change: Change | None) -> GateResult:
        timeout = self.options.gate_timeout(self.app)
        try:
            with self.reporter.gating(self.subject, timeout):
                gate = session.gate(change, timeout)
        except SchedulerError as exc:
            gate = GateResult(False, summary=f"the gate could not watch the rollout: {exc}")
        if gate.interrupted:
            self.reporter.update(self.subject, "interrupted", gate.summary)
        return gate

    def _why_left(self, restores: bool) -> str | None:
        """Why a failed revision stays in place, or None when what ran before is restored."""
        assert self.live is not None
        if not restores:
            return f"the {self.verb} failed its gate; nothing further was changed"
        if not self.options.rolls_back(self.app):
            why = (
                "--no-rollback"
                if self.options.rollback is False
                else "deploy.rollbackOnFailure is false for this service"
            )
            return f"left in place for debugging ({why})"
        if self.live.current is None:
            return (
                f"nothing to roll back to: {self.app.name} did not run on {self.backend.name} in "
                f"{self.app.environment.name} before, so the new version is left in place"
            )
        return None

    def _restore(self, session: Session) -> None:
        """Put back what ran before the failed revision, as a revision of its own, gated."""
        assert self.live is not None and self.live.current is not None
        previous = self.live.current.revision
        self.reporter.note(f"{self.subject}: rolling back to revision {previous}")
        restore = None
        try:
            restore = session.plan_rollback(previous, self.live)
            session.record(restore, "applying")
            session.apply(restore)
        except interrupts.Interrupted:
            self._rollback_interrupted(
                session, restore, f"before the rollback to revision {previous} was applied"
            )
            self.result.running = self._running(session)
            return
        except SchedulerError as exc:
            self._record(session, restore, Outcome.REFUSED.value, last=True)
            self.result.outcome = Outcome.ROLLBACK_FAILED
            self.result.messages.append(f"could not roll back to revision {previous}: {exc}")
            self.result.running = self._running(session)
            return
        gate = self.result.rollback_gate = self._gate(session, restore)
        recorded = f" (recorded as revision {restore.revision})" if restore.revision != previous else ""
        if gate.interrupted:
            self._rollback_interrupted(
                session, restore, f"while gating the rollback to revision {previous}{recorded}"
            )
        elif gate.passed:
            self._record(session, restore, Outcome.DEPLOYED.value, last=True)
            self.result.outcome = Outcome.ROLLED_BACK
            self.result.revision = restore.revision
            self.result.messages.append(f"rolled back to revision {previous}{recorded}")
            return
        else:
            self._record(session, restore, _not_passed(gate).value, last=True)
            self.result.outcome = Outcome.ROLLBACK_FAILED
            self.result.messages.append(f"the rollback to revision {previous}{recorded} failed its gate too")
        self.result.running = self._running(session)

    def _rollback_interrupted(self, session: Session, restore: Change | None, when: str) -> None:
        assert self.live is not None and self.live.current is not None
        self._record(session, restore, Outcome.INTERRUPTED.value, last=True)
        self.result.outcome = Outcome.INTERRUPTED
        self.result.messages.append(f"{interrupts.signal_name()} {when}")
        self._next_steps(resume=False, rollback_to=self.live.current.revision)

    # -- endings ---------------------------------------------------------------------------

    def _finish(self, outcome: Outcome, detail: str) -> None:
        self.result.outcome = outcome
        self.reporter.update(self.subject, said(outcome, self.verb), detail)

    def _left(self, session: Session, why: str) -> None:
        self.result.messages.append(why)
        self.result.running = self._running(session)

    def _interrupted(self, session: Session, change: Change) -> None:
        self.result.outcome = Outcome.INTERRUPTED
        self.result.messages.append(
            f"{interrupts.signal_name()} while gating revision {change.revision}: it was applied and "
            "recorded as interrupted; the scheduler goes on rolling it out"
        )
        previous = self.result.previous_revision
        self._next_steps(resume=True, rollback_to=previous)
        self.result.running = self._running(session)

    def _nothing_changed(self, outcome: Outcome, why: str) -> None:
        self.result.outcome = outcome
        self.result.messages.append(f"{why}; nothing was changed")
        self.reporter.update(self.subject, outcome.value, why)
        if outcome is Outcome.INTERRUPTED:
            self._next_steps(resume=True)

    def _refused(self, why: str) -> DeployResult:
        self._nothing_changed(Outcome.REFUSED, why)
        return self.result

    def _next_steps(self, resume: bool, rollback_to: str | None = None) -> None:
        where = (
            f"{self.where or self.app.name} --env {self.app.environment.name} --target {self.backend.name}"
        )
        if rollback_to:  # --force: the interrupted rollout may still hold the app (a Marathon deployment)
            self.result.next_steps.append(
                f"to roll back: skytrain rollback {where} --to-revision {rollback_to} --force"
            )
        if resume:
            self.result.next_steps.append(
                f"to resume (gate again, or finish the {self.verb}): skytrain {self.verb} {where}"
            )

    # -- recording and the lock, whose failures never hide the outcome --------------------

    def _record(self, session: Session, change: Change | None, outcome: str, last: bool = False) -> None:
        if change is None:
            return
        try:
            session.record(change, outcome, last=last)
        except SchedulerError as exc:
            self.result.messages.append(
                f"revision {change.revision} could not be recorded as {outcome}: {exc}"
            )

    def _release(self, session: Session) -> None:
        try:
            session.release()
        except SchedulerError as exc:
            self.result.messages.append(
                f"the deploy lock could not be released ({exc}); it expires by itself"
            )

    def _running(self, session: Session) -> str:
        try:
            return session.running()
        except SchedulerError as exc:
            return f"unknown: {exc}"


def _not_passed(gate: GateResult) -> Outcome:
    return Outcome.TIMED_OUT if gate.timed_out else Outcome.FAILED


def concurrently(items: list[T], action: Callable[[T], R]) -> list[R]:
    """`action` for every item at once (each operation mostly waits on its scheduler), in
    worker threads even for one: the main thread then only waits, so a signal handler
    running there never meets a lock that thread holds (skytrain.interrupts)."""
    # the threads only wait on schedulers; 64 lets a fleet of 50 roll out in one wave
    with ThreadPoolExecutor(max_workers=max(1, min(64, len(items)))) as pool:
        return list(pool.map(action, items))
