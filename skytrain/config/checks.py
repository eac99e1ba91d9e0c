"""Rules a JSON Schema cannot say well: secrets written inline, impossible rollouts, a
scheduler the environment does not have. Each returns errors at the offending spot."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from skytrain.config.environments import Environment, Environments
from skytrain.config.model import Dependency
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
        if value in (None, ""):
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
    """A dependency is another service, listed once, whose <NAME>_URL nothing else sets."""
    data: dict[str, Any] = document.data
    errors = []
    seen: set[str] = set()
    for index, dependency in enumerate(data.get("dependencies") or []):
        path = ("dependencies", index)
        name = dependency.get("name") if isinstance(dependency, dict) else dependency
        variable = Dependency(name, "").env_name
        problem = None
        if name == data.get("name"):
            problem = "a service cannot depend on itself"
        elif name in seen:
            problem = f"{name} is listed twice; keep one entry"
        else:
            for section in ("env", "secrets"):
                if variable in (data.get(section) or {}):
                    problem = (
                        f"skytrain sets {variable} from this dependency (the Skyline URL on Marathon, cluster DNS on "
                        f"Kubernetes), so {section}.{variable} would be overwritten; remove it from {section}"
                    )
        seen.add(name)
        if problem:
            errors.append(ConfigError(document.positions.of_value(path), field_path(path), problem))
    return errors


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
