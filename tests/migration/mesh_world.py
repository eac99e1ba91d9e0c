"""The migration's end-to-end world: the staging platform and Consul (world.py) plus the
Skyline mesh as real NGINX on 127.0.0.1 (skytrain.emulators.mesh), with stand-ins for the
services' Mesos tasks and Kubernetes pods, and an SDB agent that plays what keeps a real
SDB current: whenever Consul's shares or Marathon's healthy tasks change, it regenerates
the routes (with the shares, as `skytrain routes` does) and applies them safely
(`nginx -t`, reload only when changed). Marathon killing or starting giphy's tasks stops
or starts its Mesos stand-in."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from skytrain.config import load_service
from skytrain.emulators.mesh import Follower, LocalMesh, StandIn
from skytrain.render.routing.canary import parse_share, share_key

from ..routing.harness import Client, Traffic, require_nginx
from .world import ENV, FLEET, World, world

GIPHY_PATH = "/service/giphy/search?q=cat"
# for runs that compare errors: on a machine the mesh, the clients and other tests share, a
# p95 over a few dozen requests says how busy the CPU was, not how good a version is
# (test_phases_and_compare.py checks the latency verdict)
PATIENT = ("--max-latency-increase-ms", "1000")
RELOADING = "(reloading)"


@dataclass
class MeshWorld:
    world: World
    mesh: LocalMesh
    traffic: Traffic
    kubernetes: dict[str, StandIn]
    mesos: dict[str, StandIn]
    timeline: list[tuple[float, str]] = field(default_factory=list)  # (when, phase) as the agent applied them
    on_share: Callable[[MeshWorld, int], None] | None = None  # called once a share is applied

    def migrate(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        """`skytrain migrate ARGS` as a fresh process, the way an operator runs it (`env` added
        to its environment)."""
        command = [
            sys.executable,
            "-m",
            "skytrain",
            "migrate",
            *args,
            "--environments",
            str(self.world.environments),
        ]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=self.world.process_env(**env),
            timeout=timeout,
            cwd=self.world.root,
        )

    def share(self) -> int:
        return parse_share(self.world.consul.value(share_key(ENV, "giphy")) or "0") or 0

    def _apps(self) -> list:
        apps = []
        for name in FLEET:
            _, by_env = load_service(
                self.world.service(name), str(self.world.environments), only=[ENV], environ={}
            )
            apps.append(by_env[ENV])
        return apps

    def _marathon_healthy(self, name: str) -> bool:
        found = self.world.platform.marathon[ENV].app(name)
        return bool(found) and found.get("tasksHealthy", 0) > 0

    def _state(self) -> tuple[int, bool, bool]:
        return self.share(), self._marathon_healthy("giphy"), self._marathon_healthy("organization")

    def configs(self, apps: list, state: tuple[int, bool, bool]) -> dict[str, str]:
        share, giphy_on_mesos, organization_on_mesos = state
        if giphy_on_mesos and "giphy" not in self.mesos:
            self.mesos["giphy"] = StandIn("giphy@mesos")  # Marathon started tasks
        if not giphy_on_mesos and "giphy" in self.mesos:
            self.mesos.pop("giphy").stop()  # Marathon killed them
        nodes = {
            "giphy": [self.mesos["giphy"].address] if "giphy" in self.mesos else [],
            "organization": [self.mesos["organization"].address] if organization_on_mesos else [],
        }
        addresses = {name: s.address for name, s in self.kubernetes.items()}
        return self.mesh.configs(apps, nodes, addresses, {"giphy": share} if share else {})

    def settled(self, condition: Callable[[str], bool] = lambda phase: True, what: str = "") -> str:
        """The phase, once the agent has finished reloading the mesh into one that meets
        `condition` (a step the migration just took may still be on its way)."""
        self.traffic.wait(
            lambda: not self.traffic.phase.endswith(RELOADING) and condition(self.traffic.phase),
            what or "the mesh settled",
        )
        return self.traffic.phase

    def phase_of(self, state: tuple[int, bool, bool]) -> str:
        share, on_mesos, _ = state
        return f"{len(self.timeline) + 1}. share {share}" + ("" if on_mesos else ", Mesos at 0")

    def follow(self, apps: list, state: tuple[int, bool, bool]) -> None:
        """The SDB agent's apply: the mesh for `state`, each phase timed and told to the traffic."""
        phase = self.phase_of(state)
        # answers given while NGINX reloads come from either config: counted apart
        self.traffic.phase = f"{phase} {RELOADING}"
        self.mesh.apply(self.configs(apps, state))
        self.timeline.append((time.monotonic(), phase))
        self.traffic.phase = phase
        if self.on_share is not None:
            self.on_share(self, state[0])


@contextlib.contextmanager
def mesh_world(
    tmp: Path, monkeypatch, kubernetes_fails_every: int = 0, load: bool = True
) -> Iterator[MeshWorld]:
    """giphy (both), media (Kubernetes) and organization (Marathon) deployed on staging,
    behind a real mesh, with giphy traffic from both client kinds running (unless not `load`:
    a test of what migrate reports needs only migrate's own probe)."""
    binary = require_nginx()
    with world(tmp, monkeypatch, healthy_after=0.05) as made:
        made.deploy()
        environment, _ = _environment(made)
        mesh = LocalMesh(tmp / "mesh", environment, binary)
        (tmp / "mesh").mkdir()
        made.write_environments(
            {
                "mesosAgents": ["127.0.0.1"],
                "kubernetesWorkers": [f"127.0.0.1:{mesh.ports['bridge']}"],
                "sdbHosts": [f"127.0.0.1:{mesh.ports['sdb']}"],
            }
        )
        kubernetes = {
            "giphy": StandIn("giphy@kubernetes", fail_every=kubernetes_fails_every),
            "media": StandIn("media@kubernetes"),
        }
        mesos = {"organization": StandIn("organization@mesos")}
        running = MeshWorld(made, mesh, Traffic(), kubernetes, mesos)
        apps = running._apps()
        state = running._state()
        mesh.start(running.configs(apps, state))
        running.traffic.phase = running.phase_of(state)
        running.timeline.append((time.monotonic(), running.traffic.phase))
        agent = Follower(running._state, lambda now: running.follow(apps, now), state)
        made.consul.on_change.append(agent.wake)
        local = mesh.ports["local"]
        for keep_alive in (False, True) if load else ():
            kind = "keep-alive" if keep_alive else "new-connection"
            running.traffic.add(
                Client(f"giphy {kind}", running.traffic, local, GIPHY_PATH, None, keep_alive, "served_by")
            )
        running.traffic.start()
        try:
            with agent:
                yield running
        finally:
            running.traffic.stop()
            mesh.stop()
            for stand_in in (*kubernetes.values(), *running.mesos.values()):
                stand_in.stop()


def _environment(made: World):
    environments, _ = load_service(made.service("giphy"), str(made.environments), only=[ENV], environ={})
    return environments[ENV], None
