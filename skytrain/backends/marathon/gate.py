"""The Marathon health gate: wait until a deployment has rolled out healthy, or fail fast.

Passes (API-NOTES §4.4) when our deployment is gone from the app's `deployments`, the
app runs `instances` tasks with none staged, all of them on the new config (task
`version` >= `versionInfo.lastConfigChangeAt`), and, for an app with health checks,
`tasksHealthy == instances` with none unhealthy. An app without health checks always
reports `tasksHealthy: 0` (§4.1), so it is gated on running tasks, and the summary says so.

Fails fast, instead of waiting for the timeout, when the new version cannot heal:
tasks of the new version keep failing (`lastTaskFailure` of the new version, seen for
several tasks: crashes, or kills for failed health checks), or the new tasks make no
progress for longer than their health checks could excuse. Unhealthy tasks alone never
fail it: inside the grace period Marathon reports starting tasks as unhealthy (§4.1).

Marathon never times a deployment out (§2.7): the timeout is ours. One GET of the app per
poll carries everything (counts, tasks, deployments, lastTaskFailure); polls are 50 ms
apart so that the gate notices health within a fraction of a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skytrain import interrupts
from skytrain.backends.base import FailureReport, GateResult
from skytrain.backends.marathon.client import MarathonClient, MarathonError, NotFound
from skytrain.progress import Reporter
from skytrain.wording import (
    FAILED,
    HEALTHY,
    REPLICA,
    ROLLING_OUT,
    count,
    interrupted_after,
    not_healthy_in_time,
    share,
    surplus,
)

POLL_SECONDS = 0.05
FAILURES_TO_FAIL = 2  # distinct failed tasks of the new version: one can be bad luck, two is a pattern
MIN_STALL_SECONDS = 30.0


@dataclass(frozen=True)
class GateTarget:
    """What we wait for: this deployment ("" for none: what runs) of this app."""

    app_id: str
    deployment_id: str
    version: str  # the deployment's version: failures before it are not ours
    # the version whose config the tasks must run: the deployment's for a new config, ""
    # when any task runs the current config (a scale, or gating what runs); used when the
    # app does not say (`versionInfo`, which some Marathons and proxies leave out)
    config_version: str


@dataclass
class _Watch:
    """What the gate remembers between polls."""

    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress: tuple[Any, ...] | None = None
    progress_at: float = 0.0
    last_error: str = ""


@dataclass(frozen=True)
class _Verdict:
    passed: bool
    state: str
    detail: str
    failure: FailureReport | None = None


class Gate:
    def __init__(
        self,
        client: MarathonClient,
        poll_seconds: float = POLL_SECONDS,
        stall_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.poll_seconds = poll_seconds
        self.stall_seconds = stall_seconds
        self.clock = clock

    def wait(self, target: GateTarget, timeout: float, reporter: Reporter, subject: str) -> GateResult:
        start = self.clock()
        watch = _Watch(progress_at=start)
        verdict = _Verdict(False, "waiting", "no answer from Marathon yet")
        while True:
            try:
                app = self.client.get_app(target.app_id)
            except NotFound:
                app = None
            except MarathonError as exc:
                watch.last_error = str(exc)
                app = _UNKNOWN
            if app is not _UNKNOWN:
                verdict = self._judge(app, target, watch)
            elapsed = self.clock() - start
            reporter.update(subject, verdict.state, verdict.detail)
            if verdict.passed:
                return GateResult(True, seconds=elapsed, summary=verdict.detail)
            if verdict.failure is not None:
                return GateResult(False, seconds=elapsed, summary=verdict.detail, failures=[verdict.failure])
            if interrupts.requested():
                return GateResult(
                    False,
                    seconds=elapsed,
                    summary=interrupted_after(elapsed, verdict.detail),
                    interrupted=True,
                )
            if elapsed >= timeout:
                evidence = [verdict.detail] + (
                    [f"last error: {watch.last_error}"] if watch.last_error else []
                )
                if isinstance(app, dict):
                    evidence += _evidence(app, target)
                report = FailureReport(
                    f"app {target.app_id}",
                    f"not healthy within the gate timeout of {timeout:g}s "
                    "(Marathon never gives up on a deployment by itself)",
                    evidence,
                )
                return GateResult(
                    False, True, elapsed, not_healthy_in_time(timeout, verdict.detail), [report]
                )
            try:
                interrupts.wait(max(0.0, min(self.poll_seconds, timeout - elapsed)))
            except interrupts.Interrupted:
                continue  # judged once more, then reported as interrupted

    def _judge(self, app: dict[str, Any] | None, target: GateTarget, watch: _Watch) -> _Verdict:
        if app is None:
            return _Verdict(
                False,
                FAILED,
                "the app is gone",
                FailureReport(f"app {target.app_id}", "the app was deleted while we waited for it"),
            )
        deploying = any(d.get("id") == target.deployment_id for d in app.get("deployments", []))
        if not deploying and app.get("version", "") > target.version:
            return _Verdict(
                False,
                FAILED,
                "superseded",
                FailureReport(
                    f"app {target.app_id}",
                    f"another deployment replaced ours: the app is now at version {app['version']}",
                ),
            )
        failure = self._failing(app, target, watch)
        if failure is not None:
            return _Verdict(False, FAILED, failure.reason, failure)
        instances = app.get("instances", 0)
        new = _new_tasks(app, target)
        checks = bool(app.get("healthChecks"))
        detail = _detail(app, new, checks)
        passed = (
            not deploying
            and app.get("tasksStaged", 0) == 0
            and app.get("tasksRunning", 0) == instances
            and len(new) == len(app.get("tasks", [])) == instances
            and all(t.get("state") == "TASK_RUNNING" for t in new)
            and (
                not checks or (app.get("tasksHealthy", 0) == instances and app.get("tasksUnhealthy", 0) == 0)
            )
        )
        if passed:
            return _Verdict(True, HEALTHY, detail)
        stalled = self._stalled(app, new, target, watch)
        if stalled is not None:
            return _Verdict(False, FAILED, stalled.reason, stalled)
        return _Verdict(False, ROLLING_OUT if deploying else "settling", detail)

    def _failing(self, app: dict[str, Any], target: GateTarget, watch: _Watch) -> FailureReport | None:
        failure = app.get("lastTaskFailure")
        config = _config_version(app, target)
        if (
            failure
            and failure.get("version", "") >= config
            and failure.get("timestamp", "") >= target.version
        ):
            watch.failures[failure.get("taskId", "")] = failure
        if len(watch.failures) < FAILURES_TO_FAIL:
            return None
        last = failure or next(reversed(watch.failures.values()))
        health_kill = last.get("state") == "TASK_KILLED" and "health" in last.get("message", "").lower()
        why = "being killed for failing their health checks" if health_kill else "failing"
        return FailureReport(
            f"app {target.app_id}",
            f"tasks of the new version keep {why} ({len(watch.failures)} so far); "
            "Marathon would keep relaunching them",
            _evidence(app, target, watch),
        )

    def _stalled(
        self, app: dict[str, Any], new: list[dict[str, Any]], target: GateTarget, watch: _Watch
    ) -> FailureReport | None:
        progress = tuple(sorted((t.get("id"), t.get("state"), _alive(t)) for t in new))
        now = self.clock()
        if progress != watch.progress:
            watch.progress, watch.progress_at = progress, now
            return None
        window = self.stall_seconds if self.stall_seconds is not None else _stall_window(app)
        if now - watch.progress_at < window:
            return None
        return FailureReport(
            f"app {app.get('id')}",
            f"the deployment made no progress for {window:g}s (tasks of the new version neither "
            "start nor become healthy)",
            _evidence(app, target, watch),
        )


_UNKNOWN: Any = object()


def _detail(app: dict[str, Any], new: list[dict[str, Any]], checks: bool) -> str:
    """How far the rollout is, counting only tasks of the new config (the app's own counts mix
    every version: during a rollback or a scale-down they exceed `instances`)."""
    instances = app.get("instances", 0)
    running = [t for t in new if t.get("state") == "TASK_RUNNING"]
    if checks:
        detail = share(sum(_alive(t) is True for t in running), instances, REPLICA, "healthy")
    else:
        detail = (
            share(len(running), instances, REPLICA, "running") + " (no health checks: gated on running tasks)"
        )
    detail += surplus(len(new), instances)
    outdated = len(app.get("tasks", [])) - len(new)
    if outdated:
        detail += f", {count(outdated, REPLICA)} of the old version still running"
    return detail


def _config_version(app: dict[str, Any], target: GateTarget) -> str:
    """The version from which a task runs the new config: the app's own `versionInfo` when it
    says, else the deployment's (never "any task": old tasks of a superseded or cancelled
    deployment must not pass for new ones)."""
    return (app.get("versionInfo") or {}).get("lastConfigChangeAt") or target.config_version


def _new_tasks(app: dict[str, Any], target: GateTarget) -> list[dict[str, Any]]:
    config = _config_version(app, target)
    return [t for t in app.get("tasks", []) if t.get("version", "") >= config]


def _alive(task: dict[str, Any]) -> bool | None:
    results = task.get("healthCheckResults") or []
    return all(r.get("alive") for r in results) if results else None


def _stall_window(app: dict[str, Any]) -> float:
    """Long enough for a starting task to use its grace period and fail its checks until killed."""
    checks = app.get("healthChecks") or []
    if not checks:
        return MIN_STALL_SECONDS
    check = checks[0]
    patience = check.get("gracePeriodSeconds", 300) + check.get("intervalSeconds", 60) * (
        check.get("maxConsecutiveFailures", 3) + 1
    )
    return max(MIN_STALL_SECONDS, float(patience))


def _evidence(app: dict[str, Any], target: GateTarget, watch: _Watch | None = None) -> list[str]:
    lines = [
        f"counts: {app.get('tasksRunning', 0)} running, {app.get('tasksHealthy', 0)} healthy, "
        f"{app.get('tasksUnhealthy', 0)} unhealthy, {app.get('tasksStaged', 0)} staged of "
        f"{app.get('instances', 0)} wanted"
    ]
    failures = list(watch.failures.values()) if watch else []
    if not failures and app.get("lastTaskFailure"):
        failures = [app["lastTaskFailure"]]
    for failure in failures[-3:]:
        lines.append(
            f"last task failure: {failure.get('taskId')} {failure.get('state')} at "
            f"{failure.get('timestamp')}: {failure.get('message')}"
        )
    for task in _new_tasks(app, target)[:5]:
        for result in task.get("healthCheckResults") or []:
            if not result.get("alive"):
                lines.append(
                    f"health check of {task.get('id')}: failing, {result.get('consecutiveFailures', 0)} "
                    f"consecutive failures, last cause: {result.get('lastFailureCause') or 'unknown'}"
                )
    return lines
