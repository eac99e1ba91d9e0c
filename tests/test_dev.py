"""`skytrain dev`: the local platform, used as a person would, with the installed console
script from other processes (the platform runs in the background between the commands),
and its faults on purpose seen through real deploys and their gates."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from skytrain.cli import main as skytrain_main
from skytrain.commands.dev_platform import alive
from skytrain.emulators.local import LocalPlatform, control_endpoint, write_files
from tests.support import EXAMPLES, ROOT, cli_env, missing

GIPHY = str(EXAMPLES / "giphy")
CONSOLE_SCRIPT = Path(sys.executable).parent / "skytrain"


def installed_skytrain() -> Path:
    if not CONSOLE_SCRIPT.exists():
        missing(f"{CONSOLE_SCRIPT} is not installed", "make test installs skytrain into .venv first")
    return CONSOLE_SCRIPT


def run(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `skytrain ARGS` as its own process, from a shell with `env` exported."""
    return subprocess.run(
        [str(installed_skytrain()), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(**env),
        timeout=120,
    )


def exported(output: str) -> dict[str, str]:
    """The `export NAME=VALUE` lines of `skytrain dev up`, as a shell that evals them would have them."""
    pairs = [
        line.removeprefix("export ").split("=", 1)
        for line in output.splitlines()
        if line.startswith("export ")
    ]
    return dict(pairs)


def deployed_images(directory: Path, environment: str) -> dict[str, str]:
    status = run("dev", "status", "--dir", directory, "--output", "json")
    assert status.returncode == 0, status.stderr
    return {s["target"]: s["image"] for s in json.loads(status.stdout)["deployed"][environment]}


def test_up_deploy_on_both_status_crash_loop_rolls_back_and_down_leaves_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "platform"
    up = run("dev", "up", "--dir", directory)
    assert up.returncode == 0, up.stderr
    shell = exported(up.stdout)
    assert set(shell) == {"SKYTRAIN_ENVIRONMENTS", "KUBECONFIG"}
    pid = json.loads((directory / "platform.json").read_text())["pid"]
    try:
        again = run("dev", "up", "--dir", directory)
        assert "already up" in again.stdout and exported(again.stdout) == shell

        first = run("deploy", GIPHY, "--env", "staging", BUILD_TAG="1.0", **shell)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "staging/giphy on marathon: deployed" in first.stdout
        assert "staging/giphy on kubernetes: deployed" in first.stdout
        status = run("status", GIPHY, "--env", "staging", **shell)
        assert status.returncode == 0
        assert "staging/giphy on marathon: healthy" in status.stdout
        assert "staging/giphy on kubernetes: healthy" in status.stdout

        fault = run(
            "dev", "fault", "crash-loop", "--service", "giphy", "--env", "staging", "--dir", directory
        )
        assert fault.stdout.startswith("armed: the next rollout of giphy in staging crash-loops")
        crashed = run("deploy", GIPHY, "--env", "staging", BUILD_TAG="1.1", **shell)
        assert crashed.returncode == 1
        assert "staging/giphy on marathon: rolled-back" in crashed.stdout
        assert "staging/giphy on kubernetes: rolled-back" in crashed.stdout
        assert (
            "CrashLoopBackOff" in crashed.stdout and "tasks of the new version keep failing" in crashed.stdout
        )
        images = deployed_images(directory, "staging")
        assert images == {
            "marathon": "registry.example.com/giphy:1.0",
            "kubernetes": "registry.example.com/giphy:1.0",
        }
        assert deployed_images(directory, "dev") == {}  # another environment: nothing written there
    finally:
        down = run("dev", "down", "--dir", directory)
    assert down.returncode == 0 and f"(pid {pid})" in down.stdout
    # gone, or exited and waiting for init to reap it: nothing of it runs
    assert not alive(pid)
    assert sorted(p.name for p in directory.iterdir()) == ["platform.log"]
    assert run("dev", "status", "--dir", directory).returncode == 1
    refused = run("dev", "fault", "slow", "--dir", directory)
    assert refused.returncode == 2 and "no local platform runs" in refused.stderr


# -- the faults, in one process: a platform here, the commands through skytrain's main ----------


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPlatform]:
    with LocalPlatform(healthy_after=0.02) as running, control_endpoint(running) as control:
        state = write_files(tmp_path, running, control)
        for name in ("BUILD_TAG", "KUBERNETES_SERVICE_HOST", "MARATHON_USER", "MARATHON_PASSWORD"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SKYTRAIN_ENVIRONMENTS", state["environments"])
        monkeypatch.setenv("KUBECONFIG", state["kubeconfig"])
        yield running


def deploy(monkeypatch: pytest.MonkeyPatch, tag: str, *options: str) -> int:
    monkeypatch.setenv("BUILD_TAG", tag)
    return skytrain_main(["deploy", GIPHY, "--env", "dev", *options])


def test_image_pull_on_one_scheduler_fails_there_only(platform, monkeypatch, capsys) -> None:
    assert deploy(monkeypatch, "1.0") == 0
    platform.arm("image-pull", "dev", "giphy", targets=("marathon",))
    capsys.readouterr()
    assert deploy(monkeypatch, "1.1") == 1
    out = capsys.readouterr().out
    assert "dev/giphy on marathon: rolled-back" in out and "pull registry.example.com/giphy:1.1" in out
    assert "dev/giphy on kubernetes: deployed" in out
    assert platform.state()["faults"] == []  # spent


def test_a_slow_rollout_passes_late_or_times_out_and_rolls_back(platform, monkeypatch, capsys) -> None:
    assert deploy(monkeypatch, "1.0", "--target", "kubernetes") == 0
    platform.arm("slow", "dev", targets=("kubernetes",), seconds=0.3)
    assert deploy(monkeypatch, "1.1", "--target", "kubernetes") == 0
    platform.arm("slow", "dev", targets=("kubernetes",), seconds=30)
    capsys.readouterr()
    assert deploy(monkeypatch, "1.2", "--target", "kubernetes", "--timeout", "1") == 1
    out = capsys.readouterr().out
    assert "rolled-back" in out and "timed out" in out
    assert [s["image"] for s in platform.state()["deployed"]["dev"]] == ["registry.example.com/giphy:1.1"]


def test_5xx_are_retried_until_they_are_too_many(platform, monkeypatch, capsys) -> None:
    platform.arm("5xx", "dev", "giphy", count=2)
    assert deploy(monkeypatch, "1.0") == 0  # retried with backoff on both schedulers
    assert platform.state()["faults"] == []
    platform.arm("5xx", "dev", targets=("kubernetes",), count=100)
    capsys.readouterr()
    assert deploy(monkeypatch, "1.1", "--target", "kubernetes") == 1
    assert "503" in capsys.readouterr().out
    assert platform.clear() == 1 and platform.state()["faults"] == []


def test_faults_match_their_environment_and_service(platform, monkeypatch) -> None:
    armed = platform.arm("crash-loop", "staging", "giphy")
    other = platform.arm("crash-loop", "dev", "media")
    assert deploy(monkeypatch, "1.0") == 0  # giphy in dev: neither fault is for it
    assert armed.pending() == other.pending() == ["marathon", "kubernetes"]
    assert platform.clear() == 2 and not armed.pending()


@pytest.mark.parametrize(
    ("kind", "asked", "said"),
    [
        ("meltdown", {}, "no fault called 'meltdown'"),
        ("slow", {"environment": "qa"}, "no environment 'qa'"),
        ("slow", {"service": "Giphy"}, "is not a service name"),
        ("slow", {"seconds": 0}, "seconds is more than 0"),
        ("5xx", {"targets": ("nomad",)}, "the targets are marathon and kubernetes"),
    ],
)
def test_a_fault_that_makes_no_sense_is_refused(platform, kind, asked, said) -> None:
    from skytrain.emulators.local import BadFault

    with pytest.raises(BadFault, match=said):
        platform.arm(kind, **asked)
    assert platform.faults == []


# -- each emulator on its own -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "says"), [("kubernetes", "Kubernetes API emulator"), ("marathon", "Marathon 1.7 emulator")]
)
def test_each_emulator_has_help_and_runs_until_sigterm(module: str, says: str, tmp_path: Path) -> None:
    helped = subprocess.run(
        [sys.executable, "-m", f"skytrain.emulators.{module}", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert helped.returncode == 0 and helped.stdout.startswith(
        f"usage: python -m skytrain.emulators.{module}"
    )
    assert "skytrain dev up" in " ".join(helped.stdout.split())
    process = subprocess.Popen(
        [sys.executable, "-m", f"skytrain.emulators.{module}"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=cli_env(),
    )
    try:
        first = process.stdout.readline()
        assert first.startswith(says), first
        url = first.split(" on ")[1].split()[0]
        with urllib.request.urlopen(
            url + ("/version" if module == "kubernetes" else "/ping"), timeout=10
        ) as answer:
            assert answer.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        process.stdout.close()
