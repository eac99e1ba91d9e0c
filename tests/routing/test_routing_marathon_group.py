"""An environment in a Marathon group (marathon.group, for a Marathon shared with another
environment) is routed like any other: the mesh knows a service by its name, and
`/service/<name>/` reaches it; the group lives only in the Marathon app id."""

from __future__ import annotations

import re
from pathlib import Path

from skytrain.config import load_service
from skytrain.render.routing import SDB_CONF, SDB_CTMPL, build_routing, render_routes
from skytrain.schedulers import render
from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES

FLEET = ("giphy", "media", "organization")


def routes(environments: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The staging routes of the example fleet, and each Marathon service's app id there."""
    apps = [load_service(EXAMPLES / name, str(environments), ["staging"], {})[1]["staging"] for name in FLEET]
    files = render_routes(build_routing(apps, apps[0].environment))
    ids = {app.name: render(app, "marathon")[0]["id"] for app in apps if app.runs_on("marathon")}
    return files, ids


def test_a_grouped_marathon_app_is_routed_at_its_service_name(tmp_path):
    grouped = tmp_path / "environments.yml"
    text = EXAMPLE_ENVIRONMENTS.read_text()
    staging_url = "      url: http://marathon.staging.example.com:8080\n"
    assert staging_url in text
    grouped.write_text(text.replace(staging_url, staging_url + "      group: /staging\n"))

    files, ids = routes(grouped)
    assert ids == {"giphy": "/staging/giphy", "organization": "/staging/organization"}
    for name in ids:
        assert f"location ^~ /service/{name}/ {{" in files[SDB_CONF]
        assert f'{{{{ if service "{name}|passing" }}}}' in files[SDB_CTMPL]
    assert not [f for f, text in files.items() if re.search(r"/staging/(giphy|organization)", text)]
    # byte for byte what the same fleet gets without a group
    assert files == routes(EXAMPLE_ENVIRONMENTS)[0]
