"""Makefile.base.mk with the real `make`, in a temporary service repository.

validate, render and `pipeline --until validate` run skytrain for real; the command lines
of the scheduler targets are asserted through a recording stand-in for skytrain
(SKYTRAIN=...); and the scheduler targets run for real (SKYTRAIN="python -m skytrain")
against the Marathon and Kubernetes emulators, asserting what the emulators then hold.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pipeline_helpers import EXAMPLES, ROOT, cli_env, require_tool, skytrain

from skytrain.emulators.kubernetes_controllers import CRASH_LOOP
from skytrain.emulators.platform import Platform
from tests.support import require


@pytest.fixture(autouse=True)
def make_installed() -> None:
    require_tool("make")


# records the commands the targets run; the ones that only read files run for real (and
# the question make help asks is answered, unrecorded)
RECORDER = """#!/bin/sh
case "$1" in
  makefile) exec "{python}" -m skytrain "$@" ;;
esac
printf '%s\\n' "$*" >> "{log}"
case "$1" in
  validate|render|pipeline) exec "{python}" -m skytrain "$@" ;;
esac
"""


@pytest.fixture
def repo(service: Path) -> Path:
    """The example copied as its own repository, with a Makefile that includes the base."""
    shutil.copy(ROOT / "Makefile.base.mk", service)
    (service / "Makefile").write_text("include Makefile.base.mk\n")
    return service


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    script = tmp_path / "skytrain-recorder"
    script.write_text(RECORDER.format(log=log, python=sys.executable))
    script.chmod(0o755)
    return script, log


def require_console_script() -> Path:
    """The `skytrain` console script of the Python running the tests (make test installs it)."""
    script = Path(sys.prefix) / "bin" / "skytrain"
    require(str(script) if script.is_file() else None, "the skytrain console script", "pip install -e .")
    return script


def make(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("make"), "--no-print-directory", *args],  # by its path: a test may empty PATH
        cwd=repo,
        capture_output=True,
        text=True,
        env=cli_env(**env),
        timeout=60,
    )


def recorded(repo: Path, recorder: tuple[Path, Path], *args: str) -> list[str]:
    script, log = recorder
    done = make(repo, f"SKYTRAIN={script}", *args)
    assert done.returncode == 0, done.stderr
    return log.read_text().splitlines()


SKYTRAIN_HERE = f"SKYTRAIN={sys.executable} -m skytrain"


def help_targets(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stderr
    return [line.split()[1] for line in done.stdout.splitlines() if line.startswith("make ")]


COMMON = ["validate", "render-<env>", "diff-<env>"]
MARATHON = ["deploy-<env>", "rollback-<env>"]
KUBERNETES = ["deploy-k8s-<env>", "rollback-k8s-<env>"]
LAST = ["status-<env>", "pipeline"]


def test_help_lists_the_targets_and_where_each_environment_runs(repo: Path) -> None:
    done = make(repo, "help", SKYTRAIN_HERE)
    assert help_targets(done) == COMMON + MARATHON + KUBERNETES + LAST
    assert done.stdout.splitlines()[-3:] == [
        "on Marathon:   dev production staging",  # giphy's production is still Marathon only
        "on Kubernetes: dev staging",
        "environments: dev production staging",
    ]


@pytest.mark.parametrize(
    ("example", "runs_on", "targets"),
    [("media", "on Kubernetes: ", KUBERNETES), ("organization", "on Marathon:   ", MARATHON)],
)
def test_help_of_a_service_on_one_scheduler_lists_only_its_targets(
    example: str, runs_on: str, targets: list[str]
) -> None:
    done = make(EXAMPLES / example, "help", SKYTRAIN_HERE)
    assert help_targets(done) == COMMON + targets + LAST
    assert done.stdout.splitlines()[-2:] == [
        f"{runs_on}dev production staging",
        "environments: dev production staging",
    ]


def test_a_target_of_a_scheduler_the_environment_does_not_run_on_says_so_in_make_words(repo: Path) -> None:
    done = make(repo, "deploy-k8s-production", SKYTRAIN_HERE)
    assert done.returncode == 2
    assert (
        "make deploy-k8s-production: this service does not run on Kubernetes in production "
        "(scheduler: in deploy/application.yml or deploy/production.yml); make help lists the targets that apply"
    ) in done.stderr
    assert "--target" not in done.stderr  # no advice meant for the command line


def test_help_lists_every_scheduler_when_the_files_do_not_say(repo: Path) -> None:
    (repo / "deploy/staging.yml").write_text("scheduler: nomad\n")
    done = make(repo, "help", SKYTRAIN_HERE)
    assert help_targets(done) == COMMON + MARATHON + KUBERNETES + LAST
    assert "do not say which applies until make validate passes" in done.stdout


def test_skytrain_is_found_on_path_then_in_the_repositorys_venv(repo: Path, tmp_path: Path) -> None:
    """The SKYTRAIN default: the command on PATH, else .venv/bin/skytrain, else how to install it."""
    installed = require_console_script()
    empty = tmp_path / "empty-path"
    empty.mkdir()
    on_path = tmp_path / "bin"
    on_path.mkdir()
    (on_path / "skytrain").symlink_to(installed)

    done = make(repo, "-n", "validate", PATH=f"{on_path}")
    assert done.stdout.splitlines() == [f"{on_path}/skytrain validate ."]

    venv = repo / ".venv/bin"
    venv.mkdir(parents=True)
    (venv / "skytrain").symlink_to(installed)
    done = make(repo, "-n", "validate", PATH=str(empty))
    assert done.stdout.splitlines() == [f"{venv}/skytrain validate ."]
    done = make(repo, "help", PATH=str(empty))  # the found command answers make help's question
    assert "on Kubernetes: dev staging" in done.stdout


def test_the_examples_find_the_checkouts_venv(tmp_path: Path) -> None:
    """The examples include the checkout's own Makefile.base.mk, so `make validate` there runs
    the .venv that `make demo` or `make test` made, with nothing on PATH."""
    venv = ROOT / ".venv/bin/skytrain"
    require(str(venv) if venv.is_file() else None, "the checkout's .venv", "make test makes it")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    done = make(EXAMPLES / "giphy", "-n", "validate", PATH=str(empty))
    assert done.stdout.splitlines() == [f"{venv} validate ."]


def test_without_skytrain_make_says_how_to_install_it(repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    sentence = (
        "skytrain is not installed here: install it (python3 -m venv .venv && .venv/bin/pip install skytrain"
    )
    done = make(repo, "validate", PATH=str(empty))
    assert done.returncode == 2
    assert sentence in done.stderr
    done = make(repo, "help", PATH=str(empty))
    assert help_targets(done) == COMMON + MARATHON + KUBERNETES + LAST
    assert sentence in done.stdout


def test_the_shipped_makefile_is_the_one_at_the_top_of_skytrain() -> None:
    """One source: `skytrain makefile` prints the top-level Makefile.base.mk (the wheel carries
    that very file as package data), which the examples and the README use."""
    done = skytrain("makefile")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "Makefile.base.mk").read_text()
    with (ROOT / "pyproject.toml").open("rb") as stream:
        included = tomllib.load(stream)["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert included["Makefile.base.mk"] == "skytrain/_data/Makefile.base.mk"
    copies = [
        p
        for folder in ("templates", "examples", "skytrain")
        for p in (ROOT / folder).rglob("Makefile.base.mk")
    ]
    assert copies == []  # no second copy to drift: skytrain new copies the shipped one


def test_runs_on_reads_the_scheduler_of_each_environment(repo: Path) -> None:
    done = skytrain("makefile", "--runs-on", repo)
    assert done.stdout.split() == [
        "dev:marathon",
        "dev:kubernetes",
        "production:marathon",
        "staging:marathon",
        "staging:kubernetes",
    ]
    (repo / "deploy/dev.yml").write_text("scheduler: nomad\n")
    done = skytrain("makefile", "--runs-on", repo)
    assert done.returncode == 2 and done.stdout == ""
    assert (
        "deploy/dev.yml:1:12: error: scheduler: must be one of marathon, kubernetes, both in dev"
        in done.stderr
    )


def test_validate_and_render_run_skytrain_for_real(repo: Path, recorder: tuple[Path, Path]) -> None:
    script, _ = recorder
    done = make(repo, f"SKYTRAIN={script}", "validate", "render-staging")
    assert done.returncode == 0, done.stderr
    assert "ok  giphy" in done.stdout
    assert (repo / "build/render/staging/giphy.marathon.json").is_file()
    assert (repo / "build/render/staging/giphy.deployment.yaml").is_file()


def test_scheduler_targets_run_the_right_skytrain_command(repo: Path, recorder: tuple[Path, Path]) -> None:
    calls = recorded(
        repo,
        recorder,
        "deploy-dev",
        "deploy-k8s-staging",
        "rollback-production",
        "rollback-k8s-dev",
        "status-staging",
        "diff-production",
        "DIFF_FLAGS=--against origin/master",
    )
    assert calls == [
        "deploy . --env dev --target marathon",
        "deploy . --env staging --target kubernetes",
        "rollback . --env production --target marathon",
        "rollback . --env dev --target kubernetes",
        "status . --env staging",
        "diff . --env production --against origin/master",
    ]


def test_cluster_names_and_environments_file_are_overridable(
    repo: Path, recorder: tuple[Path, Path], tmp_path: Path
) -> None:
    calls = recorded(
        repo,
        recorder,
        "deploy-k8s-staging",
        "status-staging",
        "deploy-k8s-dev",
        "K8S_CLUSTER_staging=k8s-staging-2",
        f"SKYTRAIN_ENVIRONMENTS={tmp_path / 'skytrain-environments.yml'}",
    )
    environments = f"--environments {tmp_path / 'skytrain-environments.yml'}"
    assert calls == [
        f"deploy . {environments} --env staging --target kubernetes --kube-context k8s-staging-2",
        f"status . {environments} --env staging --kube-context k8s-staging-2",
        f"deploy . {environments} --env dev --target kubernetes",
    ]


def test_environments_come_from_the_files_present(repo: Path, recorder: tuple[Path, Path]) -> None:
    shutil.copy(repo / "deploy/dev.yml", repo / "deploy/minikube.yml")
    (repo / "deploy/production.yml").unlink()
    assert make(repo, "help", SKYTRAIN_HERE).stdout.splitlines()[-1] == "environments: dev minikube staging"
    assert recorded(repo, recorder, "deploy-k8s-minikube") == ["deploy . --env minikube --target kubernetes"]
    missing = make(repo, "deploy-production")
    assert missing.returncode != 0
    assert "No rule to make target 'deploy-production'" in missing.stderr


def test_deploy_dir_in_a_subfolder(tmp_path: Path, repo: Path, recorder: tuple[Path, Path]) -> None:
    outer = tmp_path / "monorepo"
    outer.mkdir()
    shutil.move(repo, outer / "giphy")
    shutil.copy(ROOT / "Makefile.base.mk", outer)
    (outer / "Makefile").write_text("DEPLOY_DIR = giphy/deploy\ninclude Makefile.base.mk\n")
    assert recorded(outer, recorder, "deploy-staging") == ["deploy giphy --env staging --target marathon"]


def test_pipeline_target_runs_the_pipeline(repo: Path, recorder: tuple[Path, Path]) -> None:
    script, log = recorder
    done = make(repo, f"SKYTRAIN={script}", "pipeline", "PIPELINE_FLAGS=--until validate")
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["pipeline run . --until validate"]
    assert "giphy: passed" in done.stdout


def test_make_fails_when_skytrain_fails(repo: Path, recorder: tuple[Path, Path]) -> None:
    (repo / "deploy/staging.yml").write_text("replicas: -1\n")
    script, _ = recorder
    done = make(repo, f"SKYTRAIN={script}", "validate")
    assert done.returncode != 0
    assert "deploy/staging.yml:1:11: error: replicas: must be at least 0" in done.stderr


@pytest.mark.parametrize(
    ("example", "deploy", "target"),
    [
        ("giphy", "deploy-k8s-staging", "kubernetes"),
        ("organization", "deploy-staging", "marathon"),
        ("media", "deploy-k8s-staging", "kubernetes"),
    ],
)
def test_each_example_makefile_includes_the_base(
    example: str, deploy: str, target: str, recorder: tuple[Path, Path]
) -> None:
    script, log = recorder
    done = make(EXAMPLES / example, f"SKYTRAIN={script}", "help", "validate", deploy)
    assert done.returncode == 0, done.stderr
    assert "environments: dev production staging" in done.stdout
    assert log.read_text().splitlines() == ["validate .", f"deploy . --env staging --target {target}"]


def real_make(repo: Path, platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    """make with the real skytrain, the emulators' environments file, credentials and KUBECONFIG."""
    return make(
        repo,
        f"SKYTRAIN={sys.executable} -m skytrain",
        f"SKYTRAIN_ENVIRONMENTS={platform.environments}",
        *args,
        **platform.process_env(),
    )


