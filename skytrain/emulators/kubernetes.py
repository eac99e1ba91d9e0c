"""A Kubernetes API server good enough to deploy to: kmock's emulator plus the API
conventions skytrain's backend relies on.

kmock (0.8) serves HTTP and keeps objects as bare JSON: no resourceVersion, no
generation, no PUT, no selectors, no server-side apply, and its discovery and URL parser
do not carry kubectl. `ClusterEmulator` keeps kmock's HTTP plumbing (and its 404s) and
serves the rest itself, following the conventions of a real API server:

- every write bumps a cluster-wide resourceVersion; uid, creationTimestamp are set on create;
  `generation` rises on a spec change of a workload; `status` is a subresource;
- PUT replaces and answers 409 Conflict when the body's resourceVersion is stale;
- PATCH: JSON merge patch, strategic merge patch (lists merged by the keys the schemas
  name, kubernetes_strategic.py), and
  server-side apply (`application/apply-patch+yaml`, fieldManager required) which creates
  a missing object, drops fields the manager applied before and no longer applies, and is
  a no-op (same resourceVersion, no watch event) when nothing changes;
- `dryRun=All`, label selectors (=, ==, !=, in, notin, exists, !exists) and field
  selectors (equality on dotted paths) on list and watch;
- watch from a resourceVersion (events replayed from a bounded history; 410 Gone once
  compacted), `timeoutSeconds`, the initial state ended by a bookmark
  (`sendInitialEvents`, the WatchList convention), and a way to break every open watch;
- immutable ConfigMaps and Secrets (a write that changes their data is a 422);
- Leases, EndpointSlices, a Service's clusterIP, pod logs, garbage collection of what an
  object owns;
- what kubectl needs besides (so people can point it at the emulator, and a client
  nobody here wrote checks it): discovery of exactly the stored kinds
  (kubernetes_discovery.py), OpenAPI v3 and server-side field validation
  (kubernetes_openapi.py), and the tables `kubectl get` prints (kubernetes_tables.py).

It runs in its own thread with its own event loop (`serve()`), so that the synchronous
official client can call it from any thread. The `Controller` plays the Deployment,
ReplicaSet, Pod and EndpointSlice controllers, so tests, the benchmark and the demo can
drive a rollout to success or to any of the states a deploy must recognise; they live
in kubernetes_controllers.py.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp.web
import kmock
import yaml

from skytrain.backends.kubernetes.kinds import BY_KIND, BY_RESOURCE, Kind
from skytrain.emulators.kubernetes_discovery import discovery, server_version
from skytrain.emulators.kubernetes_openapi import (
    STRICT,
    WARN,
    kind_schema,
    openapi,
    schema_definitions,
    unknown_fields,
)
from skytrain.emulators.kubernetes_strategic import strategic_merge, without_directives
from skytrain.emulators.kubernetes_tables import as_table, event_as_table, wants_table

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
MERGE_CONTENT_TYPE = "application/merge-patch+json"
STRATEGIC_CONTENT_TYPE = "application/strategic-merge-patch+json"
HISTORY_LENGTH = 2000


class ApiError(Exception):
    """A refusal the server answers with a `Status` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now(ago: datetime.timedelta = datetime.timedelta(0)) -> str:
    """A MicroTime (a Lease's acquireTime and renewTime), `ago` before now."""
    return (datetime.datetime.now(datetime.UTC) - ago).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- selectors --------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"\s*(?P<neg>!)?(?P<key>[A-Za-z0-9._/-]+)\s*"
    r"(?:(?P<op>==|!=|=|\s+in\s+|\s+notin\s+)\s*(?P<value>\([^)]*\)|[A-Za-z0-9._-]*))?\s*(?:,|$)"
)


def parse_label_selector(text: str | None) -> Callable[[dict[str, str]], bool]:
    """A label selector as the API server reads it; a malformed one is a 400."""
    requirements: list[tuple[str, str, set[str]]] = []
    position = 0
    while text and position < len(text):
        match = _REQUIREMENT.match(text, position)
        if not match or match.end() == position:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {text[position:]!r}")
        position = match.end()
        op = (match["op"] or "").strip() or ("!exists" if match["neg"] else "exists")
        values = {v.strip() for v in (match["value"] or "").strip("()").split(",")}
        requirements.append((match["key"], op, values))

    def matches(labels: dict[str, str]) -> bool:
        for key, op, values in requirements:
            present, value = key in labels, labels.get(key)
            ok = {
                "exists": present,
                "!exists": not present,
                "=": value in values,
                "==": value in values,
                "!=": value not in values,
                "in": value in values,
                "notin": value not in values,
            }[op]
            if not ok:
                return False
        return True

    return matches


