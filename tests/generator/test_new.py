"""`skytrain new`: each project type generated into a temporary folder, then checked as its
new owner would: it validates, `make help` and `make -n deploy-k8s-staging` work, and its own
tests pass (`go test` for go, pytest for python; scala is checked for structure)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skytrain.config.model import Maintainer
from skytrain.generator.skeleton import project_types, render_skeleton
from skytrain.generator.variables import SkeletonVars, choices, flag
from tests.support import cli_env, require_tool, skytrain

MAINTAINER = "--maintainer=Anubhav Mishra <anubhav.mishra@example.com>"
COMMON_FILES = {
    ".gitignore",
    "Dockerfile",
    "Dockerfile-dev",
    "Jenkinsfile",
    "Makefile",
    "Makefile.base.mk",
    "README.md",
    "deploy/application.yml",
    "deploy/dev.yml",
    "deploy/production.yml",
    "deploy/staging.yml",
    "skeleton-vars.yml",
    "skytrain-environments.yml",
}
FILES = {
    "go": {"go.mod", "main.go", "server.go", "status.go", "status_test.go"},
    "python": {
        "pyproject.toml",
        "app/__init__.py",
        "app/__main__.py",
        "app/server.py",
        "tests/test_status.py",
    },
    "scala": {
        "build.sbt",
        "project/build.properties",
        "project/plugins.sbt",
        "src/main/scala/service/Main.scala",
        "src/test/scala/service/StatusSuite.scala",
    },
}


def new(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return skytrain("new", *args, cwd=tmp_path, **env)


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def make(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("make"), "--no-print-directory", f"SKYTRAIN={sys.executable} -m skytrain", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )


def generated(tmp_path: Path, project_type: str, *extra: str) -> Path:
    done = new(tmp_path, "parcel-tracker", "--project-type", project_type, MAINTAINER, *extra)
    assert done.returncode == 0, done.stderr
    return tmp_path / "parcel-tracker"


@pytest.mark.parametrize("project_type", sorted(FILES))
def test_a_new_service_validates_and_its_make_targets_work(tmp_path: Path, project_type: str) -> None:
    repo = generated(tmp_path, project_type)
    assert files_in(repo) == COMMON_FILES | FILES[project_type]

    done = skytrain("validate", repo, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == "ok  parcel-tracker: dev (kubernetes); production (kubernetes); staging (kubernetes)"
    )

    done = make(repo, "help")
    assert done.returncode == 0, done.stderr
    targets = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("make ")]
    assert "deploy-k8s-<env>" in targets and "deploy-<env>" not in targets  # a new service runs on Kubernetes
    assert done.stdout.splitlines()[-2:] == [
        "on Kubernetes: dev production staging",
        "environments: dev production staging",
    ]
    done = make(repo, "-n", "deploy-k8s-staging")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{sys.executable} -m skytrain deploy . --env staging --target kubernetes"
    ]

    assert (repo / "Makefile").read_text().rstrip().endswith("include Makefile.base.mk")
    assert (repo / "Jenkinsfile").read_text().splitlines()[-2:] == [
        "@Library('skytrain') _",
        "skytrainPipeline()",
    ]


def go_environment(tmp_path: Path) -> dict[str, str]:
    """No network and nothing outside the temporary folder: the module has no dependencies,
    and the toolchain may not fetch another one."""
    return cli_env(
        GOPATH=str(tmp_path / "gopath"),
        GOCACHE=str(tmp_path / "gocache"),
        GOFLAGS="-mod=readonly",
        GOPROXY="off",
        GOTOOLCHAIN="local",
        GOTELEMETRY="off",
        CGO_ENABLED="0",
    )


def test_the_go_service_passes_its_own_tests(tmp_path: Path) -> None:
    go = require_tool("go", "golang-go")
    repo = generated(tmp_path, "go")
    env = go_environment(tmp_path)
    done = subprocess.run(
        [go, "vet", "./..."], cwd=repo, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [go, "test", "-v", "./..."], cwd=repo, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "--- PASS: TestStatusAnswersOK" in done.stdout
    assert "--- PASS: TestStatusRefusesWrites" in done.stdout
    gofmt = shutil.which("gofmt") or str(Path(go).with_name("gofmt"))
    assert subprocess.run([gofmt, "-l", "."], cwd=repo, capture_output=True, text=True).stdout == ""


def test_the_python_service_passes_its_own_tests(tmp_path: Path) -> None:
    repo = generated(tmp_path, "python")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={k: v for k, v in cli_env().items() if k != "PYTHONPATH"},  # the service's own imports only
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_status_answers_ok PASSED" in done.stdout
    assert "test_other_paths_are_not_found PASSED" in done.stdout


def test_the_scala_service_has_its_build_its_endpoint_and_its_test(tmp_path: Path) -> None:
    repo = generated(tmp_path, "scala")
    assert 'name := "parcel-tracker"' in (repo / "build.sbt").read_text()
    assert "munit" in (repo / "build.sbt").read_text()
    assert (repo / "project/build.properties").read_text().startswith("sbt.version=")
    main = (repo / "src/main/scala/service/Main.scala").read_text()
    assert 'createContext("/status"' in main and 'val Name = "parcel-tracker"' in main
    suite = (repo / "src/test/scala/service/StatusSuite.scala").read_text()
    assert "extends munit.FunSuite" in suite and '"""{"name":"parcel-tracker","status":"ok"}"""' in suite
    assert "sbt test" in make(repo, "-n", "test").stdout
    assert "/srv/parcel-tracker.jar" in (repo / "Dockerfile").read_text()


TALK_VARS = """\
#####
# Modify these vars

