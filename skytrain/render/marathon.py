"""Render an App as a Marathon app definition (the body of PUT /v2/apps/{id}).

The 1.5+ form (`networks`, `container.portMappings`) by default; the 1.4 form
(`container.docker.network`) when the environment's Marathon is 1.4, because a 1.5+
server answers in its own form and a 1.4 server does not know it (API-NOTES §9).
"""

from __future__ import annotations

import shlex
from typing import Any

from skytrain.config.merge import merge_values
from skytrain.config.model import MAIN_PORT_NAME, App, thawed
from skytrain.render.hashing import HASH_LABEL_MARATHON, digest
from skytrain.render.patch import set_within

CONTAINER_PORT_NAME = MAIN_PORT_NAME

# What a GET /v2/apps/{id} answer adds to an app definition (API-NOTES §2.1): read-only,
# never part of what we PUT, and dropped before comparing or re-sending an app.
READ_ONLY_KEYS = frozenset(
    {
        "version",
        "versionInfo",
        "tasks",
        "tasksStaged",
        "tasksRunning",
        "tasksHealthy",
        "tasksUnhealthy",
        "deployments",
        "lastTaskFailure",
        "readinessCheckResults",
        "taskStats",
    }
)


def app_id(app: App) -> str:
    """The one place an app's Marathon id is made: `<group>/<name>`, `/<name>` without a group.
    Everything that reads or writes the app (deploy, gate, status, history, diff) uses it."""
    group = app.environment.marathon.group if app.environment.marathon else ""
    return f"{group}/{app.name}"


def render_marathon(app: App) -> dict[str, Any]:
    legacy = app.environment.marathon is not None and app.environment.marathon.legacy_networking
    definition: dict[str, Any] = {
        "id": app_id(app),
        "instances": app.replicas,
        "cpus": app.resources.cpu,
        "mem": app.resources.memory_mib,
        "disk": 0,
        "container": _container(app, legacy),
        **_command(app),
        "env": _env(app),
        "upgradeStrategy": {
            "minimumHealthCapacity": app.deploy.minimum_healthy_capacity,
            "maximumOverCapacity": app.deploy.maximum_over_capacity,
        },
        "labels": {
            **app.labels,
            "SKYTRAIN_APP": app.name,
            "SKYTRAIN_ENV": app.environment.name,
            "SKYTRAIN_MANAGED_BY": "skytrain",
        },
    }
    if not legacy:
        definition["networks"] = [{"mode": "container/bridge"}]
    if app.secrets:
        definition["secrets"] = {s.env_name: {"source": f"{s.secret}/{s.key}"} for s in app.secrets}
    if app.health_check:
        definition["healthChecks"] = [_health_check(app)]
    definition.update(_optional_fields(app))
    definition = merge_values(definition, thawed(app.marathon_overrides))
    set_within(definition, ("labels",), HASH_LABEL_MARATHON, marathon_config_hash(definition))
    return definition


def marathon_config_hash(definition: dict[str, Any]) -> str:
    """Everything but the instance count and the hash itself (see render/hashing.py)."""
    labels = definition.get("labels")
    if isinstance(labels, dict):
        labels = {k: v for k, v in labels.items() if k != HASH_LABEL_MARATHON}
    return digest({**{k: v for k, v in definition.items() if k != "instances"}, "labels": labels})


def _health_check(app: App) -> dict[str, Any]:
    """Checked by the Mesos agent (MESOS_*), as Kubernetes' kubelet checks, not by Marathon."""
    check = app.health_check
    assert check is not None
    if check.command is not None:
        kind: dict[str, Any] = {"protocol": "COMMAND", "command": {"value": check.command}}
    elif check.tcp:
        kind = {"protocol": "MESOS_TCP", "portIndex": app.port_index(check.port)}
    else:
        kind = {"protocol": "MESOS_HTTP", "path": check.path, "portIndex": app.port_index(check.port)}
    return {
        **kind,
        "gracePeriodSeconds": check.grace_period_seconds,
        "intervalSeconds": check.interval_seconds,
        "timeoutSeconds": check.timeout_seconds,
        "maxConsecutiveFailures": check.consecutive_failures,
    }


def _optional_fields(app: App) -> dict[str, Any]:
    """Fields rendered only when the config uses them, so that a service that does not keeps
    its app definition (and its config hash) as it was."""
    fields: dict[str, Any] = {}
    if app.readiness_check:
        check = app.readiness_check
        fields["readinessChecks"] = [
            {
                "name": "readiness",
                "protocol": "HTTP",
                "path": check.path,
                "portName": check.port,
                "intervalSeconds": check.interval_seconds,
                "timeoutSeconds": check.timeout_seconds,
            }
        ]
    if app.stop_grace_period_seconds is not None:
        fields["taskKillGracePeriodSeconds"] = app.stop_grace_period_seconds
    if app.constraints:
        fields["constraints"] = [
            [c.attribute, c.operator, *([c.value] if c.value is not None else [])] for c in app.constraints
        ]
    return fields


def _container(app: App, legacy: bool) -> dict[str, Any]:
    port_mappings = [
        {"containerPort": app.port, "hostPort": 0, "protocol": "tcp", "name": CONTAINER_PORT_NAME},
        *(
            {"containerPort": p.number, "hostPort": 0, "protocol": p.protocol, "name": p.name}
            for p in app.ports
        ),
    ]
    docker: dict[str, Any] = {"image": app.image, "forcePullImage": app.always_pull_image}
    container: dict[str, Any] = {"type": "DOCKER", "docker": docker}
    if legacy:
        docker["network"] = "BRIDGE"
        docker["portMappings"] = port_mappings
    else:
        container["portMappings"] = port_mappings
    return container


def _command(app: App) -> dict[str, Any]:
    """Marathon has no entrypoint override: a command becomes `cmd`, run by the shell."""
    if app.command:
        return {"cmd": shlex.join([*app.command, *(app.args or ())])}
    if app.args is not None:
        return {"args": list(app.args)}
    return {}


def _env(app: App) -> dict[str, Any]:
    env: dict[str, Any] = dict(app.env)
    env.update({d.env_name: d.skyline_url() for d in app.dependencies})
    env.update({s.env_name: {"secret": s.env_name} for s in app.secrets})
    return dict(sorted(env.items()))
