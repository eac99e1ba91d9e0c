"""A live, thread-maintained view of the objects of one kind that match a selector.

It watches (one long request), resumes from the last resourceVersion when the stream
ends or breaks, and when the watch cannot be resumed (410 Gone, or errors) it falls
back to LIST, which doubles as polling until a watch can be opened again. Every change
wakes whoever waits on the shared condition, so the gate reacts within milliseconds.

A watch opened with `initial=True` asks for the initial state as events followed by a
bookmark marking its end (`sendInitialEvents`, the API's WatchList); once that bookmark
(or a LIST) arrived, `synced` is set and `objects` is what exists. The deploy opens the
Deployment's watch that way before planning: its first events are the live Deployment,
so reading what runs costs no request of its own and the gate goes on with the same watch.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from skytrain.backends.kubernetes.client import Kube, KubeError
from skytrain.backends.kubernetes.kinds import Kind

WATCH_SECONDS = 240
POLL_SECONDS = 0.5
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass
class Watched:
    kube: Kube
    kind: Kind
    namespace: str
    labels: str | None
    changed: threading.Condition
    fields: str | None = None
    initial: bool = False  # ask for the initial state and its end (see the module)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    synced: threading.Event = field(default_factory=threading.Event)
    breaks: int = 0  # how often the watch broke or expired and was resumed
    refused: KubeError | None = None  # the server refuses to list these objects at all
    _stop: threading.Event = field(default_factory=threading.Event)
    _response: Any = None
    _thread: threading.Thread | None = None

    def start(self) -> Watched:
        self._thread = threading.Thread(target=self._run, name=f"watch-{self.kind.plural}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()

    def _run(self) -> None:
        version: str | None = None  # none: the server first sends the current state as ADDED
        failures = 0
        while not self._stop.is_set():
            try:
                version = self._watch(version)
                failures = 0
            except Exception:
                if self._stop.is_set():
                    return
                self.breaks += 1
                failures += 1
                try:
                    version = self._relist()
                except KubeError as exc:
                    if 400 <= exc.status < 500 and exc.status not in (408, 410, 429):
                        with self.changed:  # refused (RBAC, a bad selector): retrying will not help
                            self.refused = exc
                            self.changed.notify_all()
                        return
                    version = None
                self._stop.wait(min(POLL_SECONDS * failures, 2.0) if failures > 1 else 0)

    def _watch(self, version: str | None) -> str | None:
        query = {
            "watch": "true",
            "labelSelector": self.labels,
            "fieldSelector": self.fields,
            "resourceVersion": version,
            "timeoutSeconds": WATCH_SECONDS,
            "allowWatchBookmarks": "true",
        }
        if self.initial and version is None:
            query.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan")
        self._response = self.kube.stream(self.kind.path(self.namespace), query, WATCH_SECONDS + 10)
        if self._stop.is_set():  # stopped while connecting: stop() did not see this response
            self._response.shutdown()
            return version
        from kubernetes.watch.watch import iter_resp_lines

        for line in iter_resp_lines(self._response):
            if self._stop.is_set():
                return version
            event = json.loads(line)
            obj = event.get("object") or {}
            if event.get("type") == "ERROR":
                if obj.get("code") == 410:
                    return self._relist()  # compacted: fresh state, then resume from it
                raise KubeError(
                    obj.get("code", 500), obj.get("reason", ""), obj.get("message", "watch error")
                )
            version = obj.get("metadata", {}).get("resourceVersion", version)
            if event.get("type") == "BOOKMARK":
                if (obj.get("metadata", {}).get("annotations") or {}).get(INITIAL_EVENTS_END) == "true":
                    with self.changed:
                        self.synced.set()
                        self.changed.notify_all()
                continue
            name = obj["metadata"]["name"]
            with self.changed:  # the gate reads `objects` holding the same lock
                if event["type"] == "DELETED":
                    self.objects.pop(name, None)
                else:
                    self.objects[name] = obj
                self.changed.notify_all()
        if version is None:  # ended before anything arrived: an empty set
            version = self._relist()
        return version

    def _relist(self) -> str:
        listing = self.kube.list(self.kind, self.namespace, self.labels, self.fields)
        with self.changed:
            self.objects = {o["metadata"]["name"]: o for o in listing.get("items", [])}
            self.synced.set()
            self.changed.notify_all()
        return listing["metadata"]["resourceVersion"]
