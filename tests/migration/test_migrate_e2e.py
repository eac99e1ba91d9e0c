"""THE migration proof: `skytrain migrate cutover` and `fallback` run as an operator runs
them, against the emulated schedulers, the emulated Consul and the Skyline mesh as real
NGINX, while clients of both kinds (a connection per request, and keep-alive) send giphy
requests throughout. Not one request fails, and the SDB's X-Skyline-Served-By shows the
shares step by step. A Kubernetes version that fails half its requests, and pods that
become unready during the canary, make the first step fall back by itself (exit 1) with
not one failed GET reaching a caller."""

from __future__ import annotations

import math
from collections import Counter

from skytrain.migration import CUT_OVER_AT, PREVIOUS_INSTANCES
from skytrain.render.routing.canary import share_key

from .mesh_world import PATIENT, RELOADING, MeshWorld, mesh_world
from .world import ENV

REPORT_PROPERTY = "cutover"  # tests/conftest.py prints it at the end of the run
STEPS = "5,25,50,100"
SOAK = "1"
FAST = ("--soak", SOAK, "--probe-rate", "200", "--timeout", "20", *PATIENT)


def report(world: MeshWorld, title: str) -> str:
    lines = [title, f"{'client':22} {'phase':28} served by (X-Skyline-Served-By)"]
    for client in world.traffic.clients:
        for phase, counts in client.counts.items():
            lines.append(f"{client.name:22} {phase:28} {dict(counts)}")
        lines.append(f"{client.name:22} {'failed requests':28} {len(client.failures)}")
    total = sum(sum(c.values()) for client in world.traffic.clients for c in client.counts.values())
    failed = sum(len(client.failures) for client in world.traffic.clients)
    lines.append(f"total: {total} requests answered, {failed} failed")
    return "\n".join(lines)


def served(world: MeshWorld) -> dict[str, Counter[str]]:
    """Who served giphy, per phase, both clients together; not while NGINX reloaded from one
    phase's config to the next (those answers come from either, and none may fail either)."""
    out: dict[str, Counter[str]] = {}
    for client in world.traffic.clients:
        for phase, counts in client.counts.items():
            if not phase.endswith(RELOADING):
                out.setdefault(phase, Counter()).update(counts)
    return out


def plausible(counts: Counter[str], share: int) -> bool:
    """Kubernetes' part of a phase's answers is its share, give or take four standard
    deviations and the few requests in flight when the phase began."""
    total = sum(counts.values())
    expected = total * share / 100
    spread = 4 * math.sqrt(total * share / 100 * (1 - share / 100)) + 3
    return abs(counts["kubernetes"] - expected) <= spread


