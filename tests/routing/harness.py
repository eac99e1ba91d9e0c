"""What the routing tests share: the example fleet, and clients that count every answer and
failure through the mesh (skytrain.emulators.mesh)."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence

from skytrain.backends.nginx import find_nginx
from skytrain.config import load_service
from skytrain.config.environments import Environment
from skytrain.config.model import App
from tests.support import EXAMPLES, require


def example_fleet(
    env: str, names: Sequence[str] = ("giphy", "media", "organization")
) -> tuple[Environment, list[App]]:
    apps = []
    for name in names:
        environments, by_env = load_service(EXAMPLES / name, only=[env], environ={})
        apps.append(by_env[env])
    return environments[env], apps


def require_nginx() -> str:
    """The nginx binary (also where Debian puts it off PATH), as tests.support.require says."""
    return require(find_nginx(), "nginx", "nginx-light")


class Client(threading.Thread):
    """A steady stream of GETs; counts answers per phase by who answered, and failures.

    `keep_alive=False` opens a new connection per request. `keep_alive=True` reuses one
    and, as browsers do, retries a request once only when its reused idle connection
    was reset or closed (NGINX's old workers close idle connections on reload).
    """

    def __init__(
        self,
        name: str,
        traffic: Traffic,
        port: int,
        path: str,
        host: str | None,
        keep_alive: bool,
        count_by: str = "who",
    ):
        super().__init__(name=name, daemon=True)
        self.traffic, self.port, self.path, self.host, self.keep_alive = traffic, port, path, host, keep_alive
        self.count_by = count_by  # "who" answered (the stand-in's name), or who the SDB says "served_by"
        self.counts: dict[str, Counter[str]] = {}
        self.failures: list[str] = []
        self.resets = 0
        self.last_who: str | None = None
        self.last_answer: dict = {}
        self.conn: http.client.HTTPConnection | None = None

    def run(self) -> None:
        while not self.traffic.stopping.is_set():
            phase = self.traffic.phase
            try:
                answer = self._request()
            except Exception as exc:  # every kind of failure is what we count
                answer = None
                self.failures.append(f"{phase}: {type(exc).__name__}: {exc}")
            self.traffic.record(self, phase, answer)

    def _headers(self) -> dict[str, str]:
        headers = {} if self.keep_alive else {"Connection": "close"}
        if self.host:
            headers["Host"] = self.host
        return headers

    def _send(self, conn: http.client.HTTPConnection) -> dict:
        conn.request("GET", self.path, headers=self._headers())
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise AssertionError(f"HTTP {response.status}: {body[:200]!r}")
        if not response.getheader("X-Request-Id"):
            raise AssertionError("the answer carries no X-Request-Id")
        return {**json.loads(body), "served_by": response.getheader("X-Skyline-Served-By")}

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def _request(self) -> dict:
        if not self.keep_alive:
            conn = self._connect()
            try:
                return self._send(conn)
            finally:
                conn.close()
        reused = self.conn is not None
        self.conn = self.conn or self._connect()
        try:
            return self._send(self.conn)
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            self.conn.close()
            self.conn = None
            if not reused:
                raise
            self.resets += 1
            self.conn = self._connect()
            return self._send(self.conn)


class Traffic:
    """The clients, the current phase, and waiting on what they saw (no sleeps)."""

    def __init__(self) -> None:
        self.phase = "setup"
        self.stopping = threading.Event()
        self.changed = threading.Condition()
        self.clients: list[Client] = []
        self.transitions: set[str] = set()

    def add(self, client: Client) -> None:
        self.clients.append(client)

    def record(self, client: Client, phase: str, answer: dict | None) -> None:
        """Count an answer in the phase its request started in; a request that spans a
        phase boundary counts in the transition on either side (it may be answered by
        either scheduler: one in flight when tasks die is retried on Kubernetes)."""
        with self.changed:
            if self.phase != phase and self.phase in self.transitions:
                phase = self.phase
            if answer is not None:
                client.counts.setdefault(phase, Counter())[answer[client.count_by]] += 1
                client.last_who = answer[client.count_by]
                client.last_answer = answer
            self.changed.notify_all()

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
        with self.changed:
            if not self.changed.wait_for(condition, timeout):
                raise AssertionError(f"timed out waiting until {what}")

    def run_phase(self, phase: str, requests: int) -> None:
        """Every client answers `requests` times within `phase`."""
        self.phase = phase
        self.wait(
            lambda: all(sum(c.counts.get(phase, Counter()).values()) >= requests for c in self.clients), phase
        )

    @contextlib.contextmanager
    def transition(self, phase: str, expected: Mapping[str, str]) -> Iterator[None]:
        """Answers from either side are fine while the body changes the mesh; on leaving,
        wait until each client's latest answer comes from where it should."""
        self.transitions.add(phase)
        self.phase = phase
        yield
        self.wait(
            lambda: all(c.counts.get(phase) and c.last_who == expected[c.name] for c in self.clients),
            f"every client is answered as expected in {phase}",
        )

    def start(self) -> None:
        for client in self.clients:
            client.start()

    def stop(self) -> None:
        self.stopping.set()
        for client in self.clients:
            client.join(15)
