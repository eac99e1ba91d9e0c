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
from pathlib import Path

import pytest
from pipeline_helpers import EXAMPLES, ROOT, cli_env, require_tool

from skytrain.emulators.kubernetes_controllers import CRASH_LOOP
from skytrain.emulators.platform import Platform


@pytest.fixture(autouse=True)
def make_installed() -> None:
    require_tool("make")


RECORDER = """#!/bin/sh
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


def make(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
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


def test_help_lists_every_target_once_with_the_environments_present(repo: Path) -> None:
    done = make(repo, "help")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    targets = [line.split()[1] for line in lines if line.startswith("make ")]
    assert targets == [
        "validate",
        "render-<env>",
        "diff-<env>",
        "deploy-<env>",
        "deploy-k8s-<env>",
        "rollback-<env>",
        "rollback-k8s-<env>",
        "status-<env>",
        "pipeline",
    ]
    assert lines[-1] == "environments: dev production staging"


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
    assert make(repo, "help").stdout.splitlines()[-1] == "environments: dev minikube staging"
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


@pytest.mark.parametrize("example", ["giphy", "organization", "media"])
def test_each_example_makefile_includes_the_base(example: str, recorder: tuple[Path, Path]) -> None:
    script, log = recorder
    done = make(EXAMPLES / example, f"SKYTRAIN={script}", "help", "validate", "deploy-k8s-staging")
    assert done.returncode == 0, done.stderr
    assert "environments: dev production staging" in done.stdout
    assert log.read_text().splitlines() == ["validate .", "deploy . --env staging --target kubernetes"]


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
