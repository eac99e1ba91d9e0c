"""The Skyline routing layer, generated from the fleet's files (pure: no I/O).

    model = build_routing(apps, environment)      # validates every value first
    files = render_routes(model)                  # {relative path: text}, deterministic

See docs/routing.md for what each file is and how a cut-over works.
"""

from __future__ import annotations

from typing import Any

import yaml

from skytrain.render.routing.kubernetes import render_bridge_manifests
from skytrain.render.routing.model import (
    Endpoint,
    Paths,
    Route,
    RoutingModel,
    RoutingSettings,
    build_routing,
)
from skytrain.render.routing.nginx import (
    BRIDGE_CONF,
    LOCAL_CONF,
    SDB_CONF,
    SDB_CTMPL,
    render_nginx_configs,
    render_sdb_consul_template,
)

__all__ = [
    "BRIDGE_CONF",
    "LOCAL_CONF",
    "SDB_CONF",
    "SDB_CTMPL",
    "Endpoint",
    "Paths",
    "Route",
    "RoutingModel",
    "RoutingSettings",
    "build_routing",
    "render_nginx_configs",
    "render_routes",
]


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Multi-line strings (the NGINX config in the ConfigMap) as readable `|` blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def manifest_text(obj: dict[str, Any]) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def render_routes(model: RoutingModel) -> dict[str, str]:
    """Every generated file of the mesh, by path relative to the output folder, in a fixed order."""
    files = render_nginx_configs(model)
    files[SDB_CTMPL] = render_sdb_consul_template(model)
    for obj in render_bridge_manifests(model, files[BRIDGE_CONF]):
        namespace = obj["metadata"]["namespace"]
        name = f"kubernetes/{namespace}.{obj['metadata']['name']}.{obj['kind'].lower()}.yaml"
        files[name] = manifest_text(obj)
    return files
