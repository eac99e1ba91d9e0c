"""SIGINT and SIGTERM during a Marathon gate: the CLI (a real process) stops waiting, says
which version runs and how to roll back or resume, and exits 130 / 143; Marathon goes on
with its deployment, and status and rollback act on what really runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from marathon_helpers import deploy

from skytrain.emulators.marathon import Behaviour
from tests.support import ROOT, cli_env


def cli(shop, *args: str) -> list[str]:
    directory, environments = shop
    command = [sys.executable, "-m", "skytrain", *args[:1], str(directory), "--env", "staging"]
    return [*command, "--target", "marathon", "--environments", str(environments), *args[1:]]


def run(shop, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(SKYTRAIN_MARATHON_TIMEOUT="2")
    return subprocess.run(cli(shop, *args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def gate_looked(requests: list[tuple[str, str]], times: int) -> bool:
    """Whether the app was read `times` times since the last PUT of it."""
    puts = [i for i, request in enumerate(requests) if request == ("PUT", "/v2/apps/shop")]
    return bool(puts) and requests[puts[-1] :].count(("GET", "/v2/apps/shop")) >= times


@pytest.fixture
def shop(tmp_path, service):
    service()
    return tmp_path / "shop", tmp_path / "environments.yml"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_gate_says_what_runs_and_how_to_roll_back(
    emulator, service, shop, backend, reporter, image, signum, code
):
    first = deploy(backend, service(tag="1"), reporter)
    emulator.behave(image("2"), Behaviour.stalled())
    service(tag="2", timeout=60)
    before = len(emulator.requests)
    gating = subprocess.Popen(
        cli(shop, "deploy"),
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # the PUT went through and the gate has looked at the app twice since
    emulator.wait_until(lambda: gate_looked(emulator.requests[before:], times=2), timeout=30)

    gating.send_signal(signum)
    stdout, stderr = gating.communicate(timeout=60)

    assert gating.returncode == code, stderr
    version = emulator.app("/shop")["version"]
    assert f"staging/shop on marathon: interrupted (revision {version})" in stdout
    assert (
        f"runs now: version {version} (registry.example.com/shop:2): 0 of 2 replicas healthy, "
        "2 replicas of an earlier version still running, deployment"
    ) in stdout
    assert f"--env staging --target marathon --to-revision {first.revision} --force" in stdout
    assert "Traceback" not in stderr
    assert emulator.deployments  # Marathon goes on with it: nothing was cancelled behind the user's back

    status = run(shop, "status", "--output", "json")
    assert status.returncode == 1
    (result,) = json.loads(status.stdout)["results"]
    assert (result["revision"], result["healthy"]) == (version, False)
    assert [h["outcome"] for h in result["history"]] == ["running", ""]

    rolled = run(shop, "rollback", "--to-revision", first.revision, "--force")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert emulator.app("/shop")["container"]["docker"]["image"] == image("1")
