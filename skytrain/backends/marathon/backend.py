"""The Marathon backend: the lifecycle's steps (skytrain/lifecycle.py) on one Marathon.

A change is one `PUT /v2/apps/{id}`: the whole definition (`partialUpdate=false`, so a
field removed from the config is removed from the app), `{"version": v}` to restore a
stored version, or `{"instances": n}` to scale. Each returns a deployment, which the
gate (gate.py) follows. Marathon is its own lock (a second change of the app meets
409 while a deployment runs: wait for it, or with --force supersede it) and its own
history (every version it ran, newest first); it keeps no outcome, so recording one is
a no-op and `status` reads the truth from the app itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from skytrain import interrupts
from skytrain.backends.base import (
    Census,
    Change,
    DeployOptions,
    GateResult,
    Live,
    LockHeld,
    Marks,
    ObjectStatus,
    Refused,
    Revision,
    SchedulerError,
    StatusResult,
    described,
    subject,
)
from skytrain.backends.marathon.client import (
    DeploymentRef,
    Invalid,
    Locked,
    MarathonClient,
    MarathonError,
    Unreachable,
)
from skytrain.backends.marathon.fields import refusal_errors
from skytrain.backends.marathon.gate import Gate, GateTarget
from skytrain.config.model import App
from skytrain.progress import Reporter
from skytrain.render.hashing import HASH_LABEL_MARATHON
from skytrain.render.marathon import READ_ONLY_KEYS
from skytrain.render.marathon import app_id as marathon_app_id
from skytrain.wording import REPLICA, count, rollback_to, scaling, share, surplus

HISTORY = 10
MARK_PREFIX = "SKYTRAIN_MARK_"  # a mark `previous-instances` is the label SKYTRAIN_MARK_PREVIOUS_INSTANCES


@dataclass
class Put:
    definition: dict[str, Any]


@dataclass
class Restore:
    version: str


@dataclass
class Scale:
    replicas: int
    labels: dict[str, str] | None = None  # the app's new label map, when marks change it


class MarathonBackend:
    name = "marathon"

    def __init__(self, client: MarathonClient, gate: Gate | None = None):
        self.client = client
        self.gate = gate or Gate(client)

    def session(self, app: App, options: DeployOptions, reporter: Reporter) -> MarathonSession:
        return MarathonSession(self, app, options, reporter)

    def status(self, app: App) -> StatusResult:
        app_id = marathon_app_id(app)
        result = StatusResult(app.name, app.environment.name, self.name, exists=False, healthy=False)
        live = _asked(lambda: self.client.find_app(app_id))
        if live is None:
            return result
        result.exists = True
        result.revision = live.get("version")
        result.healthy = _settled(live)
        details: dict[str, Any] = {
            key: live.get(key)
            for key in ("instances", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy")
        }
        if live.get("lastTaskFailure"):
            failure = live["lastTaskFailure"]
            details["lastTaskFailure"] = {
                k: failure.get(k) for k in ("taskId", "state", "message", "timestamp", "version")
            }
        result.objects.append(ObjectStatus(f"app {app_id}", result.healthy, _summary(live), details))
        versions = _asked(lambda: self.client.versions(app_id))
        result.history = _revisions(versions, live)
        return result

    def census(self, apps: list[App]) -> dict[str, Census]:
        """One `GET /v2/apps` for the whole fleet, matched by each app's id."""
        listed = {a["id"]: a for a in _asked(self.client.list_apps)}
        found = {app.name: listed.get(marathon_app_id(app)) for app in apps}
        return {
            name: Census(
                desired=live.get("instances", 0),
                ready=_ready(live),
                settled=_settled(live),
                marks=_marks(live.get("labels") or {}),
            )
            for name, live in found.items()
            if live is not None
        }

    @contextlib.contextmanager
    def hold(self, app: App, options: DeployOptions) -> Iterator[None]:
        """Marathon's lock is a deployment in progress: each change waits for the others (409)."""
        yield

    def remove(self, app: App, timeout: float) -> str:
        app_id = marathon_app_id(app)
        try:
            self.client.delete_app(app_id)
        except MarathonError as exc:
            raise Refused(f"Marathon refused to delete app {app_id}: {exc}") from None
        start = self.gate.clock()
        while _asked(lambda: self.client.find_app(app_id)) is not None:
            if self.gate.clock() - start >= timeout:
                raise SchedulerError(
                    f"app {app_id} was still listed {timeout:g}s after Marathon accepted its deletion"
                )
            interrupts.wait(self.gate.poll_seconds)
        return f"deleted Marathon app {app_id}"

    def live_objects(self, apps: list[App]) -> dict[str, list[dict[str, Any]]]:
        """The app definitions as Marathon returns them, read-only keys stripped, for the diff."""
        found: dict[str, list[dict[str, Any]]] = {}
        for app in apps:
            live = _asked(lambda app=app: self.client.find_app(marathon_app_id(app)))
            found[app.name] = (
                [] if live is None else [{k: v for k, v in live.items() if k not in READ_ONLY_KEYS}]
            )
        return found


