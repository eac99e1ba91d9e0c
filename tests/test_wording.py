"""One wording for every scheduler (skytrain/wording.py): a deploy, a scale and a rollback of the
example service on Marathon and Kubernetes at once, through the command line as CI runs it,
and the words of what they print checked line by line.

- every progress line names where it happens: `staging/giphy on <target>`;
- the verb is what happened: `scaled` after a scale, `rolled back` after a rollback;
- a count agrees with its noun (never `1 replicas`) and a part never exceeds its whole (never
  `3/2 healthy`: a rollback from 3 replicas to 2, the case that printed it).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable

from skytrain.wording import count, place, scaling, share, surplus

TARGETS = ("marathon", "kubernetes")
STAMP = r"\d\d:\d\d:\d\d "
Run = Callable[..., subprocess.CompletedProcess[str]]


def test_counts_agree_with_their_noun_and_a_part_never_exceeds_its_whole() -> None:
    assert [count(n, "replica") for n in (0, 1, 2)] == ["0 replicas", "1 replica", "2 replicas"]
    assert share(1, 1, "replica", "ready") == "1 of 1 replica ready"
    assert (
        share(3, 2, "replica", "healthy") + surplus(3, 2)
        == "2 of 2 replicas healthy, 1 more replica stopping"
    )
    assert surplus(2, 2) == surplus(1, 2) == ""
    assert scaling(2, 1) == "scale from 2 replicas to 1 replica"
    assert scaling(None, 1) == "scale to 1 replica"
    assert place("staging", "giphy", "kubernetes") == "staging/giphy on kubernetes"


def heads(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The first line of each target's result, by target."""
    return {
        target: line
        for line in done.stdout.splitlines()
        for target in TARGETS
        if line.startswith(place("staging", "giphy", target) + ":")
    }


def assert_worded_alike(done: subprocess.CompletedProcess[str]) -> None:
    """Every progress line names the place; no count disagrees with its noun; no part exceeds its whole."""
    progress = done.stderr.splitlines()
    assert progress, "a plain log (no terminal) shows progress"
    places = "|".join(re.escape(place("staging", "giphy", t)) for t in TARGETS)
    for line in progress:
        assert re.match(rf"{STAMP}({places})[:,]", line), line
    said = done.stdout + done.stderr
    assert not re.search(r"\b1 (replicas|instances|tasks|endpoints)\b", said)
    assert not re.search(r"\b\d+/\d+ (healthy|running)\b", said)
    for number, whole in re.findall(r"\b(\d+) of (\d+) replicas?\b", said):
        assert int(number) <= int(whole), said


def test_both_schedulers_say_what_happened_the_same_way(giphy_on_both: Run) -> None:
    operate = giphy_on_both
    deployed = operate("deploy")
    assert_worded_alike(deployed)
    assert {t: h.split(" (")[0] for t, h in heads(deployed).items()} == {
        t: f"staging/giphy on {t}: deployed" for t in TARGETS
    }

    operate("deploy", tag="v2")
    scaled_down = operate("scale", "--replicas", "1", tag="v2")
    assert_worded_alike(scaled_down)
    for target, head in heads(scaled_down).items():
        assert head.startswith(f"staging/giphy on {target}: scaled (revision "), head
        assert re.search(rf"{STAMP}staging/giphy on {target}: scaled \(revision ", scaled_down.stderr)
        assert re.search(
            rf"{STAMP}staging/giphy on {target}: applying \(scale from 2 replicas to 1 replica\)",
            scaled_down.stderr,
        )
    assert " deployed" not in scaled_down.stdout + scaled_down.stderr
    assert re.search(
        rf"{STAMP}staging/giphy on kubernetes: healthy \(1 of 1 replica ready\)", scaled_down.stderr
    )

    scaled_up = json.loads(operate("scale", "--replicas", "3", "--output", "json", tag="v2").stdout)
    assert {(r["target"], r["outcome"], r["operation"]) for r in scaled_up["results"]} == {
        (t, "deployed", "scale") for t in TARGETS
    }
    assert "applied scale from 1 replica to 3 replicas" in scaled_up["results"][0]["messages"]

    # back to v1's 2 replicas while 3 of v2 run: the counts of every version exceed the whole
    rolled = operate("rollback", tag="v2")
    assert_worded_alike(rolled)
    for target, head in heads(rolled).items():
        assert head.startswith(f"staging/giphy on {target}: rolled back (revision "), head
        assert re.search(rf"{STAMP}staging/giphy on {target}: rolled back \(revision ", rolled.stderr)
        assert re.search(
            rf"{STAMP}staging/giphy on {target}: applying \(rollback to revision ", rolled.stderr
        )
    assert " deployed" not in rolled.stdout + rolled.stderr
