"""Run as the program (console script, `python -m skytrain`), skytrain spares the garbage
collector what start-up built, and leaves it on for the command, which may run for an hour
of deploys; called in-process with arguments (tests, the Jenkins library's helpers), it
leaves the collector as it found it."""

from __future__ import annotations

import gc
import textwrap

from skytrain.cli import main
from tests.support import EXAMPLES, probe

PROBE = textwrap.dedent(
    """
    import contextlib, gc, io, json, sys
    from skytrain import cli
    sys.argv = ["skytrain", *sys.argv[1:]]
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main()
    print(json.dumps({"code": code, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
    """
)


def test_as_the_program_start_up_is_frozen_and_the_collector_left_on():
    report = probe(PROBE, "validate", EXAMPLES / "giphy")
    assert report["code"] == 0
    assert report["enabled"]
    assert report["frozen"] > 10_000  # modules, classes, the parser: scanned never again


def test_called_with_arguments_it_leaves_the_collector_alone(capsys, monkeypatch):
    for variable in ("BUILD_TAG", "SKYTRAIN_ENVIRONMENTS"):
        monkeypatch.delenv(variable, raising=False)
    frozen = gc.get_freeze_count()
    assert main(["validate", str(EXAMPLES / "giphy")]) == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
