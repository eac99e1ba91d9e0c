"""The offline diff against a git ref, on a real temporary repository, through the CLI."""

from __future__ import annotations

import json

import pytest
from diff_helpers import BASE, commit_all, git

from skytrain.errors import EXIT_CHANGES, EXIT_OK, EXIT_USAGE


@pytest.fixture
def repo(service):
    """A repository whose first commit has the service as written, and a second commit
    that moves production to image 1.3.0."""
    git(service.root, "init", "-q", "-b", "main")
    commit_all(service.root, "hello as it was")
    service.edit("production.yml", "replicas: 3\n", "replicas: 3\nimage: registry.example.com/hello:1.3.0\n")
    commit_all(service.root, "hello 1.3.0 in production")
    return service


def as_json(completed) -> dict:
    assert completed.returncode in (EXIT_OK, EXIT_CHANGES), completed.stderr
    return json.loads(completed.stdout)


def test_the_diff_between_two_commits_shows_the_change(repo):
    document = as_json(repo.cli("--env", "production", "--against", "HEAD~1", "--format", "json"))
    assert document["changes"] and document["restarts"]
    changes = {
        (r["target"], o["kind"], c["path"]): (c["old"], c["new"], c["restarts"])
        for r in document["results"]
        for o in r["objects"]
        for c in o["changes"]
        if "config" not in c["path"].lower()
    }
    assert changes == {
        ("kubernetes", "Deployment", "/spec/template/spec/containers/0/image"): (
            "registry.example.com/hello:1.2.3",
            "registry.example.com/hello:1.3.0",
            True,
        ),
        ("marathon", "App", "/container/docker/image"): (
            "registry.example.com/hello:1.2.3",
            "registry.example.com/hello:1.3.0",
            True,
        ),
    }
    assert {r["against"] for r in document["results"]} == {"git:HEAD~1"}


def test_exit_code_3_only_when_asked_and_something_changes(repo):
    assert repo.cli("--env", "production", "--against", "HEAD~1").returncode == EXIT_OK
    assert repo.cli("--env", "production", "--against", "HEAD~1", "--exit-code").returncode == EXIT_CHANGES
    unchanged = repo.cli("--env", "production", "--against", "HEAD", "--exit-code")
    assert unchanged.returncode == EXIT_OK, unchanged.stderr
    assert "no changes" in unchanged.stdout


def test_the_working_tree_is_read_as_is_and_never_touched(repo):
    repo.edit("application.yml", "LOG_LEVEL: info", "LOG_LEVEL: debug")
    before = git(repo.root, "status", "--porcelain")
    text = (repo.directory / "deploy" / "application.yml").read_text()
    completed = repo.cli(
        "--env", "staging", "--target", "kubernetes", "--against", "HEAD", "--format", "json"
    )
    document = as_json(completed)
    [result] = document["results"]
    paths = {c["path"] for o in result["objects"] for c in o["changes"]}
    assert "/data/LOG_LEVEL" in paths
    assert git(repo.root, "status", "--porcelain") == before
    assert (repo.directory / "deploy" / "application.yml").read_text() == text


def test_a_service_new_since_the_ref_is_all_added(repo):
    git(repo.root, "rm", "-rq", "--cached", "hello")
    git(repo.root, "commit", "-qm", "no service yet")
    document = as_json(repo.cli("--env", "staging", "--against", "HEAD", "--format", "json"))
    assert {r["target"]: r["summary"] for r in document["results"]} == {
        "marathon": {"added": 1, "changed": 0, "removed": 0, "unchanged": 0},
        "kubernetes": {"added": 3, "changed": 0, "removed": 0, "unchanged": 0},
    }


def test_an_environment_new_since_the_ref_is_all_added(repo):
    repo.environments.write_text(
        repo.environments.read_text() + "  qa:\n    kubernetes:\n      context: qa\n      namespace: qa\n"
    )
    repo.write("qa.yml", "scheduler: kubernetes\n")
    document = as_json(repo.cli("--all-envs", "--against", "HEAD", "--format", "json"))
    summaries = {(r["environment"], r["target"]): r["summary"] for r in document["results"]}
    assert summaries[("qa", "kubernetes")] == {"added": 3, "changed": 0, "removed": 0, "unchanged": 0}
    assert summaries[("staging", "kubernetes")]["changed"] == 0


def test_moving_to_kubernetes_shows_the_marathon_app_removed(repo):
    repo.write("staging.yml", "scheduler: kubernetes\n")
    document = as_json(repo.cli("--env", "staging", "--against", "HEAD", "--format", "json"))
    summaries = {r["target"]: r["summary"] for r in document["results"]}
    assert summaries["marathon"] == {"added": 0, "changed": 0, "removed": 1, "unchanged": 0}
    assert summaries["kubernetes"]["removed"] == 0


def test_an_unknown_ref_is_bad_input(repo):
    completed = repo.cli("--env", "staging", "--against", "no-such-branch")
    assert completed.returncode == EXIT_USAGE
    assert "no-such-branch" in completed.stderr and "no such commit" in completed.stderr


def test_a_broken_file_at_the_ref_is_reported_at_the_ref(repo):
    repo.edit("application.yml", "replicas: 2", "replicas: many")
    commit_all(repo.root, "broken")
    repo.edit("application.yml", "replicas: many", "replicas: 2")
    completed = repo.cli("--env", "staging", "--against", "HEAD")
    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.startswith("HEAD:") and "hello/deploy/application.yml:7:" in completed.stderr


def test_services_anywhere_in_one_repository_are_read_at_the_ref_in_one_process(tmp_path):
    """One git conversation per repository serves every service of a fleet: a service at
    the repository's top, one in a folder, one in a hidden folder, each reads its own files."""
    from skytrain.diff.gitref import read_service_at

    folders = {
        "top": tmp_path,
        "nested": tmp_path / "services" / "nested",
        "hidden": tmp_path / ".fleet" / "hidden",
    }
    for name, folder in folders.items():
        (folder / "deploy").mkdir(parents=True)
        (folder / "deploy" / "application.yml").write_text(BASE.replace("name: hello", f"name: {name}"))
        (folder / "deploy" / "staging.yml").write_text("replicas: 1\n")
    git(tmp_path, "init", "-q", "-b", "main")
    commit_all(tmp_path, "three services")
    for folder in folders.values():
        (folder / "deploy" / "application.yml").write_text("name: changed-since\n")
    for name, folder in folders.items():
        files = read_service_at("HEAD", folder)
        assert files is not None and files.base.data["name"] == name
        assert set(files.overlays) == {"staging"}
    assert read_service_at("HEAD", tmp_path / "services") is None  # no service there at HEAD
