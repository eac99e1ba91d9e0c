"""One deploy of an app at a time: a coordination.k8s.io Lease `skytrain-lock-<app>`.

The lock lives in the cluster, not on the machine, so two Jenkins agents (or a person
and a pipeline) cannot interleave their applies. The holder renews it while the gate
runs; a holder that died stops renewing, and its lease expires after
`leaseDurationSeconds`, after which the next deploy takes it over.
"""

from __future__ import annotations

import datetime
import getpass
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from skytrain.backends.kubernetes.client import Kube, KubeError
from skytrain.backends.kubernetes.kinds import BY_KIND

LEASE = BY_KIND["Lease"]
DURATION_SECONDS = 30


class LockHeld(Exception):
    """Someone else deploys this app now; the message names them."""


def holder_identity() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} #{uuid.uuid4().hex[:6]}"


def _micro(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(text, pattern).replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    return None


@dataclass
class LeaseLock:
    kube: Kube
    namespace: str
    app: str
    labels: dict[str, str]
    holder: str = field(default_factory=holder_identity)
    duration: int = DURATION_SECONDS
    _lease: dict[str, Any] | None = None
    _seen: dict[str, Any] | None = None  # the holder's lease, for the message
    _stop: threading.Event = field(default_factory=threading.Event)
    _renewer: threading.Thread | None = None

    @property
    def name(self) -> str:
        return f"skytrain-lock-{self.app}"

    def acquire(self, wait_seconds: float, force: bool = False) -> None:
        """Take the lease, waiting up to `wait_seconds` for its holder; LockHeld if they keep it."""
        deadline = time.monotonic() + wait_seconds
        pause = 0.05
        while True:
            lease = self._try(force)
            if lease is not None:
                self._lease = lease
                self._renewer = threading.Thread(target=self._renew, name=f"lease-{self.app}", daemon=True)
                self._renewer.start()
                return
            if time.monotonic() >= deadline:
                raise LockHeld(self._held_message(wait_seconds))
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.25)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(5)
        if self._lease is None:
            return
        try:
            self.kube.request(
                "DELETE",
                LEASE.path(self.namespace, self.name),
                body={"preconditions": {"uid": self._lease["metadata"]["uid"]}},
            )
        except KubeError as exc:
            if exc.status not in (404, 409):  # gone, or taken over: not ours to delete
                raise
        self._lease = None

    def _spec(self, transitions: int) -> dict[str, Any]:
        stamp = _micro(datetime.datetime.now(datetime.UTC))
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.duration,
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": transitions,
        }

    def _try(self, force: bool) -> dict[str, Any] | None:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": self.labels},
            "spec": self._spec(0),
        }
        try:
            return self.kube.request("POST", LEASE.path(self.namespace), body=body)
        except KubeError as exc:
            if exc.status != 409:
                raise
        current = self.kube.get(LEASE, self.namespace, self.name)
        if current is None:
            return None  # released between our two calls: try again at once
        if current.get("spec", {}).get("holderIdentity") == self.holder:
            return current  # our own create, retried after its answer was lost
        if not (force or self._expired(current)):
            self._seen = current
            return None
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        body["spec"] = self._spec(current.get("spec", {}).get("leaseTransitions", 0) + 1)
        try:
            return self.kube.request("PUT", LEASE.path(self.namespace, self.name), body=body)
        except KubeError as exc:
            if exc.status in (404, 409):
                return None
            raise

    @staticmethod
    def _expired(lease: dict[str, Any]) -> bool:
        spec = lease.get("spec") or {}
        renewed = _parse(spec.get("renewTime") or spec.get("acquireTime"))
        if renewed is None:
            return True
        age = (datetime.datetime.now(datetime.UTC) - renewed).total_seconds()
        return age > spec.get("leaseDurationSeconds", DURATION_SECONDS)

    def _held_message(self, waited: float) -> str:
        spec = (self._seen or {}).get("spec", {})
        since = spec.get("acquireTime", "an unknown time")
        return (
            f"another deploy of {self.app} holds the lock (Lease {self.namespace}/{self.name}, "
            f"held by {spec.get('holderIdentity', 'someone')} since {since}); gave up after waiting "
            f"{waited:.0f}s. Wait for it to finish, or pass --force to take the lock over."
        )

    def _renew(self) -> None:
        while not self._stop.wait(self.duration / 3):
            lease = self._lease
            if lease is None:
                return
            renewed = {
                **lease,
                "spec": {**lease["spec"], "renewTime": _micro(datetime.datetime.now(datetime.UTC))},
            }
            try:
                self._lease = self.kube.request("PUT", LEASE.path(self.namespace, self.name), body=renewed)
            except KubeError:
                return  # taken over or unreachable: the gate goes on; release will not delete theirs
