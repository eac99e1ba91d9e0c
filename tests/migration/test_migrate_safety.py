"""What keeps a migration safe: --dry-run changes nothing, a precondition that does not
hold changes nothing (exit 2), a second migrate of the service meets its lock, and a
signal during a step leaves the traffic where the last step put it and says how to go on."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest

from skytrain.backends.base import DeployOptions
from skytrain.config import load_service
from skytrain.emulators.platform import WRITES
from skytrain.render.routing.canary import share_key
from skytrain.schedulers import backend

from .mesh_world import mesh_world
from .world import ENV, World


def migrate(world: World, capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = world.skytrain("migrate", *args)
    out = capsys.readouterr()
    return code, out.out + out.err


def writes(world: World) -> list:
    marathon, kubernetes = world.platform.marathon[ENV], world.platform.kubernetes[ENV]
    return (
        [c for c in marathon.calls if c.method in WRITES]
        + [c for c in kubernetes.calls if c.method in WRITES and "skytrain-release-" not in c.path]
        + world.consul.writes
    )


def test_dry_run_prints_the_steps_and_changes_nothing(deployed, capsys):
    before = len(writes(deployed))
    code, out = migrate(
        deployed, capsys, "cutover", str(deployed.service("giphy")), "--env", ENV, "--dry-run"
    )
    assert code == 0
    assert "step 1: the SDB sends 5 % of giphy's requests to Kubernetes first" in out
    assert "step 4: the SDB sends 100 %" in out and "Marathon scaled to 0" in out
    code, out = migrate(
        deployed, capsys, "fallback", str(deployed.service("giphy")), "--env", ENV, "--dry-run"
    )
    assert code == 0 and "set the canary share of giphy to 0" in out
    code, out = migrate(
        deployed,
        capsys,
        "cutover",
        str(deployed.service("giphy")),
        "--env",
        ENV,
        "--dry-run",
        "--output",
        "json",
    )
    planned = json.loads(out)
    assert code == planned["exitCode"] == 0 and planned["dryRun"] and planned["outcome"] == "unchanged"
    assert len(planned["plan"]) == 6 and planned["plan"][1].startswith("step 1: the SDB sends 5 %")
    assert len(writes(deployed)) == before


def test_preconditions_that_do_not_hold_change_nothing(deployed, capsys):
    before = len(writes(deployed))
    code, out = migrate(deployed, capsys, "cutover", str(deployed.service("organization")), "--env", ENV)
    assert code == 2 and "organization is on Marathon" in out and "nothing was changed" in out
    # the bridge does not answer (nothing listens on the mesh's loopback ports)
    code, out = migrate(deployed, capsys, "cutover", str(deployed.service("giphy")), "--env", ENV)
    assert code == 2, out
    assert "preflight failed, nothing was changed" in out
    assert "the bridge at 127.0.0.1:" in out and "dependency organization does not answer" in out
    code, out = migrate(
        deployed, capsys, "cutover", str(deployed.service("giphy")), "--env", ENV, "--output", "json"
    )
    refused = json.loads(out)
    assert code == refused["exitCode"] == 2 and refused["outcome"] == "refused"
    ((kind, outcome, reason),) = [(s["kind"], s["outcome"], s["reason"]) for s in refused["steps"]]
    assert (kind, outcome) == ("preflight", "failed") and "dependency organization does not answer" in reason
    assert refused["messages"][0].startswith("preflight failed, nothing was changed")
    assert (refused["now"]["phase"], refused["now"]["share"]) == ("dual", 0)
    with pytest.raises(SystemExit) as bad:
        migrate(deployed, capsys, "cutover", str(deployed.service("giphy")), "--env", ENV, "--steps", "5,50")
    assert bad.value.code == 2 and "must rise from at least 1 and end at 100" in capsys.readouterr().err
    assert writes(deployed)[before:] == []


def test_a_second_migrate_meets_the_service_lock(deployed, capsys):
    _, by_env = load_service(deployed.service("giphy"), str(deployed.environments), only=[ENV], environ={})
    app = by_env[ENV]
    with backend("kubernetes", app.environment).hold(app, DeployOptions(timeout_seconds=1)):
        code, out = migrate(
            deployed, capsys, "cutover", str(deployed.service("giphy")), "--env", ENV, "--lock-wait", "0.3"
        )
    assert code == 2
    assert "another deploy of giphy holds the lock" in out and "nothing was changed" in out
    # ...and a deploy meets a migrate's lock the same way: the lock is the deploy lock
    ready = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with backend("kubernetes", app.environment).hold(app, DeployOptions(timeout_seconds=1)):
            ready.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    ready.wait(5)
    try:
        capsys.readouterr()
        code = deployed.skytrain(
            "deploy", deployed.service("giphy"), "--env", ENV, "--target", "kubernetes", "--timeout", "0.3"
        )
    finally:
        release.set()
        holder.join()
    assert code == 1 and "holds the lock" in capsys.readouterr().out  # a deploy's refusal


def said(out: str, output: str) -> str:
    """The sentences of a run's result: its text, or its JSON's messages and next steps."""
    if output == "text":
        return out
    report = json.loads(out)
    return "\n".join(report["messages"] + report["nextSteps"])


@pytest.mark.parametrize(("signum", "output"), [(signal.SIGINT, "text"), (signal.SIGTERM, "json")])
def test_a_signal_during_a_step_leaves_the_traffic_where_it_was_and_says_how_to_go_on(
    tmp_path, monkeypatch, signum, output
):
    with mesh_world(tmp_path, monkeypatch) as world:
        giphy = str(world.world.service("giphy"))
        applied = threading.Event()
        world.on_share = lambda _, share: applied.set() if share == 5 else None
        command = [sys.executable, "-m", "skytrain", "migrate", "cutover", giphy, "--env", ENV]
        command += ["--soak", "30", "--probe-rate", "50", "--timeout", "20", "--output", output]
        command += ["--environments", str(world.world.environments)]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=world.world.process_env()
        )
        try:
            assert applied.wait(60), "the first step was never applied"
            process.send_signal(signum)
            out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"still running 30 s after the signal:\n{out}\n{err}")
        finally:
            process.kill()
        assert process.returncode == 128 + signum, out + err
        assert world.world.consul.value(share_key(ENV, "giphy")) == "5", "the traffic stays where it was"
        sentences = said(out, output)
        assert "the SDBs were last told to send 5 % of giphy's requests to Kubernetes first" in sentences
        assert f"to continue the cut-over: skytrain migrate cutover {giphy} --env {ENV}" in sentences
        assert f"to fall back to Mesos: skytrain migrate fallback {giphy} --env {ENV}" in sentences
        if output == "json":
            report = json.loads(out)
            assert (report["outcome"], report["exitCode"]) == ("interrupted", 128 + signum)
            assert [step["kind"] for step in report["steps"]] == ["preflight", "baseline"], "no step ended"
            assert (report["now"]["phase"], report["now"]["share"]) == ("canary", 5)
            assert report["now"]["marathon"]["desired"] == 2
        # the lock was given back: the fall-back it suggests runs at once
        back = world.migrate("fallback", giphy, "--env", ENV, "--timeout", "20", "--lock-wait", "0")
        assert back.returncode == 0, back.stdout + back.stderr
        assert world.share() == 0
        world.traffic.stop()
    assert [f for c in world.traffic.clients for f in c.failures] == []
