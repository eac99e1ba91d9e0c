"""The CLI of the pure path: validate, render, schema; exit codes; and what it never imports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
import yaml
from config_helpers import BASE_YAML, ENVIRONMENTS_YAML, write_service

from skytrain.cli import COMMANDS
from tests.support import EXAMPLES, ROOT, cli_env, network_modules, skytrain

ALL_EXAMPLES = [EXAMPLES / name for name in ("giphy", "organization", "media")]


def test_validate_every_environment_and_target():
    result = skytrain("validate", *ALL_EXAMPLES)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "ok  giphy: dev (marathon, kubernetes); production (marathon); staging (marathon, kubernetes)",
        "ok  organization: dev (marathon); production (marathon); staging (marathon)",
        "ok  media: dev (kubernetes); production (kubernetes); staging (kubernetes)",
    ]


def test_validate_one_environment():
    result = skytrain("validate", EXAMPLES / "giphy", "--env", "production")
    assert result.returncode == 0
    assert result.stdout == "ok  giphy: production (marathon)\n"


def test_validate_one_target():
    result = skytrain("validate", EXAMPLES / "giphy", "--target", "kubernetes")
    assert result.returncode == 0
    assert (
        result.stdout == "ok  giphy: dev (kubernetes); production (not on kubernetes); staging (kubernetes)\n"
    )


def test_validate_an_environment_the_service_has_no_overlay_for():
    result = skytrain("validate", EXAMPLES / "giphy", "--env", "qa")
    assert result.returncode == 2
    assert "has no deploy/qa.yml; its environments are: dev, production, staging" in result.stderr


def test_validate_a_directory_that_does_not_exist(tmp_path):
    result = skytrain("validate", tmp_path / "nope")
    assert result.returncode == 2
    assert "is not a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_env_checks_only_that_environment(tmp_path):
    """--env production is not held up by a mistake in staging.yml; without --env it is."""
    service = write_service(
        tmp_path / "svc",
        {"application.yml": BASE_YAML, "staging.yml": "replicas: -1\n", "production.yml": "replicas: 3\n"},
    )
    assert skytrain("validate", service, "--env", "production").returncode == 0
    staging = skytrain("validate", service, "--env", "staging")
    assert staging.returncode == 2
    assert "staging.yml:1:11: error: replicas: must be at least 0; got -1" in staging.stderr
    assert skytrain("validate", service).returncode == 2


def test_render_kubernetes_yaml_stream_to_stdout():
    result = skytrain("render", EXAMPLES / "giphy", "--env", "staging", "--target", "kubernetes")
    assert result.returncode == 0, result.stderr
    objects = list(yaml.safe_load_all(result.stdout))
    assert [o["kind"] for o in objects] == ["ConfigMap", "Service", "Deployment"]
    assert all(o["metadata"]["labels"]["skytrain.io/environment"] == "staging" for o in objects)


def test_render_marathon_json_to_stdout():
    result = skytrain("render", EXAMPLES / "organization", "--env", "production")
    assert result.returncode == 0, result.stderr
    app = json.loads(result.stdout)
    assert app["id"] == "/organization"
    assert app["instances"] == 6
    assert list(app) == sorted(app)  # stable key order


def test_render_interpolates_from_the_process_environment():
    result = skytrain("render", EXAMPLES / "media", "--env", "dev", BUILD_TAG="2026.11.24-7")
    deployment = list(yaml.safe_load_all(result.stdout))[-1]
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        == "registry.example.com/media:2026.11.24-7"
    )


def test_render_both_targets_needs_a_target_or_a_folder():
    result = skytrain("render", EXAMPLES / "giphy", "--env", "staging")
    assert result.returncode == 2
    assert "pick one with --target, or write both with -o DIR" in result.stderr


def test_render_to_a_folder(tmp_path):
    out = tmp_path / "out"
    result = skytrain("render", EXAMPLES / "giphy", "--env", "staging", "-o", out)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert re.fullmatch(r"giphy-env-[0-9a-f]{10}\.configmap\.yaml", written[0])  # named by its content
    assert written[1:] == [
        "giphy.deployment.yaml",
        "giphy.marathon.json",
        "giphy.service.yaml",
    ]
    assert sorted(result.stdout.splitlines()) == sorted(str(p) for p in out.iterdir())
    assert json.loads((out / "giphy.marathon.json").read_text())["id"] == "/giphy"
    assert yaml.safe_load((out / "giphy.deployment.yaml").read_text())["kind"] == "Deployment"


def test_render_a_target_the_service_does_not_run_on():
    result = skytrain("render", EXAMPLES / "media", "--env", "staging", "--target", "marathon")
    assert result.returncode == 2
    assert "media does not run on marathon in staging" in result.stderr


def test_render_is_byte_identical_run_to_run(tmp_path):
    args = ("render", EXAMPLES / "giphy", "--env", "dev", "--target", "kubernetes")
    assert skytrain(*args).stdout == skytrain(*args).stdout


def test_render_refuses_a_broken_service_and_writes_nothing(tmp_path):
    service = write_service(
        tmp_path / "svc", {"application.yml": BASE_YAML + "replicas: -1\n", "staging.yml": ""}
    )
    out = tmp_path / "out"
    result = skytrain("render", service, "--env", "staging", "-o", out)
    assert result.returncode == 2
    assert result.stdout == ""
    assert not out.exists()


def test_schema_prints_json():
    result = skytrain("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "skytrain deploy/application.yml"


@pytest.mark.parametrize(
    "args",
    [
        ("validate",),
        ("validate", str(EXAMPLES / "giphy"), "--target", "nomad"),
        ("render", str(EXAMPLES / "giphy")),
        ("schema", "nope"),
        ("frobnicate",),
    ],
)
def test_usage_errors_exit_2(args):
    result = skytrain(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from skytrain.cli import main
    with contextlib.redirect_stdout(io.StringIO()):
        codes = [
            main(["validate", *sys.argv[1:]]),
            main(["render", sys.argv[1], "--env", "staging", "--target", "kubernetes"]),
            main(["render", sys.argv[1], "--env", "dev", "--target", "marathon"]),
        ]
    print(json.dumps({"codes": codes, "modules": sorted(sys.modules)}))
    """
)