# Name of your service, lowercase, dash separated. ie. [a-z\\-]
#name: my-awesome-service
name: parcel-tracker

# Human readable title. Used for docs and such
nameNice: Parcel Tracker

# Long form description
description: Hello World

maintainers:
- name: Anubhav Mishra
  email: anubhav.mishra@hootsuite.com

# Pick a project type. Can either be: scala, go, go-grpc, idl etc.
projectType: go
"""


def test_skeleton_vars_as_the_talk_writes_them_and_flags_over_them(tmp_path: Path) -> None:
    (tmp_path / "skeleton-vars.yml").write_text(TALK_VARS)
    done = new(tmp_path, "--vars", "skeleton-vars.yml", "--project-type", "python", "--out", "first")
    assert done.returncode == 0, done.stderr
    first = tmp_path / "first"
    assert files_in(first) == COMMON_FILES | FILES["python"]  # --project-type won over the file
    written = yaml.safe_load((first / "skeleton-vars.yml").read_text())
    assert written == {
        "name": "parcel-tracker",
        "nameNice": "Parcel Tracker",
        "description": "Hello World",
        "maintainers": [{"name": "Anubhav Mishra", "email": "anubhav.mishra@hootsuite.com"}],
        "projectType": "python",
        "scheduler": "kubernetes",
    }
    application = yaml.safe_load((first / "deploy/application.yml").read_text())
    assert application["maintainers"] == written["maintainers"]
    assert application["image"] == "registry.example.com/parcel-tracker:{{ BUILD_TAG | default('latest') }}"

    # the skeleton-vars.yml a repository holds makes that repository again
    done = new(tmp_path, "--vars", "first/skeleton-vars.yml", "--out", "again")
    assert done.returncode == 0, done.stderr
    again = tmp_path / "again"
    assert files_in(again) == files_in(first)
    assert all((again / f).read_text() == (first / f).read_text() for f in files_in(first))


def test_says_what_it_wrote_and_what_to_do_next(tmp_path: Path) -> None:
    done = new(tmp_path, "parcel-tracker", "--project-type", "go", MAINTAINER, "--scheduler", "both")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "created parcel-tracker (go, on both) in parcel-tracker:"
    assert sorted(line.strip() for line in lines[1 : len(COMMON_FILES | FILES["go"]) + 1]) == sorted(
        COMMON_FILES | FILES["go"]
    )
    assert lines[-4:] == [
        "next:",
        "  cd parcel-tracker && make test && make validate",
        '  eval "$(skytrain dev up --dir ../.skytrain-dev)"     # a local Marathon and Kubernetes to deploy to',
        "  make deploy-k8s-dev",
    ]
    done = new(tmp_path, "legacy", "--project-type", "go", MAINTAINER, "--scheduler", "marathon")
    assert done.stdout.splitlines()[-1] == "  make deploy-dev"


def test_flags_alone_fill_in_the_title_from_the_name(tmp_path: Path) -> None:
    repo = generated(tmp_path, "go", "--scheduler", "marathon")
    written = yaml.safe_load((repo / "skeleton-vars.yml").read_text())
    assert written["nameNice"] == "Parcel Tracker" and written["description"] == ""
    done = make(repo, "help")
    targets = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("make ")]
    assert "deploy-<env>" in targets and "deploy-k8s-<env>" not in targets


ONE_LINE_TEXTS = [
    'It says "hello": # not a comment',
    "* an alias, & an anchor, ! a tag, | a block, > folded, % directive, @ reserved",
    "Ünïcödé — 包裹追踪 🚚 and a backslash \\n that is not a newline",
    "  spaces around  ",
    "yes",
    "null",
    "- a list? [no], key: value",
]


@pytest.mark.parametrize("text", ONE_LINE_TEXTS)
def test_any_one_line_of_text_arrives_as_written(text: str) -> None:
    """Values from skeleton-vars.yml become YAML strings, never YAML syntax or templates."""
    for key in ("nameNice", "description"):
        assert flag(key)(text) == text  # the schema lets it through
    variables = SkeletonVars(
        "parcel-tracker", text, text, (Maintainer(text, "ann.lee@example.com"),), "go", "kubernetes"
    )
    files = render_skeleton("go", variables.template_context())
    for name in ("deploy/application.yml", "skeleton-vars.yml"):
        data = yaml.safe_load(files[name])
        assert data["description"] == data["nameNice"] == data["maintainers"][0]["name"] == text
    assert f"# {text}\n\n{text}\n" in files["README.md"]


def test_text_that_looks_like_yaml_validates_in_the_new_service(tmp_path: Path) -> None:
    text = ONE_LINE_TEXTS[1]
    repo = generated(tmp_path, "go", "--description", text, "--name-nice", text)
    done = skytrain("validate", repo, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load((repo / "deploy/application.yml").read_text())["description"] == text


def test_a_wrong_skeleton_vars_file_is_every_error_at_its_line_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "skeleton-vars.yml").write_text(
        "name: new-service\n"
        "nameNic: New\n"
        'description: "uses {{ CI_TOKEN }}"\n'
        "maintainers:\n"
        "- name: Anubhav Mishra\n"
        "  email: anubhav\n"
        "projectType: go-grpc\n"
    )
    done = new(tmp_path, "--vars", "skeleton-vars.yml", "--out", "out")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "skeleton-vars.yml:1:7: error: name: a name is lowercase letters, digits and dashes, starts with a letter, "
        "does not end with a dash, and has no 'service' prefix or suffix (e.g. 'giphy', 'user-profile'); "
        'got "new-service"',
        "skeleton-vars.yml:2:1: error: nameNic: unknown field 'nameNic'; did you mean 'nameNice'?",
        "skeleton-vars.yml:3:14: error: description: a description is one line of text without { or } (it is "
        'copied into deploy/application.yml, where {{ would start a template); got "uses {{ CI_TOKEN }}"',
        "skeleton-vars.yml:6:10: error: maintainers[0].email: an e-mail address looks like name@example.com; "
        'got "anubhav"',
        'skeleton-vars.yml:7:14: error: projectType: got "go-grpc"; expected one of: go, python, scala',
        "5 errors; nothing was sent to any scheduler.",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["parcel-service", "--project-type", "go", MAINTAINER],
            "argument NAME: 'parcel-service': a name is",
        ),
        (
            ["parcel-tracker", "--project-type", "go", "--maintainer", "Ann"],
            "give a maintainer as 'Firstname",
        ),
        (
            ["parcel-tracker", "--project-type", "go", "--maintainer", "Ann <ann>"],
            "an e-mail address looks like",
        ),
        (
            ["parcel-tracker", "--project-type", "go", MAINTAINER, "--name-nice", "A {{ x }}"],
            "a title is one line",
        ),
        (["parcel-tracker", "--project-type", "rust", MAINTAINER], "invalid choice: 'rust'"),
        (["parcel-tracker", MAINTAINER], "skytrain new needs --project-type, or --vars skeleton-vars.yml"),
        (["--project-type", "go"], "needs the service's name (NAME), --maintainer 'Name <email>'"),
        (["--vars", "missing.yml"], "--vars missing.yml: no such file"),
    ],
)
def test_wrong_or_missing_flags_are_a_sentence_and_exit_2(tmp_path: Path, args: list[str], said: str) -> None:
    done = new(tmp_path, *args)
    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_empty_needs_force(tmp_path: Path) -> None:
    repo = generated(tmp_path, "go")
    (repo / "main.go").write_text("// changed by its owner\n")
    (repo / "NOTES.md").write_text("mine\n")

    done = new(tmp_path, "parcel-tracker", "--project-type", "go", MAINTAINER)
    assert done.returncode == 2
    assert (
        "--out parcel-tracker: this folder is not empty (.gitignore, Dockerfile, Dockerfile-dev,"
        in done.stderr
    )
    assert (repo / "main.go").read_text() == "// changed by its owner\n"

    done = new(tmp_path, "parcel-tracker", "--project-type", "go", MAINTAINER, "--force")
    assert done.returncode == 0, done.stderr
    assert (repo / "main.go").read_text().startswith("// Command parcel-tracker serves")
    assert (repo / "NOTES.md").read_text() == "mine\n"  # not one of its files: kept


def test_never_writes_through_a_link_planted_in_the_folder(tmp_path: Path) -> None:
    repo = tmp_path / "parcel-tracker"
    repo.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / "deploy").symlink_to(elsewhere)
    done = new(tmp_path, "parcel-tracker", "--project-type", "go", MAINTAINER, "--force")
    assert done.returncode == 2
    assert "parcel-tracker/deploy is a symbolic link" in done.stderr
    assert list(elsewhere.iterdir()) == []
    assert [p.name for p in repo.iterdir()] == ["deploy"]  # checked before the first file was written


def test_no_starter_environments_file_where_one_already_applies(tmp_path: Path) -> None:
    """A fleet checkout's file (or the CI's) applies to the new service: a starter would shadow it."""
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "skytrain-environments.yml").write_text(
        "environments:\n  dev: {kubernetes: {namespace: dev}}\n  staging: {kubernetes: {namespace: staging}}\n"
        "  production: {kubernetes: {namespace: production}}\n"
    )
    done = new(fleet, "parcel-tracker", "--project-type", "go", MAINTAINER)
    assert done.returncode == 0, done.stderr
    assert "skytrain-environments.yml" not in files_in(fleet / "parcel-tracker")
    assert f"environments: {fleet / 'skytrain-environments.yml'} applies to it" in done.stdout
    assert skytrain("validate", fleet / "parcel-tracker").returncode == 0

    done = new(
        tmp_path,
        "other",
        "--project-type",
        "go",
        MAINTAINER,
        SKYTRAIN_ENVIRONMENTS=str(fleet / "skytrain-environments.yml"),
    )
    assert done.returncode == 0, done.stderr
    assert "skytrain-environments.yml" not in files_in(tmp_path / "other")


def test_the_starter_environments_file_keeps_environments_apart_and_lists_no_variables(
    tmp_path: Path,
) -> None:
    repo = generated(tmp_path, "go", "--scheduler", "both")
    starter = yaml.safe_load((repo / "skytrain-environments.yml").read_text())
    assert "templateVariables" not in starter  # refused in a file found next to the service
    environments = starter["environments"]
    assert list(environments) == ["dev", "staging", "production"]
    assert [e["kubernetes"]["namespace"] for e in environments.values()] == ["dev", "staging", "production"]
    assert [e["marathon"]["group"] for e in environments.values()] == ["/dev", "/staging", "/production"]
    done = skytrain("render", repo, "--env", "staging", "--target", "marathon", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == "/staging/parcel-tracker"


def test_every_project_type_of_the_schema_has_a_skeleton_and_a_check() -> None:
    assert project_types() == choices("projectType") == sorted(FILES)


def test_the_skeleton_vars_schema_has_application_yml_s_name_rule() -> None:
    from skytrain.config import schemas

    skeleton = schemas.load_schema("skeleton-vars.schema.json")["properties"]
    application = schemas.load_schema(schemas.APPLICATION)["properties"]
    assert {k: v for k, v in skeleton["name"].items() if k != "description"} == {
        k: v for k, v in application["name"].items() if k != "description"
    }


def test_templates_see_only_the_variables_and_a_misspelt_one_is_an_error() -> None:
    variables = SkeletonVars(
        "parcel-tracker",
        "Parcel Tracker",
        "",
        (Maintainer("Ann Lee", "ann.lee@example.com"),),
        "go",
        "kubernetes",
    )
    files = render_skeleton("go", variables.template_context())
    assert "{{" not in "".join(text for name, text in files.items() if name != "deploy/application.yml")
    with pytest.raises(Exception, match="'nameNice' is undefined"):
        render_skeleton("go", {k: v for k, v in variables.template_context().items() if k != "nameNice"})


def test_the_new_service_deploys_with_make_and_its_gate_passes(tmp_path: Path) -> None:
    """`make deploy-k8s-dev` of a service just made, against the emulated platform (its
    environments file named as `skytrain dev up` exports it): deployed, gated, healthy."""
    from skytrain.emulators.platform import emulated_platform

    repo = generated(tmp_path, "python")
    (tmp_path / "platform").mkdir()
    with emulated_platform(tmp_path / "platform") as platform:
        done = subprocess.run(
            [require_tool("make"), "--no-print-directory", "deploy-k8s-dev", "BUILD_TAG=1.0"],
            cwd=repo,
            capture_output=True,
            text=True,
            env=cli_env(
                SKYTRAIN=f"{sys.executable} -m skytrain",
                SKYTRAIN_ENVIRONMENTS=str(platform.environments),
                **platform.process_env(),
            ),
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "dev/parcel-tracker on kubernetes: deployed (revision 1)" in done.stdout
        assert platform.kubernetes_image("dev", "parcel-tracker") == "registry.example.com/parcel-tracker:1.0"
        assert platform.kubernetes_healthy("dev", "parcel-tracker")
        assert platform.marathon["dev"].calls == []  # a new service runs on Kubernetes only
        assert all(platform.kubernetes[env].calls == [] for env in ("staging", "production"))
