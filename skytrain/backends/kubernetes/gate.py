"""The health gate: is the new version fully rolled out and serving, doomed, or still on its way?

Success follows kstatus: the Deployment's controller has observed the new generation,
updated = ready = available = desired replicas, no old replica is left (so the new
ReplicaSet is the current one) and no more run than desired (so a scale-down is done), and
each Service that selects pods has a ready endpoint.
Failure is declared at once, without waiting for the timeout, when the Deployment says
ProgressDeadlineExceeded or ReplicaFailure, or when every pod of the new version is in
a state that does not heal by itself. The gate is driven by watches, so it decides
within milliseconds of the change that decides it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from skytrain import interrupts
from skytrain.backends.kubernetes.client import Kube
from skytrain.backends.kubernetes.kinds import BY_KIND
from skytrain.backends.kubernetes.watch import Watched
from skytrain.render.hashing import HASH_ANNOTATION
from skytrain.wording import REPLICA, count, share, surplus

DOOMED_WAITING = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName"}
)
REEVALUATE_SECONDS = 1.0


@dataclass
class Problem:
    """One failing object: what it is, why, and the pod it concerns (for logs and probes)."""

    object: str
    reason: str
    pod: dict[str, Any] | None = None
    containers: tuple[str, ...] = ()


@dataclass
class Verdict:
    state: str  # healthy, progressing, failed
    summary: str
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """What the gate waits for: the Deployment, its generation and config hash, the Services."""

    namespace: str
    deployment: str
    generation: int
    config_hash: str
    pod_labels: str
    services: tuple[str, ...]


def deployment_verdict(deployment: dict[str, Any] | None, generation: int) -> Verdict:
    if deployment is None:
        return Verdict("progressing", "waiting for the Deployment's status")
    meta, spec, status = deployment["metadata"], deployment.get("spec", {}), deployment.get("status") or {}
    name = f"Deployment {meta['name']}"
    observed = status.get("observedGeneration", 0)
    if observed < max(generation, meta.get("generation", 1)):
        return Verdict(
            "progressing", f"waiting for the controller to observe generation {meta.get('generation')}"
        )
    conditions = {c["type"]: c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing", {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        reason = f"ProgressDeadlineExceeded: {progressing.get('message', 'the rollout stopped progressing')}"
        return Verdict("failed", reason, [Problem(name, reason)])
    failure = conditions.get("ReplicaFailure", {})
    if failure.get("status") == "True":
        reason = f"ReplicaFailure: {failure.get('reason', '')}: {failure.get('message', '')}"
        return Verdict("failed", reason, [Problem(name, reason)])
    desired = spec.get("replicas", 1)
    updated, total = status.get("updatedReplicas", 0), status.get("replicas", 0)
    ready, available = status.get("readyReplicas", 0), status.get("availableReplicas", 0)
    if updated < desired:
        return Verdict("progressing", share(updated, desired, REPLICA, "updated"))
    if total > updated:
        return Verdict("progressing", f"{count(total - updated, 'old ' + REPLICA)} still terminating")
    if total > desired:  # a scale-down is done when the surplus has gone (kstatus: pending termination)
        return Verdict("progressing", share(ready, desired, REPLICA, "ready") + surplus(total, desired))
    if ready < desired:
        return Verdict("progressing", share(ready, desired, REPLICA, "ready"))
    if available < desired:
        return Verdict("progressing", share(available, desired, REPLICA, "available"))
    return Verdict("healthy", share(desired, desired, REPLICA, "ready"))


def pod_problem(pod: dict[str, Any]) -> Problem | None:
    """Why a pod cannot become ready by itself, or None while it still might."""
    name = f"Pod {pod['metadata']['name']}"
    status = pod.get("status") or {}
    if status.get("phase") == "Failed":
        return Problem(
            name,
            f"pod failed: {status.get('reason') or 'a container exited with an error'}"
            + (f": {status['message']}" if status.get("message") else ""),
            pod,
            tuple(c["name"] for c in status.get("containerStatuses") or []),
        )
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
            return Problem(name, f"Unschedulable: {condition.get('message', 'no node fits the pod')}", pod)
    doomed = [
        (c["name"], c["state"]["waiting"])
        for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
        if (c.get("state") or {}).get("waiting", {}).get("reason") in DOOMED_WAITING
    ]
    if doomed:
        reason = "; ".join(
            f"container {c}: {w['reason']}" + (f" ({w['message']})" if w.get("message") else "")
            for c, w in doomed
        )
        return Problem(name, reason, pod, tuple(c for c, _ in doomed))
    return None


def ready_endpoints(slices: list[dict[str, Any]]) -> int:
    return sum(
        1
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready") is not False
    )


def evaluate(
    target: Target,
    deployment: dict[str, Any] | None,
    pods: list[dict[str, Any]],
    slices: dict[str, list[dict[str, Any]]],
) -> Verdict:
    verdict = deployment_verdict(deployment, target.generation)
    if verdict.state == "failed":
        return verdict
    new_pods = [
        p
        for p in pods
        if p["metadata"].get("annotations", {}).get(HASH_ANNOTATION) == target.config_hash
        and not p["metadata"].get("deletionTimestamp")
    ]
    problems = [p for p in map(pod_problem, new_pods) if p is not None]
    if verdict.state == "progressing" and new_pods and len(problems) == len(new_pods):
        return Verdict(
            "failed",
            f"every pod of the new version is failing ({len(problems)} of {len(new_pods)})",
            problems,
        )
    if verdict.state == "healthy":
        desired = (deployment or {}).get("spec", {}).get("replicas", 1)
        for service in target.services:
            if desired and not ready_endpoints(slices.get(service, [])):
                return Verdict("progressing", f"Service {service} has no ready endpoints yet")
    return verdict


def deployment_watch(kube: Kube, namespace: str, name: str) -> Watched:
    """The Deployment's watch, opened for its initial state: the deploy reads the live
    Deployment from it, and every gate of the deploy goes on with it."""
    return Watched(
        kube,
        BY_KIND["Deployment"],
        namespace,
        None,
        threading.Condition(),
        fields=f"metadata.name={name}",
        initial=True,
    ).start()


@dataclass
class GateRun:
    """The watches one gate needs: the Deployment's (already running), the app's pods, and
    each Service's EndpointSlices."""

    kube: Kube
    target: Target
    deployment: Watched
    watches: list[Watched] = field(default_factory=list)

    def __post_init__(self) -> None:
        ns, changed = self.target.namespace, self.deployment.changed
        self.pods = Watched(self.kube, BY_KIND["Pod"], ns, self.target.pod_labels, changed)
        self.slices = {
            s: Watched(self.kube, BY_KIND["EndpointSlice"], ns, f"kubernetes.io/service-name={s}", changed)
            for s in self.target.services
        }
        self.watches = [self.pods, *self.slices.values()]

    def verdict(self) -> Verdict:
        return evaluate(
            self.target,
            self.deployment.objects.get(self.target.deployment),
            list(self.pods.objects.values()),
            {s: list(w.objects.values()) for s, w in self.slices.items()},
        )

    def wait(self, timeout: float, on_change: Any = None) -> tuple[Verdict, str, float]:
        """Until healthy or failed ("decided"), `timeout` ("timed out"), or a signal
        ("interrupted"); raises the KubeError when the server refuses to show what the gate
        must watch."""
        started = time.monotonic()
        deadline = started + timeout
        changed = self.deployment.changed
        for watch in self.watches:
            watch.start()
        try:
            with interrupts.wakes(lambda: _notify(changed)), changed:
                while True:
                    for watch in (self.deployment, *self.watches):
                        if watch.refused is not None:
                            raise watch.refused
                    verdict = self.verdict()
                    if on_change is not None:
                        on_change(verdict)
                    if verdict.state != "progressing":
                        return verdict, "decided", time.monotonic() - started
                    if interrupts.requested():
                        return verdict, "interrupted", time.monotonic() - started
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return verdict, "timed out", time.monotonic() - started
                    changed.wait(min(remaining, REEVALUATE_SECONDS))
        finally:
            for watch in self.watches:
                watch.stop()

    @property
    def breaks(self) -> int:
        return sum(w.breaks for w in (self.deployment, *self.watches))


def _notify(changed: threading.Condition) -> None:
    with changed:
        changed.notify_all()
