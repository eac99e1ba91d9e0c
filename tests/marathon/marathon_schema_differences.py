"""Where skytrain's Marathon app schema deliberately differs from Marathon's published one,
and why. Each difference says which published schemas it concerns, whether ours accepts
or refuses where upstream does the opposite, how to recognise it in an app, how to take it
out (so the rest of the app can still be compared) and an example that shows it.

The comparison tolerates a disagreement only when one of these explains it, and every one
of them is exercised by tests/marathon/test_schema_upstream.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from marathon_schema_probes import locations

ALL = frozenset({"v1.4.13", "v1.5.15", "v1.7.236"})
MODERN = frozenset({"v1.5.15", "v1.7.236"})
MINIMAL = {"id": "/giphy", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32, "instances": 1}


@dataclass(frozen=True)
class Difference:
    name: str
    reason: str
    upstream: frozenset[str]  # the published schemas it concerns
    ours_accepts: bool  # what ours does where upstream does the opposite
    present: Callable[[Any], bool]
    neutralise: Callable[[Any], None]  # takes it out of an app, in place
    example: dict[str, Any]  # MINIMAL with it


def objects(app: Any, path: str) -> list[dict[str, Any]]:
    """The objects at a dotted path ("" is the app); `[]` steps into every item of a list.
    Whatever is not of the expected shape (a mutated app) is skipped."""
    values = [app]
    for step in path.split(".") if path else []:
        key = step.removesuffix("[]")
        values = [v[key] for v in values if isinstance(v, dict) and key in v]
        if step.endswith("[]"):
            values = [item for v in values if isinstance(v, list) for item in v]
    return [v for v in values if isinstance(v, dict)]


def _neither_cmd_args_nor_container(app: Any) -> bool:
    return isinstance(app, dict) and not {"cmd", "args", "container"} & app.keys()


def _give_a_command(app: Any) -> None:
    app["cmd"] = "true"


def _tty(app: Any) -> bool:
    return isinstance(app, dict) and isinstance(app.get("tty"), bool)


def _no_tty(app: Any) -> None:
    app.pop("tty", None)


def _mixes_networking(app: Any) -> bool:
    return any(_legacy_twins(app))


def _legacy_twins(app: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """(object, key) of each 1.4 field set next to its 1.5 replacement (API-NOTES §9)."""
    if not isinstance(app, dict):
        return
    dockers = objects(app, "container.docker")
    if "networks" in app:
        if "ipAddress" in app:
            yield app, "ipAddress"
        yield from ((d, "network") for d in dockers if "network" in d)
    if any("portMappings" in c for c in objects(app, "container")):
        yield from ((d, "portMappings") for d in dockers if "portMappings" in d)


def _unmix_networking(app: Any) -> None:
    for owner, key in list(_legacy_twins(app)):
        owner.pop(key, None)


def _odd_command(check: dict[str, Any]) -> bool:
    """An object that is not Marathon's {"value": <command line>}."""
    command = check.get("command")
    return isinstance(command, dict) and (
        command.keys() != {"value"} or not isinstance(command["value"], str)
    )


def _odd_health_command(app: Any) -> bool:
    return any(_odd_command(check) for check in objects(app, "healthChecks[]"))


def _plain_health_command(app: Any) -> None:
    for check in objects(app, "healthChecks[]"):
        if _odd_command(check):
            check["command"] = {"value": "true"}


def _odd_executor_resources(app: Any) -> bool:
    """An object other than cpus, mem and disk as numbers of 0 or more."""
    return any(
        key not in ("cpus", "mem", "disk")
        or isinstance(value, bool)
        or not isinstance(value, (int, float))
        or value < 0
        for resources in objects(app, "executorResources")
        for key, value in resources.items()
    )


def _no_executor_resources(app: Any) -> None:
    app["executorResources"] = {}


# the objects upstream leaves open (no additionalProperties: false), with their fields
OPEN_IN_1_4 = {
    "ipAddress": {"networkName", "groups", "labels", "discovery"},
    "ipAddress.discovery": {"ports"},
    "ipAddress.discovery.ports[]": {"number", "name", "protocol"},
}
OPEN_IN_1_5 = {
    **OPEN_IN_1_4,
    "ipAddress.discovery.ports[]": {"number", "name", "protocol", "labels"},
    "networks[]": {"mode", "name", "labels"},
}
LABELS_OF_ANY_VALUE = ("networks[].labels", "ipAddress.labels")


def _open_objects(
    form: str, upstream: frozenset[str], fields: dict[str, set[str]], example: Any
) -> Difference:
    def unknown_keys(app: Any) -> bool:
        return any(o.keys() - known for path, known in fields.items() for o in objects(app, path))

    def drop_unknown_keys(app: Any) -> None:
        for path, known in fields.items():
            for obj in objects(app, path):
                for key in obj.keys() - known:
                    del obj[key]

    return Difference(
        f"open-network-objects-{form}",
        "Every other object of the published schema refuses unknown keys (a typo there would be "
        "silently ignored by the server); networks[], ipAddress and ipAddress.discovery(.ports[]) "
        "were left open. Ours refuses unknown keys there too.",
        upstream,
        False,
        unknown_keys,
        drop_unknown_keys,
        example,
    )


def _non_string_labels(app: Any) -> bool:
    return any(
        not isinstance(value, str)
        for path in LABELS_OF_ANY_VALUE
        for o in objects(app, path)
        for value in o.values()
    )


def _drop_non_string_labels(app: Any) -> None:
    for path in LABELS_OF_ANY_VALUE:
        for labels in objects(app, path):
            for key in [k for k, v in labels.items() if not isinstance(v, str)]:
                del labels[key]


