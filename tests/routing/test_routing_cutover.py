"""THE cut-over test: real NGINX (local proxy → SDB → Mesos or the Kubernetes bridge),
stand-in services, a steady stream of requests through every phase of a migration,
and not one failed request.

(a) giphy on Mesos only: Mesos answers.
(b) giphy deployed on Kubernetes too: still Mesos (the SDB config does not even change).
(c) Mesos scaled to zero: tasks die and the SDB falls back at once (the Kubernetes
    workers are the backup servers of the Mesos upstream); then the regenerated config
    (no Mesos location) is safely applied: Kubernetes answers throughout.
(d) Mesos scaled back up (fall-back): the SDB prefers Mesos again.
All along, a Kubernetes caller reaches the Mesos-resident organization by its cluster
DNS name through the bridge's egress; and a broken config is refused while traffic flows.
"""

from __future__ import annotations

import dataclasses

import pytest

from skytrain.backends.nginx import ConfigRefused, safe_apply
from skytrain.emulators.mesh import LocalMesh, StandIn

from .harness import Client, Traffic, example_fleet, require_nginx

REPORT_PROPERTY = "cutover"  # tests/conftest.py prints this property at the end of the run
REQUESTS_PER_PHASE = 150
GIPHY_MESOS, GIPHY_KUBERNETES, ORGANIZATION_MESOS = "giphy@mesos", "giphy@kubernetes", "organization@mesos"


@pytest.fixture
def stand_ins():
    started = {who: StandIn(who) for who in (GIPHY_MESOS, GIPHY_KUBERNETES, ORGANIZATION_MESOS)}
    yield started
    for stand_in in started.values():
        stand_in.stop()


