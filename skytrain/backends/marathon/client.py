"""A small typed client for the Marathon REST API v2, over `requests`.

Why our own: marathon-python 0.13.0 (its last release) breaks on Python 3.10+ as soon as
it serialises an app (`collections.Iterable`) and is unmaintained; we do not patch the
standard library to revive it. This client covers only what skytrain calls, follows
shared/reference/marathon/API-NOTES.md, and turns every answer into a typed result or
one of the exceptions below.

Reads are retried with back-off on 5xx, connection errors and timeouts; changes only
when Marathon cannot have seen them (no connection, 502/503/504). A 429 (a proxy in front
of Marathon throttling us) is retried for every call after the Retry-After it names. Credentials come from the process environment
(MARATHON_USER + MARATHON_PASSWORD, or MARATHON_TOKEN) and never reach a message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from skytrain.backends.reasons import connection_failure
from skytrain.verbose import request_done

RETRY_STATUSES = frozenset({500, 502, 503, 504})
THROTTLED = 429  # nothing was done: every call may be sent again, after its Retry-After
MAX_RETRY_AFTER = 30.0  # seconds: the longest one wait lasts, whatever a Retry-After asks
# Marathon answers these without having changed anything, so even a PUT may be resent
NOT_PROCESSED_STATUSES = frozenset({502, 503, 504})


class MarathonError(Exception):
    """Marathon refused or could not be reached; the message is safe to print."""

    def __init__(self, message: str, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class NotFound(MarathonError):
    pass


class Locked(MarathonError):
    """409: the app is locked by deployments in progress (`deployments` lists their ids)."""

    def __init__(self, message: str, deployments: list[str]):
        super().__init__(message, 409)
        self.deployments = deployments


class AlreadyExists(MarathonError):
    """409 without `deployments`: an app with this id exists (POST only)."""


class Invalid(MarathonError):
    """400/422: the app definition was refused; `details` is [(marathon path, [messages])]."""

    def __init__(self, message: str, status: int, details: list[tuple[str, list[str]]]):
        super().__init__(message, status)
        self.details = details


class Unreachable(MarathonError):
    """No answer (connection refused, reset, timed out) after the retries allowed."""

    def __init__(self, message: str, timed_out: bool):
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class DeploymentRef:
    id: str
    version: str


def redact(url: str) -> str:
    """The URL without any user:password part, for messages."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def auth_header(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Basic auth from MARATHON_USER/MARATHON_PASSWORD, else DC/OS-style `token=` from MARATHON_TOKEN."""
    user, password = environ.get("MARATHON_USER"), environ.get("MARATHON_PASSWORD")
    if user and password is not None:
        return {"Authorization": requests.auth._basic_auth_str(user, password)}
    token = environ.get("MARATHON_TOKEN")
    return {"Authorization": f"token={token}"} if token else {}


