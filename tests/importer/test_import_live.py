"""`skytrain import marathon --from`: two environments on two emulated Marathons (a 1.7 with
a group, a 1.4 at the root), read over HTTP through skytrain's Marathon client. The imported
files render, for each environment, the app its Marathon holds (compared as the live diff
compares them), and nothing but reads reached either Marathon."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from skytrain.backends.marathon.client import MarathonClient
from skytrain.config import load_service
from skytrain.diff.normalise_marathon import normalise_pair
from skytrain.emulators.marathon import Behaviour, MarathonEmulator
from skytrain.schedulers import render
from tests.importer.helpers import differences, environments_file
from tests.importer.test_import_rules import IMAGE, app
from tests.support import closed_port, skytrain

CHECK = {
    "protocol": "HTTP",
    "path": "/status",
    "portIndex": 0,
    "gracePeriodSeconds": 30,
    "intervalSeconds": 10,
}


def staging_app() -> dict[str, Any]:
    """The 1.5+ form, in the group /staging, a Skyline URL and a password among its env."""
    return {
        **app(
            id="/staging/giphy", labels={"team": "search", "HAPROXY_GROUP": "internal"}, healthChecks=[CHECK]
        ),
        "env": {
            "LOG_LEVEL": "debug",
            "MEMBER_SERVICE_URL": "http://localhost:5040/service/member/v2/",
            "DB_PASSWORD": "staging-only-password",
        },
    }


def production_app() -> dict[str, Any]:
    """The 1.4 form, at the root, more instances, no debug."""
    app = copy.deepcopy(staging_app())
    app["id"] = "/giphy"
    app["instances"] = 6
    app["env"] = {"LOG_LEVEL": "info", "MEMBER_SERVICE_URL": "http://localhost:5040/service/member/v2/"}
    app["container"] = {
        "type": "DOCKER",
        "docker": {
            "image": IMAGE,
            "network": "BRIDGE",
            "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
        },
    }
    del app["networks"]
    return app


@pytest.fixture
def marathons(tmp_path):
    """(environments file, {env: emulator}) with each app deployed over HTTP."""
    with (
        MarathonEmulator(flavour="1.7", behaviour=Behaviour.healthy(0.01)) as staging,
        MarathonEmulator(flavour="1.4", behaviour=Behaviour.healthy(0.01)) as production,
    ):
        for emulator, app in ((staging, staging_app()), (production, production_app())):
            client = MarathonClient(emulator.url)
            client.put_app(app["id"], app)
            client.close()
        envs = environments_file(
            tmp_path / "environments.yml",
            {
                "staging": {"url": staging.url, "version": "1.7", "group": "/staging"},
                "production": {"url": production.url, "version": "1.4"},
            },
        )
        yield envs, {"staging": staging, "production": production}


def test_one_app_from_two_live_marathons(tmp_path, marathons):
    envs, emulators = marathons
    before = {env: len(e.requests) for env, e in emulators.items()}
    done = skytrain(
        "import", "marathon", "--from", "staging", "--from", "production", "--app", "/giphy",
        "--environments", envs, "--out", tmp_path / "out",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for env, emulator in emulators.items():
        assert {method for method, _ in emulator.requests[before[env] :]} == {"GET"}
    assert f"{emulators['staging'].url}/v2/apps/staging/giphy: /env/DB_PASSWORD: warning:" in done.stderr
    assert "staging-only-password" not in done.stderr + done.stdout
    deploy = tmp_path / "out" / "giphy" / "deploy"
    assert "staging-only-password" not in "".join(p.read_text() for p in deploy.iterdir())
    assert (
        f"#   staging: {emulators['staging'].url}/v2/apps/staging/giphy (app /staging/giphy)"
        in (deploy / "application.yml").read_text()
    )
    apps = load_service(tmp_path / "out" / "giphy", str(envs), environ={})[1]
    for env, emulator in emulators.items():
        app = apps[env]
        live = MarathonClient(emulator.url).get_app(f"{'/staging' if env == 'staging' else ''}/giphy")
        rendered = render(app, "marathon")[0]
        assert rendered["id"] == live["id"]
        desired, normalised_live = normalise_pair(rendered, live, app.environment.marathon.version)
        changed = differences(desired, normalised_live)
        skytrain_labels = {
            f"/labels/{k}"
            for k in ("SKYTRAIN_APP", "SKYTRAIN_ENV", "SKYTRAIN_MANAGED_BY", "SKYTRAIN_CONFIG_HASH")
        }
        moved_secret = {"/env/DB_PASSWORD", "/secrets/DB_PASSWORD/source"} if env == "staging" else set()
        assert set(changed) == skytrain_labels | moved_secret
        render(app, "kubernetes")
    config_maps = {
        env: next(o for o in render(a, "kubernetes") if o["kind"] == "ConfigMap") for env, a in apps.items()
    }
    assert (
        config_maps["production"]["data"]["MEMBER_SERVICE_URL"]
        == "http://member.ns-1.svc.cluster.local:8080/v2/"
    )


def test_an_app_a_marathon_does_not_hold_is_exit_2(tmp_path, marathons):
    envs, _ = marathons
    done = skytrain(
        "import", "marathon", "--from", "staging", "--app", "/nope", "--environments", envs, "--out", tmp_path
    )
    assert done.returncode == 2
    assert "staging's Marathon has no app /staging/nope" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_marathon_that_does_not_answer_is_exit_1(tmp_path):
    envs = environments_file(tmp_path / "e.yml", {"staging": {"url": f"http://127.0.0.1:{closed_port()}"}})
    done = skytrain(
        "import", "marathon", "--from", "staging", "--app", "/giphy", "--environments", envs, "--out", tmp_path,
        SKYTRAIN_MARATHON_TIMEOUT="2",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "cannot read /giphy from staging's Marathon" in done.stderr
    assert "Traceback" not in done.stderr
    assert not Path(tmp_path / "giphy").exists()
