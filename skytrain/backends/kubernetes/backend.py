"""The Kubernetes backend: lock, read what runs, apply what changed, gate, record, roll back.

One deploy costs: a Lease create and delete, one LIST per kind skytrain renders (which
also reads the release history), one apply per changed object, one history write, and
the gate's watches. A deploy that changes nothing writes nothing and passes at once.
"""

from __future__ import annotations

import datetime
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from skytrain.backends.base import (
    DeployOptions,
    DeployResult,
    GateResult,
    ObjectStatus,
    Outcome,
    StatusResult,
)
from skytrain.backends.kubernetes.apply import Applier, contains, order, with_revision, without_revision
from skytrain.backends.kubernetes.client import Kube, KubeError
from skytrain.backends.kubernetes.gate import GateRun, Target, Verdict, deployment_verdict, ready_endpoints
from skytrain.backends.kubernetes.history import (
    HISTORY_ROLE,
    ROLE_LABEL,
    History,
    Release,
    history_name,
    release,
)
from skytrain.backends.kubernetes.kinds import BY_KIND
from skytrain.backends.kubernetes.lock import LeaseLock, LockHeld
from skytrain.backends.kubernetes.report import failure_reports
from skytrain.config.model import App
from skytrain.errors import ConfigError, ConfigErrors, Location, OperationFailed
from skytrain.progress import Reporter
from skytrain.render.hashing import HASH_ANNOTATION
from skytrain.render.kubernetes import (
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    MANAGER,
    NAME_LABEL,
    owner_labels,
    selector,
)

LIVE_KINDS = ("ConfigMap", "Service", "Deployment")


def owner_selector(app: App) -> str:
    return ",".join(f"{k}={v}" for k, v in owner_labels(app).items())


@dataclass
class Live:
    """What runs for one app, read with one LIST per kind: its objects and its history."""

    objects: dict[tuple[str, str], dict[str, Any]]
    history: History

    def deployment(self, app: App) -> dict[str, Any] | None:
        return self.objects.get(("Deployment", app.name))

    def revision(self) -> int:
        labels = [
            int(o["metadata"].get("labels", {}).get("skytrain.io/revision", 0) or 0)
            for o in self.objects.values()
        ]
        return max([self.history.last_revision(), *labels])


