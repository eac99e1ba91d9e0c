"""`skytrain pipeline show`: the stages as text for people and JSON for Jenkins, on the
pure path (no backend, no rich imported), like validate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline_helpers import EXAMPLES, ROOT, cli_env, skytrain


def test_show_text_lists_stages_with_targets_approval_and_gates() -> None:
    done = skytrain("pipeline", "show", EXAMPLES / "giphy")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("giphy pipeline (default")
    assert lines[1].split()[:2] == ["1.", "validate"]
    assert "2. dev" in lines[2] and "deploy marathon, kubernetes; gate 300s; roll back on failure" in lines[2]
    assert "4. production" in lines[4] and "approval, then deploy marathon; gate 600s" in lines[4]


def test_show_json_is_what_the_jenkins_library_reads() -> None:
    done = skytrain("pipeline", "show", EXAMPLES / "organization", "--format", "json")
    shown = json.loads(done.stdout)
    assert shown["service"] == "organization"
    assert [s["name"] for s in shown["stages"]] == ["validate", "dev", "staging", "production"]
    production = shown["stages"][-1]
    assert production == {
        "name": "production",
        "kind": "deploy",
        "environment": "production",
        "targets": ["marathon"],
        "approval": True,
        "gateTimeoutSeconds": 900,
        "rollbackOnFailure": True,
    }


def test_show_reports_a_bad_pipeline_like_validate(service: Path) -> None:
    base = service / "deploy" / "application.yml"
    base.write_text(base.read_text() + "pipeline:\n  stages: []\n")
    done = skytrain("pipeline", "show", service)
    assert done.returncode == 2
    assert "pipeline.stages: must have at least 1 entry" in done.stderr


def test_show_imports_neither_backends_nor_rich() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from skytrain.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['pipeline', 'show', {str(EXAMPLES / 'giphy')!r}]) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'rich', 'kubernetes', 'requests', 'jenkins'}"
        " or m.startswith('skytrain.backends'))\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env(), cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"
