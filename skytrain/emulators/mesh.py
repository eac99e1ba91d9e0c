"""A Skyline mesh on one machine, for the routing tests and the demo: the local proxy, the
SDB and the skyline-bridge as real NGINX processes on 127.0.0.1, and small HTTP servers
standing in for service instances (Mesos tasks, Kubernetes pods)."""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from skytrain.backends.nginx import NginxServer, safe_apply
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


def nginx_user() -> str | None:
    """Workers run as the current user: only a root master needs telling (and accepts it)."""
    return getpass.getuser() if os.geteuid() == 0 else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandIn:
    """A small HTTP server standing for one service instance: it answers who it is, the
    path and Host it was asked for, and the request id it got.

    `fail_every=n` makes every n-th request (GET or POST) answer 500, as a bad version
    would; `requests` counts what it was asked, by method."""

    def __init__(self, who: str, fail_every: int = 0):
        self.who = who
        self.fail_every = fail_every
        self.requests: Counter[str] = Counter()
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
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with stand_in.lock:
                    stand_in.requests[self.command] += 1
                    count = sum(stand_in.requests.values())
                if stand_in.fail_every and count % stand_in.fail_every == 0:
                    self._send(500, b'{"error": "injected"}')
                    return
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
                self._send(200, body)

            do_POST = do_GET

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
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


class LocalMesh:
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
        self,
        apps: list[App],
        mesos_nodes: Mapping[str, Sequence[str]],
        service_addresses: Mapping[str, str],
        shares: Mapping[str, int] | None = None,
    ) -> dict[str, str]:
        model = build_routing(
            apps, self.environment, self.settings(service_addresses), mesos_nodes, shares=shares
        )
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


class Follower:
    """Plays what keeps a real SDB current (consul-template, or `skytrain routes` run again):
    whenever what the routes are made of changes (a canary share in Consul, the tasks
    Marathon runs), `apply(state)` regenerates the mesh and applies it safely. `state()`
    says what they are made of now; `applied` is the state the mesh was started with.
    `wake` makes it look at once (a ConsulEmulator's `on_change`); it also looks every
    `poll` seconds, for what nothing announces (Marathon starting or killing tasks)."""

    def __init__(
        self,
        state: Callable[[], Hashable],
        apply: Callable[[Hashable], None],
        applied: Hashable,
        poll: float = 0.02,
    ):
        self.state, self.apply, self.applied, self.poll = state, apply, applied, poll
        self.woken = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sdb-follower", daemon=True)

    def __enter__(self) -> Follower:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.woken.set()
        self.thread.join(10)

    def wake(self) -> None:
        self.woken.set()

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.woken.wait(self.poll)
            self.woken.clear()
            now = self.state()
            if now != self.applied and not self.stopping.is_set():
                self.applied = now
                self.apply(now)
