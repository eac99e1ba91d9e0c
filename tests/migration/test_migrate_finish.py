"""`skytrain migrate finish`: only after the cut-over has soaked; the overlay edited to
scheduler: kubernetes with comments and layout kept (one line in the diff); nothing live
changes without --yes; with it the Marathon app and the canary entry go."""

from __future__ import annotations

import json

from skytrain import lifecycle
from skytrain.backends.base import DeployOptions
from skytrain.config import load_service
from skytrain.migration import CUT_OVER_AT, PREVIOUS_INSTANCES
from skytrain.progress import NullReporter
from skytrain.render.routing.canary import record_key, share_key
from skytrain.schedulers import backend

from .world import ENV, World


def cut_over(world: World, at: str = "2020-01-01T00:00:00Z") -> None:
    """giphy as `migrate cutover` leaves it: share 100, Marathon at 0 with its count and time."""
    _, by_env = load_service(world.service("giphy"), str(world.environments), only=[ENV], environ={})
    app = by_env[ENV]
    result = lifecycle.scale(
        backend("marathon", app.environment),
        app,
        0,
        DeployOptions(timeout_seconds=10),
        NullReporter(),
        marks={PREVIOUS_INSTANCES: "2", CUT_OVER_AT: at},
    )
    assert result.ok, result.messages
    world.set_share("giphy", 100)


def finish(world: World, capsys, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = world.skytrain("migrate", "finish", world.service("giphy"), "--env", ENV, *extra)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_finish_waits_for_the_soak_then_edits_the_files_and_with_yes_removes_marathon(deployed, capsys):
    overlay = deployed.service("giphy") / "deploy" / f"{ENV}.yml"
    overlay.write_text("# staging: two copies are enough here\nreplicas: 2  # keep in step with the HPA\n")
    before = overlay.read_text()
    code, out, err = finish(deployed, capsys)
    assert code == 2 and "is dual" in out + err, "not cut over yet"

    from datetime import UTC, datetime

    cut_over(deployed, at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    code, out, err = finish(deployed, capsys)
    assert code == 2 and "must soak 3600s before finish" in out
    assert overlay.read_text() == before

    code, out, _ = finish(deployed, capsys, "--soak", "0", "--dry-run")
    assert code == 0 and "+scheduler: kubernetes" in out and overlay.read_text() == before

    code, out, _ = finish(deployed, capsys, "--soak", "0")
    assert code == 0, out
    assert (
        overlay.read_text()
        == "# staging: two copies are enough here\nscheduler: kubernetes\nreplicas: 2  # keep in step with the HPA\n"
    )
    assert "--- a/deploy/staging.yml" in out and "+scheduler: kubernetes" in out
    assert "nothing live changed" in out
    marathon = deployed.platform.marathon[ENV]
    assert marathon.app("giphy") is not None and deployed.consul.value(share_key(ENV, "giphy")) == "100"

    code, out, _ = finish(deployed, capsys, "--soak", "0", "--yes")
    assert code == 0, out
    assert marathon.app("giphy") is None
    assert deployed.consul.value(share_key(ENV, "giphy")) is None
    assert deployed.consul.value(record_key(ENV, "giphy")) is None
    capsys.readouterr()
    assert (
        deployed.skytrain("migrate", "status", "--fleet", deployed.fleet, "--env", ENV, "--format", "json")
        == 0
    )
    giphy = next(
        s
        for s in json.loads(capsys.readouterr().out)["environments"][ENV]["services"]
        if s["service"] == "giphy"
    )
    assert giphy["phase"] == "on Kubernetes"


def test_a_symlinked_overlay_is_never_written_through(deployed, capsys, tmp_path):
    cut_over(deployed)
    overlay = deployed.service("giphy") / "deploy" / f"{ENV}.yml"
    elsewhere = tmp_path / "elsewhere.yml"
    elsewhere.write_text(overlay.read_text())
    overlay.unlink()
    overlay.symlink_to(elsewhere)
    code, out, err = finish(deployed, capsys, "--soak", "0")
    assert code == 2
    assert "link" in out + err
    assert "scheduler" not in elsewhere.read_text()


def test_finish_as_json_reports_the_edit_and_with_yes_what_it_removed(deployed, capsys):
    cut_over(deployed)
    code, out, _ = finish(deployed, capsys, "--output", "json")
    edited = json.loads(out)
    assert code == edited["exitCode"] == 0
    assert (edited["operation"], edited["outcome"], edited["before"]) == ("finish", "done", "cut over")
    (edit,) = edited["steps"]
    assert (edit["kind"], edit["outcome"]) == ("edit", "passed")
    assert edit["file"].endswith(f"giphy/deploy/{ENV}.yml") and "+scheduler: kubernetes" in edit["diff"]
    assert "nothing live changed" in edited["nextSteps"][0] and "--yes" in edited["nextSteps"][0]
    assert edited["now"]["marathon"]["desired"] == 0 and edited["now"]["share"] == 100, "nothing live changed"

    code, out, _ = finish(deployed, capsys, "--soak", "0", "--yes", "--output", "json")
    removed = json.loads(out)
    assert code == removed["exitCode"] == 0
    assert [(s["kind"], s["outcome"]) for s in removed["steps"]] == [
        ("edit", "passed"),
        ("remove", "passed"),
        ("forget", "passed"),
    ]
    assert removed["steps"][0]["diff"] == "", "the files said kubernetes already"
    assert (removed["now"]["phase"], removed["now"]["marathon"], removed["now"]["share"]) == (
        "on Kubernetes",
        None,
        100,
    )
    assert removed["fellBack"] is False and removed["nextSteps"] == []
