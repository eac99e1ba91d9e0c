"""The world the migration tests run in: a copy of the example fleet (finish edits its
files), the staging platform (Marathon and Kubernetes emulators), an emulated Consul for
the canary shares, and an environments file aiming staging at all of them."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from skytrain.cli import main
from skytrain.emulators.consul import ConsulEmulator
from skytrain.emulators.platform import Platform, emulated_platform
from tests.support import EXAMPLES, cli_env, closed_port

ENV = "staging"
FLEET = ("giphy", "media", "organization")  # both, Kubernetes only, Marathon only


def loopback_mesh() -> dict:
    """Mesh nodes on 127.0.0.1 where nothing listens: a test without a mesh never sends a
    request anywhere else."""
    return {
        "mesosAgents": ["127.0.0.1"],
        "kubernetesWorkers": [f"127.0.0.1:{closed_port()}"],
        "sdbHosts": [f"127.0.0.1:{closed_port()}"],
    }


@dataclass
class World:
    root: Path
    platform: Platform
    consul: ConsulEmulator
    fleet: Path
    environments: Path
    mesh: dict = field(default_factory=loopback_mesh)

    def service(self, name: str) -> Path:
        return self.fleet / name

    def write_environments(self, mesh: dict | None = None) -> None:
        """staging → the emulators; `mesh` (the LocalMesh's nodes) replaces the example nodes."""
        emulated = yaml.safe_load(self.platform.environments.read_text())["environments"][ENV]
        self.mesh = {**(mesh or self.mesh), "consul": self.consul.url}
        document = {"environments": {ENV: {**emulated, "mesh": self.mesh}}}
        self.environments.write_text(yaml.safe_dump(document, sort_keys=False))

    def process_env(self, **extra: str) -> dict[str, str]:
        return cli_env(**self.platform.process_env(), **extra)

    def skytrain(self, *args: str | Path, build_tag: str = "1.0") -> int:
        """`skytrain ARGS --environments FILE` in this process (the emulators live here)."""
        os.environ["BUILD_TAG"] = build_tag
        return main([*map(str, args), "--environments", str(self.environments)])

    def deploy(self, names: Sequence[str] = FLEET, build_tag: str = "1.0") -> None:
        code = self.skytrain("deploy", *(self.service(n) for n in names), "--env", ENV, build_tag=build_tag)
        assert code == 0, f"deploying {names} exited {code}"

    def set_share(self, name: str, share: int) -> None:
        from skytrain.backends.consul import ConsulKV
        from skytrain.render.routing.canary import share_key

        ConsulKV(self.consul.url).put(share_key(ENV, name), str(share))


@contextlib.contextmanager
def world(
    tmp: Path, monkeypatch, healthy_after: float = 0.02, by_image: dict | None = None
) -> Iterator[World]:
    fleet = tmp / "services"
    for name in FLEET:  # the base and the staging overlay: the only environment here
        (fleet / name / "deploy").mkdir(parents=True)
        for file in ("application.yml", f"{ENV}.yml"):
            shutil.copy(EXAMPLES / name / "deploy" / file, fleet / name / "deploy" / file)
    (tmp / "platform").mkdir()
    with (
        emulated_platform(tmp / "platform", healthy_after, names=(ENV,), by_image=by_image) as platform,
        ConsulEmulator() as consul,
    ):
        for key, value in platform.process_env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        monkeypatch.delenv("SKYTRAIN_ENVIRONMENTS", raising=False)
        monkeypatch.setenv("BUILD_TAG", "1.0")
        made = World(tmp, platform, consul, fleet, tmp / "skytrain-environments.yml")
        made.write_environments()
        yield made
