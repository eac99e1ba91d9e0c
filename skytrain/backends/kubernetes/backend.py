"""The Kubernetes backend: the lifecycle's steps (skytrain/lifecycle.py) on one cluster.

A deploy that changes the Deployment (an image bump) costs four requests and the gate's
three watches:
1. LIST the app's ConfigMaps: its release history and deploy lock (lock.py) and its env
   ConfigMaps. The Deployment's watch, opened at the same moment for its initial state,
   delivers the live Deployment; the gate goes on with that watch;
2. write the history: the lock taken and the revision recorded as applying, in one write;
3. apply the Deployment (plus any other object that differs: a new env ConfigMap, a
   changed Service, one request each);
4. write the history: the outcome recorded and the lock given back, in one write.
The gate watches the Deployment, the app's pods and its Service's EndpointSlices. A
deploy that changes nothing writes nothing and passes at once when what runs is healthy.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from skytrain import interrupts
from skytrain.backends.base import (
    Census,
    Change,
    Contended,
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
from skytrain.backends.kubernetes.apply import (
    REVISION_LABEL,
    Applier,
    contains,
    order,
    with_revision,
    without_revision,
)
from skytrain.backends.kubernetes.client import Kube, KubeError
from skytrain.backends.kubernetes.gate import (
    GateRun,
    Target,
    Verdict,
    deployment_verdict,
    deployment_watch,
    ready_endpoints,
)
from skytrain.backends.kubernetes.history import HISTORY_ROLE, ROLE_LABEL, History, release
from skytrain.backends.kubernetes.kinds import BY_KIND
from skytrain.backends.kubernetes.lock import HistoryLock, failed, lock_holder
from skytrain.backends.kubernetes.report import failure_reports
from skytrain.backends.kubernetes.watch import Watched
from skytrain.config.model import App
from skytrain.errors import ConfigError, Location
from skytrain.progress import Reporter
from skytrain.render.hashing import HASH_ANNOTATION
from skytrain.render.kubernetes import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGER, NAME_LABEL, selector
from skytrain.wording import (
    FAILED,
    HEALTHY,
    ROLLING_OUT,
    count,
    interrupted_after,
    not_healthy_in_time,
    part,
    rollback_to,
    scaling,
)

LIVE_KINDS = ("ConfigMap", "Service", "Deployment")
SYNC_SECONDS = 5.0  # how long the Deployment's watch may take to deliver what exists before a GET
Key = tuple[str, str]


@dataclass
class Manifests:
    """A change that applies a revision: all its objects, and those that differ from what runs."""

    desired: list[dict[str, Any]]
    changed: list[dict[str, Any]]


@dataclass
class Scale:
    replicas: int
    annotations: dict[str, str | None] = field(default_factory=dict)  # the marks, as annotations


MARK_PREFIX = (
    "skytrain.io/mark-"  # a mark `previous-instances` is the annotation skytrain.io/mark-previous-instances
)


class KubernetesBackend:
    name = "kubernetes"

    def __init__(self, kube: Kube, history_keep: int = 10):
        self.kube = kube
        self.applier = Applier(kube)
        self.history_keep = history_keep

    def session(self, app: App, options: DeployOptions, reporter: Reporter) -> KubernetesSession:
        return KubernetesSession(self, app, options, reporter)

    def live_objects(self, apps: list[App]) -> dict[str, list[dict[str, Any]]]:
        """One LIST per kind and namespace for all the apps of an environment there."""
        result = self._listed(apps, LIVE_KINDS)
        return {name: _in_use(objects) for name, objects in result.items()}

    def census(self, apps: list[App]) -> dict[str, Census]:
        """One LIST of Deployments per namespace for the whole fleet."""
        found = {}
        for name, objects in self._listed(apps, ("Deployment",)).items():
            deployment = next((o for o in objects if o["metadata"]["name"] == name), None)
            if deployment is None:
                continue
            annotations = deployment["metadata"].get("annotations") or {}
            found[name] = Census(
                desired=deployment.get("spec", {}).get("replicas", 1),
                ready=(deployment.get("status") or {}).get("readyReplicas", 0),
                settled=deployment_verdict(deployment, 0).state == "healthy",
                marks={k[len(MARK_PREFIX) :]: v for k, v in annotations.items() if k.startswith(MARK_PREFIX)},
            )
        return found

    @contextlib.contextmanager
    def hold(self, app: App, options: DeployOptions) -> Iterator[None]:
        """The app's deploy lock (lock.py), held until the block ends, renewed meanwhile."""
        lock = HistoryLock(self.kube, app, self.history_keep)
        try:
            lock.read(options.gate_timeout(app), options.force)
            lock.write(lock.history(), hold=True)
        except Contended:
            raise LockHeld(
                f"another deploy of {app.name} took its lock at the same moment; try again"
            ) from None
        except KubeError as exc:
            raise failed(app, "taking the deploy lock", exc) from None
        try:
            yield
        finally:
            try:
                lock.release()
            except KubeError as exc:
                raise failed(app, "releasing the deploy lock", exc) from None

    def remove(self, app: App, timeout: float) -> str:
        """Delete the app's Deployment, Services and env ConfigMaps (its history stays)."""
        objects = self.live_objects([app])[app.name]
        for obj in objects:
            kind = BY_KIND[obj["kind"]]
            try:
                self.kube.request("DELETE", kind.path(app.namespace, obj["metadata"]["name"]))
            except KubeError as exc:
                if exc.status != 404:
                    raise Refused(
                        str(failed(app, f"deleting {obj['kind']} {obj['metadata']['name']}", exc))
                    ) from None
        deadline = time.monotonic() + timeout
        while self.kube.get(BY_KIND["Deployment"], app.namespace, app.name) is not None:
            if time.monotonic() >= deadline:
                raise SchedulerError(f"Deployment {app.name} was still there {timeout:g}s after its deletion")
            interrupts.wait(0.05)
        return "deleted " + (", ".join(f"{o['kind']} {o['metadata']['name']}" for o in objects) or "nothing")

    def _listed(self, apps: list[App], kinds: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
        """The apps' objects of these kinds (history ConfigMaps left out), one LIST per kind
        and namespace."""
        result: dict[str, list[dict[str, Any]]] = {app.name: [] for app in apps}
        groups: dict[tuple[str, str], list[App]] = {}
        for app in apps:
            groups.setdefault((app.namespace, app.environment.name), []).append(app)
        for (namespace, environment), members in groups.items():
            names = ",".join(sorted({a.name for a in members}))
            labels = (
                f"{MANAGED_BY_LABEL}={MANAGER},{ENVIRONMENT_LABEL}={environment},{NAME_LABEL} in ({names})"
            )
            for kind_name in kinds:
                kind = BY_KIND[kind_name]
                try:
                    listing = self.kube.list(kind, namespace, labels)
                except KubeError as exc:
                    raise failed(members[0], f"listing {kind.plural} in namespace {namespace}", exc) from None
                for obj in listing.get("items", []):
                    meta = obj["metadata"]
                    if meta.get("labels", {}).get(ROLE_LABEL) == HISTORY_ROLE:
                        continue
                    obj.setdefault("apiVersion", kind.api_version)
                    obj.setdefault("kind", kind_name)
                    result.setdefault(meta["labels"][NAME_LABEL], []).append(obj)
        return result

    def status(self, app: App) -> StatusResult:
        live = self.live_objects([app])[app.name]
        objects = {(o["kind"], o["metadata"]["name"]): o for o in live}
        history_map = HistoryLock(self.kube, app, self.history_keep)
        history_map.read(0, force=True)
        history = history_map.history()
        try:
            slices = {
                name: self.kube.list(
                    BY_KIND["EndpointSlice"], app.namespace, f"kubernetes.io/service-name={name}"
                )["items"]
                for kind, name in objects
                if kind == "Service"
            }
        except KubeError as exc:
            raise failed(app, "listing EndpointSlices", exc) from None
        shown = []
        for (kind, name), obj in sorted(objects.items()):
            if kind == "Deployment":
                verdict = deployment_verdict(obj, 0)
                template = obj["spec"]["template"]
                details = {
                    "image": template["spec"]["containers"][0]["image"],
                    "configHash": template.get("metadata", {}).get("annotations", {}).get(HASH_ANNOTATION),
                }
                shown.append(
                    ObjectStatus(f"Deployment {name}", verdict.state == "healthy", verdict.summary, details)
                )
            elif kind == "Service":
                ready = ready_endpoints(slices.get(name, []))
                shown.append(ObjectStatus(f"Service {name}", ready > 0, count(ready, "ready endpoint")))
        deployment = objects.get(("Deployment", app.name))
        holder = lock_holder(history_map.configmap)
        if holder:
            shown.append(ObjectStatus("deploy lock", True, f"held by {holder}: a deploy is in progress"))
        return StatusResult(
            app=app.name,
            environment=app.environment.name,
            target=self.name,
            exists=deployment is not None,
            healthy=deployment is not None and all(o.healthy for o in shown),
            revision=_revision_of(deployment),
            objects=shown,
            history=[r.summary() for r in reversed(history.releases)],
        )


class KubernetesSession:
    """One operation on one app. `known` is what the cluster holds, to this deploy's
    knowledge: the env ConfigMaps listed, the live Deployment from its watch, and the
    Service as the history recorded it for the revision that runs; each apply updates it."""

    def __init__(self, backend: KubernetesBackend, app: App, options: DeployOptions, reporter: Reporter):
        self.kube, self.applier, self.app = backend.kube, backend.applier, app
        self.options, self.reporter = options, reporter
        self.lock = HistoryLock(backend.kube, app, backend.history_keep)
        self.releases = History([])
        self.known: dict[Key, dict[str, Any]] = {}
        self.deployments: Watched | None = None
        self.subject = subject(app, backend.name)
        self.started = _now()
        self.notes: list[str] = []

    # reading and planning -------------------------------------------------------------------

    def read(self) -> Live:
        configmaps = self._kube(
            lambda: self.lock.read(self.options.gate_timeout(self.app), self.options.force), "reading"
        )
        self.releases = self.lock.history()
        self.known = {("ConfigMap", c["metadata"]["name"]): c for c in configmaps}
        deployment = self._live_deployment()
        current = self._current(deployment)
        record = self.releases.get(int(current.revision)) if current else None
        for obj in record.manifests if record else ():
            if obj["kind"] not in ("ConfigMap", "Deployment"):
                self.known[(obj["kind"], obj["metadata"]["name"])] = obj
        if deployment is not None:
            self.known[("Deployment", self.app.name)] = deployment
        healthy = deployment is not None and deployment_verdict(deployment, 0).state == "healthy"
        return Live(current, healthy)

    def history(self, live: Live) -> list[Revision]:
        return [r.summary() for r in reversed(self.releases.releases)]

    def plan(self, objects: list[dict[str, Any]], live: Live) -> Change | None:
        return self._manifests(order(objects), restores=None)

    def plan_rollback(self, revision: str, live: Live) -> Change:
        record = self.releases.get(int(revision))
        if record is None:
            raise SchedulerError(
                f"revision {revision} is not in the release history, so it cannot be restored"
            )
        change = self._manifests(order([without_revision(o) for o in record.manifests]), restores=revision)
        assert change is not None
        return change

    def rollback_target(self, live: Live) -> Revision | None:
        if live.current is None:
            return None
        before = self.releases.good_before(int(live.current.revision))
        return before.summary() if before else None

    def plan_scale(self, replicas: int, live: Live, marks: Marks | None = None) -> Change | None:
        deployment = self.known.get(("Deployment", self.app.name)) or {}
        annotations = deployment.get("metadata", {}).get("annotations") or {}
        changed = {
            MARK_PREFIX + m: v for m, v in (marks or {}).items() if annotations.get(MARK_PREFIX + m) != v
        }
        current = deployment.get("spec", {}).get("replicas")
        if current == replicas and not changed:
            return None
        revision = live.current.revision if live.current else ""
        noted = f", noting {described(marks or {})}" if changed else ""
        return Change(revision, f"{scaling(current, replicas)}{noted}", Scale(replicas, changed))

    def _manifests(self, desired: list[dict[str, Any]], restores: str | None) -> Change | None:
        changed = [o for o in desired if not contains(self.known.get(_key(o)), without_revision(o))]
        if not changed and restores is None:
            return None
        revision = str(self._next_revision())
        what = ", ".join(f"{o['kind']} {o['metadata']['name']}" for o in changed) or "nothing differs"
        description = rollback_to(restores) if restores else f"revision {revision}"
        return Change(revision, f"{description} ({what})", Manifests(desired, changed), restores)

    def _next_revision(self) -> int:
        labelled = _revision_of(self.known.get(("Deployment", self.app.name)))
        return max(self.releases.last_revision(), int(labelled or 0)) + 1

    # recording and applying -----------------------------------------------------------------

    def record(self, change: Change, outcome: str, last: bool = False) -> None:
        if isinstance(change.payload, Manifests):
            revision = int(change.revision)
            manifests = [with_revision(o, revision) for o in change.payload.desired]
            note = rollback_to(change.restores) if change.restores else ""
            self.releases.add(release(revision, outcome, manifests, note))
            if last:
                self._collect_garbage()
        self.lock.write(self.releases, hold=not last)

    def _collect_garbage(self) -> None:
        """Delete the app's env ConfigMaps that neither the Deployment nor a revision the history
        keeps refers to: a content-named ConfigMap lives as long as a rollback may want it (and
        a rollback to an older revision applies its ConfigMap again from the history)."""
        wanted = _configmaps_of(self.known.get(("Deployment", self.app.name)))
        for entry in self.releases.releases:
            wanted |= {o["metadata"]["name"] for o in entry.manifests if o["kind"] == "ConfigMap"}
            wanted |= set().union(*(_configmaps_of(o) for o in entry.manifests if o["kind"] == "Deployment"))
        for kind, name in [key for key in self.known if key[0] == "ConfigMap" and key[1] not in wanted]:
            try:
                self.kube.request("DELETE", BY_KIND["ConfigMap"].path(self.app.namespace, name))
            except KubeError as exc:
                if exc.status != 404:
                    self.notes.append(f"the unused ConfigMap {name} could not be deleted: {exc.message}")
                    continue
            del self.known[(kind, name)]

    def apply(self, change: Change) -> None:
        if isinstance(change.payload, Scale):
            self._scale(change.payload)
            return
        done: list[str] = []
        for obj in change.payload.changed:
            line = part(self.subject, obj["kind"], obj["metadata"]["name"])
            try:
                applied = self.applier.apply(with_revision(obj, int(change.revision)))
            except KubeError as exc:
                raise Refused(
                    str(failed(self.app, f"applying {obj['kind']} {obj['metadata']['name']}", exc)),
                    applied=done,
                    errors=_refusal_errors(self.app, obj, exc),
                ) from None
            done.append(f"{obj['kind']} {obj['metadata']['name']}")
            self.known[_key(obj)] = applied
            self.reporter.update(line, "applied", f"revision {change.revision}")

    def _scale(self, scale: Scale) -> None:
        patch: dict[str, Any] = {"spec": {"replicas": scale.replicas}}
        if scale.annotations:
            patch["metadata"] = {"annotations": scale.annotations}
        try:
            self.known[("Deployment", self.app.name)] = self.kube.request(
                "PATCH",
                BY_KIND["Deployment"].path(self.app.namespace, self.app.name),
                {"fieldManager": f"{MANAGER}-scale"},
                patch,
                "application/merge-patch+json",
            )
        except KubeError as exc:
            raise Refused(str(failed(self.app, f"scaling Deployment {self.app.name}", exc))) from None

    # gating ---------------------------------------------------------------------------------

    def gate(self, change: Change | None, timeout: float) -> GateResult:
        assert self.deployments is not None, "read() opens the Deployment's watch"
        desired = (
            change.payload.desired if change is not None and isinstance(change.payload, Manifests) else []
        )
        deployment = self.known.get(("Deployment", self.app.name)) or {}
        spec = next((o for o in desired if o["kind"] == "Deployment"), deployment)
        services = [o for o in desired or self.known.values() if o["kind"] == "Service"]
        target = Target(
            namespace=self.app.namespace,
            deployment=self.app.name,
            generation=deployment.get("metadata", {}).get("generation", 0),
            config_hash=spec.get("spec", {})
            .get("template", {})
            .get("metadata", {})
            .get("annotations", {})
            .get(HASH_ANNOTATION, ""),
            pod_labels=",".join(f"{k}={v}" for k, v in selector(self.app).items()),
            services=tuple(o["metadata"]["name"] for o in services if o["spec"].get("selector")),
        )
        run = GateRun(self.kube, target, self.deployments)
        started = _now()
        verdict, how, seconds = self._kube(
            lambda: run.wait(timeout, lambda v: self.reporter.update(self.subject, _state(v), v.summary)),
            "watching the rollout",
        )
        gate = GateResult(
            passed=verdict.state == "healthy",
            timed_out=how == "timed out",
            interrupted=how == "interrupted",
            seconds=round(seconds, 3),
            summary=verdict.summary
            if how == "decided"
            else not_healthy_in_time(timeout, verdict.summary)
            if how == "timed out"
            else interrupted_after(seconds, verdict.summary),
        )
        if not gate.passed and not gate.interrupted:
            self.reporter.update(self.subject, how if gate.timed_out else FAILED, verdict.summary)
            gate.failures = self._kube(
                lambda: failure_reports(
                    self.kube, target, verdict, gate.timed_out, started, list(run.pods.objects.values())
                ),
                "reading the evidence",
            )
        return gate

    def running(self) -> str:
        deployment = self._kube(
            lambda: self.kube.get(BY_KIND["Deployment"], self.app.namespace, self.app.name), "reading"
        )
        if deployment is None:
            return f"nothing: there is no Deployment {self.app.name}"
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        revision = _revision_of(deployment) or "unrecorded"
        return f"revision {revision} ({image}; {deployment_verdict(deployment, 0).summary})"

    def release(self) -> None:
        if self.deployments is not None:
            self.deployments.stop()
        self._kube(self.lock.release, "releasing the lock")

    # helpers --------------------------------------------------------------------------------

    def _live_deployment(self) -> dict[str, Any] | None:
        """The Deployment as its watch first delivers it; a GET when the server does not
        mark the end of the initial state in time (a server without WatchList)."""
        if self.deployments is None:
            self.deployments = deployment_watch(self.kube, self.app.namespace, self.app.name)
        watch = self.deployments
        with watch.changed:
            watch.changed.wait_for(lambda: watch.synced.is_set() or watch.refused is not None, SYNC_SECONDS)
            if watch.synced.is_set():
                return watch.objects.get(self.app.name)
        return self._kube(
            lambda: self.kube.get(BY_KIND["Deployment"], self.app.namespace, self.app.name), "reading"
        )

    def _current(self, deployment: dict[str, Any] | None) -> Revision | None:
        """The revision that runs: the one the live Deployment is labelled with."""
        labelled = _revision_of(deployment)
        if deployment is None or labelled is None:
            return None
        record = self.releases.get(int(labelled))
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        return record.summary() if record else Revision(labelled, "", image)

    def _kube(self, call: Any, what: str) -> Any:
        try:
            return call()
        except KubeError as exc:
            raise failed(self.app, f"{what} {self.app.name}", exc) from None


def _configmaps_of(deployment: dict[str, Any] | None) -> set[str]:
    """The ConfigMaps a Deployment's pods read (envFrom, env, volumes)."""
    pod = ((deployment or {}).get("spec") or {}).get("template", {}).get("spec") or {}
    names = {v["configMap"]["name"] for v in pod.get("volumes") or () if v.get("configMap")}
    for container in [*(pod.get("containers") or ()), *(pod.get("initContainers") or ())]:
        names |= {e["configMapRef"]["name"] for e in container.get("envFrom") or () if e.get("configMapRef")}
        names |= {
            e["valueFrom"]["configMapKeyRef"]["name"]
            for e in container.get("env") or ()
            if (e.get("valueFrom") or {}).get("configMapKeyRef")
        }
    return names


def _in_use(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What runs: once there is a Deployment, only the ConfigMaps it reads (the others are
    earlier env ConfigMaps kept for rollbacks, not part of the running app)."""
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    if not deployments:
        return objects
    read = set().union(*map(_configmaps_of, deployments))
    return [o for o in objects if o["kind"] != "ConfigMap" or o["metadata"]["name"] in read]


def _key(obj: dict[str, Any]) -> Key:
    return obj["kind"], obj["metadata"]["name"]


def _revision_of(obj: dict[str, Any] | None) -> str | None:
    label = ((obj or {}).get("metadata", {}).get("labels") or {}).get(REVISION_LABEL)
    return label if label and label.isdigit() else None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _state(verdict: Verdict) -> str:
    return {"healthy": HEALTHY, "failed": FAILED, "progressing": ROLLING_OUT}[verdict.state]


def _refusal_errors(app: App, obj: dict[str, Any], exc: KubeError) -> list[ConfigError]:
    """A 4xx validation refusal points at the config: at the override of that kind when
    there is one (the refused field or its nearest written parent), else the service."""
    if not 400 <= exc.status < 500 or exc.status in (401, 403, 404, 409):
        return []
    fields = [c.get("field") for c in exc.causes if c.get("field")] or [""]

    def location(field: str) -> Location:
        if obj["kind"] not in app.kubernetes_overrides:
            return app.location_of(())
        path = tuple(int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", field))
        return app.location_of(("kubernetes", obj["kind"], *path))

    return [
        ConfigError(
            location(f),
            f"{obj['kind']} {obj['metadata']['name']}" + (f" {f}" if f else ""),
            f"the Kubernetes API refused it: {exc.message}",
        )
        for f in fields
    ]
