"""An emulated Consul key-value store on 127.0.0.1: what the migration tests, the benchmark
and a local mesh need of Consul's HTTP API (`/v1/kv/<key>` with `recurse`, `cas` and
tokens), answering as Consul does: base64 values, a ModifyIndex per key, 404 for a key
that does not exist, `true`/`false` for a write.

Tests watch it in-process: `on_change` callbacks run after every write (the way
consul-template is woken by a blocking query), and `writes` records what was written.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Stored:
    value: bytes
    create_index: int
    modify_index: int


class ConsulEmulator:
    def __init__(self, token: str | None = None):
        self.token = token
        self.store: dict[str, Stored] = {}
        self.index = 1
        self.lock = threading.Lock()
        self.writes: list[tuple[float, str, str | None]] = []  # (monotonic time, key, value or None)
        self.requests: list[tuple[str, str]] = []  # (method, key) of every request
        self.on_change: list[Callable[[], None]] = []
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Consul-Index", str(emulator.index))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if emulator.token and self.headers.get("X-Consul-Token") != emulator.token:
                    self._answer(403, "Permission denied")
                    return
                if not parts.path.startswith("/v1/kv/"):
                    self._answer(404, f"no such endpoint {parts.path}")
                    return
                key = unquote(parts.path[len("/v1/kv/") :])
                status, answer = emulator.handle(self.command, key, query, body)
                self._answer(status, answer)

            do_GET = do_PUT = do_DELETE = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ConsulEmulator:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def value(self, key: str) -> str | None:
        with self.lock:
            stored = self.store.get(key)
        return stored.value.decode() if stored else None

    def handle(self, method: str, key: str, query: dict[str, list[str]], body: bytes) -> tuple[int, object]:
        with self.lock:
            self.requests.append((method, key))
            if method == "GET":
                found = sorted(
                    (k, s)
                    for k, s in self.store.items()
                    if (k.startswith(key) if "recurse" in query else k == key)
                )
                if not found:
                    return 404, None
                return 200, [_item(k, s) for k, s in found]
            if method == "PUT":
                written = self._put(key, body, query.get("cas", [None])[0])
            else:
                self.store.pop(key, None)
                self.index += 1
                self.writes.append((time.monotonic(), key, None))
                written = True
        if written:
            for callback in list(self.on_change):  # callbacks only signal: they must not block
                callback()
        return 200, written

    def _put(self, key: str, body: bytes, cas: str | None) -> bool:
        current = self.store.get(key)
        if cas is not None and int(cas) != (current.modify_index if current else 0):
            return False
        self.index += 1
        self.store[key] = Stored(body, current.create_index if current else self.index, self.index)
        self.writes.append((time.monotonic(), key, body.decode()))
        return True


def _item(key: str, stored: Stored) -> dict[str, object]:
    return {
        "Key": key,
        "Value": base64.b64encode(stored.value).decode() if stored.value else None,
        "CreateIndex": stored.create_index,
        "ModifyIndex": stored.modify_index,
        "LockIndex": 0,
        "Flags": 0,
    }