class MarathonSession:
    def __init__(self, backend: MarathonBackend, app: App, options: DeployOptions, reporter: Reporter):
        self.client, self.gates, self.app = backend.client, backend.gate, app
        self.options, self.reporter = options, reporter
        self.app_id = marathon_app_id(app)
        self.subject = subject(app, backend.name)
        self.live: dict[str, Any] | None = None
        self.versions: list[str] | None = None
        self.ref: DeploymentRef | None = None  # the deployment of the last change sent
        self.notes: list[str] = []  # what the result should say about how the changes went

    def read(self) -> Live:
        self.live = _asked(lambda: self.client.find_app(self.app_id))
        if self.live is None:
            return Live(None, False)
        return Live(Revision(self.live.get("version", ""), image=_image(self.live)), _settled(self.live))

    def history(self, live: Live) -> list[Revision]:
        if self.versions is None:
            self.versions = [] if self.live is None else _asked(lambda: self.client.versions(self.app_id))
        return _revisions(self.versions, self.live)

    def plan(self, objects: list[dict[str, Any]], live: Live) -> Change | None:
        definition = objects[0]
        if self.live is not None and _matches(self.live, definition):
            return None
        return Change("", f"app {self.app_id} ({_image(definition)})", Put(definition))

    def plan_rollback(self, revision: str, live: Live) -> Change:
        return Change("", rollback_to(revision), Restore(revision), restores=revision)

    def rollback_target(self, live: Live) -> Revision | None:
        """The newest version before the current one with a different config (not a mere scale)."""
        if self.live is None:
            return None
        current = self.live.get("labels", {}).get(HASH_LABEL_MARATHON)
        for revision in self.history(live):
            if revision.revision >= self.live.get("version", ""):
                continue
            definition = _asked(lambda r=revision: self.client.version(self.app_id, r.revision))
            if current is None or definition.get("labels", {}).get(HASH_LABEL_MARATHON) != current:
                return revision
        return None

    def plan_scale(self, replicas: int, live: Live, marks: Marks | None = None) -> Change | None:
        instances = (self.live or {}).get("instances")
        labels = dict((self.live or {}).get("labels") or {})
        marked = _marked(labels, marks or {})
        if instances == replicas and marked == labels:
            return None
        noted = f", noting {described(marks or {})} on the app" if marked != labels else ""
        return Change(
            "",
            f"{scaling(instances, replicas)}{noted}",
            Scale(replicas, marked if marked != labels else None),
        )

    def record(self, change: Change, outcome: str, last: bool = False) -> None:
        """Marathon stores every version it runs and no outcome: nothing to write."""

    def apply(self, change: Change) -> None:
        payload = change.payload
        send: Callable[[bool], DeploymentRef]
        if isinstance(payload, Put):
            send = lambda force: self.client.put_app(self.app_id, payload.definition, force)  # noqa: E731
        elif isinstance(payload, Restore):
            send = lambda force: self.client.restore_version(self.app_id, payload.version, force)  # noqa: E731
        else:
            send = lambda force: self.client.scale_app(  # noqa: E731
                self.app_id, payload.replicas, force, payload.labels
            )
        self.reporter.update(self.subject, "applying", change.description)
        try:
            self.ref = self._send(send, payload)
        except Invalid as exc:
            raise Refused(
                f"Marathon refused it (HTTP {exc.status})",
                errors=refusal_errors(self.app, exc.details, str(exc)),
            ) from None
        except MarathonError as exc:
            raise Refused(str(exc)) from None
        change.revision = self.ref.version
        self.notes.append(f"deployment {self.ref.id} started" if self.ref.id else "applied")

    def gate(self, change: Change | None, timeout: float) -> GateResult:
        if change is None or self.ref is None:  # what runs: no deployment of ours to follow
            version = (self.live or {}).get("version", "")
            target = GateTarget(self.app_id, "", version, "")
        else:
            new_config = not isinstance(change.payload, Scale)
            target = GateTarget(
                self.app_id, self.ref.id, self.ref.version, self.ref.version if new_config else ""
            )
        return self.gates.wait(target, timeout, self.reporter, self.subject)

    def running(self) -> str:
        live = _asked(lambda: self.client.find_app(self.app_id))
        if live is None:
            return f"nothing: there is no app {self.app_id}"
        return f"version {live.get('version')} ({_image(live)}): {_by_version(live)}"

    def release(self) -> None:
        """Marathon's lock is its deployments: nothing of ours to give back."""

    # -- sending ------------------------------------------------------------------------------

    def _send(self, send: Callable[[bool], DeploymentRef], payload: Any) -> DeploymentRef:
        """Send a change; on 409 locked wait for the other deployments or, with --force (or
        when the only one in the way is this operation's own failed deployment), supersede
        them. When the answer is lost in a timeout, find out from the app what happened."""
        try:
            return send(False)
        except Locked as exc:
            others = ", ".join(exc.deployments)
            ours = self.ref is not None and exc.deployments == [self.ref.id]
            if self.options.force or ours:
                if not ours:
                    self.notes.append(f"superseded deployment {others} in progress (--force)")
                self.reporter.note(f"{self.subject}: superseding deployment {others}")
                return send(True)
            self.reporter.note(f"{self.subject}: waiting for deployment {others} to finish")
            waited = self._wait_for(exc.deployments, self.options.gate_timeout(self.app))
            self.notes.append(f"waited {waited:.1f}s for deployment {others} to finish")
            return send(False)
        except Unreachable as exc:
            if not exc.timed_out:
                raise
            return self._recover(payload)

    def _recover(self, payload: Any) -> DeploymentRef:
        """The change timed out: Marathon may or may not have taken it. A new definition is
        followed when the app carries its config (else sent once more); a restore or a scale
        is followed through whatever deployment the app has now."""
        live = self.client.find_app(self.app_id)
        if isinstance(payload, Put) and not (live is not None and _same_config(live, payload.definition)):
            return self.client.put_app(self.app_id, payload.definition, force=False)
        running = (live or {}).get("deployments") or []
        return DeploymentRef(running[0]["id"] if running else "", (live or {}).get("version", ""))

    def _wait_for(self, ids: list[str], timeout: float) -> float:
        """Seconds waited until none of these deployments is listed; LockHeld at the timeout."""
        start = self.gates.clock()
        while {d["id"] for d in self.client.deployments()} & set(ids):
            if self.gates.clock() - start >= timeout:
                raise LockHeld(
                    f"deployment {', '.join(ids)} was still running after {timeout:g}s. "
                    "Wait for it, or pass --force to supersede it"
                )
            interrupts.wait(self.gates.poll_seconds)
        return self.gates.clock() - start


