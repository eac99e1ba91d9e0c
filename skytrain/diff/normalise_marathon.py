"""A Marathon app as GET /v2/apps/{id} returns it, made comparable with what skytrain renders.

- Read-only keys of the answer (version, versionInfo, tasks, counts, deployments, ...)
  are dropped (API-NOTES §2.1).
- A 1.5+ server answers in the 1.5 form even when it was given the 1.4 form, so when
  the live app is in the 1.5 form the desired app is translated the way the server
  translates it (API-NOTES §9); a 1.4 server's extra `ports`/`uris` copies are dropped.
- Server defaults are filled in when absent (API-NOTES §2.1, §4.3, §9), and values the
  server assigns (service ports, a host-networking `default` port) are compared only
  when the config sets them.
"""

from __future__ import annotations

import copy
from typing import Any

from skytrain.diff.normalise import Obj, apply_defaults, get, tidy
from skytrain.render.marathon import READ_ONLY_KEYS

# API-NOTES §2.1: defaults a 1.4.13-1.7 server writes back for an app that did not set them
# (upgradeStrategy {1, 1}, backoff 1 s x 1.15, YOUNGEST_FIRST, 3600 s launch delay,
# unreachableStrategy {0, 0}); the empty and zero values are what the RAML defaults to
# (R-app) and what a 1.5+ server writes for an unset field.
APP_DEFAULTS: dict[str, Any] = {
    "instances": 1,
    "cpus": 1,
    "mem": 128,
    "disk": 0,
    "gpus": 0,
    "executor": "",
    "backoffSeconds": 1,
    "backoffFactor": 1.15,
    "maxLaunchDelaySeconds": 3600,
    "killSelection": "YOUNGEST_FIRST",
    "requirePorts": False,
    "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
    "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
    "container?": {
        "type": "DOCKER",
        "docker?": {"forcePullImage": False, "privileged": False},
        # API-NOTES §9: "a port mapping without hostPort gets hostPort: 0"
        "portMappings[]": {"hostPort": 0, "protocol": "tcp"},
    },
    "portDefinitions[]": {"protocol": "tcp"},
    # API-NOTES §4.3 (1.5+: delaySeconds 15; 1.4 below)
    "healthChecks[]": {
        "protocol": "HTTP",
        "gracePeriodSeconds": 300,
        "intervalSeconds": 60,
        "timeoutSeconds": 20,
        "maxConsecutiveFailures": 3,
        "delaySeconds": 15,
        "ignoreHttp1xx": False,
    },
    "fetch[]": {"executable": False, "extract": True, "cache": False},
    # R-app ReadinessCheck: the defaults of a readiness check's fields
    "readinessChecks[]": {
        "name": "readinessCheck",
        "protocol": "HTTP",
        "path": "/",
        "portName": "http-api",
        "intervalSeconds": 30,
        "timeoutSeconds": 10,
        "httpStatusCodesForReady": [200],
        "preserveLastResponse": False,
    },
}
# API-NOTES §4.3 and §9: the 1.4 schema's delaySeconds default is 2.
HEALTH_CHECK_DELAY_14 = 2
# API-NOTES §2.1: maxLaunchDelaySeconds became 300 in 1.10.
MAX_LAUNCH_DELAY_110 = 300
# API-NOTES §4.3: a 1.6+ server writes ipProtocol (IPv4 by default) into health checks; a
# 1.5 server does not know it, so it is compared only when the config sets it.
DEFAULT_IP_PROTOCOL = "IPv4"
# API-NOTES §2.1: copies a 1.4 server writes next to the canonical fields.
LEGACY_COPIES = ("ports", "uris")

# API-NOTES §9: docker.network as the 1.5+ `networks` list.
NETWORK_MODES = {"BRIDGE": "container/bridge", "HOST": "host"}