def test_the_pure_path_imports_no_scheduler_client_or_network_library():
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, ALL_EXAMPLES)],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["codes"] == [0, 0, 0]
    assert network_modules(report["modules"]) == []
    # and the ~20 ms Jinja2 import is skipped for plain `{{ VAR | default('x') }}` templates
    assert "jinja2" not in report["modules"]


def test_validate_as_a_fresh_process_under_importtime_loads_no_network_module():
    """The same, seen by `python -X importtime -m skytrain validate examples/giphy`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "skytrain", "validate", str(EXAMPLES / "giphy")],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert "skytrain.config" in imported
    assert network_modules(imported) == []


def test_render_to_a_folder_that_is_a_file(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("")
    result = skytrain("render", EXAMPLES / "giphy", "--env", "staging", "-o", blocker)
    assert result.returncode == 2
    assert (
        result.stderr
        == f"skytrain: error: -o {blocker}: this is a file, not a folder; give a folder to write into\n"
    )
    assert "Traceback" not in result.stderr


def test_help_still_lists_every_command():
    """The parser is built for the invoked command only; --help and typos see them all."""
    result = skytrain("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout
    typo = skytrain("valdate", EXAMPLES / "giphy")
    assert typo.returncode == 2
    assert "invalid choice: 'valdate'" in typo.stderr


def test_validate_as_json_says_what_validated_per_service_and_environment():
    result = skytrain(
        "validate", EXAMPLES / "giphy", EXAMPLES / "media", "--target", "kubernetes", "--output", "json"
    )
    assert (result.returncode, result.stderr) == (0, "")
    document = json.loads(result.stdout)
    assert (document["valid"], document["errors"]) == (True, [])
    by_name = {s["name"]: s for s in document["services"]}
    assert by_name["giphy"]["directory"] == str(EXAMPLES / "giphy")
    assert [(e["environment"], e["targets"], e["failed"]) for e in by_name["giphy"]["environments"]] == [
        ("dev", ["kubernetes"], []),
        ("production", [], []),  # giphy runs on Marathon only in production
        ("staging", ["kubernetes"], []),
    ]
    assert by_name["media"]["valid"] is True


def test_validate_as_json_lists_every_error_with_its_place(tmp_path):
    """One service whose overlay is wrong, one whose Kubernetes patch fails the rendered check:
    exit 2, one JSON document, nothing on stderr; the text lists the same errors."""
    write_service(tmp_path / "wrong", {"application.yml": BASE_YAML, "staging.yml": "replicas: -1\n"}, None)
    patch = "kubernetes:\n  Deployment:\n    spec:\n      template:\n        spec:\n          nodeSelectr: {a: b}\n"
    write_service(tmp_path / "patched", {"application.yml": BASE_YAML + patch, "staging.yml": ""}, None)
    (tmp_path / "skytrain-environments.yml").write_text(ENVIRONMENTS_YAML)

    result = skytrain("validate", "wrong", "patched", "--output", "json", cwd=tmp_path)

    assert (result.returncode, result.stderr) == (2, "")
    document = json.loads(result.stdout)
    assert document["valid"] is False
    errors = {(e["file"], e["path"]): e for e in document["errors"]}
    assert errors[("wrong/deploy/staging.yml", "replicas")] == {
        "file": "wrong/deploy/staging.yml",
        "line": 1,
        "column": 11,
        "path": "replicas",
        "message": "must be at least 0; got -1",
    }
    patch_error = errors[("patched/deploy/application.yml", "kubernetes.Deployment.spec.template.spec")]
    assert (patch_error["line"], patch_error["column"]) == (9, 9) and "nodeSelectr" in patch_error["message"]
    services = {s["directory"]: s for s in document["services"]}
    assert (services["wrong"]["name"], services["wrong"]["valid"]) == (None, False)  # its files did not load
    staging = next(e for e in services["patched"]["environments"] if e["environment"] == "staging")
    assert (staging["targets"], staging["failed"]) == (["marathon", "kubernetes"], ["kubernetes"])
    assert services["patched"]["valid"] is False
    text = skytrain("validate", "wrong", "patched", cwd=tmp_path)
    assert text.returncode == 2
    assert text.stderr.splitlines()[:-1] == [
        f"{e['file']}:{e['line']}:{e['column']}: error: {e['path']}: {e['message']}"
        for e in document["errors"]
    ]


def test_validate_as_json_masks_secrets(tmp_path):
    """A password in the environments file's URL, and a CI secret that a message quotes."""
    environments = ENVIRONMENTS_YAML.replace(
        "http://marathon.dev:8080", "http://deployer:hunter2@marathon.dev:8080"
    )
    write_service(
        tmp_path / "svc", {"application.yml": BASE_YAML, "staging.yml": "replicas: hunter3\n"}, None
    )
    (tmp_path / "skytrain-environments.yml").write_text(environments)

    in_url = skytrain("validate", "svc", "--output", "json", cwd=tmp_path)
    assert in_url.returncode == 2 and "hunter2" not in in_url.stdout
    (error,) = json.loads(in_url.stdout)["errors"]
    assert error["path"] == "environments.dev.marathon.url"
    assert '"http://deployer:****@marathon.dev:8080"' in error["message"]

    (tmp_path / "skytrain-environments.yml").write_text(ENVIRONMENTS_YAML)
    quoted = skytrain("validate", "svc", "--output", "json", cwd=tmp_path, DEPLOY_TOKEN="hunter3")
    assert quoted.returncode == 2 and "hunter3" not in quoted.stdout
    (error,) = json.loads(quoted.stdout)["errors"]
    assert (error["path"], error["message"]) == ("replicas", 'expected a whole number, got "****"')
