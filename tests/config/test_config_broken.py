"""The broken-input corpus: every case under broken/ is one small service repository whose
`skytrain validate` must print exactly the lines in its expected.txt, exit 2, and never
show a traceback. The cases share broken/skytrain-environments.yml, found by walking up.

To add a case: make broken/<what-is-wrong>/deploy/*.yml, run `skytrain validate .` in it,
check every line of the output is the message you want a tired on-call engineer to read,
and save those lines (without the count line) as expected.txt; {ENVIRONMENTS} stands for
the environments file's path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from config_helpers import BASE_YAML, dedent, write_service

from skytrain.cli import main
from tests.support import skytrain

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if (p / "expected.txt").is_file())
ERROR_LINE = re.compile(r"^(deploy/[a-z-]+\.ya?ml):(\d+):(\d+): error: (\S.*?): (\S.*)$")


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 25


def expected_lines(case: str) -> list[str]:
    text = (BROKEN / case / "expected.txt").read_text()
    return text.replace("{ENVIRONMENTS}", str(BROKEN / "skytrain-environments.yml")).splitlines()


def check_output(case: str, returncode: int, stdout: str, stderr: str) -> None:
    expected = expected_lines(case)
    assert returncode == 2, stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    *errors, summary = stderr.splitlines()
    assert errors == expected
    count = len(expected)
    assert summary == f"{count} error{'s' if count != 1 else ''}; nothing was sent to any scheduler."


@pytest.mark.parametrize("case", CASES)
def test_broken_input(case, monkeypatch, capsys):
    """Through skytrain.cli.main in this process (a fresh process per case is ~0.2 s each;
    test_broken_input_as_a_fresh_process covers `python -m skytrain` itself)."""
    for line in expected_lines(case):
        assert ERROR_LINE.match(line), f"not FILE:LINE:COL: error: <field path>: <message>: {line}"
    monkeypatch.chdir(BROKEN / case)
    for variable in ("BUILD_TAG", "SKYTRAIN_ENVIRONMENTS"):
        monkeypatch.delenv(variable, raising=False)
    returncode = main(["validate", "."])
    out, err = capsys.readouterr()
    check_output(case, returncode, out, err)


@pytest.mark.parametrize(
    "case", ["malformed-yaml", "not-utf8", "missing-base-file", "bad-kubernetes-patch", "negative-replicas"]
)
def test_broken_input_as_a_fresh_process(case):
    result = skytrain("validate", ".", cwd=BROKEN / case)
    check_output(case, result.returncode, result.stdout, result.stderr)


def test_every_error_of_a_run_at_once_sorted_and_without_repeats(tmp_path):
    """One run over two services: schema errors in a base (seen by every environment, shown
    once) and in two overlays of the first; a semantic error and an escape hatch that breaks
    the Kubernetes schema in the second. All of them printed, sorted, no repeats."""
    first = write_service(
        tmp_path / "a",
        {
            "application.yml": dedent(
                """
                name: Giphy
                image: registry.example.com/giphy:1.0
                scheduler: both
                port: 8080
                replicas: -2
                env:
                  DB_PASSWORD: hunter2
                """
            ),
            "dev.yml": "resources:\n  memory: lots\n",
            "staging.yml": "healthCheck:\n  path: /status\n  intervall: 5\n",
            "production.yml": "",
        },
    )
    second = write_service(
        tmp_path / "b",
        {
            "application.yml": BASE_YAML.replace("giphy", "media") + "dependencies: [media]\n",
            "staging.yml": "kubernetes:\n  Service:\n    spec:\n      ports: 80\n",
        },
    )
    result = skytrain("validate", first, second, cwd=tmp_path)
    assert result.returncode == 2
    *lines, summary = result.stderr.splitlines()
    shown = [line.split(": error: ")[0] + " " + line.split(": error: ")[1].split(": ")[0] for line in lines]
    assert shown == [
        "a/deploy/application.yml:1:7 name",
        "a/deploy/application.yml:5:11 replicas",
        "a/deploy/application.yml:7:16 env.DB_PASSWORD",
        "a/deploy/dev.yml:2:11 resources.memory",
        "a/deploy/staging.yml:3:3 healthCheck.intervall",
        "b/deploy/application.yml:5:16 dependencies[0]",
    ]
    assert summary == "6 errors; nothing was sent to any scheduler."
    # the escape hatch is only checked once the config itself is valid: fix b's config
    (second / "deploy" / "application.yml").write_text(BASE_YAML.replace("giphy", "media"))
    result = skytrain("validate", first, second, cwd=tmp_path)
    assert result.stderr.splitlines()[-2].startswith(
        "b/deploy/staging.yml:4:7: error: kubernetes.Service.spec.ports:"
    )
    assert result.stderr.splitlines()[-1] == "6 errors; nothing was sent to any scheduler."


def test_errors_of_several_services_in_one_run(tmp_path):
    """`skytrain validate a b` reports both services' errors, then exits 2."""
    environments = BROKEN / "skytrain-environments.yml"
    result = skytrain(
        "validate",
        BROKEN / "negative-replicas",
        BROKEN / "unknown-key",
        BROKEN / "self-dependency",
        "--environments",
        environments,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 4
    assert lines[-1] == "3 errors; nothing was sent to any scheduler."
    assert [line.split(": error: ")[1].split(":")[0] for line in lines[:3]] == [
        "replicas",  # negative-replicas/
        "dependencies[1]",  # self-dependency/
        "replica",  # unknown-key/
    ]
    assert lines[:3] == sorted(lines[:3])


@pytest.mark.parametrize(
    "case", ["inline-secret-in-env", "password-in-url", "secret-given-as-string", "secret-in-an-escape-hatch"]
)
def test_a_secret_value_never_appears_in_an_error(case):
    shown = "\n".join(expected_lines(case))
    assert "hunter2" not in shown
    assert "dc6zaTOxFJmzC" not in shown