def test_cut_over_then_fall_back_under_load_loses_no_request(tmp_path, monkeypatch, record_property):
    with mesh_world(tmp_path, monkeypatch) as world:
        giphy = str(world.world.service("giphy"))
        world.traffic.wait(lambda: all(c.counts for c in world.traffic.clients), "traffic flows")
        done = world.migrate("cutover", giphy, "--env", ENV, "--steps", STEPS, *FAST)
        assert done.returncode == 0, done.stdout + done.stderr
        app = world.world.platform.marathon[ENV].app("giphy")
        assert app["instances"] == 0
        assert app["labels"]["SKYTRAIN_MARK_PREVIOUS_INSTANCES"] == "2"
        assert "SKYTRAIN_MARK_CUT_OVER_AT" in app["labels"]
        cut_over = world.settled(
            lambda phase: "Mesos at 0" in phase, "Marathon's tasks are gone from the SDB"
        )
        world.traffic.run_phase(cut_over, 50)

        back = world.migrate("fallback", giphy, "--env", ENV, "--timeout", "20")
        assert back.returncode == 0, back.stdout + back.stderr
        world.traffic.run_phase(
            world.settled(lambda phase: "Mesos at 0" not in phase, "Mesos is back in the SDB"), 50
        )
        world.traffic.stop()
        text = report(world, "migrate cutover then fallback, giphy under load")
        record_property(REPORT_PROPERTY, text + "\n" + done.stdout)

    assert [f for c in world.traffic.clients for f in c.failures] == []
    phases = served(world)
    shares = [int(p.split("share ")[1].split(",")[0]) for p in phases]
    assert shares[:5] == [0, 5, 25, 50, 100], phases
    for phase, counts in phases.items():
        share = int(phase.split("share ")[1].split(",")[0])
        if "Mesos at 0" in phase and share == 100:
            assert set(counts) == {"kubernetes"}, (phase, counts)
        elif "Mesos at 0" in phase:  # fallen back to share 0 while Marathon scales up: Kubernetes
            # still answers (the catch-all) until Mesos's tasks are back (the last few, in flight then)
            assert counts["kubernetes"] >= 0.8 * sum(counts.values()), (phase, counts)
        else:
            assert plausible(counts, share), (phase, counts)
    assert set(phases[cut_over]) == {"kubernetes"}
    assert set(phases[list(phases)[-1]]) == {"mesos"}, "fallen back: Mesos answers again"
    app = world.world.platform.marathon[ENV].app("giphy")
    assert app["instances"] == 2 and not {k for k in app["labels"] if k.startswith("SKYTRAIN_MARK_")}
    assert world.world.consul.value(share_key(ENV, "giphy")) is None
    for step in ("step 5 %", "step 25 %", "step 50 %", "step 100 %"):
        assert step in done.stdout and "passed" in done.stdout
    assert PREVIOUS_INSTANCES and CUT_OVER_AT


def _falls_back_by_itself(world: MeshWorld, break_kubernetes=None) -> str:
    giphy = str(world.world.service("giphy"))
    world.traffic.wait(lambda: all(c.counts for c in world.traffic.clients), "traffic flows")
    if break_kubernetes is not None:
        world.on_share = break_kubernetes
    done = world.migrate(
        "cutover",
        giphy,
        "--env",
        ENV,
        "--steps",
        STEPS,
        "--soak",
        "3",
        "--probe-rate",
        "200",
        "--timeout",
        "20",
        *PATIENT,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    world.traffic.run_phase(world.settled(), 30)
    world.traffic.stop()
    assert "step 5 % failed" in done.stdout and "fell back" in done.stdout
    assert "step 25 %" not in done.stdout
    assert [f for c in world.traffic.clients for f in c.failures] == [], "no failed GET reached a caller"
    assert world.share() == 0
    assert world.world.platform.marathon[ENV].app("giphy")["instances"] == 2
    assert set(served(world)[world.traffic.phase]) == {"mesos"}
    return done.stdout


def test_a_kubernetes_version_failing_half_its_requests_falls_back_at_the_first_step(
    tmp_path, monkeypatch, record_property
):
    with mesh_world(tmp_path, monkeypatch, kubernetes_fails_every=2) as world:
        out = _falls_back_by_itself(world)
        record_property(
            REPORT_PROPERTY, report(world, "Kubernetes answers 500 to every second request") + "\n" + out
        )
    assert "Kubernetes errs more" in out


def test_pods_becoming_unready_during_the_canary_fall_back_at_the_first_step(
    tmp_path, monkeypatch, record_property
):
    from skytrain.emulators.kubernetes_controllers import UNREADY

    def unready(world: MeshWorld, share: int) -> None:
        if share == 5:  # the first canary step is live: its pods stop being ready
            world.world.platform.controllers[ENV].reconcile("default", "giphy", UNREADY)
            world.kubernetes["giphy"].stop()

    with mesh_world(tmp_path, monkeypatch) as world:
        out = _falls_back_by_itself(world, unready)
        record_property(REPORT_PROPERTY, report(world, "giphy's pods become unready at 5 %") + "\n" + out)
    assert "not ready any more: 0 of 2 replicas ready" in out or "Kubernetes errs more" in out