class KubernetesBackend:
    target = "kubernetes"

    def __init__(self, kube: Kube, history_keep: int = 10):
        self.kube = kube
        self.applier = Applier(kube)
        self.history_keep = history_keep

    # reading -------------------------------------------------------------------------------

    def _read(self, app: App) -> Live:
        """One LIST per kind, sent together: the deploy waits for one round trip, not three."""
        with ThreadPoolExecutor(len(LIVE_KINDS)) as pool:
            listings = pool.map(
                lambda kind: (kind, self.kube.list(BY_KIND[kind], app.namespace, owner_selector(app))),
                LIVE_KINDS,
            )
            objects: dict[tuple[str, str], dict[str, Any]] = {}
            history_cm = None
            for kind_name, listing in listings:
                for obj in listing.get("items", []):
                    if kind_name == "ConfigMap" and obj["metadata"]["name"] == history_name(app):
                        history_cm = obj
                    else:
                        objects[(kind_name, obj["metadata"]["name"])] = obj
        return Live(objects, History.from_configmap(history_cm, self.history_keep))

    def live_objects(self, apps: list[App]) -> dict[str, list[dict[str, Any]]]:
        """One LIST per kind and namespace for all the apps of an environment there."""
        result: dict[str, list[dict[str, Any]]] = {app.name: [] for app in apps}
        groups: dict[tuple[str, str], list[App]] = {}
        for app in apps:
            groups.setdefault((app.namespace, app.environment.name), []).append(app)
        for (namespace, environment), members in groups.items():
            names = ",".join(sorted({a.name for a in members}))
            labels = (
                f"{MANAGED_BY_LABEL}={MANAGER},{ENVIRONMENT_LABEL}={environment},{NAME_LABEL} in ({names})"
            )
            for kind_name in LIVE_KINDS:
                try:
                    listing = self.kube.list(BY_KIND[kind_name], namespace, labels)
                except KubeError as exc:
                    raise OperationFailed(_unlisted(members[0], kind_name, exc)) from None
                for obj in listing.get("items", []):
                    meta = obj["metadata"]
                    if meta.get("labels", {}).get(ROLE_LABEL) == HISTORY_ROLE:
                        continue
                    obj.setdefault("apiVersion", BY_KIND[kind_name].api_version)
                    obj.setdefault("kind", kind_name)
                    result.setdefault(meta["labels"][NAME_LABEL], []).append(obj)
        return result

    # deploying -----------------------------------------------------------------------------

    def deploy(
        self, app: App, objects: list[dict[str, Any]], options: DeployOptions, reporter: Reporter
    ) -> DeployResult:
        return self._locked(
            app, options, reporter, lambda live: self._deploy(app, objects, options, reporter, live)
        )

    def rollback(
        self, app: App, to_revision: str | None, options: DeployOptions, reporter: Reporter
    ) -> DeployResult:
        return self._locked(
            app, options, reporter, lambda live: self._rollback(app, to_revision, options, reporter, live)
        )

    def scale(self, app: App, replicas: int, options: DeployOptions, reporter: Reporter) -> DeployResult:
        return self._locked(
            app, options, reporter, lambda live: self._scale(app, replicas, options, reporter, live)
        )

    def _locked(self, app: App, options: DeployOptions, reporter: Reporter, action: Any) -> DeployResult:
        lock = LeaseLock(self.kube, app.namespace, app.name, owner_labels(app))
        subject = _subject(app)
        reporter.update(subject, "locking", lock.name)
        try:
            lock.acquire(options.gate_timeout(app), force=options.force)
        except LockHeld as held:
            reporter.update(subject, "failed", "locked by another deploy")
            return self._result(app, Outcome.FAILED, messages=[str(held)])
        except KubeError as exc:
            raise OperationFailed(_unreachable(app, exc)) from None
        try:
            return action(self._read(app))
        except KubeError as exc:
            raise OperationFailed(_unreachable(app, exc)) from None
        finally:
            lock.release()

    def _deploy(
        self, app: App, objects: list[dict[str, Any]], options: DeployOptions, reporter: Reporter, live: Live
    ) -> DeployResult:
        desired = order(objects)
        current = live.history.current()
        if all(
            contains(live.objects.get((o["kind"], o["metadata"]["name"])), without_revision(o))
            for o in desired
        ):
            return self._unchanged(app, desired, options, reporter, live, current)
        return self._release(app, desired, options, reporter, live, note="")

    def _unchanged(
        self,
        app: App,
        desired: list[dict[str, Any]],
        options: DeployOptions,
        reporter: Reporter,
        live: Live,
        current: Release | None,
    ) -> DeployResult:
        deployment = live.deployment(app)
        verdict = deployment_verdict(deployment, 0)
        if verdict.state == "healthy" or not options.wait:
            reporter.update(_subject(app), "unchanged", verdict.summary)
            gate = GateResult(
                passed=verdict.state == "healthy", summary=f"already running: {verdict.summary}"
            )
        else:  # same config, but not healthy yet (a rollout still going on): gate it like a deploy
            gate = self._gate(app, desired, deployment, options.gate_timeout(app), reporter, _now())
        outcome = Outcome.UNCHANGED if gate.passed else gate.not_passed
        return self._result(
            app,
            outcome,
            str(current.revision) if current else None,
            gate=gate,
            messages=["what runs already matches this config; nothing was applied"],
        )

    def _release(
        self,
        app: App,
        desired: list[dict[str, Any]],
        options: DeployOptions,
        reporter: Reporter,
        live: Live,
        note: str,
        rollback_allowed: bool = True,
    ) -> DeployResult:
        """Apply `desired` as a new revision, gate it, record it; roll back on failure if allowed."""
        previous = live.history.current()
        revision = live.revision() + 1
        started = _now()
        deployment = self._apply(app, desired, revision, live, reporter)
        result = self._result(app, Outcome.STARTED, str(revision), previous=previous)
        if note:
            result.messages.append(note)
        if not options.wait:
            live.history.add(release(revision, "started", _labelled(desired, revision), note))
            self._record(app, live.history)
            reporter.update(_subject(app), "started", f"revision {revision} applied")
            return result
        result.gate = self._gate(app, desired, deployment, options.gate_timeout(app), reporter, started)
        if result.gate.passed:
            live.history.add(release(revision, "deployed", _labelled(desired, revision), note))
            self._record(app, live.history)
            result.outcome = Outcome.DEPLOYED
            return result
        result.outcome = result.gate.not_passed
        live.history.add(release(revision, result.outcome.value, _labelled(desired, revision), note))
        restore = live.history.good_before(revision) if rollback_allowed else None
        if not (rollback_allowed and options.rolls_back(app)):
            result.messages.append(
                "the rollback itself failed its gate; nothing further was changed"
                if not rollback_allowed
                else "left in place for debugging (--no-rollback)"
                if options.rollback is False
                else "left in place: deploy.rollbackOnFailure is false for this service"
            )
        elif restore is None:
            result.messages.append("nothing to roll back to: no earlier revision deployed successfully")
        else:
            self._restore(app, restore, revision + 1, options, reporter, live, result)
        self._record(app, live.history)
        return result

    def _restore(
        self,
        app: App,
        restore: Release,
        revision: int,
        options: DeployOptions,
        reporter: Reporter,
        live: Live,
        result: DeployResult,
    ) -> None:
        reporter.note(f"{_subject(app)}: rolling back to revision {restore.revision}")
        note = (
            f"rollback to revision {restore.revision} after revision {result.revision} {result.outcome.value}"
        )
        manifests = order([without_revision(o) for o in restore.manifests])
        deployment = self._apply(app, manifests, revision, live, reporter)
        gate = self._gate(app, manifests, deployment, options.gate_timeout(app), reporter, _now())
        result.rollback_gate = gate
        status = Outcome.DEPLOYED if gate.passed else gate.not_passed
        live.history.add(release(revision, status.value, _labelled(manifests, revision), note))
        result.outcome = Outcome.ROLLED_BACK if gate.passed else Outcome.ROLLBACK_FAILED
        if gate.passed:  # as on Marathon: the revision is what runs now
            result.revision = str(revision)
        result.messages.append(
            f"rolled back to revision {restore.revision} (recorded as revision {revision})"
            if gate.passed
            else f"the rollback to revision {restore.revision} failed too"
        )

    def _rollback(
        self, app: App, to_revision: str | None, options: DeployOptions, reporter: Reporter, live: Live
    ) -> DeployResult:
        current = live.history.current()
        if to_revision is not None:
            try:
                target = live.history.get(int(to_revision))
            except ValueError:
                target = None
        else:
            target = live.history.good_before(current.revision) if current else None
        if target is None:
            known = ", ".join(str(r.revision) for r in live.history.releases) or "none"
            wanted = f"revision {to_revision}" if to_revision else "an earlier successful revision"
            return self._result(
                app,
                Outcome.FAILED,
                messages=[
                    f"cannot roll back {app.name} in {app.environment.name}: {wanted} is not in the release history "
                    f"(ConfigMap {app.namespace}/{history_name(app)} holds revisions: {known})"
                ],
            )
        manifests = order([without_revision(o) for o in target.manifests])
        return self._release(
            app,
            manifests,
            options,
            reporter,
            live,
            note=f"rollback to revision {target.revision}",
            rollback_allowed=False,
        )

    def _scale(
        self, app: App, replicas: int, options: DeployOptions, reporter: Reporter, live: Live
    ) -> DeployResult:
        deployment = live.deployment(app)
        if deployment is None:
            return self._result(
                app,
                Outcome.FAILED,
                messages=[f"{app.name} does not run in {app.environment.name}: deploy it first"],
            )
        scaled = self.kube.request(
            "PATCH",
            BY_KIND["Deployment"].path(app.namespace, app.name),
            {"fieldManager": f"{MANAGER}-scale"},
            {"spec": {"replicas": replicas}},
            "application/merge-patch+json",
        )
        current = live.history.current()
        result = self._result(app, Outcome.STARTED, str(current.revision) if current else None)
        result.messages.append(f"scaled to {replicas} replicas")
        if options.wait:
            manifests = [scaled]
            result.gate = self._gate(app, manifests, scaled, options.gate_timeout(app), reporter, _now())
            result.outcome = (
                Outcome.DEPLOYED
                if result.gate.passed
                else Outcome.TIMED_OUT
                if result.gate.timed_out
                else Outcome.FAILED
            )
        return result

    # the steps -----------------------------------------------------------------------------

    def _apply(
        self, app: App, desired: list[dict[str, Any]], revision: int, live: Live, reporter: Reporter
    ) -> dict[str, Any] | None:
        """Apply what differs (in KIND_ORDER); returns the Deployment as the server has it now."""
        deployment = live.deployment(app)
        done: list[str] = []
        for obj in desired:
            key = (obj["kind"], obj["metadata"]["name"])
            line = f"{_subject(app)} {obj['kind']}/{obj['metadata']['name']}"
            if contains(live.objects.get(key), without_revision(obj)):
                reporter.update(line, "unchanged")
                continue
            try:
                applied = self.applier.apply(with_revision(obj, revision))
            except KubeError as exc:
                if 400 <= exc.status < 500 and exc.status not in (401, 403, 404, 409):
                    raise _refused(app, obj, exc, done) from None
                raise
            done.append(f"{obj['kind']} {obj['metadata']['name']}")
            reporter.update(line, "applied", f"revision {revision}")
            live.objects[key] = applied
            if obj["kind"] == "Deployment":
                deployment = applied
        return deployment

    def _gate(
        self,
        app: App,
        desired: list[dict[str, Any]],
        deployment: dict[str, Any] | None,
        timeout: float,
        reporter: Reporter,
        started: datetime.datetime,
    ) -> GateResult:
        subject = _subject(app)
        spec = next((o for o in desired if o["kind"] == "Deployment"), deployment or {})
        target = Target(
            namespace=app.namespace,
            deployment=app.name,
            generation=(deployment or {}).get("metadata", {}).get("generation", 0),
            config_hash=spec.get("spec", {})
            .get("template", {})
            .get("metadata", {})
            .get("annotations", {})
            .get(HASH_ANNOTATION, ""),
            pod_labels=",".join(f"{k}={v}" for k, v in selector(app).items()),
            services=tuple(
                o["metadata"]["name"] for o in desired if o["kind"] == "Service" and o["spec"].get("selector")
            ),
        )
        run = GateRun(self.kube, target)
        verdict, timed_out, seconds = run.wait(
            timeout, lambda v: reporter.update(subject, _state(v), v.summary)
        )
        gate = GateResult(
            passed=verdict.state == "healthy",
            timed_out=timed_out,
            seconds=round(seconds, 3),
            summary=verdict.summary
            if not timed_out
            else f"not healthy after {timeout:g}s: {verdict.summary}",
        )
        if not gate.passed:
            reporter.update(subject, "timed out" if timed_out else "failed", verdict.summary)
            gate.failures = failure_reports(
                self.kube, target, verdict, timed_out, started, list(run.pods.objects.values())
            )
        return gate

    def _record(self, app: App, history: History) -> None:
        self.applier.apply(history.configmap(app))

    # status --------------------------------------------------------------------------------

    def status(self, app: App) -> StatusResult:
        try:
            live = self._read(app)
            slices = {
                name: self.kube.list(
                    BY_KIND["EndpointSlice"], app.namespace, f"kubernetes.io/service-name={name}"
                )["items"]
                for kind, name in live.objects
                if kind == "Service"
            }
        except KubeError as exc:
            raise OperationFailed(_unreachable(app, exc)) from None
        objects = []
        for (kind, name), obj in sorted(live.objects.items()):
            if kind == "Deployment":
                verdict = deployment_verdict(obj, 0)
                image = obj["spec"]["template"]["spec"]["containers"][0]["image"]
                objects.append(
                    ObjectStatus(
                        f"Deployment {name}",
                        verdict.state == "healthy",
                        verdict.summary,
                        {
                            "image": image,
                            "configHash": obj["metadata"].get("annotations", {}).get(HASH_ANNOTATION),
                        },
                    )
                )
            elif kind == "Service":
                ready = ready_endpoints(slices.get(name, []))
                objects.append(ObjectStatus(f"Service {name}", ready > 0, f"{ready} ready endpoints"))
        current = live.history.current()
        exists = live.deployment(app) is not None
        return StatusResult(
            app=app.name,
            environment=app.environment.name,
            target=self.target,
            exists=exists,
            healthy=exists and all(o.healthy for o in objects),
            revision=str(current.revision) if current else None,
            objects=objects,
            history=[r.summary() for r in reversed(live.history.releases)],
        )

    def _result(
        self,
        app: App,
        outcome: Outcome,
        revision: str | None = None,
        previous: Release | None = None,
        gate: GateResult | None = None,
        messages: list[str] | None = None,
    ) -> DeployResult:
        return DeployResult(
            app=app.name,
            environment=app.environment.name,
            target=self.target,
            outcome=outcome,
            revision=revision,
            previous_revision=str(previous.revision) if previous else None,
            gate=gate,
            messages=messages or [],
        )


