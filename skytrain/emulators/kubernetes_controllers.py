"""The controllers of an emulated cluster: what makes a Deployment written to the
emulated API server roll out, to success or to any state a deploy must recognise.

`Controller` plays the Deployment, ReplicaSet, kubelet and EndpointSlice controllers
through the emulator's store (so every change reaches watches like a real one): it
creates ReplicaSets and pods with container states, emits Events, keeps logs, updates
EndpointSlices and the Deployment's status. `cluster()` bundles a running emulator, its
controllers and a kubeconfig: what tests, the benchmark and the demo need.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skytrain.emulators.kubernetes import ClusterEmulator, now, serve, write_kubeconfig

HEALTHY = "healthy"
CRASH_LOOP = "CrashLoopBackOff"
IMAGE_PULL = "ImagePullBackOff"
ERR_IMAGE_PULL = "ErrImagePull"
CONFIG_ERROR = "CreateContainerConfigError"
UNSCHEDULABLE = "Unschedulable"
POD_FAILED = "Failed"
DEADLINE = "ProgressDeadlineExceeded"
STUCK = "stuck"  # pods stay ContainerCreating: only the gate's timeout ends it
UNREADY = "unready"  # pods run but their readiness probe keeps failing
SLOW = "slow"  # one pod ready at once (none of one replica), the rest after `delay`
NODES = 3  # pods are assigned to node-0 .. node-2
BEHAVIOURS = (
    HEALTHY,
    CRASH_LOOP,
    IMAGE_PULL,
    ERR_IMAGE_PULL,
    CONFIG_ERROR,
    UNSCHEDULABLE,
    POD_FAILED,
    DEADLINE,
    STUCK,
    UNREADY,
    SLOW,
)

WAITING = {
    CRASH_LOOP: "back-off 40s restarting failed container={c} pod={p}",
    IMAGE_PULL: 'Back-off pulling image "{image}"',
    ERR_IMAGE_PULL: 'failed to pull and unpack image "{image}": not found',
    CONFIG_ERROR: 'secret "{c}" not found',
}


@dataclass(eq=False)
class NextRollout:
    """A behaviour armed for the next rollout (a new pod template) of the Deployments it
    matches, by namespace and name; the rollout after it, a rollback included, is itself again."""

    behaviour: str
    matches: Callable[[str, str], bool]
    seconds: float = 0.2  # how long a SLOW rollout takes


@dataclass
class Controller:
    """Plays the Deployment, ReplicaSet, Pod, kubelet and EndpointSlice controllers.

    When a Deployment's spec changes, the rollout ends as `behaviour` says: by default
    healthy; `by_image` maps a substring of the image to a behaviour (so "giphy:bad" can
    crash-loop while "giphy:good" comes up), `delay` postpones the outcome.
    """

    emulator: ClusterEmulator
    behaviour: str = HEALTHY
    by_image: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    logs: list[str] = field(
        default_factory=lambda: ["starting giphy on :8080", "panic: GIPHY_API_KEY is not set"]
    )
    healthy_at: dict[tuple[str, str, int], float] = field(default_factory=dict)
    armed: list[NextRollout] = field(default_factory=list)
    _by_template: dict[tuple[str, str], NextRollout] = field(
        default_factory=dict
    )  # by (namespace, ReplicaSet)
    _seen: set[tuple[str, str, str, int]] = field(default_factory=set)
    _timers: list[threading.Timer] = field(default_factory=list)
    _ips: Iterator[int] = field(default_factory=lambda: itertools.count(2))
    _arming: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.emulator.listeners.append(self._on_write)

    def stop(self) -> None:
        self.emulator.listeners.remove(self._on_write)
        for timer in self._timers:
            timer.cancel()

    def _on_write(self, event: str, kind: str, obj: dict[str, Any]) -> None:
        if kind == "Service" and event != "DELETED":  # a Service applied after its Deployment
            self.later(0, self._service_endpoints, obj)
        if kind == "DaemonSet" and event != "DELETED":
            self._daemonset_status(obj)
        if kind != "Deployment" or event == "DELETED":
            return
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"], meta["uid"], meta["generation"])
        if key in self._seen:
            return
        self._seen.add(key)
        self.later(self.delay, self.reconcile, meta["namespace"], meta["name"])

    def _daemonset_status(self, daemonset: dict[str, Any]) -> None:
        """A DaemonSet runs, up to date and ready, on each of the cluster's NODES nodes (its
        pods are not emulated: the Skyline bridge is rendered and applied, never gated)."""
        meta = daemonset["metadata"]
        if (daemonset.get("status") or {}).get("observedGeneration") == meta["generation"]:
            return
        counts = dict.fromkeys(
            (
                "desiredNumberScheduled",
                "currentNumberScheduled",
                "updatedNumberScheduled",
                "numberReady",
                "numberAvailable",
            ),
            NODES,
        )
        status = {**counts, "numberMisscheduled": 0, "observedGeneration": meta["generation"]}
        self.later(
            0, self.emulator.patch, "DaemonSet", meta["namespace"], meta["name"], {"status": status}, "status"
        )

    def _service_endpoints(self, service: dict[str, Any]) -> None:
        """Endpoints for the Deployments the Service selects, and only those: recomputing every
        Deployment's on each Service write made 50 concurrent first deploys cost 2,500."""
        selector = service["spec"].get("selector") or {}
        if not selector:
            return
        for deployment in self.emulator.select("Deployment", service["metadata"]["namespace"]):
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            if all(labels.get(k) == v for k, v in selector.items()):
                self._endpoints(deployment)

    def later(self, delay: float, action: Callable[..., None], *args: Any) -> None:
        if delay <= 0:
            threading.Thread(target=action, args=args, daemon=True).start()
            return
        timer = threading.Timer(delay, action, args)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def behave_next(
        self,
        behaviour: str,
        matches: Callable[[str, str], bool] = lambda namespace, name: True,
        seconds: float = 0.2,
    ) -> NextRollout:
        """The next rollout of a matching Deployment ends as `behaviour` (a fault on purpose)."""
        armed = NextRollout(behaviour, matches, seconds)
        with self._arming:
            self.armed.append(armed)
        return armed

    def disarm(self, armed: NextRollout) -> None:
        """Take back what behave_next armed, unless a rollout took it already."""
        with self._arming:
            if armed in self.armed:
                self.armed.remove(armed)

    def behaviour_of(self, deployment: dict[str, Any], replicaset: str | None = None) -> str:
        armed = self._by_template.get((deployment["metadata"]["namespace"], replicaset or ""))
        if armed is not None:
            return armed.behaviour
        images = " ".join(c["image"] for c in deployment["spec"]["template"]["spec"]["containers"])
        return next((b for part, b in self.by_image.items() if part in images), self.behaviour)

    def _claim(self, namespace: str, name: str, replicaset: str) -> None:
        """A new pod template takes the first armed rollout that matches it."""
        with self._arming:
            armed = next((a for a in self.armed if a.matches(namespace, name)), None)
            if armed is not None:
                self.armed.remove(armed)
                self._by_template[(namespace, replicaset)] = armed

    def reconcile(self, namespace: str, name: str, behaviour: str | None = None) -> None:
        """Bring the Deployment's pods, ReplicaSet, endpoints and status to `behaviour`'s end state."""
        deployment = self.emulator.stored("Deployment", namespace, name)
        if deployment is None:
            return
        replicas = deployment["spec"].get("replicas", 1)
        rs = self._replicaset(deployment, replicas)
        behaviour = behaviour or self.behaviour_of(deployment, rs["metadata"]["name"])
        template_hash = rs["metadata"]["labels"]["pod-template-hash"]
        old = [
            p
            for p in self._pods(deployment)
            if p["metadata"]["labels"].get("pod-template-hash") != template_hash
        ]
        new = [
            p
            for p in self._pods(deployment)
            if p["metadata"]["labels"].get("pod-template-hash") == template_hash
        ]
        ready_now = replicas if behaviour == HEALTHY else min(1, replicas - 1) if behaviour == SLOW else 0
        for pod in new[replicas:]:
            self.emulator.delete("Pod", namespace, pod["metadata"]["name"])
        for index in range(len(new), replicas):
            new.append(self._pod(deployment, rs, index))
        for index, pod in enumerate(new[:replicas]):
            self._set_pod_state(pod, behaviour, ready=index < ready_now)
        if behaviour == HEALTHY:
            for pod in old:
                self.emulator.delete("Pod", namespace, pod["metadata"]["name"])
            old = []
            self._scale_down_old(deployment, rs)
        self._replicaset_status(rs, len(new[:replicas]), ready_now)
        self._endpoints(deployment)
        generation = deployment["metadata"]["generation"]
        if behaviour == DEADLINE:
            self._event(
                deployment,
                "Warning",
                DEADLINE,
                f'ReplicaSet "{rs["metadata"]["name"]}" has timed out progressing.',
            )
        committed = time.monotonic()  # the healthy status is written from here on
        self._status(deployment, rs, replicas, ready_now, len(old), behaviour)
        if ready_now >= replicas:
            self.healthy_at[(namespace, name, generation)] = committed
        elif behaviour == SLOW:
            armed = self._by_template.get((namespace, rs["metadata"]["name"]))
            self.later(
                armed.seconds if armed else self.delay or 0.2, self._finish_slow, namespace, name, generation
            )

    def _finish_slow(self, namespace: str, name: str, generation: int) -> None:
        deployment = self.emulator.stored("Deployment", namespace, name)
        if deployment is None or deployment["metadata"]["generation"] != generation:
            return
        self.reconcile(namespace, name, HEALTHY)

    def _ip(self) -> str:
        number = next(self._ips)
        return f"10.244.{number // 250}.{number % 250 + 1}"

    def _replicaset_status(self, rs: dict[str, Any], replicas: int, ready: int) -> None:
        status = {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready}
        self.emulator.patch(
            "ReplicaSet",
            rs["metadata"]["namespace"],
            rs["metadata"]["name"],
            {"status": {**status, "observedGeneration": rs["metadata"]["generation"]}},
            subresource="status",
        )

    def _scale_down_old(self, deployment: dict[str, Any], current: dict[str, Any]) -> None:
        """The Deployment's other ReplicaSets go to 0 once its new one is ready (kept as its history)."""
        uid = deployment["metadata"]["uid"]
        selector = ",".join(f"{k}={v}" for k, v in deployment["spec"]["selector"]["matchLabels"].items())
        for rs in self.emulator.select("ReplicaSet", deployment["metadata"]["namespace"], selector):
            owned = any(o["uid"] == uid for o in rs["metadata"].get("ownerReferences", []))
            if owned and rs["metadata"]["name"] != current["metadata"]["name"] and rs["spec"]["replicas"]:
                scaled = self.emulator.patch(
                    "ReplicaSet",
                    rs["metadata"]["namespace"],
                    rs["metadata"]["name"],
                    {"spec": {"replicas": 0}},
                )
                self._replicaset_status(scaled, 0, 0)

    def _pods(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        labels = ",".join(f"{k}={v}" for k, v in deployment["spec"]["selector"]["matchLabels"].items())
        return self.emulator.select("Pod", deployment["metadata"]["namespace"], labels)

    def _replicaset(self, deployment: dict[str, Any], replicas: int) -> dict[str, Any]:
        template = deployment["spec"]["template"]
        template_hash = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        name = f"{deployment['metadata']['name']}-{template_hash}"
        namespace = deployment["metadata"]["namespace"]
        existing = self.emulator.stored("ReplicaSet", namespace, name)
        revision = str(deployment["metadata"]["generation"])
        if existing is not None:
            return existing
        self._claim(namespace, deployment["metadata"]["name"], name)
        self._event(
            deployment, "Normal", "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {replicas}"
        )
        return self.emulator.create(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {**template["metadata"].get("labels", {}), "pod-template-hash": template_hash},
                    "annotations": {"deployment.kubernetes.io/revision": revision},
                    "ownerReferences": [_owner(deployment)],
                },
                "spec": {
                    "replicas": replicas,
                    "selector": deployment["spec"]["selector"],
                    "template": template,
                },
            }
        )

    def _pod(self, deployment: dict[str, Any], rs: dict[str, Any], index: int) -> dict[str, Any]:
        template = deployment["spec"]["template"]
        name = f"{rs['metadata']['name']}-{uuid.uuid4().hex[:5]}"
        pod = self.emulator.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": rs["metadata"]["namespace"],
                    "labels": dict(rs["metadata"]["labels"]),
                    "annotations": dict(template["metadata"].get("annotations", {})),
                    "ownerReferences": [_owner(rs)],
                },
                "spec": {**template["spec"], "nodeName": f"node-{index % NODES}"},  # create copies it
            }
        )
        self._event(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {pod['metadata']['namespace']}/{name} to node-{index % NODES}",
        )
        return pod

    def _set_pod_state(self, pod: dict[str, Any], behaviour: str, ready: bool) -> None:
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        containers = pod["spec"]["containers"]
        ip = (pod.get("status") or {}).get("podIP") or self._ip()
        statuses, conditions, phase = [], [], "Running"
        for c in containers:
            state: dict[str, Any]
            if ready:
                state = {"running": {"startedAt": now()}}
            elif behaviour in WAITING:
                message = WAITING[behaviour].format(c=c["name"], p=name, image=c["image"])
                state = {"waiting": {"reason": behaviour, "message": message}}
            elif behaviour == POD_FAILED:
                state = {"terminated": {"exitCode": 1, "reason": "Error"}}
                phase = "Failed"
            elif behaviour in (UNREADY, SLOW):
                state = {"running": {"startedAt": now()}}
            else:
                state = {"waiting": {"reason": "ContainerCreating"}}
                phase = "Pending"
            status = {
                "name": c["name"],
                "image": c["image"],
                "ready": ready,
                "started": "running" in state,
                "restartCount": 3 if behaviour == CRASH_LOOP else 0,
                "state": state,
            }
            if behaviour == CRASH_LOOP:
                status["lastState"] = {"terminated": {"exitCode": 2, "reason": "Error"}}
            statuses.append(status)
            if behaviour in (CRASH_LOOP, POD_FAILED):
                self.emulator.logs[(namespace, name, c["name"])] = list(self.logs)
            elif "running" in state:
                self.emulator.logs.setdefault(
                    (namespace, name, c["name"]), [f"{c['image']}: started (emulated)"]
                )
        if behaviour == UNSCHEDULABLE and not ready:
            phase, statuses = "Pending", []
            message = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available."
            conditions.append(
                {"type": "PodScheduled", "status": "False", "reason": UNSCHEDULABLE, "message": message}
            )
            self._event(pod, "Warning", "FailedScheduling", message)
        else:
            conditions.append({"type": "PodScheduled", "status": "True"})
            conditions.append({"type": "Ready", "status": "True" if ready else "False"})
        self.emulator.patch(
            "Pod",
            namespace,
            name,
            {
                "status": {
                    "phase": phase,
                    "conditions": conditions,
                    "containerStatuses": statuses,
                    "podIP": ip,
                    "podIPs": [{"ip": ip}],
                }
            },
            subresource="status",
        )
        if not ready:
            self._pod_events(pod, behaviour)

    def _pod_events(self, pod: dict[str, Any], behaviour: str) -> None:
        container = pod["spec"]["containers"][0]
        if behaviour == CRASH_LOOP:
            self._event(
                pod, "Normal", "Pulled", f'Container image "{container["image"]}" already present on machine'
            )
            self._event(pod, "Warning", "BackOff", "Back-off restarting failed container")
        elif behaviour in (IMAGE_PULL, ERR_IMAGE_PULL):
            self._event(pod, "Normal", "Pulling", f'Pulling image "{container["image"]}"')
            self._event(pod, "Warning", "Failed", f'Failed to pull image "{container["image"]}": not found')
        elif behaviour == CONFIG_ERROR:
            self._event(pod, "Warning", "Failed", f'Error: secret "{container["name"]}" not found')
        elif behaviour in (UNREADY, SLOW):
            probe = container.get("readinessProbe", {}).get("httpGet", {})
            self._event(
                pod,
                "Warning",
                "Unhealthy",
                f"Readiness probe failed: HTTP probe failed with statuscode: 503 ({probe.get('path', '/')})",
            )

    def _endpoints(self, deployment: dict[str, Any]) -> None:
        namespace = deployment["metadata"]["namespace"]
        pods = self._pods(deployment)
        for service in self.emulator.select("Service", namespace):
            selector = service["spec"].get("selector") or {}
            if not selector or any(
                deployment["spec"]["template"]["metadata"]["labels"].get(k) != v for k, v in selector.items()
            ):
                continue
            name = f"{service['metadata']['name']}-slice"
            body = {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "addressType": "IPv4",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {"kubernetes.io/service-name": service["metadata"]["name"]},
                    "ownerReferences": [_owner(service)],
                },
                "endpoints": [
                    {
                        "addresses": [p["status"].get("podIP", "10.244.0.1")],
                        "conditions": {
                            "ready": any(
                                c["type"] == "Ready" and c["status"] == "True"
                                for c in p["status"].get("conditions", [])
                            )
                        },
                        "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": namespace},
                    }
                    for p in pods
                ],
            }
            self.emulator.apply(body, namespace, name, "endpointslice-controller")

    def _status(
        self,
        deployment: dict[str, Any],
        rs: dict[str, Any],
        replicas: int,
        ready: int,
        old: int,
        behaviour: str,
    ) -> None:
        done = ready >= replicas and old == 0
        progressing = (
            {
                "type": "Progressing",
                "status": "False",
                "reason": DEADLINE,
                "message": f'ReplicaSet "{rs["metadata"]["name"]}" has timed out progressing.',
            }
            if behaviour == DEADLINE
            else {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                "message": f'ReplicaSet "{rs["metadata"]["name"]}" has '
                + ("successfully progressed." if done else "is progressing."),
            }
        )
        available = ready + old
        self.emulator.patch(
            "Deployment",
            deployment["metadata"]["namespace"],
            deployment["metadata"]["name"],
            {
                "status": {
                    "observedGeneration": deployment["metadata"]["generation"],
                    "replicas": replicas + old,
                    "updatedReplicas": replicas,
                    "readyReplicas": available,
                    "availableReplicas": available,
                    "unavailableReplicas": max(0, replicas + old - available),
                    "conditions": [
                        {
                            "type": "Available",
                            "status": "True" if available >= replicas else "False",
                            "reason": "MinimumReplicasAvailable"
                            if available >= replicas
                            else "MinimumReplicasUnavailable",
                        },
                        progressing,
                    ],
                }
            },
            subresource="status",
        )

    def _event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        meta = obj["metadata"]
        self.emulator.create(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"{meta['name']}.{uuid.uuid4().hex[:12]}",
                    "namespace": meta["namespace"],
                },
                "involvedObject": {
                    "kind": obj["kind"],
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta.get("uid"),
                    "apiVersion": obj["apiVersion"],
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "count": 1,
                "firstTimestamp": now(),
                "lastTimestamp": now(),
                "source": {"component": "emulated-controller"},
            }
        )


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


@contextlib.contextmanager
def cluster(tmp: Path, **controller: Any) -> Iterator[tuple[ClusterEmulator, Controller, Path]]:
    """An emulator, its controllers, and a kubeconfig pointing at it: what tests and the demo need."""
    with serve() as emulator:
        ctl = Controller(emulator, **controller)
        try:
            yield emulator, ctl, write_kubeconfig(tmp / "kubeconfig", emulator.address)
        finally:
            ctl.stop()
