"""What the routing tests share: the example fleet, stand-in services, a mesh of real
NGINX processes on 127.0.0.1, and clients that count every answer and failure."""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import http.client
import json
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from skytrain.backends.nginx import NginxServer, find_nginx, safe_apply
from skytrain.config import load_service
from skytrain.config.environments import Environment, Mesh
from skytrain.config.model import App
from skytrain.render.routing import (
    BRIDGE_CONF,
    LOCAL_CONF,
    SDB_CONF,
    Paths,
    RoutingSettings,
    build_routing,
    render_nginx_configs,
)
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


def nginx_user() -> str | None:
    """Workers run as the current user: only a root master needs telling (and accepts it)."""
    return getpass.getuser() if os.geteuid() == 0 else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandIn:
    """A small HTTP server standing for one service instance: it answers who it is, the
    path and Host it was asked for, and the request id it got."""

    def __init__(self, who: str):
        self.who = who
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # one write per answer and no Nagle: else keep-alive peers stall on delayed ACKs
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with stand_in.lock:
                    stand_in.connections.add(self.connection)

            def finish(self) -> None:
                with stand_in.lock:
                    stand_in.connections.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:
                body = json.dumps(
                    {
                        "who": stand_in.who,
                        "path": self.path,
                        "host": self.headers.get("Host"),
                        "request_id": self.headers.get("X-Request-Id"),
                        "forwarded_for": self.headers.get("X-Forwarded-For"),
                        "forwarded_host": self.headers.get("X-Forwarded-Host"),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Die like a killed task: stop listening and cut every open connection."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class MeshUnderTest:
    """The local proxy, the SDB and the skyline-bridge as three real nginx processes on
    127.0.0.1, each in its own prefix under `root`, all generated from one routing model."""

    ROLES: ClassVar[dict[str, str]] = {"local": LOCAL_CONF, "sdb": SDB_CONF, "bridge": BRIDGE_CONF}

    def __init__(self, root: Path, environment: Environment, binary: str):
        self.root = root
        self.binary = binary
        self.ports = {role: free_port() for role in self.ROLES}
        mesh = Mesh(
            mesos_agents=("127.0.0.1",),
            kubernetes_workers=(f"127.0.0.1:{self.ports['bridge']}",),
            sdb_hosts=(f"127.0.0.1:{self.ports['sdb']}",),
        )
        self.environment = dataclasses.replace(environment, mesh=mesh)
        self.servers: dict[str, NginxServer] = {}

    def settings(self, service_addresses: Mapping[str, str]) -> RoutingSettings:
        return RoutingSettings(
            local_listen=f"127.0.0.1:{self.ports['local']}",
            sdb_listen=f"127.0.0.1:{self.ports['sdb']}",
            bridge_listen=f"127.0.0.1:{self.ports['bridge']}",
            worker_processes="2",
            paths=Paths.under(str(self.root), nginx_user()),
            service_addresses=service_addresses,
        )

    def configs(
        self, apps: list[App], mesos_nodes: Mapping[str, Sequence[str]], service_addresses: Mapping[str, str]
    ) -> dict[str, str]:
        model = build_routing(apps, self.environment, self.settings(service_addresses), mesos_nodes)
        return render_nginx_configs(model)

    def start(self, configs: dict[str, str]) -> None:
        for role, name in self.ROLES.items():
            prefix = self.root / role
            prefix.mkdir()
            (prefix / name).write_text(configs[name])
            server = NginxServer(prefix, prefix / name, self.binary)
            server.start()
            self.servers[role] = server

    def apply(self, configs: dict[str, str]) -> dict[str, bool]:
        """Safe-apply every role's new config; which ones changed (and were reloaded)."""
        return {
            role: safe_apply(self.servers[role], configs[name]).changed for role, name in self.ROLES.items()
        }

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


class Client(threading.Thread):
    """A steady stream of GETs; counts answers per phase by who answered, and failures.

    `keep_alive=False` opens a new connection per request. `keep_alive=True` reuses one
    and, as browsers do, retries a request once only when its reused idle connection
    was reset or closed (NGINX's old workers close idle connections on reload).
    """

    def __init__(self, name: str, traffic: Traffic, port: int, path: str, host: str | None, keep_alive: bool):
        super().__init__(name=name, daemon=True)
        self.traffic, self.port, self.path, self.host, self.keep_alive = traffic, port, path, host, keep_alive
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
        return json.loads(body)

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
                client.counts.setdefault(phase, Counter())[answer["who"]] += 1
                client.last_who = answer["who"]
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
