"""`skytrain jenkins lint|setup` over HTTP against the Jenkins API emulator (auth and
crumb checked as the real server does), run as the CLI a platform engineer types."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from jenkins_emulator import JenkinsEmulator
from pipeline_helpers import skytrain
from pytest_httpserver import HTTPServer

DECLARATIVE = """pipeline {
    agent any
    stages {
        stage('Validate') { steps { sh 'make validate' } }
    }
}
"""


@pytest.fixture
def jenkins(httpserver: HTTPServer) -> JenkinsEmulator:
    return JenkinsEmulator(httpserver).install()


def run(
    jenkins: JenkinsEmulator, *args: str | Path, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    return skytrain(
        "jenkins",
        *args,
        JENKINS_URL=jenkins.url,
        JENKINS_USER=jenkins.user,
        JENKINS_TOKEN=token or jenkins.token,
    )


def test_lint_valid_declarative_jenkinsfile(jenkins: JenkinsEmulator, tmp_path: Path) -> None:
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(DECLARATIVE)
    done = run(jenkins, "lint", jenkinsfile)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{jenkinsfile}: valid"
    assert ("POST", "/pipeline-model-converter/validateJenkinsfile") in jenkins.requests


def test_lint_reports_the_server_errors_and_exits_2(jenkins: JenkinsEmulator, tmp_path: Path) -> None:
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(DECLARATIVE.replace("    agent any\n", ""))
    done = run(jenkins, "lint", jenkinsfile)
    assert done.returncode == 2
    assert 'error: WorkflowScript: 1: Missing required section "agent"' in done.stdout


def test_lint_of_a_library_jenkinsfile_contacts_nothing(jenkins: JenkinsEmulator) -> None:
    done = run(jenkins, "lint", Path(__file__).parents[2] / "examples/giphy/Jenkinsfile")
    assert done.returncode == 0
    assert "not a declarative pipeline" in done.stdout
    assert jenkins.requests == []


def test_wrong_token_fails_with_a_hint_and_never_prints_it(jenkins: JenkinsEmulator, tmp_path: Path) -> None:
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(DECLARATIVE)
    wrong = "0123456789abcdef-wrong-token"
    done = run(jenkins, "lint", jenkinsfile, token=wrong)
    assert done.returncode == 1
    assert "check JENKINS_USER and JENKINS_TOKEN" in done.stderr
    assert wrong not in done.stdout + done.stderr
    assert jenkins.token not in done.stdout + done.stderr


def test_missing_credentials_is_a_usage_error(tmp_path: Path) -> None:
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(DECLARATIVE)
    done = skytrain("jenkins", "lint", jenkinsfile, JENKINS_URL="http://127.0.0.1:9/")
    assert done.returncode == 2
    assert "set JENKINS_USER and JENKINS_TOKEN" in done.stderr


def test_setup_creates_then_leaves_alone_then_updates(jenkins: JenkinsEmulator, service: Path) -> None:
    repository = "https://git.example.com/team/giphy.git"
    first = run(jenkins, "setup", service, "--repository", repository, "--credentials-id", "git-ro")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "giphy: created"
    config = jenkins.jobs["giphy"]
    assert f"<remote>{repository}</remote>" in config
    assert "<credentialsId>git-ro</credentialsId>" in config
    assert "<displayName>Giphy</displayName>" in config

    again = run(jenkins, "setup", service, "--repository", repository, "--credentials-id", "git-ro")
    assert again.stdout.strip() == "giphy: unchanged"
    assert jenkins.requests.count(("POST", "/job/giphy/config.xml")) == 0

    moved = run(jenkins, "setup", service, "--repository", repository.replace("team", "gifs"))
    assert moved.stdout.strip() == "giphy: updated"
    assert "<remote>https://git.example.com/gifs/giphy.git</remote>" in jenkins.jobs["giphy"]
    assert jenkins.requests.count(("POST", "/createItem")) == 1
    assert ("GET", "/crumbIssuer/api/json") in jenkins.requests


def test_setup_escapes_what_goes_into_the_xml(jenkins: JenkinsEmulator, service: Path) -> None:
    base = service / "deploy/application.yml"
    base.write_text(base.read_text().replace("Finds GIFs for the composer.", "Finds <GIFs> & stickers."))
    done = run(jenkins, "setup", service, "--repository", "https://git.example.com/giphy.git")
    assert done.returncode == 0, done.stderr
    assert "Finds &lt;GIFs&gt; &amp; stickers." in jenkins.jobs["giphy"]


def test_setup_refuses_a_repository_url_with_a_password(jenkins: JenkinsEmulator, service: Path) -> None:
    done = run(jenkins, "setup", service, "--repository", "https://bot:hunter22@git.example.com/giphy.git")
    assert done.returncode == 2
    assert "hunter22" not in done.stderr
    assert jenkins.requests == []


def test_emulator_enforces_auth_and_crumb_like_jenkins(jenkins: JenkinsEmulator) -> None:
    import requests

    url = jenkins.url + "createItem?name=x"
    assert requests.post(url, data="<project/>", timeout=5).status_code == 401
    session = requests.Session()
    session.auth = (jenkins.user, jenkins.token)
    assert session.post(url, data="<project/>", timeout=5).status_code == 403
    crumb = session.get(jenkins.url + "crumbIssuer/api/json", timeout=5).json()
    headers = {crumb["crumbRequestField"]: crumb["crumb"]}
    assert (
        requests.post(url, data="<project/>", headers=headers, auth=session.auth, timeout=5).status_code
        == 403
    )
    assert session.post(url, data="<project/>", headers=headers, timeout=5).status_code == 200
    assert "x" in jenkins.jobs
