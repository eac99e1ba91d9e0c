"""A Marathon REST API v2 emulator: apps, versions, deployments and tasks over real HTTP.

It answers with the status codes and bodies of shared/reference/marathon/API-NOTES.md
(201/200 + `Marathon-Deployment-Id`, 409 locked vs exists, 422 details, 404, 400) and
validates app bodies against skytrain's Marathon app schema (schemas/marathon-app.schema.json,
held to Marathon's published one by the tests). Choices where the notes are silent are
listed in docs/marathon.md.

Tasks move only when something moves them: a test, through the control methods
(`set_task_state`, `report_health`, `fail_task`, `finish_deployment`), or the driver,
which plays a `Behaviour` for every task it launches (start, become healthy, crash,
fail health checks, or stall). A deployment finishes, as in Marathon, when the tasks of
the new version are running (and healthy, for apps with health checks) in the number
asked for; then the outdated tasks are killed.

    with MarathonEmulator(behaviour=Behaviour.healthy(0.05)) as marathon:
        requests.put(marathon.url + "/v2/apps/giphy", json={...})
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from skytrain.emulators.marathon_forms import ApiError, AppForms, copy, drop_nulls, invalid, parse
from skytrain.render.marathon import READ_ONLY_KEYS

# an HTTP answer: status, extra headers, JSON body (None: no body)
Answer = tuple[int, dict[str, str], Any]

RUNNING = "TASK_RUNNING"
STAGING = "TASK_STAGING"
FAILED = "TASK_FAILED"
KILLED = "TASK_KILLED"
LOCKED_MESSAGE = (
    "App is locked by one or more deployments. Override with the option '?force=true'. "
    "View details at '/v2/deployments/<DEPLOYMENT_ID>'."
)
HEALTH_KILL_MESSAGE = "Task was killed since health check failed. Reason: {cause}"


@dataclass(frozen=True)
class Behaviour:
    """How the driver plays a task of one image, in seconds of wall time.

    run_after: staged → running (None: stays staged, the deployment stalls).
    healthy_after: running → passing its health check (None: never passes).
    check_every: interval of failing health results while not yet healthy (None: no results).
    crash_after: running → TASK_FAILED (None: never crashes); with run_after None, staged →
    TASK_FAILED (the container never started).
    failure: the message of that TASK_FAILED; `{image}` is replaced by the task's image.
    """

    run_after: float | None = 0.01
    healthy_after: float | None = 0.01
    check_every: float | None = None
    crash_after: float | None = None
    relaunch_after: float = 0.02
    failure: str = "Command exited with status 1"

    @classmethod
    def healthy(cls, after: float = 0.01) -> Behaviour:
        return cls(run_after=after / 2, healthy_after=after / 2)

    @classmethod
    def slow(cls, after: float, check_every: float = 0.02) -> Behaviour:
        """Fails its checks (inside the grace period) until `after`, then passes."""
        return cls(run_after=0.01, healthy_after=after, check_every=check_every)

    @classmethod
    def unhealthy(cls, check_every: float = 0.02) -> Behaviour:
        return cls(run_after=0.01, healthy_after=None, check_every=check_every)

    @classmethod
    def crashing(cls, after: float = 0.02) -> Behaviour:
        return cls(run_after=0.01, healthy_after=None, crash_after=after)

    @classmethod
    def stalled(cls) -> Behaviour:
        return cls(run_after=None, healthy_after=None)

    @classmethod
    def pull_failure(cls, after: float = 0.02) -> Behaviour:
        """The agent cannot pull the image: every task fails before it runs, as Mesos reports it."""
        return cls(
            run_after=None,
            healthy_after=None,
            crash_after=after,
            failure="Failed to launch container: Failed to run 'docker -H unix:///var/run/docker.sock pull "
            "{image}': exited with status 1; stderr='Error response from daemon: manifest for {image} not found'",
        )


@dataclass
class Health:
    alive: bool = False
    consecutive_failures: int = 0
    first_success: str | None = None
    last_success: str | None = None
    last_failure: str | None = None
    last_failure_cause: str | None = None


@dataclass
class Task:
    id: str
    app_id: str
    version: str
    image: str
    state: str = STAGING
    staged_at: str = ""
    started_at: str | None = None
    started_clock: float = 0.0
    health: Health | None = None


@dataclass
class AppRecord:
    definition: dict[str, Any]  # as stored and answered, with version and versionInfo
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    last_task_failure: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.definition["id"]

    @property
    def version(self) -> str:
        return self.definition["version"]

    @property
    def config_change(self) -> str:
        return self.definition["versionInfo"]["lastConfigChangeAt"]

    @property
    def health_checks(self) -> list[dict[str, Any]]:
        return self.definition.get("healthChecks") or []


@dataclass
class Deployment:
    id: str
    version: str
    app_id: str
    action: str
    previous: dict[str, Any] | None  # the definition before, None when the app was created
    held: bool = False  # a test said it may not finish

    def to_json(self) -> dict[str, Any]:
        action = {"action": self.action, "app": self.app_id}
        return {
            "id": self.id,
            "version": self.version,
            "affectedApps": [self.app_id],
            "affectedPods": [],
            "steps": [{"actions": [action]}],
            "currentActions": [{**action, "readinessCheckResults": []}],
            "currentStep": 1,
            "totalSteps": 1,
        }


@dataclass(frozen=True)
class Call:
    """One request as it arrived: `at` is time.monotonic(), comparable across emulators of a process."""

    method: str
    path: str
    at: float


@dataclass
class Fault:
    """An injected failure for the next `count` matching requests."""

    method: str | None
    path_prefix: str
    status: int | None
    delay: float
    count: int
    after_processing: bool
    headers: dict[str, str] = field(default_factory=dict)


class _Clock:
    """Marathon timestamps (UTC ISO-8601 with milliseconds), strictly increasing so that
    two versions made in the same millisecond still sort."""

    def __init__(self) -> None:
        self._last = 0

    def now(self) -> str:
        millis = max(int(time.time() * 1000), self._last + 1)
        self._last = millis
        stamp = datetime.fromtimestamp(millis / 1000, UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


class _Scheduler:
    """One thread running the driver's delayed actions in time order; `after_each` runs after
    every action (the emulator wakes whoever waits for a state)."""

    def __init__(self, after_each: Callable[[], None]) -> None:
        self._after_each = after_each
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="marathon-emulator-driver", daemon=True)
        self._thread.start()

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._queue, (time.monotonic() + seconds, next(self._counter), action))
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._wake.wait(self._queue[0][0] - time.monotonic() if self._queue else None)
                if self._stopped:
                    return
                _, _, action = heapq.heappop(self._queue)
            action()
            self._after_each()


class MarathonEmulator:
    """The emulated Marathon. `flavour` "1.4" answers like Marathon 1.4 (and validates
    against its schema); "1.5" and later answer in the canonical 1.5+ form with the
    server defaults filled in (API-NOTES §2.1, §9)."""

    def __init__(
        self,
        flavour: str = "1.7",
        behaviour: Behaviour | None = None,
        credentials: tuple[str, str] | None = None,
        token: str | None = None,
        grace_scale: float = 1.0,
        port: int = 0,
        version_info: bool = True,
    ):
        self.port = port  # 0: any free port
        # False: answers leave out `versionInfo`, as some Marathons and proxies in front of them do
        self.version_info = version_info
        self.legacy = int(flavour.split(".")[1]) < 5
        self.default_behaviour = behaviour
        self.behaviours: dict[str, Behaviour] = {}
        # behaviours for the next config change of the apps they match (behave_next), then by version
        self.armed: list[tuple[Callable[[str], bool], Behaviour]] = []
        self._by_version: dict[tuple[str, str], Behaviour] = {}
        self.grace_scale = grace_scale
        self._credentials = credentials
        self._token = token
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # notified after every request and driver step
        self._clock = _Clock()
        self._task_ids = itertools.count(1)
        self.forms = AppForms(self.legacy)
        self.apps: dict[str, AppRecord] = {}
        self.deployments: dict[str, Deployment] = {}
        self.events: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        # the same requests with when they arrived (time.monotonic), to order them against
        # other emulators' records (the Kubernetes emulator's `calls`) in end-to-end tests
        self.calls: list[Call] = []
        self._server: ThreadingHTTPServer | None = None
        self._scheduler: _Scheduler | None = None

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> MarathonEmulator:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.emulator = self
        self._scheduler = _Scheduler(self._notify)
        threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="marathon-emulator", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._scheduler is not None:
            self._scheduler.stop()

    def __enter__(self) -> MarathonEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the emulator first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ---- control API for tests ------------------------------------------------------

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Block until `predicate()` is truthy (re-checked after every request and driver step,
        holding the emulator's lock: read its state directly, never over HTTP), or fail."""
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(
                    f"the emulated Marathon did not reach the expected state within {timeout}s"
                )
            return predicate()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def behave(self, image: str, behaviour: Behaviour) -> None:
        """Tasks of this image follow `behaviour` (others follow the default)."""
        self.behaviours[image] = behaviour

    def behave_next(
        self, behaviour: Behaviour, matches: Callable[[str], bool] = lambda app_id: True
    ) -> tuple[Callable[[str], bool], Behaviour]:
        """The tasks of the next config change (a new version) of an app whose id `matches`
        follow `behaviour`, whatever their image: a fault on purpose for one deploy, while
        the rollback after it (another new version) runs as usual. Returns the entry of
        `armed` (gone from it once a version took it)."""
        armed = (matches, behaviour)
        with self._lock:
            self.armed.append(armed)
        return armed

    def disarm(self, armed: tuple[Callable[[str], bool], Behaviour]) -> None:
        """Take back what behave_next armed, unless a version took it already."""
        with self._lock:
            if armed in self.armed:
                self.armed.remove(armed)

    def app_ids(self) -> list[str]:
        with self._lock:
            return sorted(self.apps)

    def inject(
        self,
        status: int | None = 500,
        count: int = 1,
        method: str | None = None,
        path_prefix: str = "/v2/",
        delay: float = 0.0,
        after_processing: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer the next `count` matching requests with `status` (None: process them), after
        `delay` seconds, with `headers` (a 429's Retry-After); with after_processing the change
        is made and only the answer is late."""
        fault = Fault(method, path_prefix, status, delay, count, after_processing, headers or {})
        with self._lock:
            self._faults.append(fault)
        return fault

    def app(self, app_id: str) -> dict[str, Any] | None:
        """The app as GET /v2/apps/{id} answers it (None when there is none)."""
        with self._lock:
            record = self.apps.get(_absolute(app_id))
            return copy(self._app_info(record)) if record else None

    def tasks(self, app_id: str) -> list[Task]:
        with self._lock:
            return [replace(t) for t in self.apps[_absolute(app_id)].tasks.values()]

    def set_task_state(self, task_id: str, state: str) -> None:
        with self._lock:
            task, record = self._find_task(task_id)
            task.state = state
            if state == RUNNING and task.started_at is None:
                task.started_at = self._clock.now()
                task.started_clock = time.monotonic()
            self._settle(record)

    def report_health(self, task_id: str, alive: bool, cause: str = "HTTP 503") -> None:
        """One health check result, counted the way Marathon counts it (grace period included)."""
        with self._lock:
            task, record = self._find_task(task_id)
            self._health_result(record, task, alive, cause)

    def fail_task(
        self, task_id: str, message: str = "Command exited with status 1", state: str = FAILED
    ) -> None:
        with self._lock:
            task, record = self._find_task(task_id)
            self._task_failed(record, task, message, state)

    def finish_deployment(self, deployment_id: str) -> None:
        """Make every task of the app running and healthy, so the deployment completes."""
        with self._lock:
            deployment = self.deployments[deployment_id]
            deployment.held = False
            record = self.apps.get(deployment.app_id)
            if record is not None:
                for task in record.tasks.values():
                    task.state = RUNNING
                    task.started_at = task.started_at or self._clock.now()
                    if record.health_checks:
                        self._health_result(record, task, True, "")
                self._settle(record)

    def hold_deployment(self, deployment_id: str) -> None:
        """Keep the deployment listed whatever its tasks do (a stalled deployment)."""
        with self._lock:
            self.deployments[deployment_id].held = True

    # ---- HTTP dispatch ----------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
        """One request → (status, extra headers, JSON body or None)."""
        parts = urlsplit(raw_path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        with self._lock:
            self.requests.append((method, path))
            self.calls.append(Call(method, path, time.monotonic()))
            fault = self._take_fault(method, path)
        if fault and not fault.after_processing:
            time.sleep(fault.delay)
            if fault.status is not None:
                return fault.status, fault.headers, {"message": f"injected failure ({fault.status})"}
        if not self._authorised(headers.get("authorization", "")):
            return 401, {}, {"message": "Invalid username or password."}
        try:
            with self._lock:
                answer = self._route(method, path, query, body)
                self._changed.notify_all()
        except ApiError as exc:
            answer = (exc.status, {}, exc.body)
        if fault and fault.after_processing:
            time.sleep(fault.delay)
        return answer

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.count > 0 and (fault.method in (None, method)) and path.startswith(fault.path_prefix):
                fault.count -= 1
                return fault
        return None

    def _authorised(self, header: str) -> bool:
        if self._credentials is None and self._token is None:
            return True
        if self._token is not None and header == f"token={self._token}":
            return True
        if self._credentials is not None and header.startswith("Basic "):
            expected = base64.b64encode(":".join(self._credentials).encode()).decode()
            return header[len("Basic ") :] == expected
        return False

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Answer:
        force = _flag(query, "force", False)
        if path == "/ping":
            return 200, {}, "pong"
        if path == "/v2/deployments" and method == "GET":
            return 200, {}, [d.to_json() for d in self.deployments.values()]
        match = re.fullmatch(r"/v2/deployments/([^/]+)", path)
        if match and method == "DELETE":
            return self._cancel_deployment(match.group(1), force)
        if path == "/v2/apps" and method == "GET":
            return 200, {}, {"apps": [self._app_info(r, with_tasks=False) for r in self.apps.values()]}
        if path == "/v2/apps" and method == "POST":
            return self._create(parse(body, self.legacy), force)
        match = re.fullmatch(r"/v2/apps/(.+?)/versions(?:/([^/]+))?", path)
        if match and method == "GET":
            return self._versions(_absolute(match.group(1)), match.group(2))
        match = re.fullmatch(r"/v2/apps/(.+?)/tasks", path)
        if match and method == "GET":
            record = self._record(_absolute(match.group(1)))
            return 200, {}, {"tasks": [self._task_json(record, t) for t in record.tasks.values()]}
        match = re.fullmatch(r"/v2/apps/(.+)", path)
        if match:
            app_id = _absolute(match.group(1))
            if method == "GET":
                return 200, {}, {"app": self._app_info(self._record(app_id))}
            if method in ("PUT", "PATCH"):
                partial = method == "PATCH" or _flag(query, "partialUpdate", True)
                if method == "PATCH" and app_id not in self.apps:
                    raise _unknown_app(app_id)
                return self._update(app_id, parse(body, self.legacy), partial, force)
            if method == "DELETE":
                return self._delete_app(app_id, _flag(query, "force", True))
        return 404, {}, {"message": f"no such resource: {method} {path}"}

    # ---- apps -------------------------------------------------------------------------

    def _create(self, body: Any, force: bool) -> Answer:
        if not isinstance(body, dict) or "id" not in body:
            raise ApiError(422, invalid([("/id", ["error.path.missing"])]))
        app_id = _absolute(str(body["id"]))
        if app_id in self.apps:
            raise ApiError(409, {"message": f"An app with id [{app_id}] already exists."})
        deployment = self._store(app_id, {**body, "id": app_id}, force)
        info = {
            **copy(self.apps[app_id].definition),
            "tasksStaged": 0,
            "tasksRunning": 0,
            "tasksHealthy": 0,
            "tasksUnhealthy": 0,
            "tasks": [],
            "deployments": [{"id": deployment.id}],
        }
        return 201, {"Location": f"/v2/apps{app_id}", "Marathon-Deployment-Id": deployment.id}, info

    def _update(self, app_id: str, body: Any, partial: bool, force: bool) -> Answer:
        if not isinstance(body, dict):
            raise ApiError(422, invalid([("/", ["error.expected.jsobject"])]))
        existing = self.apps.get(app_id)
        if "version" in body and partial:
            if set(body) - {"id", "version"}:
                raise ApiError(
                    422, invalid([("/", ["The 'version' field may only be combined with the 'id' field."])])
                )
            if existing is None or body["version"] not in existing.versions:
                raise _unknown_app(app_id)
            target = copy(existing.versions[body["version"]])
            deployment = self._store(app_id, target, force, restore=True)
        else:
            body = {k: v for k, v in body.items() if k not in READ_ONLY_KEYS}
            if partial and existing is not None:
                # a null in the stored 1.4 form means "absent", not a value to send back
                current = drop_nulls(
                    {k: v for k, v in existing.definition.items() if k not in READ_ONLY_KEYS}
                )
                body = {**current, **body}
            deployment = self._store(app_id, {**body, "id": app_id}, force)
        status = 200 if existing is not None else 201
        headers = {"Marathon-Deployment-Id": deployment.id}
        if existing is None:
            headers["Location"] = f"/v2/apps{app_id}"
        return status, headers, {"deploymentId": deployment.id, "version": deployment.version}

    def _store(self, app_id: str, body: dict[str, Any], force: bool, restore: bool = False) -> Deployment:
        """Validate, version and store a definition, and start the deployment that rolls it out.

        A restore (rollback to a version, or the revert of a cancelled deployment) is a
        config change like any other: Marathon gives it a new version and restarts the
        tasks (GroupVersioningUtil), so the gate sees tasks of a fresh version."""
        if not restore:
            self.forms.validate(body)
        existing = self.apps.get(app_id)
        definition = (
            copy(body) if restore else self.forms.canonical(body, existing.definition if existing else {})
        )
        old = _config(existing.definition) if existing else None
        new = _config(definition)
        now = self._clock.now()
        previous = copy(existing.definition) if existing else None
        if existing is not None and old == new:
            # a PUT that changes nothing: fresh id and version, no steps, gone at once
            return Deployment(str(uuid.uuid4()), now, app_id, "RestartApplication", previous)
        self._check_lock(app_id, force)
        scale_only = old is not None and _without_instances(old) == _without_instances(new)
        definition["version"] = now
        if scale_only:
            definition["versionInfo"] = {**existing.definition["versionInfo"], "lastScalingAt": now}
        else:
            definition["versionInfo"] = {"lastScalingAt": now, "lastConfigChangeAt": now}
        action = (
            "StartApplication"
            if existing is None
            else "ScaleApplication"
            if scale_only
            else "RestartApplication"
        )
        record = existing or AppRecord(definition)
        record.definition = definition
        record.versions[now] = copy(definition)
        self.apps[app_id] = record
        armed = next((a for a in self.armed if not scale_only and a[0](app_id)), None)
        if armed is not None:
            self.armed.remove(armed)
            self._by_version[(app_id, now)] = armed[1]
        deployment = Deployment(str(uuid.uuid4()), now, app_id, action, previous)
        self.deployments[deployment.id] = deployment
        self._launch(record)
        self._settle(record)
        return deployment

    def _check_lock(self, app_id: str, force: bool) -> None:
        running = [d for d in self.deployments.values() if d.app_id == app_id]
        if running and not force:
            raise ApiError(409, {"message": LOCKED_MESSAGE, "deployments": [{"id": d.id} for d in running]})
        for deployment in running:
            self.deployments.pop(deployment.id)
            self._event("deployment_failed", deployment)

    def _versions(self, app_id: str, version: str | None) -> Answer:
        record = self._record(app_id)
        if version is None:
            return 200, {}, {"versions": list(reversed(record.versions))}
        if version not in record.versions:
            raise ApiError(404, {"message": f"App '{app_id}' does not exist in version {version}"})
        return 200, {}, copy(record.versions[version])

    def _delete_app(self, app_id: str, force: bool) -> Answer:
        record = self._record(app_id)
        self._check_lock(app_id, force)
        self.apps.pop(app_id)
        deployment = Deployment(
            str(uuid.uuid4()), self._clock.now(), app_id, "StopApplication", record.definition
        )
        self._event("deployment_success", deployment)
        return (
            200,
            {"Marathon-Deployment-Id": deployment.id},
            {
                "deploymentId": deployment.id,
                "version": deployment.version,
            },
        )

    def _cancel_deployment(self, deployment_id: str, force: bool) -> Answer:
        deployment = self.deployments.pop(deployment_id, None)
        if deployment is None:
            raise ApiError(404, {"message": f"DeploymentPlan {deployment_id} does not exist"})
        self._event("deployment_failed", deployment)
        if force:  # cancelled, not reverted: the scale check kills the tasks beyond `instances`
            self._trim(deployment.app_id)
            return 202, {}, None
        if deployment.previous is None:
            return self._delete_app(deployment.app_id, True)
        revert = self._store(deployment.app_id, deployment.previous, True, restore=True)
        return (
            200,
            {"Marathon-Deployment-Id": revert.id},
            {"deploymentId": revert.id, "version": revert.version},
        )

    def _trim(self, app_id: str) -> None:
        """Kill the youngest tasks beyond the app's `instances` (killSelection YOUNGEST_FIRST,
        the default, API-NOTES §2.1), as Marathon's scale check does once no deployment runs."""
        record = self.apps.get(app_id)
        if record is None:
            return
        youngest = sorted(record.tasks.values(), key=lambda t: t.staged_at, reverse=True)
        for task in youngest[: max(0, len(youngest) - record.definition.get("instances", 0))]:
            del record.tasks[task.id]

    def _record(self, app_id: str) -> AppRecord:
        record = self.apps.get(app_id)
        if record is None:
            raise _unknown_app(app_id)
        return record

    # ---- tasks and deployments in motion ------------------------------------------------

    def _launch(self, record: AppRecord) -> None:
        """Start the tasks the definition asks for beyond those already on its config."""
        current = [t for t in record.tasks.values() if t.version >= record.config_change]
        for _ in range(record.definition["instances"] - len(current)):
            self._new_task(record)
        surplus = len(current) - record.definition["instances"]
        for task in sorted(current, key=lambda t: t.staged_at, reverse=True)[: max(0, surplus)]:
            record.tasks.pop(task.id)

    def _new_task(self, record: AppRecord) -> Task:
        name = record.id.strip("/").replace("/", "_")
        image = (record.definition.get("container") or {}).get("docker", {}).get("image", "")
        task = Task(
            id=f"{name}.{uuid.UUID(int=next(self._task_ids)).hex[-12:]}",
            app_id=record.id,
            version=record.version,
            image=image,
            staged_at=self._clock.now(),
        )
        record.tasks[task.id] = task
        behaviour = self._behaviour(task)
        if behaviour is not None and behaviour.run_after is not None:
            self._later(behaviour.run_after, task, lambda: self._drive_running(task, behaviour))
        elif behaviour is not None and behaviour.crash_after is not None:
            self._later(behaviour.crash_after, task, lambda: self._fail_as(task, behaviour))
        return task

    def _behaviour(self, task: Task) -> Behaviour | None:
        armed = self._by_version.get((task.app_id, task.version))
        return armed or self.behaviours.get(task.image, self.default_behaviour)

    def _fail_as(self, task: Task, behaviour: Behaviour) -> None:
        self.fail_task(task.id, behaviour.failure.format(image=task.image))

    def _later(self, seconds: float, task: Task, action: Callable[[], None]) -> None:
        """Run a driver step unless the task is gone by then."""

        def step() -> None:
            with self._lock:
                record = self.apps.get(task.app_id)
                if record is not None and record.tasks.get(task.id) is task:
                    action()

        assert self._scheduler is not None
        self._scheduler.after(seconds, step)

    def _drive_running(self, task: Task, behaviour: Behaviour) -> None:
        self.set_task_state(task.id, RUNNING)
        record = self.apps[task.app_id]
        if behaviour.crash_after is not None:
            self._later(behaviour.crash_after, task, lambda: self._fail_as(task, behaviour))
        if not record.health_checks:
            return
        if behaviour.healthy_after is not None:
            self._later(behaviour.healthy_after, task, lambda: self.report_health(task.id, True))
        if behaviour.check_every is not None:
            self._later(behaviour.check_every, task, lambda: self._drive_failing_check(task, behaviour))

    def _drive_failing_check(self, task: Task, behaviour: Behaviour) -> None:
        if task.health is not None and task.health.first_success is not None:
            return
        self.report_health(task.id, False)
        self._later(behaviour.check_every or 0.02, task, lambda: self._drive_failing_check(task, behaviour))

    def _health_result(self, record: AppRecord, task: Task, alive: bool, cause: str) -> None:
        now = self._clock.now()
        health = task.health = task.health or Health()
        if alive:
            health.alive, health.consecutive_failures = True, 0
            health.first_success = health.first_success or now
            health.last_success = now
            self._settle(record)
            return
        health.alive, health.last_failure, health.last_failure_cause = False, now, cause
        check = record.health_checks[0] if record.health_checks else {}
        grace = check.get("gracePeriodSeconds", 300) * self.grace_scale
        in_grace = health.first_success is None and time.monotonic() - task.started_clock < grace
        if in_grace:
            return
        health.consecutive_failures += 1
        if health.consecutive_failures >= check.get("maxConsecutiveFailures", 3) > 0:
            self._task_failed(record, task, HEALTH_KILL_MESSAGE.format(cause=cause), KILLED)

    def _task_failed(self, record: AppRecord, task: Task, message: str, state: str) -> None:
        """The task ends; Marathon records it as the last failure and launches a replacement."""
        record.tasks.pop(task.id, None)
        record.last_task_failure = {
            "appId": record.id,
            "host": "127.0.0.1",
            "message": message,
            "state": state,
            "taskId": task.id,
            "timestamp": self._clock.now(),
            "version": task.version,
            "slaveId": "emulated-agent",
        }
        behaviour = self._behaviour(task)
        delay = behaviour.relaunch_after if behaviour else 0.0
        assert self._scheduler is not None
        self._scheduler.after(delay, lambda: self._relaunch(record.id))

    def _relaunch(self, app_id: str) -> None:
        with self._lock:
            record = self.apps.get(app_id)
            if record is not None:
                self._launch(record)

    def _settle(self, record: AppRecord) -> None:
        """Finish the app's deployment once the new config runs (healthy) in full."""
        deployment = next((d for d in self.deployments.values() if d.app_id == record.id), None)
        if deployment is None or deployment.held:
            return
        current = [t for t in record.tasks.values() if t.version >= record.config_change]
        ready = [t for t in current if self._ready(record, t)]
        if len(ready) < record.definition["instances"]:
            return
        keep = {t.id for t in ready[: record.definition["instances"]]}
        record.tasks = {k: t for k, t in record.tasks.items() if k in keep}
        self.deployments.pop(deployment.id)
        self._event("deployment_success", deployment)

    @staticmethod
    def _ready(record: AppRecord, task: Task) -> bool:
        if task.state != RUNNING:
            return False
        return not record.health_checks or (task.health is not None and task.health.alive)

    def _find_task(self, task_id: str) -> tuple[Task, AppRecord]:
        for record in self.apps.values():
            if task_id in record.tasks:
                return record.tasks[task_id], record
        raise KeyError(f"no task {task_id}")

    def _event(self, kind: str, deployment: Deployment) -> None:
        # `at` (time.monotonic) is ours, not Marathon's: it orders events against other emulators' records
        self.events.append(
            {"eventType": kind, "id": deployment.id, "timestamp": self._clock.now(), "at": time.monotonic()}
        )

    # ---- answers ------------------------------------------------------------------------

    def _app_info(self, record: AppRecord, with_tasks: bool = True) -> dict[str, Any]:
        tasks = list(record.tasks.values())
        healths = [t.health for t in tasks if t.health is not None]
        info = {
            **copy(record.definition),
            "tasksStaged": sum(t.state == STAGING for t in tasks),
            "tasksRunning": sum(t.state == RUNNING for t in tasks),
            "tasksHealthy": sum(h.alive for h in healths),
            "tasksUnhealthy": sum(not h.alive for h in healths),
            "deployments": [{"id": d.id} for d in self.deployments.values() if d.app_id == record.id],
        }
        if not self.version_info:
            info.pop("versionInfo", None)
        if with_tasks:
            info["tasks"] = [self._task_json(record, t) for t in tasks]
            if record.last_task_failure:
                info["lastTaskFailure"] = dict(record.last_task_failure)
        return info

    def _task_json(self, record: AppRecord, task: Task) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": task.id,
            "appId": task.app_id,
            "host": "127.0.0.1",
            "slaveId": "emulated-agent",
            "state": task.state,
            "stagedAt": task.staged_at,
            "startedAt": task.started_at,
            "version": task.version,
            "ports": [31000],
            "servicePorts": [],
            "ipAddresses": [{"ipAddress": "127.0.0.1", "protocol": "IPv4"}],
            "localVolumes": [],
        }
        if task.health is not None:
            h = task.health
            answer["healthCheckResults"] = [
                {
                    "alive": h.alive,
                    "consecutiveFailures": h.consecutive_failures,
                    "firstSuccess": h.first_success,
                    "lastSuccess": h.last_success,
                    "lastFailure": h.last_failure,
                    "lastFailureCause": h.last_failure_cause,
                    "instanceId": f"instance-{task.id}",
                }
            ]
        elif not self.legacy:
            answer["healthCheckResults"] = []
        if self.legacy and not answer["servicePorts"]:
            answer.pop("servicePorts")
        return answer if self.legacy else drop_nulls(answer)


# ---- helpers ----------------------------------------------------------------------------


def _absolute(app_id: str) -> str:
    return "/" + app_id.strip("/")


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    values = query.get(name)
    return default if not values else values[-1].lower() == "true"


def _config(definition: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in definition.items() if k not in READ_ONLY_KEYS}


def _without_instances(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "instances"}


def _unknown_app(app_id: str) -> ApiError:
    return ApiError(404, {"message": f"App '{app_id}' does not exist"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    emulator: MarathonEmulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stalls
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.server.emulator.handle(self.command, self.path, headers, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return None


if __name__ == "__main__":
    from skytrain.emulators.standalone import marathon_main

    marathon_main()
