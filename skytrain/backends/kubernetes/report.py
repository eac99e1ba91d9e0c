"""The evidence of a failed or timed-out gate: one block per failing object with its reason,
the non-routine events since the deploy started, the last log lines of its failing
containers and the path of the probe that fails. What an on-call engineer would
otherwise collect with four kubectl commands."""

from __future__ import annotations

import datetime
from typing import Any

from skytrain.backends.base import FailureReport
from skytrain.backends.kubernetes.client import Kube, KubeError
from skytrain.backends.kubernetes.gate import Problem, Target, Verdict
from skytrain.backends.kubernetes.kinds import BY_KIND
from skytrain.render.hashing import HASH_ANNOTATION

ROUTINE = frozenset(
    {
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
        "Killing",
        "SuccessfulCreate",
        "SuccessfulDelete",
        "ScalingReplicaSet",
        "SuccessfulAttachVolume",
        "NoPods",
        "SandboxChanged",
    }
)
MAX_PODS = 3
LOG_LINES = 10
PROBES = (("readiness", "readinessProbe"), ("liveness", "livenessProbe"), ("startup", "startupProbe"))


def failure_reports(
    kube: Kube,
    target: Target,
    verdict: Verdict,
    timed_out: bool,
    since: datetime.datetime,
    pods: list[dict[str, Any]],
) -> list[FailureReport]:
    problems = list(verdict.problems) or _stalled(target, verdict, pods)
    shown, hidden = problems[:MAX_PODS], problems[MAX_PODS:]
    events = _events(kube, target, since)
    reports = []
    for problem in shown:
        name = problem.object.split(" ", 1)[1]
        evidence = [_event_line(e) for e in events.get(name, [])]
        if problem.object.startswith("Deployment"):
            evidence += [
                _event_line(e)
                for n, es in events.items()
                if n.startswith(f"{name}-") and n not in {p.object.split(" ", 1)[1] for p in shown}
                for e in es
                if e["involvedObject"]["kind"] != "Pod"
            ]
        if problem.pod is not None:
            evidence += _logs(kube, target.namespace, problem)
            evidence += _probes(problem.pod, events.get(name, []), timed_out)
        reports.append(FailureReport(problem.object, problem.reason, evidence))
    if hidden:
        reports.append(FailureReport(f"{len(hidden)} more pods", "in the same state as above"))
    return reports


def _stalled(target: Target, verdict: Verdict, pods: list[dict[str, Any]]) -> list[Problem]:
    """A gate that timed out has no doomed pod; report the Deployment and its pods that are not ready."""
    problems = [Problem(f"Deployment {target.deployment}", f"not healthy in time: {verdict.summary}")]
    for pod in pods:
        if pod["metadata"].get("annotations", {}).get(HASH_ANNOTATION) != target.config_hash:
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        waiting = [c for c in statuses if not c.get("ready")]
        if not statuses or waiting:
            states = ", ".join(f"container {c['name']}: {_state(c)}" for c in waiting) or (
                f"phase {(pod.get('status') or {}).get('phase', 'Pending')}"
            )
            problems.append(
                Problem(
                    f"Pod {pod['metadata']['name']}",
                    f"not ready: {states}",
                    pod,
                    tuple(c["name"] for c in waiting),
                )
            )
    return problems


def _state(container: dict[str, Any]) -> str:
    state = container.get("state") or {}
    if "waiting" in state:
        return state["waiting"].get("reason", "waiting")
    if "running" in state:
        return "running but not ready"
    if "terminated" in state:
        return f"terminated ({state['terminated'].get('reason', 'exit ' + str(state['terminated'].get('exitCode')))})"
    return "unknown"


def _events(kube: Kube, target: Target, since: datetime.datetime) -> dict[str, list[dict[str, Any]]]:
    try:
        listing = kube.list(BY_KIND["Event"], target.namespace)
    except KubeError:
        return {}
    cutoff = since.replace(microsecond=0)
    by_object: dict[str, list[dict[str, Any]]] = {}
    for event in listing.get("items", []):
        involved = event.get("involvedObject") or {}
        name = involved.get("name", "")
        if not (name == target.deployment or name.startswith(f"{target.deployment}-")):
            continue
        if event.get("type") != "Warning" and event.get("reason") in ROUTINE:
            continue
        stamp = (
            event.get("lastTimestamp") or event.get("eventTime") or event["metadata"].get("creationTimestamp")
        )
        if stamp and _time(stamp) < cutoff:
            continue
        by_object.setdefault(name, []).append(event)
    return by_object


def _time(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(microsecond=0)


def _event_line(event: dict[str, Any]) -> str:
    count = event.get("count") or 1
    return (
        f"event {event.get('type', 'Normal')} {event.get('reason', '')}: {event.get('message', '').strip()}"
        + (f" (x{count})" if count > 1 else "")
    )


def _logs(kube: Kube, namespace: str, problem: Problem) -> list[str]:
    """The last lines of each crashed container: of its previous instance when it restarted
    (the current one may not have logged yet), else of the current one."""
    assert problem.pod is not None
    statuses = {c["name"]: c for c in (problem.pod.get("status") or {}).get("containerStatuses") or []}
    path = BY_KIND["Pod"].path(namespace, problem.pod["metadata"]["name"], "log")
    lines: list[str] = []
    for container in problem.containers:
        status = statuses.get(container, {})
        restarted = status.get("restartCount", 0) > 0
        if not (restarted or "terminated" in (status.get("state") or {})):
            continue
        for previous in (True, False) if restarted else (False,):
            try:
                text = kube.request(
                    "GET", path, {"container": container, "tailLines": LOG_LINES, "previous": previous}
                )
            except KubeError:
                continue  # e.g. 400: no previous instance (any more)
            lines += [f"log {container}: {line}" for line in str(text).splitlines()[-LOG_LINES:]]
            break
    return lines


def _probes(pod: dict[str, Any], events: list[dict[str, Any]], timed_out: bool) -> list[str]:
    """The failing probe's path: named by an Unhealthy event, or the readiness probe of a
    container that runs but never became ready."""
    messages = " ".join(e.get("message", "") for e in events if e.get("reason") == "Unhealthy").lower()
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    running_unready = any("running" in (c.get("state") or {}) and not c.get("ready") for c in statuses)
    lines = []
    for container in pod["spec"].get("containers", []):
        for label, key in PROBES:
            probe = container.get(key) or {}
            http = probe.get("httpGet")
            failing = f"{label} probe failed" in messages or (
                label == "readiness" and timed_out and running_unready
            )
            if http and failing:
                lines.append(
                    f"{label} probe of {container['name']} failing: GET {http.get('path', '/')} "
                    f"on port {http.get('port')}"
                )
    return lines
