"""The canary through real NGINX: the SDB sends a service's share of requests to Kubernetes
first, says on every answer who served it, and retries on Mesos what Kubernetes fails, but
only for idempotent methods."""

from __future__ import annotations

import dataclasses
import http.client
import math
from collections import Counter

import pytest

from skytrain.emulators.mesh import LocalMesh, StandIn

from .harness import example_fleet, require_nginx

MESOS, KUBERNETES = "giphy@mesos", "giphy@kubernetes"


@pytest.fixture
def canary(tmp_path):
    """giphy on both schedulers behind a real local proxy, SDB and bridge; `set(share, ...)`
    regenerates and safely applies the mesh with that canary share."""
    binary = require_nginx()
    environment, apps = example_fleet("staging", ("giphy",))
    mesh = LocalMesh(tmp_path, environment, binary)
    stand_ins = {MESOS: StandIn(MESOS), KUBERNETES: StandIn(KUBERNETES)}

    class Canary:
        def __init__(self) -> None:
            self.mesh, self.stand_ins = mesh, stand_ins

        def configs(self, share: int) -> dict[str, str]:
            return mesh.configs(
                apps,
                {"giphy": [stand_ins[MESOS].address]},
                {"giphy": stand_ins[KUBERNETES].address},
                {"giphy": share} if share else {},
            )

        def set(self, share: int, kubernetes: StandIn | None = None) -> dict[str, bool]:
            if kubernetes is not None:
                stand_ins[KUBERNETES].stop()
                stand_ins[KUBERNETES] = kubernetes
            return mesh.apply(self.configs(share))

    made = Canary()
    mesh.start(made.configs(0))
    yield made
    mesh.stop()
    for stand_in in stand_ins.values():
        stand_in.stop()


def ask(port: int, path: str = "/service/giphy/search?q=cat", method: str = "GET") -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def split(port: int, requests: int) -> Counter[str]:
    served: Counter[str] = Counter()
    for _ in range(requests):
        status, headers, _ = ask(port)
        assert status == 200
        served[headers["x-skyline-served-by"]] += 1
    return served


def within(count: int, requests: int, share: int) -> bool:
    """A binomial count within four standard deviations of its expectation."""
    expected = requests * share / 100
    return abs(count - expected) <= 4 * math.sqrt(requests * share / 100 * (1 - share / 100)) + 1


def test_the_share_of_requests_goes_to_kubernetes_and_every_answer_says_who_served_it(canary):
    local, sdb = canary.mesh.ports["local"], canary.mesh.ports["sdb"]
    assert split(local, 50) == Counter({"mesos": 50})
    status, headers, _ = ask(sdb, "/skyline/canary/giphy")
    assert status == 404, "no canary: the SDB reports no share"

    assert canary.set(25) == {"local": False, "sdb": True, "bridge": False}
    served = split(local, 400)
    assert within(served["kubernetes"], 400, 25), served
    status, headers, body = ask(sdb, "/skyline/canary/giphy")
    assert (status, body) == (200, b"25\n")
    _, headers, body = ask(local)
    who = KUBERNETES if headers["x-skyline-served-by"] == "kubernetes" else MESOS
    assert who.encode() in body
    assert headers["x-skyline-route"] == ("canary" if who == KUBERNETES else "mesos")
    assert headers["x-skyline-upstream-status"] == "200" and headers["x-request-id"]

    assert canary.set(100) == {"local": False, "sdb": True, "bridge": False}
    assert split(local, 50) == Counter({"kubernetes": 50})
    assert canary.set(0)["sdb"] is True
    assert split(local, 50) == Counter({"mesos": 50})
    assert canary.mesh.servers["sdb"].config.read_text() == canary.configs(0)["sdb.conf"]


def test_what_kubernetes_fails_is_retried_on_mesos_for_gets_but_never_for_posts(canary):
    local = canary.mesh.ports["local"]
    canary.set(50, kubernetes=StandIn(KUBERNETES, fail_every=2))
    statuses: Counter[tuple[str, str, str]] = Counter()
    for _ in range(200):
        status, headers, _ = ask(local)
        assert status == 200, "a GET that Kubernetes fails is answered by Mesos"
        statuses[
            headers["x-skyline-route"], headers["x-skyline-upstream-status"], headers["x-skyline-served-by"]
        ] += 1
    failed_on_kubernetes = statuses["canary", "500, 200", "mesos"]
    assert failed_on_kubernetes >= 20, statuses
    assert set(statuses) <= {
        ("mesos", "200", "mesos"),
        ("canary", "200", "kubernetes"),
        ("canary", "500, 200", "mesos"),
    }

    before = canary.stand_ins[MESOS].requests["POST"]
    answers = Counter(ask(local, method="POST")[0] for _ in range(100))
    kubernetes_posts = canary.stand_ins[KUBERNETES].requests["POST"]
    assert answers[500] > 0, "a POST that Kubernetes failed reaches the caller: it is never sent twice"
    assert canary.stand_ins[MESOS].requests["POST"] - before + kubernetes_posts == 100, "each POST ran once"


def test_at_100_a_dead_kubernetes_side_is_backed_by_mesos(canary):
    local = canary.mesh.ports["local"]
    canary.set(100)
    canary.stand_ins[KUBERNETES].stop()
    for _ in range(30):
        status, headers, _ = ask(local)
        assert (status, headers["x-skyline-served-by"], headers["x-skyline-route"]) == (
            200,
            "mesos",
            "canary",
        )
        assert headers["x-skyline-upstream-status"].startswith("502, ")


def test_a_share_for_a_service_not_on_marathon_is_refused(canary):
    from skytrain.errors import ConfigErrors
    from skytrain.render.routing import build_routing

    environment, apps = example_fleet("staging", ("giphy", "media"))
    with pytest.raises(ConfigErrors, match="'media' has a canary share"):
        build_routing(apps, environment, shares={"media": 5})
    with pytest.raises(ConfigErrors, match="101 is not a share from 0 to 100"):
        build_routing(apps, environment, shares={"giphy": 101})
    on_kubernetes = [dataclasses.replace(a, schedulers=("kubernetes",)) for a in apps]
    with pytest.raises(ConfigErrors, match="'giphy' has a canary share"):
        build_routing(on_kubernetes, environment, shares={"giphy": 5})
