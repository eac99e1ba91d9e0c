"""One deploy of an app at a time, with its history: both in the release-history ConfigMap.

The lock is three annotations of `skytrain-release-<app>` (holder, when it was last
renewed, for how long a renewal holds), written with the ConfigMap's resourceVersion as
a precondition, as client-go's ConfigMap lock did. Keeping the lock where the history is
means that taking the lock and recording the revision about to be applied are one write,
and recording the outcome and giving the lock back are another: a deploy costs a read,
those two writes and its applies.

The lock lives in the cluster, not on the machine, so two Jenkins agents (or a person
and a pipeline) cannot interleave their applies. The holder renews it while the gate
runs; a holder that died stops renewing, and its lock expires after `duration` seconds,
after which the next deploy takes it over (or at once with --force).
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

from skytrain import interrupts
from skytrain.backends.base import Contended, LockHeld, SchedulerError
from skytrain.backends.kubernetes.client import Kube, KubeError
from skytrain.backends.kubernetes.history import DEFAULT_KEEP, HISTORY_ROLE, ROLE_LABEL, History, history_name
from skytrain.backends.kubernetes.kinds import BY_KIND
from skytrain.config.model import App
from skytrain.render.kubernetes import owner_labels

CONFIGMAP = BY_KIND["ConfigMap"]
DURATION_SECONDS = 30
HOLDER = "skytrain.io/lock-holder"
RENEWED = "skytrain.io/lock-renewed"
SECONDS = "skytrain.io/lock-seconds"


def holder_identity() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} #{uuid.uuid4().hex[:6]}"


def micro(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(text or "", "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def lock_holder(configmap: dict[str, Any] | None) -> str | None:
    """Who holds the lock recorded in this history ConfigMap, or None when it is free or expired."""
    annotations = ((configmap or {}).get("metadata") or {}).get("annotations") or {}
    holder = annotations.get(HOLDER)
    renewed = _parse(annotations.get(RENEWED))
    if not holder or renewed is None:
        return None
    age = (datetime.datetime.now(datetime.UTC) - renewed).total_seconds()
    return holder if age <= float(annotations.get(SECONDS) or DURATION_SECONDS) else None


@dataclass
class HistoryLock:
    """The app's history and lock as this deploy last saw them, and the writes that change them."""

    kube: Kube
    app: App
    keep: int = DEFAULT_KEEP
    holder: str = field(default_factory=holder_identity)
    duration: int = DURATION_SECONDS
    configmap: dict[str, Any] | None = (
        None  # as last read or written: its resourceVersion is the precondition
    )
    held: bool = False
    _writing: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _renewer: threading.Thread | None = None

    @property
    def name(self) -> str:
        return history_name(self.app)

    def selector(self) -> str:
        return ",".join(f"{k}={v}" for k, v in owner_labels(self.app).items())

    def read(self, wait_seconds: float, force: bool) -> list[dict[str, Any]]:
        """The app's ConfigMaps in one LIST (the history among them), once nobody else holds
        the lock: waiting up to `wait_seconds` for them (LockHeld after), or with `force` not at all."""
        deadline = time.monotonic() + wait_seconds
        pause = 0.05
        while True:
            listing = self._call(lambda: self.kube.list(CONFIGMAP, self.app.namespace, self.selector()))
            items = listing.get("items", [])
            self.configmap = next(
                (c for c in items if (c["metadata"].get("labels") or {}).get(ROLE_LABEL) == HISTORY_ROLE),
                None,
            )
            other = lock_holder(self.configmap)
            if force or other is None or other == self.holder:
                return [c for c in items if c is not self.configmap]
            if time.monotonic() >= deadline:
                raise LockHeld(self._held_message(other, wait_seconds))
            interrupts.wait(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 1.0)

    def history(self) -> History:
        return History.from_configmap(self.configmap, self.keep)

    def write(self, history: History, hold: bool) -> None:
        """Replace the history, holding the lock (taking it, the first time) or giving it back.
        Contended when another deploy wrote since this one read, before it held the lock."""
        with self._writing:
            body = history.configmap(self.app)
            if hold:
                body["metadata"]["annotations"] = self._annotations()
            try:
                if self.configmap is None:
                    self.configmap = self.kube.request("POST", CONFIGMAP.path(self.app.namespace), body=body)
                else:
                    body["metadata"]["resourceVersion"] = self.configmap["metadata"]["resourceVersion"]
                    self.configmap = self.kube.request(
                        "PUT", CONFIGMAP.path(self.app.namespace, self.name), body=body
                    )
            except KubeError as exc:
                if exc.status != 409:
                    raise failed(self.app, f"writing ConfigMap {self.name}", exc) from None
                if not self.held:
                    raise Contended(f"another deploy of {self.app.name} wrote its history first") from None
                raise SchedulerError(self._lost()) from None
        if hold and not self.held:
            self.held = True
            self._stop = threading.Event()
            self._renewer = threading.Thread(target=self._renew, name=f"lock-{self.app.name}", daemon=True)
            self._renewer.start()
        elif not hold:
            self._stop_renewing()

    def release(self) -> None:
        """Give the lock back if a write did not already (the history is left as it is)."""
        if self.held:
            self.write(self.history(), hold=False)

    def _annotations(self) -> dict[str, str]:
        return {
            HOLDER: self.holder,
            RENEWED: micro(datetime.datetime.now(datetime.UTC)),
            SECONDS: str(self.duration),
        }

    def _renew(self) -> None:
        while not self._stop.wait(self.duration / 3):
            with self._writing:
                if not self.held or self.configmap is None:
                    return
                patch = {
                    "metadata": {
                        "resourceVersion": self.configmap["metadata"]["resourceVersion"],
                        "annotations": self._annotations(),
                    }
                }
                try:
                    self.configmap = self.kube.request(
                        "PATCH",
                        CONFIGMAP.path(self.app.namespace, self.name),
                        body=patch,
                        content_type="application/merge-patch+json",
                    )
                except KubeError:
                    return  # taken over or unreachable: the gate goes on; the last write says so

    def _stop_renewing(self) -> None:
        self.held = False
        self._stop.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(5)

    def _lost(self) -> str:
        self.held = False
        self._stop.set()
        try:
            current = self.kube.get(CONFIGMAP, self.app.namespace, self.name)
        except KubeError:
            current = None
        other = lock_holder(current) or "another deploy"
        return f"the lock of {self.app.name} was taken over by {other} while this deploy held it"

    def _held_message(self, other: str, waited: float) -> str:
        return (
            f"another deploy of {self.app.name} holds the lock (ConfigMap {self.app.namespace}/{self.name}, "
            f"held by {other}); gave up after waiting {waited:g}s. Wait for it to finish, or pass --force "
            "to take the lock over."
        )

    def _call(self, call: Any) -> Any:
        try:
            return call()
        except KubeError as exc:
            raise failed(self.app, f"listing ConfigMaps in namespace {self.app.namespace}", exc) from None


def failed(app: App, what: str, exc: KubeError) -> SchedulerError:
    """A KubeError as a sentence naming the cluster (kubeconfig context) and the call."""
    reached = (
        "could not reach the Kubernetes API"
        if exc.status == 0
        else f"the Kubernetes API answered {exc.status} {exc.reason}".rstrip()
    )
    context = app.environment.kubernetes.context if app.environment.kubernetes else None
    cluster = f"kubeconfig context {context}" if context else "the kubeconfig's current context"
    return SchedulerError(f"{reached} {what} ({cluster}): {exc.message}")
