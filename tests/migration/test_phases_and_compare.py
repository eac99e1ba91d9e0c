"""The pure half: a phase for every combination that matters, and the comparison of the
two sides (the early stop needs overwhelming evidence; the end of a soak compares rates and
p95s)."""

from __future__ import annotations

import pytest

from skytrain.migration import board
from skytrain.migration.compare import (
    MIN_LATENCY_SAMPLES,
    Sample,
    Side,
    Thresholds,
    early,
    sample_from_headers,
    verdict,
)
from skytrain.migration.phases import Copies, Phase, Seen, stand

READY, ZERO, UNREADY = Copies(2, 2, True), Copies(0, 0, True), Copies(2, 0, False)


def seen(config: str, marathon: Copies | None, kubernetes: Copies | None, share: int | None, **extra) -> Seen:
    return Seen(
        "giphy", "prod", "svc/giphy", config in ("marathon", "both"), config in ("kubernetes", "both"),
        marathon, kubernetes, share, **extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("observed", "phase", "share", "said"),
    [
        (seen("marathon", READY, None, None), Phase.ON_MARATHON, 0, ""),
        (seen("both", READY, READY, None), Phase.DUAL, 0, ""),
        (seen("both", READY, READY, 25), Phase.CANARY, 25, ""),
        (seen("both", READY, READY, 100), Phase.CANARY, 100, ""),
        (seen("both", ZERO, READY, 100, previous_instances=2), Phase.CUT_OVER, 100, ""),
        (seen("kubernetes", None, READY, None), Phase.ON_KUBERNETES, 100, ""),
        (seen("both", READY, None, None), Phase.INCONSISTENT, 0, "nothing runs on Kubernetes"),
        (seen("both", READY, UNREADY, 25), Phase.INCONSISTENT, 25, "while it gets 25 %"),
        (seen("both", READY, UNREADY, None), Phase.INCONSISTENT, 0, "deployed but not healthy"),
        (seen("both", ZERO, READY, 50), Phase.INCONSISTENT, 100, "still prefers Mesos for 50 %"),
        (seen("both", ZERO, READY, 100), Phase.INCONSISTENT, 100, "no previous instance count"),
        (seen("marathon", READY, None, 5), Phase.INCONSISTENT, 5, "on Marathon only"),
        (seen("kubernetes", ZERO, READY, None), Phase.INCONSISTENT, 100, "Marathon app still exists"),
        (seen("kubernetes", None, READY, 100), Phase.INCONSISTENT, 100, "still recorded"),
        (seen("both", None, READY, 100), Phase.INCONSISTENT, 100, "no Marathon app"),
    ],
)
def test_the_phase_of_each_combination(observed, phase, share, said):
    standing = stand(observed)
    assert (standing.phase, standing.share) == (phase, share)
    assert said in standing.problem
    assert bool(standing.problem) == (phase is Phase.INCONSISTENT)


def test_markdown_and_text_boards_hold_every_column():
    standings = [stand(seen("both", READY, READY, 25)), stand(seen("both", READY, None, None))]
    text = board.markdown(standings)
    assert "| service | phase | Marathon | Kubernetes | share | last step | next |" in text
    assert (
        "| giphy | canary 25 % | 2/2 | 2/2 | 25 % |  | `skytrain migrate cutover svc/giphy --env prod` |"
        in text
    )
    assert "- **giphy**: the config says both, but nothing runs on Kubernetes" in text
    assert "  ! giphy: the config says both" in board.text(standings)


def side(tries: int, failures: int, ms: float = 2.0) -> Side:
    out = Side()
    for i in range(tries):
        status = "500" if i < failures else "200"
        out.add(Sample("canary", (status,), (f"{ms / 1000}",), "kubernetes", 200))
    return out


LIMITS = Thresholds(0.01, 100)


def test_two_failures_in_four_stop_a_step_early_but_one_rare_failure_does_not():
    assert early(side(4, 2), side(400, 0), LIMITS) is not None
    assert early(side(200, 1), side(400, 0), LIMITS) is None
    assert early(side(5000, 40), side(400, 0), LIMITS) is None, "0.8 % is within 1 point of Mesos' 0 %"
    assert verdict(side(200, 1), side(400, 0), LIMITS) is None
    assert "errs more" in verdict(side(50, 2), side(400, 0), LIMITS)


def test_latency_and_silence_fail_a_step_at_the_end():
    assert "slower" in verdict(side(50, 0, ms=250), side(50, 0, ms=2), LIMITS)
    assert verdict(side(50, 0, ms=90), side(50, 0, ms=2), LIMITS) is None
    assert "no probe request reached Kubernetes" in verdict(Side(), side(50, 0), LIMITS)


def test_a_few_slow_answers_are_no_evidence_of_a_slower_side():
    """A p95 needs MIN_LATENCY_SAMPLES successful first tries: at a 5 % step a handful of
    Kubernetes answers, one of them slow, must not fall back."""
    few = side(MIN_LATENCY_SAMPLES - 1, 0, ms=250)
    assert few.p95_ms is None
    assert verdict(few, side(400, 0), LIMITS) is None
    assert "slower" in verdict(side(MIN_LATENCY_SAMPLES, 0, ms=250), side(400, 0), LIMITS)


def test_a_sample_reads_the_sdb_headers():
    sample = sample_from_headers(
        {
            "x-skyline-route": "canary",
            "x-skyline-upstream-status": "500, 200",
            "x-skyline-upstream-time": "0.004, 0.001",
            "x-skyline-served-by": "mesos",
        },
        200,
    )
    assert sample.kubernetes_first and sample.first_failed
    assert (sample.first_ms, sample.served_by) == (4.0, "mesos")
    mesos = sample_from_headers({"x-skyline-route": "mesos", "x-skyline-upstream-status": "200"}, 200)
    assert mesos.mesos_first and not mesos.first_failed
