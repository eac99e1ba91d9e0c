"""`python -m skytrain deploy|status|scale|rollback --target marathon` against the emulator,
with credentials that must never show in any output."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from marathon_helpers import write_environments

from skytrain.emulators.marathon import Behaviour, MarathonEmulator
from tests.support import skytrain

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
    assert "staging/shop marathon: healthy (2/2 healthy)" in deployed.stderr
    status = operate("status", shop, "--output", "json", credentials=BASIC)
    assert json.loads(status.stdout)["results"][0]["healthy"] is True
    scaled = operate("scale", shop, "--instances", "3", credentials=BASIC)
    assert scaled.returncode == 0 and "applied scale from 2 to 3 instances" in scaled.stdout
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
