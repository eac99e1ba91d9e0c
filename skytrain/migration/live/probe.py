"""HTTP through the mesh: the probe that sends a service's requests through the SDB at a
steady rate while a canary step soaks, and the single requests of the preflight (the
bridge answers for the service, its dependencies answer from Kubernetes' side) and of the
SDB's share report (`/skyline/canary/<name>`).

Plain `http.client`: each probe thread keeps one connection to an SDB (as the mesh's own
callers do) and reads only the answer's status and headers that say how it was served.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from skytrain import interrupts
from skytrain.migration.compare import Sample, sample_from_headers

TIMEOUT = 10.0  # seconds a probe request may take: as long as the SDB lets a retry take
MAX_THREADS = 8


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer
    headers: dict[str, str]  # lower-case names
    body: bytes
    error: str = ""


def ask(host: str, port: int, path: str, host_header: str | None = None, timeout: float = 5.0) -> Answer:
    """One GET on a fresh connection."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host_header} if host_header else {})
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read(4096))
    except (OSError, http.client.HTTPException) as exc:
        return Answer(0, {}, b"", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    finally:
        conn.close()


class Probe:
    """Requests to `path` through the SDBs (round robin), `rate` per second in all, each
    answer handed to `on_sample`, from `start()` until `stop()`."""

    def __init__(
        self, sdbs: Sequence[tuple[str, int]], path: str, rate: float, on_sample: Callable[[Sample], None]
    ):
        self.sdbs, self.path, self.rate, self.on_sample = list(sdbs), path, rate, on_sample
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.started = 0.0
        self.threads = [
            threading.Thread(target=self._run, args=(i,), name=f"probe-{i}", daemon=True)
            for i in range(max(1, min(MAX_THREADS, int(rate // 50) + 1)))
        ]

    def start(self) -> None:
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Stop sending and let the requests in flight finish, unless a signal asked skytrain to
        stop: then nothing waits for them (daemon threads: they end with the process)."""
        self.stopping.set()
        if interrupts.requested():
            return
        for thread in self.threads:
            thread.join(TIMEOUT + 1)

    def _next(self) -> tuple[int, float]:
        """The number of the next request and when it is due, so all threads keep the rate."""
        with self.lock:
            number = self.sent
            self.sent += 1
        return number, self.started + number / self.rate

    def _run(self, index: int) -> None:
        connections: dict[int, http.client.HTTPConnection] = {}
        try:
            while not self.stopping.is_set():
                number, due = self._next()
                if self.stopping.wait(max(0.0, due - time.monotonic())):
                    return
                which = number % len(self.sdbs)
                self.on_sample(self._send(connections, which))
        finally:
            for conn in connections.values():
                conn.close()

    def _send(self, connections: dict[int, http.client.HTTPConnection], which: int) -> Sample:
        for attempt in (1, 2):  # a reused idle connection the SDB closed is opened again, once
            conn = connections.get(which)
            reused = conn is not None
            if conn is None:
                conn = connections[which] = http.client.HTTPConnection(*self.sdbs[which], timeout=TIMEOUT)
            try:
                conn.request("GET", self.path)
                response = conn.getresponse()
                response.read()
                headers = {k.lower(): v for k, v in response.getheaders()}
                return sample_from_headers(headers, response.status)
            except (OSError, http.client.HTTPException):
                conn.close()
                connections.pop(which, None)
                if not reused or attempt == 2:
                    break
        return Sample("", (), (), "", 0)
