"""Helpers the Marathon tests share: an environments file naming an emulator, and a deploy
of a service's rendered app. (A uniquely named module, not conftest.py, so that other test
folders' conftest modules never shadow it.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skytrain import lifecycle
from skytrain.backends.base import DeployOptions, DeployResult
from skytrain.backends.marathon.backend import MarathonBackend
from skytrain.config.model import App
from skytrain.progress import Reporter
from skytrain.schedulers import render


def write_environments(path: Path, url: str, version: str = "1.7") -> Path:
    """An environments file whose staging runs on the Marathon at `url`."""
    path.write_text(
        f"environments:\n  staging:\n    marathon:\n      url: {url}\n      version: '{version}'\n"
    )
    return path


def deploy(backend: MarathonBackend, app: App, reporter: Reporter, **options: Any) -> DeployResult:
    """Deploy `app` as rendered for Marathon through the lifecycle, with DeployOptions(**options)."""
    return lifecycle.deploy(backend, app, render(app, "marathon"), DeployOptions(**options), reporter)


def rollback(
    backend: MarathonBackend, app: App, to_version: str | None, reporter: Reporter, **options: Any
) -> DeployResult:
    return lifecycle.rollback(backend, app, to_version, DeployOptions(**options), reporter)


def scale(
    backend: MarathonBackend, app: App, instances: int, reporter: Reporter, **options: Any
) -> DeployResult:
    return lifecycle.scale(backend, app, instances, DeployOptions(**options), reporter)