def test_scheduler_targets_against_the_emulators(repo: Path, platform: Platform) -> None:
    image = "registry.example.com/giphy:{}".format

    done = real_make(repo, platform, "deploy-k8s-staging", "BUILD_TAG=1")
    assert done.returncode == 0, done.stderr
    assert "staging/giphy on kubernetes: deployed (revision 1)" in done.stdout
    assert platform.kubernetes_image("staging") == image(1) and platform.kubernetes_healthy("staging")
    assert platform.marathon["staging"].calls == []  # deploy-k8s-<env> is Kubernetes only

    done = real_make(repo, platform, "deploy-staging", "BUILD_TAG=1")
    assert done.returncode == 0, done.stderr
    assert platform.marathon_image("staging") == image(1) and platform.marathon_healthy("staging")
    assert all(platform.kubernetes[env].calls == [] for env in ("dev", "production"))

    done = real_make(repo, platform, "status-staging")
    assert done.returncode == 0, done.stderr
    assert "staging/giphy on marathon: healthy" in done.stdout
    assert "staging/giphy on kubernetes: healthy (revision 1)" in done.stdout

    done = real_make(repo, platform, "diff-staging", "BUILD_TAG=1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("no changes") == 2
    done = real_make(repo, platform, "diff-staging", "BUILD_TAG=2", "DIFF_FLAGS=--exit-code")
    assert done.returncode != 0  # diff's exit 3 fails the make target
    assert "Error 3" in done.stderr
    assert f"+        image: {image(2)}" in done.stdout and f"-    image: {image(1)}" in done.stdout

    done = real_make(repo, platform, "deploy-k8s-staging", "BUILD_TAG=2")
    assert done.returncode == 0, done.stderr
    assert platform.kubernetes_image("staging") == image(2)
    done = real_make(repo, platform, "rollback-k8s-staging")
    assert done.returncode == 0, done.stderr
    assert "restored revision 1 as revision 3" in done.stdout
    assert platform.kubernetes_image("staging") == image(1) and platform.kubernetes_healthy("staging")
    assert platform.marathon_image("staging") == image(1)  # the Marathon app was left alone

    assert real_make(repo, platform, "deploy-staging", "BUILD_TAG=2").returncode == 0
    assert platform.marathon_image("staging") == image(2)
    done = real_make(repo, platform, "rollback-staging")
    assert done.returncode == 0, done.stderr
    assert platform.marathon_image("staging") == image(1) and platform.marathon_healthy("staging")


def test_a_failed_gate_fails_make_and_leaves_the_previous_version(repo: Path, platform: Platform) -> None:
    assert real_make(repo, platform, "deploy-k8s-dev", "BUILD_TAG=1").returncode == 0
    platform.controllers["dev"].by_image["giphy:broken"] = CRASH_LOOP

    done = real_make(repo, platform, "deploy-k8s-dev", "BUILD_TAG=broken")

    assert done.returncode != 0
    assert "dev/giphy on kubernetes: rolled-back (revision 3)" in done.stdout  # what runs now
    assert "rolled back to revision 1 (recorded as revision 3)" in done.stdout
    assert "CrashLoopBackOff" in done.stdout and "Error 1" in done.stderr
    assert platform.kubernetes_image("dev") == "registry.example.com/giphy:1"
    assert platform.kubernetes_healthy("dev")


def test_cluster_override_and_pipeline_against_the_emulators(repo: Path, platform: Platform) -> None:
    done = real_make(repo, platform, "deploy-k8s-staging", "BUILD_TAG=1", "K8S_CLUSTER_staging=production")
    assert done.returncode == 0, done.stderr
    assert platform.kubernetes_image("production") == "registry.example.com/giphy:1"  # the cluster asked for
    assert platform.kubernetes["staging"].calls == []

    done = real_make(repo, platform, "pipeline", "BUILD_TAG=2", "PIPELINE_FLAGS=--until staging")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "giphy: passed"
    for env in ("dev", "staging"):
        assert (
            platform.marathon_image(env) == platform.kubernetes_image(env) == "registry.example.com/giphy:2"
        )
    assert platform.marathon["production"].calls == []
