"""SIGINT (Ctrl-C) and SIGTERM (a Jenkins abort) during a gate: the CLI, a real process,
stops waiting, records the applied revision as interrupted, frees the lock, says what runs
and how to roll back or resume, and exits 130 / 143; status and rollback then act on what
really runs. The signal is sent once the emulator has seen the apply and the gate's
watches, never after a guessed delay."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from skytrain.emulators import kubernetes_controllers as emu
from tests.kubernetes.conftest import app
from tests.kubernetes.test_cli import skytrain
from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES, ROOT, cli_env

SERVICE = str((EXAMPLES / "giphy").relative_to(ROOT))  # as a person types it, from the checkout
SIGNALS = pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])


def start_deploy(k8s, tag: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "skytrain", "deploy", SERVICE, "--env", "staging"]
    command += ["--target", "kubernetes", "--environments", str(EXAMPLE_ENVIRONMENTS)]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=cli_env(KUBECONFIG=str(k8s.kubeconfig), BUILD_TAG=tag),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def history(k8s) -> dict[str, str]:
    data = k8s.get("ConfigMap", "skytrain-release-giphy")["data"]
    return {key.removeprefix("revision-"): json.loads(value)["status"] for key, value in data.items()}


@SIGNALS
def test_a_signal_during_the_gate_records_the_revision_as_interrupted_and_frees_the_lock(k8s, signum, code):
    k8s.deploy(app("good"))
    k8s.deploy(app("v2"))  # revision 2 runs when the interrupted deploy starts
    k8s.controller.by_image = {"slowpoke": emu.STUCK}
    deploying = start_deploy(k8s, "slowpoke")
    k8s.emulator.wait_until(
        lambda: k8s.image() == "registry.example.com/giphy:slowpoke" and k8s.emulator.watching() == 3,
        timeout=30,
    )

    deploying.send_signal(signum)
    stdout, stderr = deploying.communicate(timeout=60)

    assert deploying.returncode == code, stderr
    assert "staging/giphy on kubernetes: interrupted (revision 3)" in stdout
    assert f"{signal.Signals(signum).name} while gating revision 3" in stdout
    assert "runs now: revision 3 (registry.example.com/giphy:slowpoke;" in stdout
    where = f"{SERVICE} --env staging --target kubernetes"
    assert f"to roll back: skytrain rollback {where} --to-revision 2 --force" in stdout
    assert f"skytrain deploy {where}" in stdout
    assert "Traceback" not in stderr
    assert history(k8s) == {"1": "deployed", "2": "deployed", "3": "interrupted"}
    assert k8s.lock_holder() is None

    status = skytrain(k8s, "status")
    assert status.returncode == 1  # revision 3 runs and is not healthy: said so, not "revision 2, healthy"
    assert status.stdout.splitlines()[0] == "staging/giphy on kubernetes: unhealthy (revision 3)"
    assert "    3  interrupted  registry.example.com/giphy:slowpoke" in status.stdout

    # a plain rollback goes to what ran before the interrupted revision, not further back
    k8s.finish_rollout()
    rolled = skytrain(k8s, "rollback", "--output", "json")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert json.loads(rolled.stdout)["results"][0]["messages"][0] == "restored revision 2 as revision 4"
    assert k8s.image() == "registry.example.com/giphy:v2"


def test_a_signal_while_waiting_for_the_lock_changes_nothing(k8s):
    k8s.deploy(app("good"))
    k8s.hold_lock("alice@jenkins-7 pid 42")
    deploying = start_deploy(k8s, "v2")
    # it lists the history again and again while the lock is held: it is waiting
    k8s.emulator.wait_until(lambda: len(k8s.emulator.calls_to("GET", "configmaps$")) >= 3, timeout=30)

    deploying.send_signal(signal.SIGTERM)
    stdout, stderr = deploying.communicate(timeout=60)

    assert deploying.returncode == 143, stderr
    assert "SIGTERM before anything was sent; nothing was changed" in stdout
    assert k8s.image() == "registry.example.com/giphy:good"
    assert history(k8s) == {"1": "deployed"}