def parse_field_selector(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """Equality and inequality on dotted paths (metadata.name, involvedObject.kind, ...)."""
    if not text:
        return lambda obj: True
    checks = []
    for term in text.split(","):
        match = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*", term)
        if not match:
            raise ApiError(400, "BadRequest", f"invalid field selector: {term!r}")
        path, op, value = match.groups()
        checks.append((path.split("."), op == "!=", value))

    def selected(obj: dict[str, Any]) -> bool:
        for path, negate, value in checks:
            current: Any = obj
            for part in path:
                current = current.get(part) if isinstance(current, dict) else None
            if ((current if current is not None else "") == value) == negate:
                return False
        return True

    return selected


# --- patches ----------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: mappings merge, null deletes, everything else replaces.
    The result shares nothing with `target` or `patch`, which are each copied once."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(result: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            _merge_into(result[key], value)
        else:
            result[key] = merge_patch(None, value)


def field_set(applied: Any) -> dict[str, Any]:
    """The FieldsV1 set of an applied configuration. Lists are atomic here (a real server
    keys associative lists such as containers by name; skytrain always applies whole lists)."""
    if not isinstance(applied, dict):
        return {}
    return {f"f:{key}": field_set(value) for key, value in applied.items()}


def drop_released(obj: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> None:
    """Remove what a manager applied before and no longer applies (server-side apply)."""
    for key, children in old.items():
        name = key[2:]
        if key not in new:
            obj.pop(name, None)
        elif children and isinstance(obj.get(name), dict):
            drop_released(obj[name], children, new[key])


# --- requests ---------------------------------------------------------------------------

_API_PATH = re.compile(
    r"/(?:api/(?P<core>[^/]+)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))(?P<rest>(?:/[^/]+)*)/?"
)


@dataclass(frozen=True)
class Route:
    """Which object (or list) of a stored kind a path names."""

    kind: Kind
    namespace: str | None
    name: str | None
    subresource: str | None


def route(path: str) -> Route | None:
    """/api/v1/namespaces/dev/pods/web/log → (Pod, dev, web, log); /api/v1/namespaces/dev →
    (Namespace, None, dev, None); None for a path of a kind the emulator does not keep."""
    match = _API_PATH.fullmatch(path)
    if match is None:
        return None
    group, version = match["group"] or "", match["core"] or match["version"]
    parts = match["rest"].strip("/").split("/") if match["rest"] else []
    namespace = None
    if len(parts) >= 3 and parts[0] == "namespaces" and (group, version, parts[2]) in BY_RESOURCE:
        namespace, parts = parts[1], parts[2:]
    kind = BY_RESOURCE.get((group, version, parts[0])) if 0 < len(parts) <= 3 else None
    if kind is None:
        return None
    name, subresource = (*parts[1:], None, None)[:2]
    return Route(kind, namespace, name, subresource)


@dataclass(frozen=True)
class Request:
    raw: aiohttp.web.BaseRequest
    route: Route
    body: bytes

    @property
    def kind(self) -> Kind:
        return self.route.kind

    @property
    def namespace(self) -> str | None:
        return self.route.namespace

    @property
    def name(self) -> str | None:
        return self.route.name

    @property
    def subresource(self) -> str | None:
        return self.route.subresource

    def data(self) -> Any:
        """The request's object: JSON, or YAML (an apply patch). An apply patch is read as
        JSON first: clients send JSON under the YAML content type (JSON is YAML), and the
        YAML parser takes a hundred times longer to read it."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            if "yaml" not in self.raw.headers.get("Content-Type", ""):
                raise
            return yaml.safe_load(self.body.decode() or "null")


# --- the emulator -----------------------------------------------------------------------


@dataclass
class Fault:
    """An injected failure: the next `times` requests matching method and path answer `code`."""

    method: str | None  # None: any
    path: re.Pattern[str]
    code: int
    times: int = 1
    retry_after: float | None = None
    before: Callable[[], None] | None = None  # run instead of answering (e.g. a concurrent write)


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    at: float


@dataclass(eq=False)
class _Watcher:
    kind: Kind
    namespace: str | None
    labels: Callable[[dict[str, str]], bool]
    fields: Callable[[dict[str, Any]], bool]
    queue: asyncio.Queue[Any]
    loop: asyncio.AbstractEventLoop

    def wants(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata", {})
        return (
            (self.namespace is None or meta.get("namespace") == self.namespace)
            and self.labels(meta.get("labels") or {})
            and self.fields(obj)
        )


_BREAK = object()


class ClusterEmulator(kmock.KubernetesEmulator):
    """kmock's KubernetesEmulator with a convention-following object store (see the module).

    `get` and `list` return copies; `stored`, `select` and the writes return the stored
    objects themselves (read them, change the cluster through `modify`, `patch` or `replace`)."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.store_lock = threading.RLock()
        # by kind, then (namespace, name): a LIST or a watch event only looks at its own kind
        self.store: dict[str, dict[tuple[str | None, str], dict[str, Any]]] = collections.defaultdict(dict)
        self.revision = 0
        self.history: collections.deque[tuple[int, str, str, dict[str, Any]]] = collections.deque(
            maxlen=HISTORY_LENGTH
        )
        self.oldest_revision = 0
        self.watchers: dict[str, set[_Watcher]] = collections.defaultdict(set)
        # owner uid → (kind, namespace, name) of what it owns, in order: garbage collection
        # looks its dependents up instead of scanning every stored object
        self.dependents: dict[str, dict[tuple[str, str | None, str], None]] = collections.defaultdict(dict)
        self.listeners: list[Callable[[str, str, dict[str, Any]], None]] = []
        self.logs: dict[tuple[str, str, str], list[str]] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.server_side_apply = True
        self.changed = threading.Condition(self.store_lock)
        self._ips = itertools.count(10)

    @property
    def address(self) -> str:
        """The base URL a kubeconfig names (kmock's `url` is a yarl URL with a trailing slash)."""
        return str(self.url).rstrip("/")

    # -- the store, callable from any thread ---------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        obj = self.stored(kind, namespace, name)
        return copy.deepcopy(obj) if obj is not None else None

    def stored(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object itself, to read and never to change (see `select`)."""
        with self.store_lock:
            return self.store[kind].get((namespace, name))

    def list(
        self, kind: str, namespace: str | None = None, labels: str | None = None, fields: str | None = None
    ) -> list[dict[str, Any]]:
        return copy.deepcopy(self.select(kind, namespace, labels, fields))

    def select(
        self, kind: str, namespace: str | None = None, labels: str | None = None, fields: str | None = None
    ) -> list[dict[str, Any]]:
        """The stored objects themselves, to read and never to change (a write stores a new
        object, so they stay as they are): what `list` copies, without the copy, for a
        controller that scans many objects to act on a few."""
        by_labels, by_fields = parse_label_selector(labels), parse_field_selector(fields)
        with self.store_lock:
            return [
                obj
                for (ns, _), obj in sorted(self.store[kind].items())
                if (namespace is None or ns == namespace)
                and by_labels(obj["metadata"].get("labels") or {})
                and by_fields(obj)
            ]

    def create(
        self, body: dict[str, Any], namespace: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        kind = self._kind_of_body(body)
        meta = body.setdefault("metadata", {})
        namespace = namespace or meta.get("namespace") or ("default" if kind.namespaced else None)
        if meta.get("namespace") not in (None, namespace):
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = meta["generateName"] + uuid.uuid4().hex[:5]
        if not name:
            raise ApiError(
                422,
                "Invalid",
                f"{kind.kind} is invalid: metadata.name: Required value: name or generateName is required",
                {"kind": kind.kind, "causes": [{"field": "metadata.name", "reason": "FieldValueRequired"}]},
            )
        with self.store_lock:
            if (namespace, name) in self.store[kind.kind]:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{kind.plural} "{name}" already exists',
                    {"name": name, "kind": kind.plural},
                )
            obj = copy.deepcopy(body)
            obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
            obj["metadata"].update(
                name=name,
                uid=str(uuid.uuid4()),
                creationTimestamp=now(),
                **({"namespace": namespace} if kind.namespaced else {}),
            )
            obj["metadata"].pop("resourceVersion", None)
            if kind.generation:
                obj["metadata"]["generation"] = 1
            if kind.status:
                obj.setdefault("status", {})
            self._default(kind, obj)
            _validate(kind, obj)
            if dry_run:
                return obj
            return self._write("ADDED", kind, namespace, name, obj)

    def replace(
        self,
        body: dict[str, Any],
        namespace: str | None,
        name: str,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        kind = self._kind_of_body(body)
        with self.store_lock:
            current = self._existing(kind, namespace, name)
            wanted = body.get("metadata", {}).get("resourceVersion")
            if subresource is None and not wanted:
                raise ApiError(
                    422,
                    "Invalid",
                    f'{kind.kind} "{name}" is invalid: metadata.resourceVersion: '
                    "Invalid value: 0x0: must be specified for an update",
                )
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise self._conflict(kind, name)
            if subresource == "status":
                new = copy.deepcopy(current)
                new["status"] = copy.deepcopy(body.get("status", {}))
            else:
                new = copy.deepcopy(body)
                new["metadata"] = {**copy.deepcopy(body.get("metadata", {})), **self._identity(current)}
                if kind.status:
                    new["status"] = copy.deepcopy(current.get("status", {}))
            return self._update(kind, namespace, name, current, new, dry_run)

    def patch(
        self,
        kind_name: str,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        subresource: str | None = None,
        dry_run: bool = False,
        strategic: bool = False,
    ) -> dict[str, Any]:
        """A JSON merge patch, or a strategic one (of the object, or of its status)."""
        kind = BY_KIND[kind_name]

        def patched(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
            if strategic:
                return strategic_merge(target, patch, kind_schema(kind), schema_definitions())
            return merge_patch(target, patch)

        with self.store_lock:
            current = self._existing(kind, namespace, name)
            wanted = (body.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise self._conflict(kind, name)
            if subresource == "status":  # the status patched, the rest copied (each once)
                new = copy.deepcopy({k: v for k, v in current.items() if k != "status"})
                status = {"status": current["status"]} if "status" in current else {}
                new["status"] = patched(status, {"status": body.get("status", {})})["status"]
            else:
                new = patched(current, body)
                new["metadata"].update(self._identity(current))
                if kind.status:
                    new["status"] = copy.deepcopy(current.get("status", {}))
            return self._update(kind, namespace, name, current, new, dry_run)

    def apply(
        self,
        body: dict[str, Any],
        namespace: str | None,
        name: str,
        manager: str | None,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Server-side apply; returns the object and whether it was created."""
        if not manager:
            raise ApiError(
                400, "BadRequest", "PATCH requests using the ApplyPatch type must set the fieldManager"
            )
        kind = self._kind_of_body(body)
        if body.get("metadata", {}).get("name") != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        applied = copy.deepcopy(body)
        applied.get("metadata", {}).pop("resourceVersion", None)
        fields = field_set({k: v for k, v in applied.items() if k not in ("apiVersion", "kind")})
        entry = {
            "manager": manager,
            "operation": "Apply",
            "apiVersion": kind.api_version,
            "time": now(),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
        with self.store_lock:
            current = self.store[kind.kind].get((namespace, name))
            if current is None:
                applied["metadata"]["managedFields"] = [entry]
                return self.create(applied, namespace, dry_run), True
            managed = [m for m in current["metadata"].get("managedFields", []) if m["manager"] != manager]
            previous = next(
                (
                    m["fieldsV1"]
                    for m in current["metadata"].get("managedFields", [])
                    if m["manager"] == manager
                ),
                {},
            )
            new = copy.deepcopy(current)
            drop_released(new, previous, fields)
            _merge_into(new, {k: v for k, v in applied.items() if k != "status"})
            new["metadata"].update(self._identity(current))
            if kind.status:
                new["status"] = copy.deepcopy(current.get("status", {}))
            new["metadata"]["managedFields"] = [*managed, entry]
            if _content(new) == _content(current):
                return current, False
            return self._update(kind, namespace, name, current, new, dry_run), False

    def delete(
        self, kind_name: str, namespace: str | None, name: str, uid: str | None = None, orphan: bool = False
    ) -> dict[str, Any]:
        """Delete, and (unless `orphan`) what the object owns, as the garbage collector does
        for the default propagation: a Deployment's ReplicaSets and their pods go with it."""
        kind = BY_KIND[kind_name]
        with self.store_lock:
            current = self._existing(kind, namespace, name)
            if uid and current["metadata"]["uid"] != uid:
                raise ApiError(
                    409,
                    "Conflict",
                    f"Precondition failed: UID in precondition: {uid}, "
                    f"UID in object meta: {current['metadata']['uid']}",
                )
            del self.store[kind.kind][(namespace, name)]
            self._own(kind, namespace, name, current, None)
            self.revision += 1
            gone = copy.deepcopy(current)
            gone["metadata"]["resourceVersion"] = str(self.revision)
            self._publish("DELETED", kind, gone)
            if not orphan:
                self._delete_dependents(current["metadata"]["uid"])
            return gone

    def _delete_dependents(self, owner: str) -> None:
        for kind, namespace, name in list(self.dependents.get(owner, ())):
            self.delete(kind, namespace, name)

    def _own(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Keep `dependents` up to date as an object goes from `before` to `after` (None: absent)."""
        key = (kind.kind, namespace, name)
        owners_after = _owners(after)
        for uid in _owners(before) - owners_after:
            self.dependents[uid].pop(key, None)
            if not self.dependents[uid]:
                del self.dependents[uid]
        for uid in owners_after:
            self.dependents[uid][key] = None

    def modify(
        self, kind_name: str, namespace: str | None, name: str, change: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """A write by another client (a controller, a person with kubectl): `change` edits a copy."""
        kind = BY_KIND[kind_name]
        with self.store_lock:
            current = self._existing(kind, namespace, name)
            new = copy.deepcopy(current)
            change(new)
            return self._update(kind, namespace, name, current, new, dry_run=False)

    def compact(self) -> None:
        """Forget the event history, as etcd compaction does: older resourceVersions get 410 Gone."""
        with self.store_lock:
            self.history.clear()
            self.oldest_revision = self.revision

    def watching(self) -> int:
        """How many watch connections are open."""
        with self.store_lock:
            return sum(len(ws) for ws in self.watchers.values())

    def break_watches(self) -> int:
        """Cut every open watch connection mid-stream (a load balancer timeout, a restart)."""
        with self.store_lock:
            watchers = [w for ws in self.watchers.values() for w in ws]
        for watcher in watchers:
            watcher.loop.call_soon_threadsafe(watcher.queue.put_nowait, _BREAK)
        return len(watchers)

    def fail(
        self, method: str | None, path: str, code: int = 500, times: int = 1, retry_after: float | None = None
    ) -> Fault:
        """Answer the next `times` requests (of any method when `method` is None) whose path and
        query match the regex `path` with `code`."""
        fault = Fault(method.upper() if method else None, re.compile(path), code, times, retry_after)
        self.faults.append(fault)
        return fault

    def before(self, method: str, path: str, action: Callable[[], None], times: int = 1) -> Fault:
        """Run `action` just before the next matching request is served (e.g. a concurrent edit)."""
        fault = Fault(method.upper(), re.compile(path), 0, times, before=action)
        self.faults.append(fault)
        return fault

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Block until `predicate()` is truthy (re-checked on every request, write and watch), or fail."""
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise TimeoutError(f"the emulated cluster did not reach the expected state within {timeout}s")
            return predicate()

    def calls_to(self, method: str | None = None, path: str = "") -> list[Call]:
        return [c for c in self.calls if (method is None or c.method == method) and re.search(path, c.path)]

    # -- internals ------------------------------------------------------------------------

    def _kind_of_body(self, body: dict[str, Any]) -> Kind:
        kind = BY_KIND.get(body.get("kind", ""))
        if kind is None or body.get("apiVersion") != kind.api_version:
            raise ApiError(400, "BadRequest", f"unknown kind {body.get('apiVersion')}/{body.get('kind')}")
        return kind

    def _existing(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any]:
        current = self.store[kind.kind].get((namespace, name))
        if current is None:
            raise ApiError(
                404,
                "NotFound",
                f'{kind.plural}{"." + kind.group if kind.group else ""} "{name}" not found',
                {"name": name, "kind": kind.plural, "group": kind.group},
            )
        return current

    @staticmethod
    def _identity(current: dict[str, Any]) -> dict[str, Any]:
        meta = current["metadata"]
        keep = ("name", "namespace", "uid", "creationTimestamp", "resourceVersion", "generation")
        return {k: meta[k] for k in keep if k in meta}

    @staticmethod
    def _conflict(kind: Kind, name: str) -> ApiError:
        return ApiError(
            409,
            "Conflict",
            f"Operation cannot be fulfilled on {kind.plural}{'.' + kind.group if kind.group else ''} "
            f'"{name}": the object has been modified; please apply your changes to the latest version and try again',
            {"name": name, "kind": kind.plural},
        )

    def _default(self, kind: Kind, obj: dict[str, Any]) -> None:
        if kind.kind == "Service":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
                number = next(self._ips)
                spec["clusterIP"] = f"10.96.{number // 250}.{number % 250 + 1}"
                spec["clusterIPs"] = [spec["clusterIP"]]
        if kind.kind == "Deployment":
            obj.setdefault("spec", {}).setdefault("replicas", 1)
        if kind.kind == "Namespace":
            obj.setdefault("status", {}).setdefault("phase", "Active")

    def _update(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        current: dict[str, Any],
        new: dict[str, Any],
        dry_run: bool,
    ) -> dict[str, Any]:
        new["apiVersion"], new["kind"] = kind.api_version, kind.kind
        if kind.kind == "Service":
            for key in ("clusterIP", "clusterIPs"):  # immutable, and kept when a PUT leaves them out
                if current.get("spec", {}).get(key):
                    new.setdefault("spec", {})[key] = current["spec"][key]
        self._default(kind, new)
        _validate(kind, new)
        _immutable(kind, current, new)
        if kind.generation and new.get("spec") != current.get("spec"):
            new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        if _content(new) == _content(current) or dry_run:
            return new if dry_run else current
        return self._write("MODIFIED", kind, namespace, name, new)

    def _write(
        self, event: str, kind: Kind, namespace: str | None, name: str, obj: dict[str, Any]
    ) -> dict[str, Any]:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self._own(kind, namespace, name, self.store[kind.kind].get((namespace, name)), obj)
        self.store[kind.kind][(namespace, name)] = obj
        self._publish(event, kind, obj)
        return obj

    def _publish(self, event: str, kind: Kind, obj: dict[str, Any]) -> None:
        snapshot = obj  # stored objects are replaced, never changed, so events can share them
        self.history.append((self.revision, kind.kind, event, snapshot))
        for watcher in self.watchers[kind.kind]:
            if watcher.wants(snapshot):
                watcher.loop.call_soon_threadsafe(
                    watcher.queue.put_nowait, {"type": event, "object": snapshot}
                )
        self.changed.notify_all()
        for listener in self.listeners:
            listener(event, kind.kind, snapshot)

    def _initial_events_end(self, kind: Kind) -> dict[str, Any]:
        """The bookmark a WatchList watch (`sendInitialEvents=true`) sends after the initial state."""
        return {
            "type": "BOOKMARK",
            "object": {
                "kind": kind.kind,
                "apiVersion": kind.api_version,
                "metadata": {
                    "resourceVersion": str(self.revision),
                    "annotations": {"k8s.io/initial-events-end": "true"},
                },
            },
        }

    # -- HTTP -----------------------------------------------------------------------------

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """Every request: the server's own documents, the stored kinds' paths, and for
        anything else kmock's answer (a 404 in Kubernetes' form). The kinds' paths are read
        here, not by kmock, whose parser fails on the Namespace kind's own paths."""
        if raw.method == "GET" and raw.path.rstrip("/") == "/version":
            return aiohttp.web.json_response(server_version())
        if raw.method == "GET" and (document := discovery(raw.path)) is not None:
            return aiohttp.web.json_response(document)
        if raw.method == "GET" and (schema := openapi(raw.path)) is not None:
            return aiohttp.web.Response(body=schema, content_type="application/json")
        target = route(raw.path)
        if target is None:
            return await super().__call__(raw)
        request = Request(raw, target, await raw.read())
        try:
            return await self._handle_request(request)
        except Exception as exc:  # a bug here answers like kmock's: a Status, not a dropped connection
            if raw.transport is None or raw.transport.is_closing():
                raise
            error = ApiError(500, type(exc).__name__, repr(exc))
            return aiohttp.web.json_response(error.status(), status=500)

    async def _handle_request(self, request: Request) -> aiohttp.web.StreamResponse:
        raw, kind = request.raw, request.kind
        with self.changed:  # a test may wait for a request (wait_until)
            self.calls.append(Call(raw.method, raw.path, dict(raw.query), time.monotonic()))
            self.changed.notify_all()
        for fault in self.faults:
            if fault.times > 0 and fault.method in (None, raw.method) and fault.path.search(raw.path_qs):
                fault.times -= 1
                if fault.before is not None:
                    fault.before()
                    break
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                error = ApiError(
                    fault.code,
                    "InternalError" if fault.code >= 500 else "TooManyRequests",
                    f"injected fault: {fault.code}",
                )
                return aiohttp.web.json_response(error.status(), status=fault.code, headers=headers)
        try:
            if raw.method == "GET" and raw.query.get("watch") in ("true", "1"):
                return await self._serve_watch_stream(request)
            warnings = _field_validation(request)
            status, body = self._serve(request)
        except ApiError as error:
            return aiohttp.web.json_response(error.status(), status=error.code)
        if isinstance(body, str):
            return aiohttp.web.Response(text=body, status=status, content_type="text/plain")
        if raw.method == "GET" and wants_table(raw.headers.get("Accept", "")):
            body = as_table(kind.kind, body, raw.query.get("includeObject"))
        return aiohttp.web.json_response(body, status=status, headers=warnings)

    def _serve(self, request: Request) -> tuple[int, Any]:
        raw, kind = request.raw, request.kind
        namespace, name, sub = request.namespace, request.name, request.subresource
        dry_run = raw.query.get("dryRun") == "All"
        if (
            sub not in (None, "status", "log")
            or (sub == "status" and not kind.status)
            or (sub == "log" and kind.kind != "Pod")
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if raw.method == "GET" and name is None:
            items = self.select(
                kind.kind, namespace, raw.query.get("labelSelector"), raw.query.get("fieldSelector")
            )
            return 200, {
                "kind": f"{kind.kind}List",
                "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(self.revision)},
                "items": items,
            }
        if raw.method == "GET" and sub == "log":
            lines = self.logs.get((namespace, name, self._log_container(namespace, name, raw.query)), [])
            tail = int(raw.query.get("tailLines", len(lines)) or 0)
            return 200, "".join(f"{line}\n" for line in lines[-tail:] if tail)
        if raw.method == "GET":
            with self.store_lock:
                return 200, self._existing(kind, namespace, name)
        body = request.data()
        if raw.method == "POST" and name is None:
            return 201, self.create(body or {}, namespace, dry_run)
        if raw.method == "PUT":
            return 200, self.replace(body or {}, namespace, name, sub, dry_run)
        if raw.method == "PATCH":
            content_type = raw.headers.get("Content-Type", "").split(";")[0].strip()
            if content_type == APPLY_CONTENT_TYPE:
                if not self.server_side_apply:
                    raise ApiError(
                        415,
                        "UnsupportedMediaType",
                        f"the body of the request was in an unknown format: {content_type}",
                    )
                obj, created = self.apply(body or {}, namespace, name, raw.query.get("fieldManager"), dry_run)
                return (201 if created else 200), obj
            if content_type not in (MERGE_CONTENT_TYPE, STRATEGIC_CONTENT_TYPE):
                raise ApiError(
                    415, "UnsupportedMediaType", f"this emulator does not support {content_type} patches"
                )
            strategic = content_type == STRATEGIC_CONTENT_TYPE
            return 200, self.patch(kind.kind, namespace, name, body or {}, sub, dry_run, strategic)
        if raw.method == "DELETE":
            options = body or {}
            uid = (options.get("preconditions") or {}).get("uid")
            propagation = raw.query.get("propagationPolicy") or options.get("propagationPolicy")
            return 200, self.delete(kind.kind, namespace, name, uid, orphan=propagation == "Orphan")
        raise ApiError(405, "MethodNotAllowed", f"{raw.method} is not supported on {raw.path}")

    def _log_container(self, namespace: str | None, name: str, query: Mapping[str, str]) -> str:
        """The container whose log is asked for: named, or the pod's only one (else a 400, as
        a real server answers for a pod of several containers)."""
        with self.store_lock:
            pod = self._existing(BY_KIND["Pod"], namespace, name)
        containers = [c["name"] for c in pod.get("spec", {}).get("containers") or []]
        if query.get("container"):
            if query["container"] not in containers:
                raise ApiError(
                    400, "BadRequest", f"container {query['container']} is not valid for pod {name}"
                )
            return query["container"]
        if len(containers) != 1:
            raise ApiError(
                400,
                "BadRequest",
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]",
            )
        return containers[0]

    async def _serve_watch_stream(self, request: Request) -> aiohttp.web.StreamResponse:
        raw, kind = request.raw, request.kind
        query = raw.query
        watcher = _Watcher(
            kind,
            request.namespace,
            parse_label_selector(query.get("labelSelector")),
            parse_field_selector(query.get("fieldSelector")),
            asyncio.Queue(),
            asyncio.get_running_loop(),
        )
        if request.name is not None:
            by_fields = watcher.fields
            watcher.fields = lambda obj: obj["metadata"]["name"] == request.name and by_fields(obj)
        since = query.get("resourceVersion")
        if query.get("sendInitialEvents") == "true" and (
            query.get("resourceVersionMatch") != "NotOlderThan" or query.get("allowWatchBookmarks") != "true"
        ):
            error = ApiError(
                422,
                "Invalid",
                "sendInitialEvents requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true",
            )
            return aiohttp.web.json_response(error.status(), status=422)
        with self.store_lock:
            if since not in (None, "", "0") and int(since) < self.oldest_revision:
                backlog: list[Any] = [
                    {
                        "type": "ERROR",
                        "object": ApiError(
                            410, "Expired", f"too old resource version: {since} ({self.oldest_revision})"
                        ).status(),
                    },
                    _BREAK,
                ]
            elif since not in (None, "", "0"):
                backlog = [
                    {"type": t, "object": o}
                    for rv, k, t, o in self.history
                    if rv > int(since) and k == kind.kind and watcher.wants(o)
                ]
            else:
                backlog = [
                    {"type": "ADDED", "object": o}
                    for o in self.select(kind.kind, request.namespace)
                    if watcher.wants(o)
                ]
                if query.get("sendInitialEvents") == "true":
                    backlog.append(self._initial_events_end(kind))
            self.watchers[kind.kind].add(watcher)
            self.changed.notify_all()
        tables = wants_table(raw.headers.get("Accept", ""))  # kubectl get --watch
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(raw)
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for event in itertools.chain(backlog, _drain(watcher.queue)):
                if event is _BREAK and backlog and backlog[-1] is _BREAK:
                    break  # the 410 answer: the stream ends cleanly after it
                if event is _BREAK:
                    raw.transport.abort()  # a broken connection, not a clean end
                    return response
                if event is None:  # the queue is drained: wait for more, or for the timeout
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    try:
                        event = await asyncio.wait_for(watcher.queue.get(), remaining)
                    except TimeoutError:
                        break
                    if event is _BREAK:
                        raw.transport.abort()
                        return response
                if tables:
                    event = event_as_table(kind.kind, event, query.get("includeObject"))
                await response.write(json.dumps(event).encode() + b"\n")
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            with self.store_lock:
                self.watchers[kind.kind].discard(watcher)
        return response


def _field_validation(request: Request) -> dict[str, str]:
    """The server's field validation of a write (`?fieldValidation=`, which kubectl sends):
    unknown fields refuse the request under Strict, and come back as warnings under Warn.
    Without the parameter nothing is checked (skytrain's own client never sends it)."""
    raw, kind = request.raw, request.kind
    directive = raw.query.get("fieldValidation")
    if raw.method not in ("POST", "PUT", "PATCH") or request.subresource or directive not in (STRICT, WARN):
        return {}
    body = without_directives(request.data())  # a strategic patch's $patch, $retainKeys, ...
    if not isinstance(body, dict):
        return {}
    unknown = unknown_fields({**body, "apiVersion": kind.api_version, "kind": kind.kind})
    if unknown and directive == STRICT:
        fields = ", ".join(f'unknown field "{f.lstrip(".")}"' for f in unknown)
        raise ApiError(
            400,
            "BadRequest",
            f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: strict decoding error: {fields}',
        )
    return (
        {"Warning": ", ".join(f'299 - "unknown field \\"{f.lstrip(".")}\\""' for f in unknown)}
        if unknown
        else {}
    )


def _validate(kind: Kind, obj: dict[str, Any]) -> None:
    """The API server's validation of what a Deployment must hold together (422 Invalid)."""
    if kind.kind != "Deployment":
        return
    spec = obj.get("spec", {})
    causes = []
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        causes.append(
            {
                "reason": "FieldValueInvalid",
                "field": "spec.template.metadata.labels",
                "message": f"Invalid value: {labels}: `selector` does not match template `labels`",
            }
        )
    for index, container in enumerate(
        ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    ):
        if not container.get("image"):
            causes.append(
                {
                    "reason": "FieldValueRequired",
                    "field": f"spec.template.spec.containers[{index}].image",
                    "message": "Required value",
                }
            )
    if causes:
        name = obj["metadata"]["name"]
        text = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise ApiError(
            422,
            "Invalid",
            f'Deployment.apps "{name}" is invalid: {text}',
            {"name": name, "group": "apps", "kind": "Deployment", "causes": causes},
        )


def _immutable(kind: Kind, current: dict[str, Any], new: dict[str, Any]) -> None:
    """An immutable ConfigMap or Secret keeps its data and stays immutable (422 otherwise)."""
    if kind.kind not in ("ConfigMap", "Secret") or not current.get("immutable"):
        return
    changed = [
        key for key in ("data", "binaryData", "stringData", "immutable") if new.get(key) != current.get(key)
    ]
    if changed:
        name = current["metadata"]["name"]
        raise ApiError(
            422,
            "Invalid",
            f'{kind.kind} "{name}" is invalid: {changed[0]}: Forbidden: field is immutable when `immutable` is set',
            {
                "name": name,
                "kind": kind.kind,
                "causes": [{"reason": "FieldValueForbidden", "field": changed[0]}],
            },
        )


def _owners(obj: dict[str, Any] | None) -> set[str]:
    """The uids an object's ownerReferences name."""
    refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
    return {ref["uid"] for ref in refs if ref.get("uid")}


def _drain(queue: asyncio.Queue[Any]) -> Iterator[Any]:
    """Queued events, then None forever (the caller awaits the queue on None)."""
    while True:
        try:
            yield queue.get_nowait()
        except asyncio.QueueEmpty:
            yield None


def _content(obj: dict[str, Any]) -> Any:
    """An object minus what a no-op write would change anyway."""
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in ("resourceVersion", "managedFields")}
    fields = [
        {k: v for k, v in m.items() if k != "time"} for m in obj.get("metadata", {}).get("managedFields", [])
    ]
    return {**obj, "metadata": meta, "managed": fields}


# --- running it -------------------------------------------------------------------------


class RunningEmulator:
    """An emulator served on 127.0.0.1 (on `port`, else a random one) from its own thread and loop."""

    def __init__(self, emulator: ClusterEmulator | None = None, port: int | None = None):
        self.emulator = emulator or ClusterEmulator()
        self.port = port
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubernetes-emulator", daemon=True)

    def __enter__(self) -> ClusterEmulator:
        self._thread.start()
        self._ready.wait(10)
        if not self.url:
            raise RuntimeError("the Kubernetes emulator did not start within 10 s")
        return self.emulator

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self.emulator, kmock.Server(self.emulator, port=self.port) as server:
            self.url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()
            self.emulator.break_watches()
            await asyncio.sleep(0)


def serve(emulator: ClusterEmulator | None = None, port: int | None = None) -> RunningEmulator:
    """`with serve() as cluster:` runs an emulator for the block; `cluster.address` is its URL."""
    return RunningEmulator(emulator, port)


def kubeconfig(servers: Mapping[str, str], namespaces: Mapping[str, str] | None = None) -> str:
    """A kubeconfig with a context per `{context: server URL}`, each in its namespace from
    `namespaces` (else the server's default). No credentials: it is local."""
    namespaces = namespaces or {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"emulator-{c}", "cluster": {"server": u}} for c, u in servers.items()],
        "users": [{"name": "tester", "user": {"token": "emulator-token"}}],
        "contexts": [
            {
                "name": c,
                "context": {
                    "cluster": f"emulator-{c}",
                    "user": "tester",
                    **({"namespace": namespaces[c]} if c in namespaces else {}),
                },
            }
            for c in servers
        ],
        "current-context": next(iter(servers)),
    }
    return yaml.safe_dump(config)


def write_kubeconfig(
    path: Path, url: str | Mapping[str, str], contexts: tuple[str, ...] = ("dev", "staging", "production")
) -> Path:
    """A kubeconfig whose contexts all point at one emulator, or, given `{context: url}`, each
    at its own (one emulated cluster per environment)."""
    servers = dict(url) if isinstance(url, Mapping) else dict.fromkeys(contexts, url)
    path.write_text(kubeconfig(servers))
    return path


if __name__ == "__main__":
    from skytrain.emulators.standalone import kubernetes_main

    kubernetes_main()
