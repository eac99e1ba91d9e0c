"""`skytrain migrate cutover|fallback --output json`, run as an operator runs them against
the emulated schedulers, the emulated Consul and the mesh as real NGINX: one JSON object
per run and nothing else on stdout, each step with its evidence (a canary step's share,
both sides' counts, error rates and p95, its verdict), whether and why the traffic went
back to Mesos, where the service stands afterwards, read again, and the exit code; a
secret's value never in it. (The interrupted run's JSON: test_migrate_safety.py; finish:
test_migrate_finish.py.)"""

from __future__ import annotations

import json
from typing import Any

from skytrain.redact import MASK

from .mesh_world import PATIENT, MeshWorld, mesh_world
from .world import ENV

FAST = ("--steps", "50,100", "--soak", "0.2", "--probe-rate", "200", "--timeout", "20", *PATIENT)


def run_json(world: MeshWorld, *args: str, **env: str) -> dict[str, Any]:
    done = world.migrate(*args, "--output", "json", **env)
    report = json.loads(done.stdout)  # fails when anything but the one object is on stdout
    assert report["exitCode"] == done.returncode and done.stderr == "", done.stdout + done.stderr
    return report


def kinds(report: dict[str, Any]) -> list[str]:
    return [step["kind"] for step in report["steps"]]


def canary_steps(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in report["steps"] if step["kind"] == "canary"]


def test_a_cutover_a_fallback_and_a_failing_canary_each_report_one_json_result(tmp_path, monkeypatch):
    with mesh_world(tmp_path, monkeypatch, load=False) as world:
        giphy = str(world.world.service("giphy"))
        secret = world.world.root.name  # a part of every command the result suggests
        done = run_json(world, "cutover", giphy, "--env", ENV, *FAST, GIPHY_API_TOKEN=secret)
        back = run_json(world, "fallback", giphy, "--env", ENV, "--timeout", "20")

        def kubernetes_goes_bad(world: MeshWorld, share: int) -> None:
            if share == 50:
                world.kubernetes["giphy"].fail_every = 2

        world.on_share = kubernetes_goes_bad
        bad = run_json(world, "cutover", giphy, "--env", ENV, *FAST)

    assert (done["operation"], done["service"], done["environment"]) == ("cutover", "giphy", ENV)
    assert (done["outcome"], done["exitCode"], done["before"]) == ("done", 0, "dual")
    assert kinds(done) == ["preflight", "baseline", "canary", "canary", "scale"]
    assert all(step["outcome"] == "passed" for step in done["steps"])
    half, whole = canary_steps(done)
    assert (half["share"], whole["share"]) == (50, 100)
    for step in (half, whole):
        probe = step["probe"]
        assert sum(probe["servedBy"].values()) == probe["requests"] > 0
        assert probe["callerFailures"] == 0
        assert probe["kubernetes"]["failures"] == 0 and probe["kubernetes"]["errorRate"] == 0
        assert f"Kubernetes 0 of {probe['kubernetes']['tries']} failed" in step["message"]
    assert 0 < half["probe"]["kubernetes"]["tries"] < half["probe"]["requests"]
    assert whole["probe"]["kubernetes"]["tries"] == whole["probe"]["requests"], "100 %: Kubernetes first"
    assert whole["probe"]["kubernetes"]["p95Ms"] >= 0 and whole["probe"]["mesos"]["p95Ms"] >= 0
    assert f"p95 {whole['probe']['kubernetes']['p95Ms']:.1f} ms" in whole["message"]
    baseline = done["steps"][1]["probe"]
    assert baseline["kubernetes"] is None and baseline["mesos"]["tries"] == baseline["requests"]
    scale = done["steps"][-1]
    assert scale["instances"] == 0
    assert (scale["result"]["operation"], scale["result"]["target"], scale["result"]["outcome"]) == (
        "scale",
        "marathon",
        "deployed",
    )
    assert (done["fellBack"], done["fallBackReason"]) == (False, None)
    now = done["now"]
    assert (now["phase"], now["share"], now["previousInstances"]) == ("cut over", 100, 2)
    assert now["marathon"]["desired"] == 0 and now["kubernetes"]["ready"] == 2
    assert secret not in json.dumps(done), "a secret's value is masked"
    assert f"skytrain migrate finish {giphy.replace(secret, MASK)} --env {ENV} --yes" in done["nextSteps"][0]

    assert (back["outcome"], back["exitCode"], back["before"]) == ("done", 0, "cut over")
    assert [(s["kind"], s["outcome"], s.get("share"), s.get("instances")) for s in back["steps"]] == [
        ("share", "passed", 0, None),
        ("scale", "passed", None, 2),
    ]
    assert back["fellBack"] and back["fallBackReason"] == "asked for with migrate fallback"
    assert (back["now"]["phase"], back["now"]["share"], back["now"]["marathon"]["desired"]) == ("dual", 0, 2)
    assert back["messages"] == ["giphy is back on Mesos"]

    assert (bad["outcome"], bad["exitCode"]) == ("fell back", 1)
    assert kinds(bad) == ["preflight", "baseline", "canary", "share"]
    (failed,) = canary_steps(bad)
    assert (failed["share"], failed["outcome"]) == (50, "failed")
    assert failed["reason"].startswith("Kubernetes errs more")
    assert failed["probe"]["kubernetes"]["errorRate"] > 0.01 + failed["probe"]["mesos"]["errorRate"]
    assert failed["probe"]["callerFailures"] == 0, "a GET Kubernetes fails is retried on Mesos"
    assert bad["steps"][-1]["share"] == 0 and bad["steps"][-1]["outcome"] == "passed"
    assert bad["fellBack"] and bad["fallBackReason"] == f"step 50 % failed: {failed['reason']}"
    assert (bad["now"]["phase"], bad["now"]["share"], bad["now"]["marathon"]["desired"]) == ("dual", 0, 2)
    assert bad["nextSteps"] == [
        f"when the Kubernetes side is fixed: skytrain migrate cutover {giphy} --env {ENV}"
    ]