def _labelled(objects: list[dict[str, Any]], revision: int) -> list[dict[str, Any]]:
    return [with_revision(o, revision) for o in objects]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _subject(app: App) -> str:
    return f"{app.environment.name}/{app.name}"


def _state(verdict: Verdict) -> str:
    return {"healthy": "healthy", "failed": "failing", "progressing": "rolling out"}[verdict.state]


def _unreachable(app: App, exc: KubeError) -> str:
    what = (
        "could not reach the Kubernetes API"
        if exc.status == 0
        else f"the Kubernetes API answered {exc.status}"
    )
    return f"{_subject(app)}: {what} ({exc.message}); the deploy stopped where it was, see `skytrain status`"


def _unlisted(app: App, kind_name: str, exc: KubeError) -> str:
    """Why live state could not be read, naming the cluster (kubeconfig context) and the list."""
    what = (
        "could not reach the Kubernetes API"
        if exc.status == 0
        else f"the Kubernetes API answered {exc.status} {exc.reason}".rstrip()
    )
    context = app.environment.kubernetes.context if app.environment.kubernetes else None
    cluster = f"kubeconfig context {context}" if context else "the kubeconfig's current context"
    return (
        f"{what} listing {BY_KIND[kind_name].plural} in namespace {app.namespace} ({cluster}): {exc.message}"
    )


def _refused(app: App, obj: dict[str, Any], exc: KubeError, applied: list[str]) -> ConfigErrors:
    """A 4xx validation refusal is a config problem: point at the config (the override of
    that kind when there is one, at the refused field or its nearest written parent), name
    the field, and say what this deploy had already applied before the refusal."""
    fields = [c.get("field") for c in exc.causes if c.get("field")] or [""]
    already = f" (already applied before it: {', '.join(applied)})" if applied else ""

    def location(field: str) -> Location:
        if obj["kind"] not in app.kubernetes_overrides:
            return app.location_of(())
        path = tuple(int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", field))
        return app.location_of(("kubernetes", obj["kind"], *path))

    return ConfigErrors(
        [
            ConfigError(
                location(f),
                f"{obj['kind']} {obj['metadata']['name']}" + (f" {f}" if f else ""),
                f"the Kubernetes API refused it: {exc.message}{already}",
            )
            for f in fields
        ]
    )
