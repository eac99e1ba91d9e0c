"""Fixtures for the Marathon tests: an emulator on a random port, a service repository
written per test, and a backend pointed at the emulator with short timeouts."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from marathon_helpers import write_environments

from skytrain.backends.marathon.backend import MarathonBackend
from skytrain.backends.marathon.client import MarathonClient
from skytrain.backends.marathon.gate import Gate
from skytrain.config import load_service
from skytrain.config.model import App
from skytrain.emulators.marathon import MarathonEmulator

IMAGE = "registry.example.com/shop"


@dataclass
class RecordingReporter:
    """Keeps what a backend reported, so tests can assert on progress."""

    updates: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def update(self, subject: str, state: str, detail: str = "") -> None:
        self.updates.append((subject, state, detail))

    def note(self, message: str) -> None:
        self.notes.append(message)

    def gating(self, subject: str, timeout: float) -> AbstractContextManager[None]:
        return nullcontext()

    def close(self) -> None:
        return None

    @property
    def states(self) -> list[str]:
        return [state for _, state, _ in self.updates]


@pytest.fixture
def emulator(marathon_emulator: MarathonEmulator) -> MarathonEmulator:
    return marathon_emulator


@pytest.fixture
def image() -> Callable[[str], str]:
    """The image reference a service written by `service(tag=...)` runs."""
    return lambda tag: f"{IMAGE}:{tag}"


@pytest.fixture
def reporter() -> RecordingReporter:
    return RecordingReporter()


def service_yaml(
    tag: str = "1",
    replicas: int = 2,
    grace: int = 60,
    checks: bool = True,
    cpu: str = "0.5",
    timeout: int = 5,
) -> str:
    health = (
        f"""
        healthCheck:
          path: /health
          gracePeriodSeconds: {grace}
          intervalSeconds: 1
          consecutiveFailures: 3"""
        if checks
        else ""
    )
    return textwrap.dedent(
        f"""\
        name: shop
        image: {IMAGE}:{tag}
        scheduler: marathon
        replicas: {replicas}
        port: 8080
        resources:
          cpu: {cpu}
          memory: 256Mi
        deploy:
          minimumHealthyCapacity: 1
          gateTimeoutSeconds: {timeout}{health}
        """
    )


@pytest.fixture
def service(tmp_path: Path, emulator: MarathonEmulator) -> Callable[..., App]:
    """Write deploy/application.yml with these settings and load the staging App."""
    directory = tmp_path / "shop"
    (directory / "deploy").mkdir(parents=True)
    (directory / "deploy" / "staging.yml").write_text("{}\n")
    environments = write_environments(tmp_path / "environments.yml", emulator.url)

    def make(**settings: object) -> App:
        (directory / "deploy" / "application.yml").write_text(service_yaml(**settings))
        _, apps = load_service(directory, str(environments), ["staging"], environ={})
        return apps["staging"]

    return make


@pytest.fixture
def backend(emulator: MarathonEmulator) -> Iterator[MarathonBackend]:
    client = MarathonClient(emulator.url, environ={}, timeout=0.5, connect_timeout=0.5, backoff=0.01)
    yield MarathonBackend(client, Gate(client, poll_seconds=0.02))
    client.close()
