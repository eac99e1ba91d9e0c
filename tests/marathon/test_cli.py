"""`python -m skytrain deploy|status|scale|rollback --target marathon` against the emulator,
with credentials that must never show in any output."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from marathon_helpers import write_environments

from skytrain.emulators.marathon import Behaviour, MarathonEmulator
from tests.support import assert_status_is_a_sentence, closed_port, skytrain

USER, PASSWORD, TOKEN = "deployer", "pa55-w0rd-never-print", "tok-never-print-42"
SECRETS = (PASSWORD, TOKEN, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


@pytest.fixture
def secured():
    with MarathonEmulator(behaviour=Behaviour.healthy(0.02), credentials=(USER, PASSWORD), token=TOKEN) as m:
        yield m


@pytest.fixture
def shop(tmp_path, secured, service):
    """The service directory and an environments file pointing at the secured emulator."""
    service()
    return tmp_path / "shop", write_environments(tmp_path / "secured-environments.yml", secured.url)


def assert_no_secret(result: subprocess.CompletedProcess[str]) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr


def operate(command: str, shop, *extra: str, credentials: dict[str, str]):
    directory, environments = shop
    return skytrain(  # the machine's MARATHON_* settings never reach the process: only `credentials`
        command,
        str(directory),
        "--env",
        "staging",
        "--target",
        "marathon",
        "--environments",
        str(environments),
        *extra,
        CI="true",
        SKYTRAIN_MARATHON_TIMEOUT="2",
        **credentials,
    )


BASIC = {"MARATHON_USER": USER, "MARATHON_PASSWORD": PASSWORD}


def test_deploy_status_scale_rollback_with_basic_auth(shop, secured):
    deployed = operate("deploy", shop, credentials=BASIC)
    assert deployed.returncode == 0, deployed.stderr
    assert "staging/shop on marathon: deployed" in deployed.stdout
    assert "gate passed" in deployed.stdout
    assert "staging/shop on marathon: healthy (2 of 2 replicas healthy)" in deployed.stderr
    status = operate("status", shop, "--output", "json", credentials=BASIC)
    assert json.loads(status.stdout)["results"][0]["healthy"] is True
    scaled = operate("scale", shop, "--instances", "3", credentials=BASIC)
    assert scaled.returncode == 0 and "applied scale from 2 replicas to 3 replicas" in scaled.stdout
    assert "staging/shop on marathon: scaled (revision " in scaled.stdout  # never "deployed" after a scale
    rolled = operate("rollback", shop, credentials=BASIC)
    assert rolled.returncode == 2  # nothing to roll back to: nothing was sent
    assert "shop has no earlier revision to roll back to in staging on marathon" in rolled.stdout
    assert secured.app("/shop")["instances"] == 3
    for result in (deployed, status, scaled, rolled):
        assert_no_secret(result)


def test_a_failed_deploy_prints_the_evidence_but_no_token(shop, secured, image):
    assert operate("deploy", shop, credentials={"MARATHON_TOKEN": TOKEN}).returncode == 0
    shop[0].joinpath("deploy", "application.yml").write_text(
        shop[0].joinpath("deploy", "application.yml").read_text().replace(image("1"), image("bad"))
    )
    secured.behave(image("bad"), Behaviour.crashing(0.01))
    failed = operate("deploy", shop, "--output", "json", credentials={"MARATHON_TOKEN": TOKEN})
    assert failed.returncode == 1
    (result,) = json.loads(failed.stdout)["results"]
    assert result["outcome"] == "rolled-back"
    assert "Command exited with status 1" in json.dumps(result["gate"]["failures"])
    assert secured.app("/shop")["container"]["docker"]["image"] == image("1")
    assert_no_secret(failed)


def test_wrong_credentials_are_refused_without_echoing_them(shop, secured):
    refused = operate(
        "deploy", shop, credentials={"MARATHON_USER": USER, "MARATHON_PASSWORD": "nope-" + PASSWORD}
    )
    assert refused.returncode == 1
    assert "refused our credentials (401)" in refused.stdout
    assert "MARATHON_USER" in refused.stdout
    assert "nope-" not in refused.stdout + refused.stderr
    assert_no_secret(refused)
    assert secured.app("/shop") is None


def test_a_refused_field_points_at_the_yaml_line(tmp_path, shop, service):
    service(cpu="0.0001")
    refused = operate("deploy", shop, credentials=BASIC)
    assert refused.returncode == 1
    assert (
        "deploy/application.yml:7:8: error: resources.cpu: Marathon refused the app at /cpus"
        in refused.stdout
    )


def test_status_of_an_unreachable_marathon_is_a_sentence_and_exit_1_in_every_format(tmp_path, service):
    service()
    port = closed_port()
    down = (tmp_path / "shop", write_environments(tmp_path / "down.yml", f"http://127.0.0.1:{port}"))

    text, as_json = (
        operate("status", down, *output, credentials=BASIC) for output in ((), ("--output", "json"))
    )

    said = (
        f"could not read what runs on marathon in staging: Marathon at http://127.0.0.1:{port} did not "
        "answer GET /v2/apps/shop: connection refused"
    )
    assert_status_is_a_sentence(text, as_json, "staging/shop on marathon", said)


def test_text_status_shows_the_recent_versions_and_a_rollback_to_an_unknown_one_exits_2(shop, secured):
    assert operate("deploy", shop, credentials=BASIC).returncode == 0
    assert operate("scale", shop, "--instances", "3", credentials=BASIC).returncode == 0
    versions = sorted(secured.apps["/shop"].versions, reverse=True)

    status = operate("status", shop, credentials=BASIC)

    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == f"staging/shop on marathon: healthy (revision {versions[0]})"
    assert lines[2:] == [
        "  recent revisions (newest first):",
        f"    {versions[0]}  running",
        f"    {versions[1]}  -",
    ]
    unknown = operate("rollback", shop, "--to-version", "2001-01-01T00:00:00.000Z", credentials=BASIC)
    assert unknown.returncode == 2
    assert (
        f"shop has no revision 2001-01-01T00:00:00.000Z in staging on marathon; recorded: {versions[0]}, "
        in (unknown.stdout)
    )
