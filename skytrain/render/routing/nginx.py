"""Render the Skyline NGINX configs (and the consul-template form of the SDB) from a RoutingModel.

Templates live in templates/routing/ (Jinja2, StrictUndefined): a missing value is a
bug to surface, never an empty string in a config. Values were validated when the
model was built, so the templates insert them as they are.
"""

from __future__ import annotations

from functools import cache

import jinja2

from skytrain.config.model import SERVICE_PORT
from skytrain.render.routing.canary import CANARY_SHARE_GO
from skytrain.render.routing.model import BRIDGE_PORT, RoutingModel
from skytrain.resources import template_dir

LOCAL_CONF = "skyline-local.conf"
SDB_CONF = "sdb.conf"
BRIDGE_CONF = "skyline-bridge.conf"
SDB_CTMPL = "consul-template/sdb.conf.ctmpl"

_TITLES = {
    "local": "Skyline local proxy: NGINX on every Mesos agent; /service/<name>/ to the SDB.",
    "sdb": "Service discovery bridge: Mesos-healthy services first, then Kubernetes.",
    "bridge": "skyline-bridge: NGINX of the Kubernetes DaemonSet; ingress to Services, egress to the SDB.",
}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template: str, role: str, model: RoutingModel, **extra: object) -> str:
    return (
        _environment()
        .get_template(f"routing/{template}")
        .render(
            model=model,
            settings=model.settings,
            paths=model.settings.paths,
            role=role,
            title=_TITLES[role],
            bridge_port=BRIDGE_PORT,
            service_port=SERVICE_PORT,
            **extra,
        )
    )


def render_local(model: RoutingModel) -> str:
    return _render("skyline-local.conf.j2", "local", model)


def _go(action: str) -> str:
    """A consul-template (Go template) action, written into the template as it is."""
    return "{{ " + action + " }}"


def render_sdb(model: RoutingModel) -> str:
    return _render_sdb(model, False, model.mesos_routes, model.canary_routes)


def render_sdb_consul_template(model: RoutingModel) -> str:
    """The SDB for live catalogues: consul-template keeps a service's location only while
    Consul has passing Mesos tasks for it, so a scale to zero is a cut-over by itself; and
    it reads each service's canary share from Consul, so a migration step needs no render."""
    return _render_sdb(model, True, model.marathon_routes, model.marathon_routes)


def _render_sdb(model: RoutingModel, consul: bool, routes: tuple, canaries: tuple) -> str:
    return _render(
        "sdb.conf.j2",
        "sdb",
        model,
        consul=consul,
        routes=routes,
        canaries=canaries,
        go=_go,
        canary_share=CANARY_SHARE_GO,
    )


def render_bridge(model: RoutingModel) -> str:
    return _render("skyline-bridge.conf.j2", "bridge", model)


def render_nginx_configs(model: RoutingModel) -> dict[str, str]:
    """The three NGINX configs that `nginx -t` can check, by file name."""
    return {LOCAL_CONF: render_local(model), SDB_CONF: render_sdb(model), BRIDGE_CONF: render_bridge(model)}
