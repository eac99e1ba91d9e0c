"""Rules a JSON Schema cannot say well: secrets written inline, impossible rollouts, a
scheduler the environment does not have. Each returns errors at the offending spot."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from skytrain.config.environments import Environment, Environments
from skytrain.config.model import MAIN_PORT_NAME, SERVICE_PORT, Dependency
from skytrain.config.yamlfile import YamlDocument, YamlPath
from skytrain.errors import ConfigError, Location, field_path
from skytrain.secret_shapes import PASSWORD_IN_URL, SECRET_NAME, secret_kind

TEMPLATE_MARKERS = ("{{", "{%", "{#")
# detect-secrets' own comment for a known false positive, on the value's line or alone on
# the line above (as its allowlist filter reads YAML files)
_ALLOW_SAME_LINE = re.compile(r"#[ \t]* *pragma: ?(allow|white)list[ -]secret.*?[ \t]*\Z")
_ALLOW_NEXT_LINE = re.compile(r"^[ \t]*# *pragma: ?allowlist[ -]nextline[ -]secret.*?[ \t]*\Z")
_FALSE_POSITIVE_HINT = (
    "if it is not a secret, end its line with `# pragma: allowlist secret` (a value written as it is, "
    "not one filled in by a template)"
)


def inline_secrets(
    document: YamlDocument, allowlisted: frozenset[Location] = frozenset()
) -> list[ConfigError]:
    """A value that looks like a secret, in env or in an escape hatch's env, at its spot: by its
    name or a password in a URL (always), or by its shape (detect-secrets), unless its spot is
    one of `allowlisted` (see `allowlisted_spots`)."""
    errors = []
    for path, name, value in _env_entries(document.data):
        if value in (None, "") or _marathon_reference(path, value):
            continue
        where = document.positions.of_value(path)
        if isinstance(name, str) and SECRET_NAME.search(name):
            message = (
                f"{name} looks like a secret written inline; secrets never go in these files. Put the value in "
                f"the secret store and reference it: secrets: {{{name}: {{secret: <name>, key: <key>}}}}"
            )
        elif isinstance(value, str) and PASSWORD_IN_URL.search(value):
            message = "this URL has a password in it; move the credentials to a secret and reference it under secrets:"
        elif where in allowlisted or (kind := secret_kind(str(name), _text(value))) is None:
            continue
        else:
            message = (
                f"this value looks like a secret ({kind}, as detect-secrets sees it); secrets never go in "
                f"these files: put it in the secret store and reference it under secrets:; {_FALSE_POSITIVE_HINT}"
            )
        errors.append(ConfigError(where, field_path(path), message))
    return errors


def allowlisted_spots(raw: YamlDocument, sources: Mapping[str, str]) -> frozenset[Location]:
    """Spots of env values written as they are (no template) whose line ends with detect-secrets'
    `# pragma: allowlist secret`, or follows a line that is only `# pragma: allowlist nextline
    secret`. A template's result is never allowlisted: it may hold a CI variable's value, which
    the file's author must not be able to wave through."""
    if not any("pragma:" in text for text in sources.values()):
        return frozenset()
    spots = set()
    for path, _, value in _env_entries(raw.data):
        if isinstance(value, str) and any(marker in value for marker in TEMPLATE_MARKERS):
            continue
        where = raw.positions.of_value(path)
        lines = sources.get(where.file, "").splitlines()
        line = lines[where.line - 1] if where.line <= len(lines) else ""
        above = lines[where.line - 2] if 2 <= where.line <= len(lines) + 1 else ""
        if _ALLOW_SAME_LINE.search(line) or _ALLOW_NEXT_LINE.search(above):
            spots.add(where)
    return frozenset(spots)


def _marathon_reference(path: YamlPath, value: Any) -> bool:
    """`{secret: <name of an entry of the app's secrets>}` in the Marathon hatch's env is how
    Marathon reads a variable from its secret store: a reference, not a value."""
    return path[0] == "marathon" and isinstance(value, dict) and set(value) == {"secret"}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _env_entries(data: Any) -> Iterator[tuple[YamlPath, Any, Any]]:
    """(path of the value, variable name, value) for env, the Marathon hatch's env and every
    `env: [{name, value}]` list in the Kubernetes hatch."""
    if not isinstance(data, dict):
        return
    for section, prefix in (
        (data.get("env"), ("env",)),
        (_get(data, "marathon", "env"), ("marathon", "env")),
    ):
        if isinstance(section, dict):
            yield from (((*prefix, name), name, value) for name, value in section.items())
    yield from _kubernetes_env(data.get("kubernetes"), ("kubernetes",))


