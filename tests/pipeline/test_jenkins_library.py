"""The Jenkins shared library (jenkins/vars/*.groovy) run by the real Groovy: one JVM runs
jenkins/test/harness.groovy, which binds recording stubs for the Jenkins steps and checks
the call sequence of each build kind. It reads the pipeline from a fresh
`skytrain pipeline show --format json`, so the library and the CLI cannot drift apart.
Skips without groovy, except under CI=true, where groovy is required."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pipeline_helpers import EXAMPLES, ROOT, require_tool, skytrain

JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"  # Debian's default-java path does not work for groovy


def test_library_call_sequences(tmp_path: Path) -> None:
    command = require_tool("groovy")
    shown = skytrain("pipeline", "show", EXAMPLES / "giphy", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    pipeline_json = tmp_path / "giphy-pipeline.json"
    pipeline_json.write_text(shown.stdout)
    env = dict(os.environ)
    if Path(JAVA_HOME).is_dir():
        env["JAVA_HOME"] = JAVA_HOME
    done = subprocess.run(
        [command, str(ROOT / "jenkins/test/harness.groovy"), str(pipeline_json)],
        capture_output=True,
        text=True,
        env=env,
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
