"""`skytrain import marathon` as a user runs it: files in, deploy/ out, warnings on stderr,
exit 0 or 2 (never a traceback, whatever the JSON), nothing overwritten without --force,
the report as JSON, and the conversion matrix in docs/import.md generated from the code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skytrain.cli import main
from skytrain.config import load_service
from skytrain.importer.rules import matrix
from skytrain.schedulers import render
from tests.importer.helpers import environments_file
from tests.importer.test_import_rules import APP, app
from tests.support import ROOT, SHARED_REFERENCE, cli_env, network_modules, skytrain

WARNING_LINE = re.compile(r"[^:]+: (/[^:]*)?: warning: .+")


def run(*argv: str | Path) -> int:
    """`skytrain import marathon ARGV` in this process."""
    return main(["import", "marathon", *map(str, argv)])


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_one_app_writes_the_service_and_says_what_was_not_carried_over(tmp_path):
    source = write_json(tmp_path / "app.json", app(id="/web/giphy", labels={"HAPROXY_GROUP": "external"}))
    done = skytrain("import", "marathon", source, "--env", "production", "--out", tmp_path / "services")
    assert done.returncode == 0, done.stderr
    deploy = tmp_path / "services" / "giphy" / "deploy"
    assert done.stdout.splitlines() == [str(deploy / "application.yml"), str(deploy / "production.yml")]
    *warnings, summary = done.stderr.splitlines()
    assert summary == "1 service imported, 2 warnings."
    assert all(WARNING_LINE.fullmatch(line) for line in warnings), warnings
    assert f"{source}: /labels: warning: router settings" in done.stderr
    envs = environments_file(tmp_path / "environments.yml", {"production": {}})
    validated = skytrain("validate", tmp_path / "services" / "giphy", "--environments", envs)
    assert validated.returncode == 0, validated.stderr


def test_a_group_gives_one_service_per_app_and_several_environments_one_base(tmp_path):
    group = {
        "id": "/shop",
        "apps": [app(id="cart"), app(id="checkout-service")],
        "groups": [{"id": "tools", "apps": [app(id="admin")]}],
    }
    assert (
        run(str(write_json(tmp_path / "g.json", group)), "--env", "production", "--out", str(tmp_path / "a"))
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["admin", "cart", "checkout"]
    dev, production = (
        write_json(tmp_path / "dev.json", app(instances=1)),
        write_json(tmp_path / "prod.json", APP),
    )
    argv = [
        "import",
        "marathon",
        "--env",
        f"dev={dev}",
        "--env",
        f"production={production}",
        "--out",
        str(tmp_path / "b"),
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in (tmp_path / "b" / "giphy" / "deploy").iterdir()) == [
        "application.yml",
        "dev.yml",
        "production.yml",
    ]


def test_an_existing_deploy_folder_is_overwritten_only_with_force(tmp_path, capsys):
    source = write_json(tmp_path / "app.json", APP)
    deploy = tmp_path / "out" / "giphy" / "deploy"
    deploy.mkdir(parents=True)
    (deploy / "application.yml").write_text("name: mine\n")
    argv = ["import", "marathon", str(source), "--env", "production", "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "exists; skytrain never overwrites a service's files without --force" in capsys.readouterr().err
    assert (deploy / "application.yml").read_text() == "name: mine\n"
    assert main([*argv, "--force"]) == 0
    assert (deploy / "application.yml").read_text().startswith("# giphy: imported")


def test_a_link_on_the_way_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "services").symlink_to(tmp_path / "elsewhere")
    source = write_json(tmp_path / "app.json", APP)
    assert run(str(source), "--env", "production", "--out", "services") == 2
    assert "symbolic link" in capsys.readouterr().err
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{not json", "app.json:1:2: error: this is not JSON"),
        ("[1, 2]", "app.json: /: error: this is a JSON list, not a Marathon app"),
        ('{"cmd": "sleep 1"}', "app.json: /id: error: the app has no id"),
        ('{"id": "/p", "containers": []}', "app.json: /containers: error: this is a Marathon pod"),
        ('{"id": "/a", "instances": NaN}', "NaN is not a JSON number"),
        ("[" * 100000, "nests too deeply"),
        ('{"id": "/a", "instances": "{{.n}}"}', "app.json: /instances: error: instances must be a number"),
    ],
)
def test_input_that_cannot_be_used_is_exit_2_naming_the_file(tmp_path, capsys, content, said):
    (tmp_path / "app.json").write_text(content)
    assert (
        main(
            ["import", "marathon", str(tmp_path / "app.json"), "--env", "production", "--out", str(tmp_path)]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert said in err
    assert "Traceback" not in err
    assert not (tmp_path / "a").exists()


def test_usage_mistakes_are_sentences(tmp_path, capsys):
    source = str(write_json(tmp_path / "app.json", APP))
    for argv, said in (
        ([source], "say which environment"),
        ([source, "--env", "Prod/../x"], "is not an environment name"),
        (["--env", f"dev={source}", "--env", f"dev={source}"], "each environment is given once"),
        (["--from", "staging"], "--from needs --app"),
        ([source, "--env", "production", "--app", "/x"], "--app goes with --from"),
    ):
        assert run(*argv, "--out", tmp_path) == 2
        assert said in capsys.readouterr().err


def test_the_report_as_json_names_files_warnings_and_no_secret(tmp_path, capsys):
    source = write_json(tmp_path / "app.json", app(env={"API_TOKEN": "abcdef0123456789abcdef"}))
    assert run(str(source), "--env", "production", "--out", str(tmp_path / "o"), "--format", "json") == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["errors"] == [] and err == ""
    (service,) = report["services"]
    assert service["name"] == "giphy" and service["environments"]["production"]["app"] == "/giphy"
    assert [w["rule"] for w in report["warnings"]] == ["env-secret-shape"]
    assert report["warnings"][0]["pointer"] == "/env/API_TOKEN"
    assert "abcdef0123456789abcdef" not in out + "".join(
        p.read_text() for p in (tmp_path / "o").rglob("*.yml")
    )
    (tmp_path / "bad.json").write_text("[]")
    assert run(str(tmp_path / "bad.json"), "--env", "production", "--format", "json") == 2
    assert json.loads(capsys.readouterr().out)["errors"][0]["source"] == str(tmp_path / "bad.json")


def test_the_matrix_in_docs_is_the_code_s_own(capsys):
    """docs/import.md's matrix section is what `skytrain import marathon --matrix` prints."""
    assert run("--matrix") == 0
    printed = capsys.readouterr().out
    assert printed == matrix()
    text = (ROOT / "docs" / "import.md").read_text()
    section = text.split(
        "<!-- matrix: generated by `skytrain import marathon --matrix`; do not edit -->\n", 1
    )[1]
    assert section.split("<!-- end of matrix -->", 1)[0] == printed


