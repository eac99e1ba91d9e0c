"""`skytrain routes` renders the static SDB with the canary shares in the environment's
Consul, so regenerating the routes during a migration keeps its share."""

from __future__ import annotations

from skytrain.backends.consul import ConsulKV
from skytrain.render.routing.canary import share_key
from tests.support import closed_port

from .world import ENV


def routes(world, out, *extra: str) -> int:
    return world.skytrain("routes", "--fleet", world.fleet, "--env", ENV, "--out", out, *extra)


def test_the_regenerated_sdb_keeps_the_share_and_says_so(tmp_path, capsys, monkeypatch):
    from .world import world as made

    with made(tmp_path, monkeypatch) as world:
        out = tmp_path / "routes"
        world.set_share("giphy", 25)
        assert routes(world, out) == 0
        assert "canary: 25 % of giphy's requests to Kubernetes first (Consul)" in capsys.readouterr().out
        sdb = (out / "sdb.conf").read_text()
        assert 'split_clients "${skyline_request_id}giphy" $skyline_canary_giphy {\n        25%    1;' in sdb
        assert 'return 200 "25\\n";' in sdb

        assert routes(world, out, "--no-canary") == 0
        assert "split_clients" not in (out / "sdb.conf").read_text()

        ConsulKV(world.consul.url).put(share_key(ENV, "giphy"), "25;\n}")
        assert routes(world, out) == 2
        assert "holds '25;\\n}', not a share from 0 to 100" in capsys.readouterr().err

        text = world.environments.read_text().replace(world.consul.url, f"http://127.0.0.1:{closed_port()}")
        world.environments.write_text(text)
        assert routes(world, out) == 1
        err = capsys.readouterr().err
        assert "could not read the canary shares" in err and "--no-canary" in err