def _asked(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except MarathonError as exc:
        raise SchedulerError(str(exc)) from None


def _ready(live: dict[str, Any]) -> int:
    return live.get("tasksHealthy", 0) if live.get("healthChecks") else live.get("tasksRunning", 0)


def _settled(live: dict[str, Any]) -> bool:
    return (
        _ready(live) == live.get("instances", 0)
        and live.get("tasksUnhealthy", 0) == 0
        and not live.get("deployments")
    )


def _label(mark: str) -> str:
    return MARK_PREFIX + mark.upper().replace("-", "_")


def _marks(labels: dict[str, str]) -> dict[str, str]:
    """The marks among an app's labels, by their names."""
    return {
        key[len(MARK_PREFIX) :].lower().replace("_", "-"): value
        for key, value in labels.items()
        if key.startswith(MARK_PREFIX)
    }


def _marked(labels: dict[str, str], marks: Marks) -> dict[str, str]:
    """`labels` with `marks` set (or, for None, removed)."""
    out = {k: v for k, v in labels.items() if k not in {_label(m) for m in marks}}
    out.update({_label(m): v for m, v in marks.items() if v is not None})
    return out


def _summary(live: dict[str, Any]) -> str:
    checks = bool(live.get("healthChecks"))
    instances = live.get("instances", 0)
    summary = share(_ready(live), instances, REPLICA, "healthy" if checks else "running")
    summary += surplus(live.get("tasksRunning", 0), instances) + ("" if checks else " (no health checks)")
    deploying = [d["id"] for d in live.get("deployments", [])]
    if deploying:
        summary += f", deployment {', '.join(deploying)} in progress"
    return summary


def _by_version(live: dict[str, Any]) -> str:
    """How many tasks run this version's config and are ready, and how many an earlier one."""
    config = (live.get("versionInfo") or {}).get("lastConfigChangeAt") or live.get("version", "")
    tasks = live.get("tasks") or []
    current = [t for t in tasks if t.get("version", "") >= config]
    checks = bool(live.get("healthChecks"))
    ready = sum(
        all(r.get("alive") for r in t.get("healthCheckResults") or [{}])
        if checks
        else t.get("state") == "TASK_RUNNING"
        for t in current
    )
    said = [share(ready, live.get("instances", 0), REPLICA, "healthy" if checks else "running")]
    if len(tasks) > len(current):
        said.append(f"{count(len(tasks) - len(current), REPLICA)} of an earlier version still running")
    said += [f"deployment {d['id']} in progress" for d in live.get("deployments", [])]
    return ", ".join(said)


def _image(definition: dict[str, Any]) -> str:
    return str(((definition.get("container") or {}).get("docker") or {}).get("image", ""))


def _revisions(versions: list[str], live: dict[str, Any] | None) -> list[Revision]:
    """Marathon's versions, newest first; it keeps no outcomes, but the one that runs is known."""
    current = (live or {}).get("version")
    return [Revision(v, "running" if v == current else "") for v in versions[:HISTORY]]


def _matches(live: dict[str, Any], definition: dict[str, Any]) -> bool:
    """Same config (by skytrain's hash label), same instances, and nothing deploying."""
    return (
        _same_config(live, definition)
        and live.get("instances") == definition.get("instances")
        and not live.get("deployments")
    )


def _same_config(live: dict[str, Any], definition: dict[str, Any]) -> bool:
    ours = definition.get("labels", {}).get(HASH_LABEL_MARATHON)
    return ours is not None and live.get("labels", {}).get(HASH_LABEL_MARATHON) == ours
