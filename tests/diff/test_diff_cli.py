"""The command's contract: exit codes, and nothing contacted before everything validates."""

from __future__ import annotations

import json

from skytrain.errors import EXIT_FAILED, EXIT_USAGE
from tests.support import ROOT, network_modules


def test_bad_input_is_exit_2_with_file_and_line(service):
    service.edit("application.yml", "replicas: 2", "replicas: two")
    completed = service.cli("--env", "staging", "--target", "marathon")
    assert completed.returncode == EXIT_USAGE
    assert "hello/deploy/application.yml:" in completed.stderr and "replicas" in completed.stderr
    assert "could not read" not in completed.stderr  # no scheduler was contacted


def test_env_or_all_envs_is_required(service):
    assert service.cli().returncode == EXIT_USAGE
    assert service.cli("--env", "staging", "--all-envs").returncode == EXIT_USAGE


def test_a_target_the_service_does_not_run_on_is_bad_input(service):
    service.write("staging.yml", "scheduler: kubernetes\n")
    completed = service.cli("--env", "staging", "--target", "marathon")
    assert completed.returncode == EXIT_USAGE
    assert "does not run on marathon in staging" in completed.stderr


def test_unreadable_live_state_is_exit_1_and_says_why(service):
    # the environments file points Marathon at 127.0.0.1:9, where nothing listens
    completed = service.cli("--env", "staging", "--target", "marathon")
    assert completed.returncode == EXIT_FAILED
    assert "could not read what runs on marathon in staging" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_the_offline_diff_never_imports_a_network_library(service):
    import subprocess
    import sys

    from diff_helpers import commit_all, git

    git(service.root, "init", "-q", "-b", "main")
    commit_all(service.root, "only")
    program = (
        "import sys; from skytrain.cli import main; "
        f"code = main(['diff', {str(service.directory)!r}, '--environments', {str(service.environments)!r}, "
        "'--all-envs', '--against', 'HEAD', '--format', 'json']); "
        "import json; print(json.dumps({'code': code, 'modules': list(sys.modules)}), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
        check=True,
    )
    report = json.loads(done.stderr.splitlines()[-1])
    assert report["code"] == 0
    assert network_modules(report["modules"]) == []


def test_colour_only_when_asked():
    from skytrain.diff.compare import Action, DiffResult, ObjectDiff
    from skytrain.diff.format_text import format_text

    added = ObjectDiff("ConfigMap", "x", "ns", Action.ADDED, {"kind": "ConfigMap", "data": {"a": "b"}}, None)
    results = [DiffResult("x", "dev", "kubernetes", "live", [added])]
    assert "\033[" not in format_text(results, colour=False)
    coloured = format_text(results, colour=True)
    assert "\033[32m+  a: b\033[0m" in coloured


def test_the_command_line_colours_a_piped_diff_only_when_asked(service):
    """No terminal here, and NO_COLOR=1 (Service.cli): --color always still colours (Jenkins'
    AnsiColor); auto and never do not."""
    from diff_helpers import commit_all, git

    git(service.root, "init", "-q", "-b", "main")
    commit_all(service.root, "first")
    service.edit("application.yml", "replicas: 2", "replicas: 5")
    for colour, coloured in (("always", True), ("auto", False), ("never", False)):
        completed = service.cli("--env", "staging", "--against", "HEAD", "--color", colour)
        assert completed.returncode == 0, completed.stderr
        assert ("\033[31m-  replicas: 2\033[0m" in completed.stdout) is coloured, colour
        assert ("\033[" in completed.stdout) is coloured


def test_offline_a_target_neither_side_runs_on_is_bad_input(service):
    from diff_helpers import commit_all, git

    service.write("staging.yml", "scheduler: kubernetes\n")
    git(service.root, "init", "-q", "-b", "main")
    commit_all(service.root, "kubernetes only in staging")
    completed = service.cli("--env", "staging", "--target", "marathon", "--against", "HEAD")
    assert completed.returncode == EXIT_USAGE
    assert "pick another --target" in completed.stderr
