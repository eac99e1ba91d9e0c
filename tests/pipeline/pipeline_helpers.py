"""Shared fixtures: a service repository copied from an example, and the CLI as a process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ENVIRONMENTS = EXAMPLES / "skytrain-environments.yml"


def require_tool(name: str) -> str:
    """The tool's path; a skip when it is missing, but a failure under CI=true (CI installs it)."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed; CI must install it (apt-get install {name})")
        pytest.skip(f"{name} is not installed")
    return found


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SKYTRAIN_ENVIRONMENTS"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def skytrain(*args: str | Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m skytrain` as a fresh process, the way a user or Jenkins does."""
    return subprocess.run(
        [sys.executable, "-m", "skytrain", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=cli_env(**env),
        timeout=60,
    )


@pytest.fixture
def service(tmp_path: Path) -> Path:
    """A copy of examples/giphy (scheduler both) next to the platform's environments file."""
    shutil.copy(ENVIRONMENTS, tmp_path / ENVIRONMENTS.name)
    target = tmp_path / "giphy"
    shutil.copytree(EXAMPLES / "giphy", target)
    return target
