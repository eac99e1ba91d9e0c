"""Suite-wide hooks and the emulator fixtures several test folders share. The cut-over test (tests/routing) attaches its request counts to its report
as the `cutover` user property; print them at the end of every run, also under pytest-xdist."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import EXAMPLES, skytrain

REPORT_PROPERTY = "cutover"


def pytest_terminal_summary(terminalreporter) -> None:
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", ()):
            if name == REPORT_PROPERTY and report.when == "call":
                terminalreporter.write_sep("-", f"cut-over counts: {report.nodeid}")
                terminalreporter.write_line(value)


# -- emulators shared by the backend, diff and pipeline tests ---------------------------------
# Imported lazily: collecting a test that needs no emulator must not load kmock or aiohttp.


@pytest.fixture
def kube_cluster(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """(emulator, controller, kubeconfig): the emulated Kubernetes API with its controllers,
    and KUBECONFIG pointing at it (contexts dev, staging and production)."""
    from skytrain.emulators.kubernetes_controllers import cluster

    with cluster(tmp_path) as running:
        monkeypatch.setenv("KUBECONFIG", str(running[2]))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield running


@pytest.fixture
def marathon_emulator(request: pytest.FixtureRequest):
    """The emulated Marathon, its tasks healthy at once; flavour "1.7" unless a test asks for
    another with `@pytest.mark.parametrize("marathon_emulator", ["1.4"], indirect=True)`."""
    from skytrain.emulators.marathon import Behaviour, MarathonEmulator

    flavour = getattr(request, "param", "1.7")
    with MarathonEmulator(flavour=flavour, behaviour=Behaviour.healthy(0.02)) as marathon:
        yield marathon


@pytest.fixture
def giphy_on_both(tmp_path: Path) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """`run(COMMAND, *ARGS, before=(), tag="v1", **env)`: `skytrain *before COMMAND <giphy> --env
    staging ... *ARGS` as a fresh process (as CI runs it) against a Marathon and a Kubernetes
    emulator, giphy with its staging overlay only; BUILD_TAG=tag."""
    from skytrain.emulators.platform import emulated_platform

    service = tmp_path / "giphy"
    shutil.copytree(EXAMPLES / "giphy", service)
    for overlay in ("dev", "production"):
        (service / "deploy" / f"{overlay}.yml").unlink()
    (tmp_path / "platform").mkdir()
    with emulated_platform(tmp_path / "platform", names=("staging",)) as platform:

        def run(
            command: str, *args: str, before: tuple[str, ...] = (), tag: str = "v1", **env: str
        ) -> subprocess.CompletedProcess[str]:
            done = skytrain(
                *before,
                command,
                service,
                "--env",
                "staging",
                "--environments",
                platform.environments,
                *args,
                **{"BUILD_TAG": tag, **platform.process_env(), **env},
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return done

        yield run