def test_cut_over_and_fall_back_lose_no_request(tmp_path, stand_ins, record_property):
    binary = require_nginx()
    environment, apps = example_fleet("staging", ("giphy", "organization"))
    giphy, organization = apps
    assert giphy.schedulers == ("marathon", "kubernetes")
    giphy_on_mesos = dataclasses.replace(giphy, schedulers=("marathon",))
    mesh = LocalMesh(tmp_path, environment, binary)
    k8s = {"giphy": stand_ins[GIPHY_KUBERNETES].address}
    nodes = {
        "giphy": [stand_ins[GIPHY_MESOS].address],
        "organization": [stand_ins[ORGANIZATION_MESOS].address],
    }

    mesh.start(mesh.configs([giphy_on_mesos, organization], nodes, k8s))
    traffic = Traffic()
    local, bridge = mesh.ports["local"], mesh.ports["bridge"]
    cluster_name = "organization.default.svc.cluster.local:8080"
    for keep_alive in (False, True):
        kind = "keep-alive" if keep_alive else "new-connection"
        traffic.add(Client(f"giphy {kind}", traffic, local, "/service/giphy/media?q=cat", None, keep_alive))
        traffic.add(
            Client(f"organization {kind}", traffic, bridge, "/teams/7?active=1", cluster_name, keep_alive)
        )
    giphy_clients = [c for c in traffic.clients if c.name.startswith("giphy")]
    on_mesos = {
        c.name: ORGANIZATION_MESOS if c.name.startswith("org") else GIPHY_MESOS for c in traffic.clients
    }
    on_kubernetes = {**on_mesos, **{c.name: GIPHY_KUBERNETES for c in giphy_clients}}
    traffic.start()
    try:
        traffic.run_phase("a", REQUESTS_PER_PHASE)

        with traffic.transition("b-transition", on_mesos):
            changed = mesh.apply(mesh.configs([giphy, organization], nodes, k8s))
        assert changed == {"local": False, "sdb": False, "bridge": True}, "only the bridge learns about giphy"
        traffic.run_phase("b", REQUESTS_PER_PHASE)

        with traffic.transition("c-transition", on_kubernetes):
            stand_ins[GIPHY_MESOS].stop()  # Marathon kills the tasks first...
        # ...while the SDB config still lists them: the backup servers answer
        traffic.run_phase("c-tasks-gone", REQUESTS_PER_PHASE // 3)
        with traffic.transition("c-reload", on_kubernetes):
            nodes["giphy"] = []  # ...then the catalogue says none is healthy
            changed = mesh.apply(mesh.configs([giphy, organization], nodes, k8s))
        assert changed == {"local": False, "sdb": True, "bridge": False}
        traffic.run_phase("c", REQUESTS_PER_PHASE)

        with traffic.transition("d-transition", on_mesos):
            revived = StandIn(GIPHY_MESOS)  # scaled back up: a new task, on a new port
            stand_ins["revived"] = revived
            nodes["giphy"] = [revived.address]
            changed = mesh.apply(mesh.configs([giphy, organization], nodes, k8s))
        assert changed["sdb"] is True
        traffic.run_phase("d", REQUESTS_PER_PHASE)

        broken = mesh.servers["sdb"].config.read_text().replace("proxy_pass", "proxy_passs", 1)
        before = mesh.servers["sdb"].config.read_text()
        with pytest.raises(ConfigRefused, match="old config keeps serving"):
            safe_apply(mesh.servers["sdb"], broken)
        assert mesh.servers["sdb"].config.read_text() == before
        traffic.run_phase("d-after-refused-config", REQUESTS_PER_PHASE)
    finally:
        traffic.stop()
        mesh.stop()

    report = [f"{'client':28} {'phase':24} answers"]
    for client in traffic.clients:
        for phase, counts in client.counts.items():
            report.append(f"{client.name:28} {phase:24} {dict(counts)}")
        report.append(f"{client.name:28} {'failed requests':24} {len(client.failures)}")
        report.append(f"{client.name:28} {'idle connection resets':24} {client.resets}")
    total = sum(sum(c.values()) for client in traffic.clients for c in client.counts.values())
    failed = sum(len(client.failures) for client in traffic.clients)
    resets = sum(client.resets for client in traffic.clients)
    report.append(
        f"total: {total} requests answered, {failed} failed, {resets} idle keep-alive connection resets retried"
    )
    record_property(REPORT_PROPERTY, "\n".join(report))  # printed at the end of the run (conftest.py)

    assert [f for c in traffic.clients for f in c.failures] == []
    for client in traffic.clients:
        counts = client.counts
        for phase in ("a", "b", "d", "d-after-refused-config"):
            assert set(counts[phase]) == {on_mesos[client.name]}, (client.name, phase, counts[phase])
        for phase in ("c-tasks-gone", "c"):
            assert set(counts[phase]) == {on_kubernetes[client.name]}, (client.name, phase, counts[phase])
        assert sum(counts["c"].values()) >= REQUESTS_PER_PHASE
    # the Kubernetes caller's request arrived at Mesos as its Skyline URL, via the SDB
    organization_answer = next(c for c in traffic.clients if c.name.startswith("org")).last_answer
    assert organization_answer["path"] == "/service/organization/teams/7?active=1"
    assert organization_answer["forwarded_host"] == cluster_name


def test_bridge_ingress_rewrites_to_the_service_path(tmp_path, stand_ins):
    """/service/giphy/<path> reaches the Kubernetes Service as /<path>, query intact."""
    binary = require_nginx()
    environment, apps = example_fleet("staging", ("giphy", "organization"))
    mesh = LocalMesh(tmp_path, environment, binary)
    nodes = {"giphy": [], "organization": [stand_ins[ORGANIZATION_MESOS].address]}
    mesh.start(mesh.configs(apps, nodes, {"giphy": stand_ins[GIPHY_KUBERNETES].address}))
    traffic = Traffic()
    client = Client("probe", traffic, mesh.ports["local"], "/service/giphy/media/v1?q=a%20cat", None, True)
    try:
        answer = client._request()
        client.path = "/service/unknown/x"
        with pytest.raises(AssertionError, match="HTTP 404"):
            client._request()
    finally:
        mesh.stop()
    assert answer["who"] == GIPHY_KUBERNETES
    assert answer["path"] == "/media/v1?q=a%20cat"
    assert answer["request_id"] and answer["forwarded_for"] == "127.0.0.1, 127.0.0.1, 127.0.0.1"