class MarathonClient:
    def __init__(
        self,
        url: str,
        environ: Mapping[str, str] = os.environ,
        timeout: float = 10.0,
        connect_timeout: float = 3.0,
        attempts: int = 4,
        backoff: float = 0.1,
    ):
        self.url = url.rstrip("/")
        self.display_url = redact(self.url)
        self.timeout = (connect_timeout, timeout)
        self.attempts = attempts
        self.backoff = backoff
        self._session = requests.Session()
        self._session.headers.update(
            {"Accept": "application/json", "Content-Type": "application/json", **auth_header(environ)}
        )

    def close(self) -> None:
        self._session.close()

    # ---- calls ----------------------------------------------------------------------

    def get_app(self, app_id: str) -> dict[str, Any]:
        """The app with counts, tasks, deployments and lastTaskFailure (API-NOTES §2.1)."""
        return self._call("GET", f"/v2/apps{_path(app_id)}")["app"]

    def find_app(self, app_id: str) -> dict[str, Any] | None:
        try:
            return self.get_app(app_id)
        except NotFound:
            return None

    def put_app(
        self, app_id: str, definition: dict[str, Any], force: bool = False, partial: bool = False
    ) -> DeploymentRef:
        """Create or replace (partialUpdate=false: fields left out are removed)."""
        answer = self._call(
            "PUT",
            f"/v2/apps{_path(app_id)}",
            params={"partialUpdate": _bool(partial), "force": _bool(force)},
            body=definition,
        )
        return DeploymentRef(answer["deploymentId"], answer["version"])

    def scale_app(
        self, app_id: str, instances: int, force: bool = False, labels: dict[str, str] | None = None
    ) -> DeploymentRef:
        """Scale; with `labels`, the app's whole label map is replaced in the same change (a
        label change is a config change, which restarts running tasks: only for a scale to
        or from 0)."""
        body: dict[str, Any] = {"instances": instances}
        if labels is not None:
            body["labels"] = labels
        answer = self._call(
            "PUT",
            f"/v2/apps{_path(app_id)}",
            params={"partialUpdate": "true", "force": _bool(force)},
            body=body,
        )
        return DeploymentRef(answer["deploymentId"], answer["version"])

    def list_apps(self) -> list[dict[str, Any]]:
        """Every app with its counts and labels, in one request (no tasks)."""
        return self._call("GET", "/v2/apps")["apps"]

    def restore_version(self, app_id: str, version: str, force: bool = False) -> DeploymentRef:
        """Roll back to a stored version: PUT {"version": v} as a partial update (§2.5)."""
        answer = self._call(
            "PUT",
            f"/v2/apps{_path(app_id)}",
            params={"force": _bool(force)},
            body={"version": version},
        )
        return DeploymentRef(answer["deploymentId"], answer["version"])

    def delete_app(self, app_id: str) -> DeploymentRef:
        answer = self._call("DELETE", f"/v2/apps{_path(app_id)}", params={"force": "true"})
        return DeploymentRef(answer["deploymentId"], answer["version"])

    def versions(self, app_id: str) -> list[str]:
        """Newest first (the server does not sort them, §2.5)."""
        return sorted(self._call("GET", f"/v2/apps{_path(app_id)}/versions")["versions"], reverse=True)

    def version(self, app_id: str, version: str) -> dict[str, Any]:
        return self._call("GET", f"/v2/apps{_path(app_id)}/versions/{quote(version, safe=':')}")

    def deployments(self) -> list[dict[str, Any]]:
        return self._call("GET", "/v2/deployments")

    # ---- transport ------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """One call with retries where safe: a GET on connection errors, timeouts and 5xx;
        a change only when nothing reached Marathon (no connection, 502/503/504). A change
        whose answer timed out raises Unreachable(timed_out=True): the caller reads the
        app back to learn what happened instead of sending it twice."""
        safe = method == "GET"
        what = f"{method} {path}"
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                response = self._send(method, path, params, body)
            except requests.ConnectionError as exc:
                never_sent = isinstance(exc, requests.ConnectTimeout) or "NewConnectionError" in repr(exc)
                if last or not (safe or never_sent):
                    raise Unreachable(
                        f"Marathon at {self.display_url} did not answer {what}: {connection_failure(exc)}",
                        False,
                    ) from None
            except requests.Timeout:
                if last or not safe:
                    raise Unreachable(
                        f"Marathon at {self.display_url} did not answer {what} within {self.timeout[1]:g}s",
                        True,
                    ) from None
            else:
                retry_statuses = RETRY_STATUSES if safe else NOT_PROCESSED_STATUSES
                if response.status_code == THROTTLED and not last:
                    time.sleep(
                        _retry_after(response.headers.get("Retry-After"), self.backoff * 2 ** (attempt - 1))
                    )
                    continue
                if response.status_code not in retry_statuses or last:
                    return self._answer(what, response)
            time.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, params: dict[str, str] | None, body: Any) -> requests.Response:
        started = time.monotonic()
        try:
            response = self._session.request(
                method, self.url + path, params=params, json=body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            request_done("marathon", method, self.display_url + path, type(exc).__name__, started)
            raise
        request_done("marathon", method, self.display_url + path, response.status_code, started)
        return response

    def _answer(self, what: str, response: requests.Response) -> Any:
        status = response.status_code
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if status < 300:
            return body
        message = body.get("message", "") if isinstance(body, dict) else ""
        if status == 401:
            raise MarathonError(
                f"Marathon at {self.display_url} refused our credentials (401). Set MARATHON_USER and "
                "MARATHON_PASSWORD, or MARATHON_TOKEN, in the environment.",
                status,
            )
        if status == 403:
            raise MarathonError(f"Marathon at {self.display_url} forbade {what} (403): {message}", status)
        if status == 404:
            raise NotFound(message or f"{what}: not found", status, body)
        if status == 409:
            deployments = body.get("deployments") if isinstance(body, dict) else None
            if deployments is not None:
                ids = [d["id"] for d in deployments]
                raise Locked(f"the app is locked by deployment {', '.join(ids)}", ids)
            raise AlreadyExists(message or "the app already exists", status, body)
        if status in (400, 422):
            raise Invalid(message or "invalid request", status, _details(body))
        raise MarathonError(
            f"Marathon at {self.display_url} failed {what} with HTTP {status}"
            + (f": {message}" if message else ""),
            status,
            body,
        )


def _retry_after(header: str | None, otherwise: float) -> float:
    """Seconds to wait as a Retry-After says (seconds; an HTTP date counts as `otherwise`)."""
    try:
        return min(max(0.0, float(header or "")), MAX_RETRY_AFTER)
    except ValueError:
        return otherwise


def _path(app_id: str) -> str:
    return "/" + quote(app_id.strip("/"))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _details(body: Any) -> list[tuple[str, list[str]]]:
    """422 details are a list of {path, errors}; a 400 for unparseable JSON has a string."""
    if not isinstance(body, dict):
        return []
    details = body.get("details")
    if isinstance(details, str):
        return [("/", [details])]
    if isinstance(details, list):
        return [(str(d.get("path", "/")), [str(e) for e in d.get("errors", [])]) for d in details]
    return []
