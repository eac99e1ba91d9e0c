"""One connection to one cluster: the official client's ApiClient, called with plain dicts.

Why the generic `ApiClient.param_serialize`/`call_api` pair instead of the typed
`AppsV1Api` methods: skytrain applies whatever kinds the renderer produces, compares
them with what runs as JSON, and stores them in its release history as JSON; going
through the pydantic models would convert every object twice and (per TOOLCHAIN.md)
let one object the models do not know kill a watch. Authentication, TLS and the
kubeconfig/in-cluster configuration are still entirely the official client's.

Every call retries with backoff on 429, 5xx and connection errors (honouring
Retry-After) and never on other 4xx, which the caller turns into an answer.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from skytrain.backends.kubernetes.kinds import Kind
from skytrain.backends.reasons import connection_failure
from skytrain.errors import UsageError
from skytrain.verbose import request_done

RETRIABLE = frozenset({429, 500, 502, 503, 504})
APPLY = "application/apply-patch+yaml"


class KubeError(Exception):
    """The API server refused (status 4xx/5xx), or could not be reached (status 0)."""

    def __init__(self, status: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.reason, self.message, self.details = status, reason, message, details or {}

    @property
    def causes(self) -> list[dict[str, Any]]:
        return list(self.details.get("causes") or [])


@dataclass
class RetryPolicy:
    attempts: int = 6
    first_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_delay)
            except ValueError:
                pass
        return min(self.first_delay * 2**attempt, self.max_delay) * (0.5 + random.random() / 2)


@dataclass
class Kube:
    """Requests against one cluster, counted (the benchmark reports requests per deploy)."""

    api_client: Any
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    requests: int = 0
    _count_lock: threading.Lock = field(default_factory=threading.Lock)

    def request(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float = 30.0,
    ) -> Any:
        """One API call with retries; returns the decoded JSON (or text for logs)."""
        for attempt in range(self.retry.attempts):
            try:
                response = self._send(method, path, query, body, content_type, timeout, stream=False)
                data = response.read()
                if 200 <= response.status < 300:
                    text = data.decode() if isinstance(data, bytes) else data
                    if response.getheader("Content-Type", "").startswith("application/json"):
                        return json.loads(text or "null")
                    return text
                error = _error(response.status, data)
                retry_after = response.getheader("Retry-After")
            except KubeError as exc:  # could not connect
                error, retry_after = exc, None
            if error.status not in RETRIABLE and error.status != 0:
                raise error
            if attempt + 1 < self.retry.attempts:
                time.sleep(self.retry.delay(attempt, retry_after))
        raise error

    def stream(self, path: str, query: dict[str, Any], timeout: float) -> Any:
        """Open a watch; the caller iterates lines of the returned raw response."""
        response = self._send("GET", path, query, None, None, timeout, stream=True)
        if response.status != 200:
            raise _error(response.status, response.read())
        return response.response

    def _send(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None,
        body: Any,
        content_type: str | None,
        timeout: float,
        stream: bool,
    ) -> Any:
        import urllib3

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        method_, url, headers, body, post = self.api_client.param_serialize(
            method=method, resource_path=path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        if query:
            url += "?" + urlencode({k: _query_value(v) for k, v in query.items() if v is not None})
        with self._count_lock:
            self.requests += 1
        started = time.monotonic()
        try:
            response = self.api_client.call_api(
                method_,
                url,
                header_params=headers,
                body=body,
                post_params=post,
                _request_timeout=(5.0, timeout) if stream else timeout,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            request_done("kubernetes", method, url, type(exc).__name__, started)
            raise KubeError(0, "ConnectionError", self._unreachable(exc)) from None
        except Exception as exc:  # the client's ApiException(status=0) for TLS failures
            request_done("kubernetes", method, url, type(exc).__name__, started)
            if getattr(exc, "status", None) == 0:
                raise KubeError(0, "ConnectionError", self._unreachable(exc)) from None
            raise
        request_done("kubernetes", method, url, response.status, started)
        return response

    def _unreachable(self, exc: BaseException) -> str:
        host = getattr(self.api_client.configuration, "host", "") or "the Kubernetes API"
        return f"no answer from {host}: {connection_failure(exc)}"

    # conveniences ------------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", kind.path(namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self, kind: Kind, namespace: str, labels: str | None = None, fields: str | None = None
    ) -> dict[str, Any]:
        return self.request("GET", kind.path(namespace), {"labelSelector": labels, "fieldSelector": fields})


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _error(status: int, data: bytes | str | None) -> KubeError:
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or (
        data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")
    )
    return KubeError(
        status, body.get("reason", ""), message.strip() or f"HTTP {status}", body.get("details") or {}
    )


_clients: dict[tuple[str | None, str | None, bool], Any] = {}
_clients_lock = threading.Lock()


def api_client_for(context: str | None) -> Any:
    """The official client configured like kubectl: $KUBECONFIG (or ~/.kube/config) and the
    environment's context; in a pod without a kubeconfig, the service account (in-cluster).

    One ApiClient per context and process, shared by every concurrent deploy: its
    connection pool is sized for many concurrent watches."""
    kubeconfig = os.environ.get("KUBECONFIG")
    in_cluster = not kubeconfig and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    key = (kubeconfig, context, in_cluster)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = _build(kubeconfig, context, in_cluster)
        return _clients[key]


def _build(kubeconfig: str | None, context: str | None, in_cluster: bool) -> Any:
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=kubeconfig or os.path.expanduser("~/.kube/config"),
                context=context,
                client_configuration=configuration,
            )
    except Exception as exc:  # the official loader fails on a malformed file in many ways
        where = "the in-cluster service account" if in_cluster else (kubeconfig or "~/.kube/config")
        raise UsageError(
            f"cannot configure the Kubernetes client from {where}"
            + (f" for context {context!r}" if context else "")
            + f": {_kubeconfig_problem(exc, ConfigException)}"
        ) from None
    configuration.retries = 0  # skytrain retries itself, with backoff, only where safe
    configuration.connection_pool_maxsize = 256
    return client.ApiClient(configuration)


def _kubeconfig_problem(exc: Exception, config_exception: type[Exception]) -> str:
    """What was wrong, in words that never quote the file (a kubeconfig holds tokens)."""
    import yaml

    if isinstance(exc, config_exception | OSError):
        return str(exc)
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        return f"it is not valid YAML (line {exc.problem_mark.line + 1}: {exc.problem})"
    return "it is not a kubeconfig (a YAML mapping of clusters, contexts and users, in UTF-8)"