def normalise_pair(
    desired: Obj | None, live: Obj | None, server_version: str | None = None
) -> tuple[Obj | None, Obj | None]:
    """Both sides of one app (either may be missing), normalised; inputs are not changed.

    `server_version` is the environment's Marathon version; the form of the live answer
    decides whether the desired app is translated to the 1.5 form."""
    live = _strip(live) if live is not None else None
    desired = copy.deepcopy(desired) if desired is not None else None
    modern = _is_modern(live) if live is not None else not _is_legacy(desired)
    version = _version(server_version, modern)
    sides = []
    for side in (desired, live):
        if side is not None:
            if modern:
                to_modern_form(side)
            apply_defaults(side, app_defaults(version))
        sides.append(side)
    desired, live = sides
    if desired is not None and live is not None:
        _drop_assigned(desired, live)
    return (tidy(desired) if desired is not None else None, tidy(live) if live is not None else None)


def _strip(live: Obj) -> Obj:
    app = copy.deepcopy(live)
    for key in READ_ONLY_KEYS:
        app.pop(key, None)
    return app


def _is_legacy(app: Obj | None) -> bool:
    return app is not None and get(app, ("container", "docker", "network")) is not None


def _is_modern(live: Obj) -> bool:
    """1.5+ always writes `networks` and never `container.docker.network` (API-NOTES §2.1, §9)."""
    return not _is_legacy(live)


def _version(server_version: str | None, modern: bool) -> tuple[int, int]:
    """The server's version as far as its answer tells: a 1.4-form answer comes from a 1.4
    server and a 1.5-form one from 1.5 or later, whatever the environments file says."""
    if not modern:
        return (1, 4)
    stated = tuple(int(part) for part in server_version.split(".")[:2]) if server_version else (1, 7)
    return max((stated[0], stated[1]), (1, 5))


def to_modern_form(app: Obj) -> None:
    """Translate a 1.4-form app the way a 1.5+ server does (API-NOTES §9), in place."""
    container = app.get("container") or {}
    docker = container.get("docker") or {}
    network = docker.pop("network", None)
    if network is not None and "networks" not in app:
        if network == "USER":
            name = (app.get("ipAddress") or {}).get("networkName")
            app["networks"] = [{"mode": "container", **({"name": name} if name else {})}]
        else:
            app["networks"] = [{"mode": NETWORK_MODES.get(network, network.lower())}]
    if "portMappings" in docker:
        container.setdefault("portMappings", docker.pop("portMappings"))
    app.pop("ipAddress", None)
    ports = app.pop("ports", None)
    if ports and "portDefinitions" not in app:
        app["portDefinitions"] = [{"port": port} for port in ports]
    uris = app.pop("uris", None)
    if uris and "fetch" not in app:
        app["fetch"] = [{"uri": uri} for uri in uris]
    app.setdefault("networks", [{"mode": "host"}])


def app_defaults(version: tuple[int, int]) -> dict[str, Any]:
    """APP_DEFAULTS as a server of this version applies them."""
    defaults = copy.deepcopy(APP_DEFAULTS)
    if version < (1, 5):
        defaults["healthChecks[]"]["delaySeconds"] = HEALTH_CHECK_DELAY_14
    if version >= (1, 10):
        defaults["maxLaunchDelaySeconds"] = MAX_LAUNCH_DELAY_110
    return defaults


def _drop_assigned(desired: Obj, live: Obj) -> None:
    """Service ports the server picks for port 0, the `default` host port definition it
    adds (API-NOTES §2.1) and a health check's ipProtocol (§4.3) count only when the
    config sets them."""
    checks = desired.get("healthChecks") or []
    for index, check in enumerate(live.get("healthChecks") or []):
        if check.get("ipProtocol") == DEFAULT_IP_PROTOCOL and "ipProtocol" not in (
            checks[index] if index < len(checks) else {}
        ):
            check.pop("ipProtocol")
    for path in (("container", "portMappings"), ("container", "docker", "portMappings")):
        wanted = get(desired, path) or []
        for index, mapping in enumerate(get(live, path) or []):
            if index >= len(wanted) or not wanted[index].get("servicePort"):
                mapping.pop("servicePort", None)
        for mapping in wanted:
            if mapping.get("servicePort") == 0:  # "let the server pick", as leaving it out says
                mapping.pop("servicePort")
    for key in ("portDefinitions", *LEGACY_COPIES):
        if key not in desired:
            live.pop(key, None)
    for index, definition in enumerate(live.get("portDefinitions") or []):
        if index < len(desired["portDefinitions"]) and not desired["portDefinitions"][index].get("port"):
            definition.pop("port", None)
            desired["portDefinitions"][index].pop("port", None)
