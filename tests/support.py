"""What every test folder shares, so that each folder does not grow its own copy: where the
repository and its examples are, the CLI run as a fresh process (the way a user or Jenkins
runs it), tools and reference data that may be missing on a laptop but never in CI, and the
network libraries the pure path must not import.

Imported as `tests.support`: pytest puts the repository root on sys.path because tests/
is a package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE_ENVIRONMENTS = EXAMPLES / "skytrain-environments.yml"
# reference data beside the checkout (a CI clone has shared/ next to it): read at test
# time, never copied into the repository
SHARED_REFERENCE = ROOT.parent / "shared" / "reference"

# the machine's settings that would change what skytrain does: a test sets them or goes without
_MACHINE_SETTINGS = ("BUILD_TAG", "SKYTRAIN_ENVIRONMENTS", "KUBERNETES_SERVICE_HOST")
_MACHINE_PREFIXES = ("MARATHON_",)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI process: this checkout's skytrain first on PYTHONPATH, none of
    the machine's BUILD_TAG, SKYTRAIN_ENVIRONMENTS, in-cluster or Marathon settings; then `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _MACHINE_SETTINGS and not k.startswith(_MACHINE_PREFIXES)
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def skytrain(*args: str | Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m skytrain ARGS` as a fresh process with `cli_env(**env)`."""
    return subprocess.run(
        [sys.executable, "-m", "skytrain", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=cli_env(**env),
        timeout=60,
    )


def probe(code: str, *args: str | Path) -> Any:
    """Run `python -c CODE ARGS` as a fresh process (as `skytrain` runs) and read the JSON it
    prints: what a process looked like from inside (the modules it loaded...)."""
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(),
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def missing(what: str, ci_fix: str) -> NoReturn:
    """Skip the test because `what`; under CI=true, where everything the tests need is
    provided, fail instead and say how CI provides it (`ci_fix`)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} but CI=true: {ci_fix}")
    pytest.skip(what)


def require(found: str | None, name: str, package: str) -> str:
    """`found` (a tool's path); without it a skip, but a failure under CI=true, where .ci/run
    installs every tool the tests need."""
    if found is None:
        missing(f"{name} is not installed", f".ci/run must install {package}")
    return found


def shared_reference(name: str) -> Path:
    """The folder `name` of ../shared/reference; without it a skip, but a failure under
    CI=true, where shared/ is always beside the clone."""
    folder = SHARED_REFERENCE / name
    if not folder.is_dir():
        missing(f"{folder} is missing", "CI clones the repository with shared/ beside it")
    return folder


def require_tool(name: str, package: str | None = None) -> str:
    """The path of `name` on PATH, as `require` says."""
    return require(shutil.which(name), name, package or name)


# what the pure path (validate, render, routes, the offline diff) must never load
NETWORK_MODULES = (
    "kubernetes",
    "requests",
    "urllib3",
    "aiohttp",
    "httpx",
    "rich",
    "jenkins",
    "marathon",
    "http",
    "socket",
    "ssl",
    "urllib.request",
)


def network_modules(loaded: Iterable[str]) -> list[str]:
    """The modules of `loaded` that belong to a network library (or to NETWORK_MODULES)."""
    return sorted(m for m in loaded if any(m == bad or m.startswith(bad + ".") for bad in NETWORK_MODULES))


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on: a scheduler that is down."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_status_is_a_sentence(
    text: subprocess.CompletedProcess[str], as_json: subprocess.CompletedProcess[str], title: str, said: str
) -> None:
    """`skytrain status` of a scheduler that cannot be read, in text and in JSON: exit 1 and
    the same sentence, no traceback."""
    assert text.returncode == as_json.returncode == 1
    assert text.stdout.strip() == f"{title}: {said}"
    assert json.loads(as_json.stdout)["results"][0]["error"] == said
    for done in (text, as_json):
        assert "Traceback" not in done.stderr