# (owner, field) of what Marathon 1.6 added to the app definition
ADDED_IN_1_6 = (
    ("", "executorResources"),
    ("healthChecks[]", "ipProtocol"),
    ("container.volumes[].persistent", "profileName"),
)


def _fields_of_1_6(app: Any) -> bool:
    return any(key in obj for owner, key in ADDED_IN_1_6 for obj in objects(app, owner))


def _drop_fields_of_1_6(app: Any) -> None:
    for owner, key in ADDED_IN_1_6:
        for obj in objects(app, owner):
            obj.pop(key, None)


def _integral_floats(app: Any) -> bool:
    return any(isinstance(value, float) and value.is_integer() for _, value in locations(app))


def _ints_for_integral_floats(app: Any) -> None:
    for path, value in list(locations(app)):
        if path and isinstance(value, float) and value.is_integer():
            owner = app
            for step in path[:-1]:
                owner = owner[step]
            owner[path[-1]] = int(value)


def _newline_ended(app: Any) -> bool:
    return any(isinstance(value, str) and "\n" in value for _, value in locations(app))


def _without_newlines(app: Any) -> None:
    for path, value in list(locations(app)):
        if path and isinstance(value, str) and "\n" in value:
            owner = app
            for step in path[:-1]:
                owner = owner[step]
            owner[path[-1]] = value.replace("\n", "")


DIFFERENCES = (
    Difference(
        "command-or-container",
        "Marathon's server refuses an app with neither cmd, args nor a container (API-NOTES §6: 422 at "
        "'/', 'AppDefinition must either contain one of ...'); the published schema only encodes the "
        "'not both cmd and args' half.",
        ALL,
        False,
        _neither_cmd_args_nor_container,
        _give_a_command,
        {"id": "/giphy", "instances": 1},
    ),
    Difference(
        "mixed-networking-styles",
        "Marathon 1.5+ refuses container.docker.network or ipAddress together with networks, and "
        "docker.portMappings together with container.portMappings (API-NOTES §9); the published "
        "schema allows the deprecated 1.4 fields next to their replacements.",
        MODERN,
        False,
        _mixes_networking,
        _unmix_networking,
        {
            **MINIMAL,
            "networks": [{"mode": "container/bridge"}],
            "container": {"docker": {"image": "giphy:1", "network": "BRIDGE"}},
        },
    ),
    Difference(
        "tty",
        "tty exists from Marathon 1.5 on (the RAML, API-NOTES §9) but the published 1.5 to 1.7 schemas "
        "were never updated for it (shared/reference/marathon/README.md, known gaps).",
        MODERN,
        True,
        _tty,
        _no_tty,
        {**MINIMAL, "tty": True},
    ),
    Difference(
        "health-check-command",
        "A COMMAND health check's command is {'value': <command line>}; upstream declares `items` on "
        "that object, which checks nothing, so it accepts any object there.",
        ALL,
        False,
        _odd_health_command,
        _plain_health_command,
        {**MINIMAL, "healthChecks": [{"protocol": "COMMAND", "command": {"valeu": "true"}}]},
    ),
    Difference(
        "executor-resources-content",
        "Upstream puts executorResources' cpus, mem and disk beside `type` instead of under "
        "`properties`, so it checks nothing inside the object; ours checks them like the app's own.",
        frozenset({"v1.7.236"}),
        False,
        _odd_executor_resources,
        _no_executor_resources,
        {**MINIMAL, "executorResources": {"cpus": "a lot"}},
    ),
    _open_objects(
        "1.4", frozenset({"v1.4.13"}), OPEN_IN_1_4, {**MINIMAL, "ipAddress": {"networkname": "dcos"}}
    ),
    _open_objects(
        "1.5", MODERN, OPEN_IN_1_5, {**MINIMAL, "networks": [{"mode": "container", "nmae": "dcos"}]}
    ),
    Difference(
        "network-label-values",
        "Labels are string-to-string maps everywhere in Marathon, on networks too (API-NOTES §7, RAML "
        "KVLabels); upstream lets networks[].labels and ipAddress.labels hold any value.",
        ALL,
        False,
        _non_string_labels,
        _drop_non_string_labels,
        {**MINIMAL, "ipAddress": {"labels": {"replicas": 3}}},
    ),
    Difference(
        "fields-added-in-1.6",
        "Our 1.5+ form describes Marathon 1.5 to 1.7, like the last published schema (v1.7.236); "
        "v1.5.15 predates executorResources, healthChecks[].ipProtocol and persistent.profileName "
        "(API-NOTES §9), which a 1.5 server ignores.",
        frozenset({"v1.5.15"}),
        True,
        _fields_of_1_6,
        _drop_fields_of_1_6,
        {**MINIMAL, "healthChecks": [{"protocol": "MESOS_HTTP", "ipProtocol": "IPv6"}]},
    ),
    Difference(
        "integral-floats-are-integers",
        "JSON has one number type: draft 2020-12, like every draft since 6, counts 2.0 as an integer; "
        "draft 4, which upstream is written for, does not.",
        ALL,
        True,
        _integral_floats,
        _ints_for_integral_floats,
        {**MINIMAL, "instances": 2.0},
    ),
    Difference(
        "newline-in-patterned-values",
        "A pattern means the whole value, but the `$` of Python's re (and Java's, Marathon's own) also "
        "matches before a final newline, so upstream takes an id like '/giphy\\n'. Ours ends every "
        "pattern in $(?!\\n), as all skytrain schemas do (docs/security.md), and the executor path "
        "may hold no newline at all.",
        ALL,
        False,
        _newline_ended,
        _without_newlines,
        {**MINIMAL, "id": "/giphy\n"},
    ),
)