def _kubernetes_env(node: Any, path: YamlPath) -> Iterator[tuple[YamlPath, Any, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env" and isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict) and "value" in item:
                        yield (*path, key, index, "value"), item.get("name"), item["value"]
            else:
                yield from _kubernetes_env(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _kubernetes_env(item, (*path, index))


def _get(data: dict[str, Any], *path: str) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def consistency(
    document: YamlDocument, environment: Environment, environments: Environments
) -> list[ConfigError]:
    data: dict[str, Any] = document.data
    where = document.positions.of_value
    errors = []
    scheduler = data.get("scheduler")
    wanted = {"marathon": ["marathon"], "kubernetes": ["kubernetes"], "both": ["marathon", "kubernetes"]}.get(
        scheduler, []
    )
    for target in wanted:
        if getattr(environment, target) is None:
            errors.append(
                ConfigError(
                    where(("scheduler",)),
                    "scheduler",
                    f"'{scheduler}' needs {target.capitalize()}, but environment '{environment.name}' has no "
                    f"{target} entry in {environments.file}; deploy there with another scheduler or ask the platform team",
                )
            )
    env_names = set(data.get("env") or {})
    for name in sorted(env_names & set(data.get("secrets") or {})):
        errors.append(
            ConfigError(
                where(("secrets", name)),
                field_path(("secrets", name)),
                f"{name} is set both under env and under secrets; keep it in one place",
            )
        )
    errors += _dependencies(document)
    errors += _ports(document)
    errors += _checks(document)
    errors += _constraints(document)
    errors += _escape_hatch_identity(document)
    deploy = data.get("deploy") or {}
    if deploy.get("minimumHealthyCapacity", 1) == 1 and deploy.get("maximumOverCapacity", 0.25) == 0:
        errors.append(
            ConfigError(
                where(("deploy", "maximumOverCapacity")),
                "deploy.maximumOverCapacity",
                "with minimumHealthyCapacity 1 and maximumOverCapacity 0 a rollout can neither stop an old copy nor "
                "start a new one; raise maximumOverCapacity (e.g. 0.25) or lower minimumHealthyCapacity",
            )
        )
    errors += _canary_steps(document)
    return errors


def _canary_steps(document: YamlDocument) -> list[ConfigError]:
    """The canary rises step by step and ends with every request on Kubernetes."""
    steps = (document.data.get("migration") or {}).get("canarySteps")
    if not steps or (list(steps) == sorted(steps) and steps[-1] == 100):
        return []
    return [
        ConfigError(
            document.positions.of_value(("migration", "canarySteps")),
            "migration.canarySteps",
            f"the canary's steps must rise and end at 100 (every request on Kubernetes before Marathon is "
            f"scaled down); got {', '.join(map(str, steps))}",
        )
    ]


def _dependencies(document: YamlDocument) -> list[ConfigError]:
    """A dependency is another service whose URL variable (<NAME>_URL, or its `env`) nothing
    else sets; one service may be listed again only for another variable (another sub-path)."""
    data: dict[str, Any] = document.data
    errors = []
    seen: dict[str, str] = {}  # variable -> the service that sets it
    for index, dependency in enumerate(data.get("dependencies") or []):
        path = ("dependencies", index)
        if isinstance(dependency, dict):
            name, env = dependency.get("name"), dependency.get("env")
        else:
            name, env = dependency, None
        variable = Dependency(name, "", env).env_name
        problem = None
        if name == data.get("name"):
            problem = "a service cannot depend on itself"
        elif seen.get(variable) == name:
            problem = f"{name} is listed twice; keep one entry"
        elif variable in seen:
            problem = f"{variable} is already set by the dependency on {seen[variable]}; give this one another variable with env:"
        else:
            for section in ("env", "secrets"):
                if variable in (data.get(section) or {}):
                    problem = (
                        f"skytrain sets {variable} from this dependency (the Skyline URL on Marathon, cluster DNS on "
                        f"Kubernetes), so {section}.{variable} would be overwritten; remove it from {section}"
                    )
        seen.setdefault(variable, name)
        if problem:
            errors.append(ConfigError(document.positions.of_value(path), field_path(path), problem))
    return errors


def _ports(document: YamlDocument) -> list[ConfigError]:
    """Each port has its own name and number; 'http' is the main port's name."""
    data: dict[str, Any] = document.data
    names = {MAIN_PORT_NAME: "port"}
    numbers = {data.get("port"): "port"}
    errors = []
    for index, item in enumerate(data.get("ports") or []):
        path = ("ports", index)
        if item["name"] in names:
            errors.append(
                _error(
                    document, (*path, "name"), f"the name {item['name']} is taken by {names[item['name']]}"
                )
            )
        elif item["port"] == SERVICE_PORT:
            errors.append(
                _error(
                    document,
                    (*path, "port"),
                    f"{SERVICE_PORT} is the Kubernetes Service's port of 'http' (how every service is reached); "
                    "give this port another number",
                )
            )
        elif item["port"] in numbers:
            errors.append(
                _error(document, (*path, "port"), f"port {item['port']} is already {numbers[item['port']]}")
            )
        names.setdefault(item["name"], field_path(path))
        numbers.setdefault(item["port"], field_path(path))
    return errors


def _checks(document: YamlDocument) -> list[ConfigError]:
    """A health check is one kind (path, tcp or command); checks name ports that exist."""
    data: dict[str, Any] = document.data
    known = [MAIN_PORT_NAME, *(p["name"] for p in data.get("ports") or [])]
    errors = []
    health = data.get("healthCheck") or {}
    kinds = [kind for kind in ("path", "tcp", "command") if kind in health]
    if len(kinds) > 1:
        errors.append(
            _error(
                document,
                ("healthCheck", kinds[1]),
                f"a health check is one kind: an HTTP path, tcp or a command; this one gives {' and '.join(kinds)}",
            )
        )
    for check in ("healthCheck", "readinessCheck"):
        port = (data.get(check) or {}).get("port")
        if port is not None and port not in known:
            errors.append(
                _error(document, (check, "port"), f"there is no port named {port}; known: {', '.join(known)}")
            )
    return errors


# what `value` a constraint operator needs: a count, a plain value, or nothing
_CONSTRAINT_VALUES = {
    "UNIQUE": None,
    "GROUP_BY": "count?",
    "MAX_PER": "count",
    "LIKE": "value",
}


def _constraints(document: YamlDocument) -> list[ConfigError]:
    errors = []
    for index, item in enumerate(document.data.get("constraints") or []):
        path = ("constraints", index)
        needs = _CONSTRAINT_VALUES[item["operator"]]
        value = item.get("value")
        if needs is None and value is not None:
            errors.append(_error(document, (*path, "value"), "UNIQUE takes no value; remove it"))
        elif needs in ("count", "value") and value is None:
            errors.append(_error(document, path, f"{item['operator']} needs a value"))
        elif needs in ("count", "count?") and value is not None and not value.isdigit():
            errors.append(
                _error(document, (*path, "value"), f"{item['operator']} takes a whole number; got {value}")
            )
    return errors


def _error(document: YamlDocument, path: YamlPath, message: str) -> ConfigError:
    return ConfigError(document.positions.of_value(path), field_path(path), message)


# fields by which skytrain (and its backends) find the objects it owns; a patch must not move them
_IDENTITY = {
    "marathon": {("id",): "the app id comes from name"},
    "kubernetes": {
        ("kind",): "each patch applies to the kind it is written under",
        ("apiVersion",): "skytrain picks the API version",
        ("metadata", "name"): "object names come from name",
        ("metadata", "namespace"): "set routing.namespace instead",
    },
}


def _escape_hatch_identity(document: YamlDocument) -> list[ConfigError]:
    data: dict[str, Any] = document.data
    errors = []
    for hatch, rules in _IDENTITY.items():
        patches = data.get(hatch)
        if not isinstance(patches, dict):
            continue
        targets = {(): patches} if hatch == "marathon" else {(kind,): p for kind, p in patches.items()}
        for prefix, patch in targets.items():
            for field, why in rules.items():
                if _has_path(patch, field):
                    path = (hatch, *prefix, *field)
                    errors.append(
                        ConfigError(
                            document.positions.of_key(path),
                            field_path(path),
                            f"an escape hatch cannot change {'.'.join(field)}: {why}",
                        )
                    )
    return errors


def _has_path(data: Any, path: tuple[str, ...]) -> bool:
    """Whether the key at `path` is written at all (a null that removes it counts)."""
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True
