"""`skytrain migrate status`: each service's phase, derived from its files, live Marathon,
live Kubernetes and the canary shares in Consul, as text and JSON."""

from __future__ import annotations

import json

from skytrain.emulators.platform import MARATHON_CREDENTIALS
from tests.support import closed_port

from .world import ENV, World


def status(world: World, capsys, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = world.skytrain("migrate", "status", "--fleet", world.fleet, "--env", ENV, *extra)
    return code, capsys.readouterr().out


def phases(world: World, capsys, expect: int = 0) -> dict[str, dict]:
    code, out = status(world, capsys, "--format", "json")
    assert code == expect, out
    services = json.loads(out)["environments"][ENV]["services"]
    return {s["service"]: s for s in services}


def test_each_service_stands_where_config_and_schedulers_put_it(deployed, capsys):
    found = phases(deployed, capsys)
    assert {name: s["label"] for name, s in found.items()} == {
        "giphy": "dual",
        "media": "on Kubernetes",
        "organization": "on Marathon",
    }
    assert found["giphy"]["marathon"] == {"desired": 2, "ready": 2, "settled": True}
    assert found["giphy"]["kubernetes"]["ready"] == 2
    assert found["giphy"]["next"] == f"skytrain migrate cutover {deployed.service('giphy')} --env {ENV}"
    assert found["media"]["marathon"] is None and found["media"]["share"] == 100

    code, text = status(deployed, capsys)
    assert code == 0
    assert f"{ENV}: 1 on Marathon, 1 dual, 1 on Kubernetes" in text
    assert "giphy         dual" in text


def test_a_share_in_consul_is_a_canary_and_a_hand_made_scale_is_inconsistent(deployed, capsys):
    deployed.set_share("giphy", 25)
    assert phases(deployed, capsys)["giphy"]["label"] == "canary 25 %"

    # scaled to 0 by hand: the SDB still prefers Mesos for 75 % and nothing says where to return
    app = deployed.service("giphy")
    assert deployed.skytrain("scale", app, "--env", ENV, "--target", "marathon", "--instances", "0") == 0
    giphy = phases(deployed, capsys)["giphy"]
    assert giphy["phase"] == "inconsistent"
    assert "Marathon runs no instance, but the SDB still prefers Mesos for 75 %" in giphy["problem"]
    assert giphy["next"] == f"skytrain migrate cutover {app} --env {ENV}"

    deployed.set_share("giphy", 100)
    giphy = phases(deployed, capsys)["giphy"]
    assert "no previous instance count is recorded" in giphy["problem"]
    assert giphy["next"].endswith("--instances N")

    deployed.set_share("organization", 5)
    organization = phases(deployed, capsys)["organization"]
    assert (
        organization["phase"] == "inconsistent"
        and "config places it on Marathon only" in organization["problem"]
    )


def test_a_value_in_consul_that_is_no_share_is_said(deployed, capsys):
    from skytrain.backends.consul import ConsulKV
    from skytrain.render.routing.canary import share_key

    ConsulKV(deployed.consul.url).put(share_key(ENV, "giphy"), "25; return 200")
    giphy = phases(deployed, capsys, expect=1)["giphy"]
    assert giphy["phase"] == "inconsistent"
    assert "holds '25; return 200', not a share from 0 to 100" in giphy["problem"]


def test_an_unreachable_consul_or_marathon_is_a_sentence_and_exit_1(deployed, capsys, monkeypatch):
    text = deployed.environments.read_text().replace(deployed.consul.url, f"http://127.0.0.1:{closed_port()}")
    deployed.environments.write_text(text)
    code, out = status(deployed, capsys)
    assert code == 1
    assert "could not read the canary shares in Consul: Consul at http://127.0.0.1:" in out
    assert "connection refused" in out

    monkeypatch.setenv("MARATHON_PASSWORD", "wrong")
    code, out = status(deployed, capsys, "--format", "json")
    assert code == 1 and MARATHON_CREDENTIALS[1] not in out
    assert "refused our credentials (401)" in out


def test_status_reads_one_list_per_kind_per_scheduler(deployed, capsys):
    marathon, kubernetes = deployed.platform.marathon[ENV], deployed.platform.kubernetes[ENV]
    before_m, before_k = len(marathon.calls), len(kubernetes.calls)
    phases(deployed, capsys)
    assert [(c.method, c.path) for c in marathon.calls[before_m:]] == [("GET", "/v2/apps")]
    assert [(c.method, c.path.split("?")[0]) for c in kubernetes.calls[before_k:]] == [
        ("GET", "/apis/apps/v1/namespaces/default/deployments")
    ]
