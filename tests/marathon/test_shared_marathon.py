"""Staging and production on one Marathon, staging in its own group (marathon.group): once a
production deploy replaced staging's app and history. Now both deploy, and deploy, status,
history, the live diff and rollback of each see only their own app, through the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from skytrain.emulators.marathon import MarathonEmulator
from tests.support import skytrain

BASE = """\
name: shop
image: registry.example.com/shop:{{ BUILD_TAG }}
scheduler: marathon
replicas: 2
port: 8080
resources: {cpu: 0.5, memory: 256Mi}
healthCheck: {path: /health, intervalSeconds: 1}
"""


@pytest.fixture
def shared(tmp_path: Path, marathon_emulator: MarathonEmulator) -> tuple[Path, Path]:
    """The shop service (4 instances in production, 2 in staging) and an environments file that
    puts both environments on the one emulator, the URL spelled two ways."""
    deploy = tmp_path / "shop" / "deploy"
    deploy.mkdir(parents=True)
    (deploy / "application.yml").write_text(BASE)
    (deploy / "production.yml").write_text("replicas: 4\n")
    (deploy / "staging.yml").write_text("{}\n")
    environments = tmp_path / "environments.yml"
    environments.write_text(
        "environments:\n"
        f"  production:\n    marathon: {{url: '{marathon_emulator.url}'}}\n"
        f"  staging:\n    marathon: {{url: '{marathon_emulator.url}/', group: /staging}}\n"
    )
    return tmp_path / "shop", environments


def run(
    shared: tuple[Path, Path], command: str, *args: str, tag: str = "1"
) -> subprocess.CompletedProcess[str]:
    directory, environments = shared
    return skytrain(
        command, directory, "--target", "marathon", "--environments", environments, *args, BUILD_TAG=tag
    )


def status(shared: tuple[Path, Path], env: str) -> dict:
    done = run(shared, "status", "--env", env, "--output", "json")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    return result


def test_two_environments_on_one_marathon_keep_their_own_apps(shared, marathon_emulator):
    for env, tag in (("production", "1"), ("staging", "1"), ("production", "2")):
        done = run(shared, "deploy", "--env", env, tag=tag)
        assert done.returncode == 0, done.stderr
    assert "app /staging/shop" in run(shared, "deploy", "--env", "staging", "--no-wait", tag="3").stderr
    assert run(shared, "rollback", "--env", "staging").returncode == 0  # back to tag 1: staging's own history

    production, staging = marathon_emulator.app("/shop"), marathon_emulator.app("/staging/shop")
    assert (production["instances"], production["container"]["docker"]["image"]) == (
        4,
        "registry.example.com/shop:2",
    )
    assert (staging["instances"], staging["container"]["docker"]["image"]) == (
        2,
        "registry.example.com/shop:1",
    )
    assert (
        production["labels"]["SKYTRAIN_ENV"] == "production"
        and staging["labels"]["SKYTRAIN_ENV"] == "staging"
    )

    recorded: dict[str, set[str]] = {}
    for env, app, instances, versions in (("production", "/shop", 4, 2), ("staging", "/staging/shop", 2, 3)):
        result = status(shared, env)
        (shown,) = result["objects"]
        assert shown["name"] == f"app {app}"
        assert shown["details"]["instances"] == shown["details"]["tasksRunning"] == instances
        assert result["revision"] == marathon_emulator.app(app)["version"]
        # the history is the app's own versions: staging's deploy, its --no-wait deploy, its rollback
        recorded[env] = {entry["revision"] for entry in result["history"]}
        assert len(recorded[env]) == versions and result["revision"] in recorded[env]
    assert not recorded["production"] & recorded["staging"]

    # the live diff of each reads its own app: production runs tag 2, staging tag 1
    done = run(shared, "diff", "--all-envs", "--format", "json", "--exit-code", tag="2")
    assert done.returncode == 3, done.stderr
    by_env = {r["environment"]: r for r in json.loads(done.stdout)["results"]}
    assert by_env["production"]["summary"]["unchanged"] == 1
    assert by_env["staging"]["summary"]["changed"] == 1
    (changed,) = by_env["staging"]["objects"]
    assert changed["name"] == "/staging/shop"
