"""The Jenkins shared library (jenkins/vars/*.groovy) run by the real Groovy: one JVM runs
jenkins/test/harness.groovy, which binds recording stubs for the Jenkins steps and checks
the call sequence of each build kind. The command is the one docs/pipeline.md gives people,
taken from the doc and run as written by bash: it pipes a fresh `skytrain pipeline show
--format json` into the harness, so the library, the CLI and the doc cannot drift apart.
Skips without groovy, except under CI=true, where groovy is required."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from pipeline_helpers import ROOT, cli_env, require_tool

DOC = ROOT / "docs" / "pipeline.md"


def documented_harness_command() -> str:
    """The one line of a shell block in docs/pipeline.md that runs the harness."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines() if "jenkins/test/harness.groovy" in line]
    assert len(lines) == 1, f"docs/pipeline.md should give the harness command once, in a sh block: {lines}"
    return lines[0]


def skytrain_on_path(folder: Path) -> str:
    """A PATH whose `skytrain` is this checkout's, as the doc's reader has it installed."""
    script = folder / "skytrain"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m skytrain "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return os.pathsep.join([str(folder), os.environ.get("PATH", "")])


def test_the_documented_harness_command_passes_every_build_kind(tmp_path: Path) -> None:
    require_tool("groovy")
    command = documented_harness_command()
    assert "<(" not in command  # the groovy launcher's JVM reads a process substitution as empty
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=cli_env(PATH=skytrain_on_path(tmp_path)),
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "1..8"
    assert all(line.startswith("ok ") for line in lines[:-1]), done.stdout
    titles = " ".join(lines)
    for kind in ("branch build", "pull-request build", "failed gate", "refused approval"):
        assert kind in titles


def test_every_step_has_a_help_page() -> None:
    steps = sorted(p.stem for p in (ROOT / "jenkins/vars").glob("*.groovy"))
    assert steps == ["skytrainDeploy", "skytrainDiff", "skytrainPipeline"]
    for step in steps:
        assert (ROOT / "jenkins/vars" / f"{step}.txt").read_text().strip()
