"""The mesh's Consul: the small part of its key-value HTTP API skytrain uses.

Skyline finds services through Consul, and its SDBs are rendered by consul-template from
Consul; so Consul's key-value store is where a service's canary share lives while it
migrates (docs/migration.md): consul-template reads it live, `skytrain routes` reads it
when it regenerates the static SDB, and `skytrain migrate` writes it.

Values are plain text. Writes may carry a check-and-set index (`cas`), so two writers can
never both think they set a key. The token comes from CONSUL_HTTP_TOKEN (Consul's own
variable) and never reaches a message.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from skytrain.backends.base import SchedulerError
from skytrain.backends.reasons import connection_failure

TOKEN_ENV = "CONSUL_HTTP_TOKEN"


class ConsulError(SchedulerError):
    """Consul could not be reached or refused; the message is safe to print."""


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    index: int  # Consul's ModifyIndex: the `cas` that replaces exactly this value


class ConsulKV:
    def __init__(self, url: str, environ: Mapping[str, str] = os.environ, timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        token = environ.get(TOKEN_ENV)
        if token:
            self._session.headers["X-Consul-Token"] = token

    def close(self) -> None:
        self._session.close()

    def entries(self, prefix: str) -> dict[str, Entry]:
        """Every key under `prefix`, in one request."""
        answer = self._call("GET", prefix, {"recurse": "true"}, missing_ok=True)
        return {
            item["Key"]: Entry(item["Key"], _decode(item.get("Value")), int(item.get("ModifyIndex", 0)))
            for item in answer or []
        }

    def get(self, key: str) -> Entry | None:
        return self.entries(key).get(key)

    def put(self, key: str, value: str, cas: int | None = None) -> bool:
        """Write `value`; with `cas`, only if the key still has that index (0: only if absent).
        False when the check-and-set lost to another writer."""
        params = {"cas": str(cas)} if cas is not None else None
        return bool(self._call("PUT", key, params, data=value.encode()))

    def delete(self, key: str) -> None:
        self._call("DELETE", key, None)

    def _call(
        self,
        method: str,
        key: str,
        params: dict[str, str] | None,
        data: bytes | None = None,
        missing_ok: bool = False,
    ) -> Any:
        what = f"{method} {key}"
        try:
            response = self._session.request(
                method, f"{self.url}/v1/kv/{quote(key)}", params=params, data=data, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise ConsulError(
                f"Consul at {self.url} did not answer {what}: {connection_failure(exc)}"
            ) from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 300:
            reason = "refused the token in CONSUL_HTTP_TOKEN" if response.status_code == 403 else "failed"
            raise ConsulError(
                f"Consul at {self.url} {reason} {what} (HTTP {response.status_code}): {response.text[:200].strip()}"
            )
        return response.json() if response.content else None


def _decode(value: str | None) -> str:
    return base64.b64decode(value).decode("utf-8", "replace") if value else ""
