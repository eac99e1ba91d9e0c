"""--quiet, --verbose and --color (skytrain/terminal.py): global options, taken before the command
and after it; colour by the option, then NO_COLOR, then FORCE_COLOR, then whether the stream is
a terminal. Deploys run against both schedulers' emulators as CI runs skytrain (no terminal)."""

from __future__ import annotations

import io
import itertools
import re
import subprocess
from collections.abc import Callable

import pytest

from skytrain.progress import PlainReporter
from skytrain.terminal import Terminal
from tests.support import EXAMPLES, skytrain

Run = Callable[..., subprocess.CompletedProcess[str]]
ESCAPE = "\x1b["
GREEN = "\x1b[32m"


class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("option", "environ", "tty", "coloured"),
    [
        ("auto", {}, True, True),
        ("auto", {}, False, False),
        ("auto", {"NO_COLOR": "1"}, True, False),
        ("auto", {"NO_COLOR": ""}, True, True),  # set but empty: as if unset (no-color.org)
        ("auto", {"FORCE_COLOR": "1"}, False, True),  # Jenkins' AnsiColor, no terminal
        ("auto", {"FORCE_COLOR": ""}, False, False),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),  # NO_COLOR first
        ("always", {"NO_COLOR": "1"}, False, True),  # the command line over the environment
        ("never", {"FORCE_COLOR": "1"}, True, False),
    ],
)
def test_colour_is_decided_by_the_option_then_no_color_then_force_color_then_the_terminal(
    option: str, environ: dict[str, str], tty: bool, coloured: bool
) -> None:
    assert Terminal(color=option, environ=environ).colour(Stream(tty)) is coloured


def test_a_plain_progress_line_colours_its_state_only_when_asked() -> None:
    shown = Stream(tty=False)
    reporter = PlainReporter(shown, colour=True)
    for state in ("scaled", "rolling out", "rollback-failed"):
        reporter.update("staging/giphy on marathon", state, "2 of 2 replicas healthy")
    reporter.close()
    lines = shown.getvalue().splitlines()
    assert lines[0].endswith("staging/giphy on marathon: \x1b[32mscaled\x1b[0m (2 of 2 replicas healthy)")
    assert "\x1b[33mrolling out\x1b[0m" in lines[1] and "\x1b[31mrollback-failed\x1b[0m" in lines[2]
    plain = Stream(tty=False)
    PlainReporter(plain).update("staging/giphy on marathon", "scaled")
    assert ESCAPE not in plain.getvalue()


def test_the_options_are_taken_before_and_after_the_command() -> None:
    for args in (
        ("--color", "never", "-q", "validate", EXAMPLES / "giphy"),
        ("validate", EXAMPLES / "giphy", "--color", "never", "--quiet"),
        ("-v", "pipeline", "show", EXAMPLES / "giphy"),
        ("pipeline", "show", EXAMPLES / "giphy", "--verbose"),
    ):
        done = skytrain(*args)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stdout.strip()  # the final result stays, quiet or not


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("-q", "validate", EXAMPLES / "giphy", "-v"), "--quiet and --verbose contradict each other"),
        (("validate", EXAMPLES / "giphy", "-q", "-v"), "not allowed with argument"),
        (("--color", "sometimes", "validate", EXAMPLES / "giphy"), "invalid choice: 'sometimes'"),
    ],
)
def test_contradictions_and_unknown_colours_are_usage_errors(args: tuple, said: str) -> None:
    done = skytrain(*args)
    assert done.returncode == 2
    assert said in done.stderr and "Traceback" not in done.stderr


def test_colour_in_a_ci_log_only_when_asked_and_never_against_no_color(giphy_on_both: Run) -> None:
    plain = giphy_on_both("deploy")
    assert ESCAPE not in plain.stderr and ESCAPE not in plain.stdout
    after = giphy_on_both("deploy", "--color", "always", tag="v2")
    assert re.search(rf"staging/giphy on kubernetes: {re.escape(GREEN)}deployed", after.stderr)
    assert re.search(rf"staging/giphy on marathon: {re.escape(GREEN)}deployed", after.stderr)
    before = giphy_on_both("scale", "--replicas", "3", before=("--color", "always"))
    assert GREEN + "scaled" in before.stderr
    forced = giphy_on_both("scale", "--replicas", "2", FORCE_COLOR="1")
    assert GREEN + "scaled" in forced.stderr
    refused = giphy_on_both("scale", "--replicas", "1", FORCE_COLOR="1", NO_COLOR="1")
    assert ESCAPE not in refused.stderr
    never = giphy_on_both("scale", "--replicas", "2", "--color", "never", FORCE_COLOR="1")
    assert ESCAPE not in never.stderr


def test_quiet_says_only_the_result_and_verbose_every_request(giphy_on_both: Run) -> None:
    quiet = giphy_on_both("deploy", before=("-q",))
    assert quiet.stderr == ""
    assert sorted(line.split(":")[0] for line in quiet.stdout.splitlines() if not line.startswith(" ")) == [
        "staging/giphy on kubernetes",
        "staging/giphy on marathon",
    ]

    verbose = giphy_on_both("deploy", "--verbose", tag="v2")
    lines = verbose.stderr.splitlines()
    stamp = r"\d\d:\d\d:\d\d "
    assert any(
        re.fullmatch(rf"{stamp}marathon: PUT http://127\.0\.0\.1:\d+/v2/apps/giphy: 200 in \d+ ms", x)
        for x in lines
    )
    assert any(
        re.fullmatch(
            rf"{stamp}kubernetes: PATCH https?://[\d.:]+/apis/apps/v1/namespaces/default/deployments/giphy\?\S+: 200 in \d+ ms",
            x,
        )
        for x in lines
    ), verbose.stderr
    # the progress is still there, and a request repeated with the same answer is folded
    assert any(re.fullmatch(rf"{stamp}staging/giphy on marathon: deployed \(revision .+\)", x) for x in lines)
    said = [re.sub(rf"^{stamp}| in \d+ ms$", "", x) for x in lines]
    assert all(one != next_one for one, next_one in itertools.pairwise(said))
    assert "m4rathon-pa55word" not in verbose.stderr  # the platform's Marathon password