# -- no traceback, whatever the JSON -------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
FIELDS = sorted(
    {
        *APP,
        "cmd",
        "args",
        "constraints",
        "labels",
        "upgradeStrategy",
        "secrets",
        "portDefinitions",
        "readinessChecks",
        "fetch",
        "apps",
        "groups",
        "app",
    }
)


def corpus_apps() -> list[dict[str, Any]]:
    folder = SHARED_REFERENCE / "marathon-apps"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


@st.composite
def mutated_apps(draw: st.DrawFn) -> Any:
    """An app (ours or a real one) with a few fields replaced by any JSON, at any depth."""
    document = json.loads(json.dumps(draw(st.sampled_from([APP, *corpus_apps()]))))
    for _ in range(draw(st.integers(1, 3))):
        node = document
        for _depth in range(draw(st.integers(0, 2))):
            children = [k for k, v in node.items() if isinstance(v, dict)] if isinstance(node, dict) else []
            if not children:
                break
            node = node[draw(st.sampled_from(sorted(children)))]
        if isinstance(node, dict):
            node[draw(st.sampled_from(FIELDS + sorted(node)))] = draw(JSON)
    return document


def run_import(tmp_path: Path, document: Any) -> int:
    source = tmp_path / "in.json"
    source.write_text(json.dumps(document))
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    return run(str(source), "--env", "production", "--out", str(out), "--force")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=JSON)
def test_any_json_ends_in_exit_0_or_2(tmp_path, capsys, document):
    assert run_import(tmp_path, document) in (0, 2)
    assert "Traceback" not in capsys.readouterr().err


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=mutated_apps())
def test_any_mutated_app_is_refused_or_imports_into_valid_files(tmp_path, capsys, document):
    code = run_import(tmp_path, document)
    assert code in (0, 2)
    assert "Traceback" not in capsys.readouterr().err
    if code == 0:
        envs = environments_file(tmp_path / "environments.yml", {"production": {}})
        for service in (tmp_path / "out").iterdir():
            model = load_service(service, str(envs), environ={})[1]["production"]
            render(model, "marathon")
            render(model, "kubernetes")


def test_importing_files_loads_no_network_library(tmp_path):
    """The conversion is pure: only --from loads the Marathon client."""
    source = write_json(tmp_path / "app.json", APP)
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "skytrain",
            "import",
            "marathon",
            str(source),
            "--env",
            "production",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert "skytrain.importer" in imported
    assert network_modules(imported) == []
