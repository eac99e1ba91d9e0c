"""Map a field Marathon refused (a 400/422 `details` path) back to application.yml.

Marathon names fields of the rendered app JSON (`/upgradeStrategy/minimumHealthCapacity`,
`/healthChecks(0)/path`); the person on call wrote `deploy.minimumHealthyCapacity` in a
YAML file. This is the inverse of render/marathon.py for the fields it writes; anything
else came through the `marathon:` escape hatch or is skytrain's own doing.
"""

from __future__ import annotations

import re

from skytrain.config.model import App
from skytrain.errors import ConfigError, field_path

# Marathon path (as segments, array positions dropped) → config path
_FIELDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("id",): ("name",),
    ("instances",): ("replicas",),
    ("cpus",): ("resources", "cpu"),
    ("mem",): ("resources", "memory"),
    ("cmd",): ("command",),
    ("args",): ("args",),
    ("env",): ("env",),
    ("secrets",): ("secrets",),
    ("container", "docker", "image"): ("image",),
    ("container", "portMappings", "containerPort"): ("port",),
    ("container", "docker", "portMappings", "containerPort"): ("port",),
    ("upgradeStrategy", "minimumHealthCapacity"): ("deploy", "minimumHealthyCapacity"),
    ("upgradeStrategy", "maximumOverCapacity"): ("deploy", "maximumOverCapacity"),
    ("upgradeStrategy",): ("deploy",),
    ("healthChecks", "path"): ("healthCheck", "path"),
    ("healthChecks", "gracePeriodSeconds"): ("healthCheck", "gracePeriodSeconds"),
    ("healthChecks", "intervalSeconds"): ("healthCheck", "intervalSeconds"),
    ("healthChecks", "timeoutSeconds"): ("healthCheck", "timeoutSeconds"),
    ("healthChecks", "maxConsecutiveFailures"): ("healthCheck", "consecutiveFailures"),
    ("healthChecks",): ("healthCheck",),
}


def segments(marathon_path: str) -> tuple[str, ...]:
    """`/healthChecks(0)/path` → ("healthChecks", "path"); quoted map keys unquoted."""
    parts = [p for p in re.split(r"/(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", marathon_path) if p]
    return tuple(re.sub(r"\(\d+\)$", "", p).strip('"') for p in parts)


def config_path(app: App, marathon_path: str) -> tuple[str | int, ...] | None:
    """The config field behind a Marathon field, or None when the config has no such field."""
    found = segments(marathon_path)
    if found and found[0] in app.marathon_overrides:
        return ("marathon", *found)
    for end in range(len(found), 0, -1):
        if found[:end] in _FIELDS:
            mapped = _FIELDS[found[:end]]
            # a map key under env/secrets stays: /env/JAVA_OPTS → env.JAVA_OPTS
            return mapped + found[end:] if mapped in (("env",), ("secrets",)) else mapped
    return None


def refusal_errors(app: App, details: list[tuple[str, list[str]]], summary: str) -> list[ConfigError]:
    """One ConfigError per refused field, at the line that set it when we know it."""
    errors = []
    for marathon_path, messages in details or [("/", [summary])]:
        path = config_path(app, marathon_path)
        text = "; ".join(messages) or summary
        where = f"Marathon refused the app at {marathon_path}: {text}"
        if path is None:
            errors.append(ConfigError(app.location_of(()), "(top level)", where))
        else:
            errors.append(ConfigError(app.location_of(path), field_path(path), where))
    return errors
