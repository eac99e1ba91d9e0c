"""The fleet as a whole: the service repositories of one folder (a checkout of every service)
checked together, which no single service's files can be: every dependency names a service
of the fleet and no two services share a name (errors), and dependencies that go round in a
circle are reported (a warning: calling each other is legal, but whether either can start
first, in a new environment or on the other scheduler, is for their owners to make sure).

Only `name` and `dependencies` of each service are read (merged per environment, without
templates: their schema rules leave no room for one), so checking one service against a
fleet of a hundred costs parsing their files, not validating them. `skytrain validate
--fleet DIR` checks every service fully as well; a service checked against the fleet the
environments file names (`fleet:`) gets only the errors that are its own.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skytrain.config.build import BASE_FILE, DEPLOY_DIR, display_path, read_service
from skytrain.config.merge import merge_documents
from skytrain.errors import ConfigError, ConfigErrors, Location, UsageError, field_path

SHOWN_NAMES = 12


@dataclass(frozen=True)
class DependencyEntry:
    name: str
    where: Location
    path: str  # dependencies[1]


@dataclass(frozen=True)
class Findings:
    errors: list[ConfigError]
    warnings: list[ConfigError]  # printed as FILE:LINE:COL: warning: ...; they fail nothing


def warning_text(warning: ConfigError) -> str:
    return f"{warning.location}: warning: {warning.path}: {warning.message}"


@dataclass(frozen=True)
class Member:
    """One service of a fleet, as far as the fleet's checks need it."""

    directory: Path  # resolved: a service is itself, whatever path named it
    name: str
    name_at: Location
    # environment -> its dependencies (merged base and overlay)
    dependencies: Mapping[str, tuple[DependencyEntry, ...]]

    def entry(self, env: str, dependency: str) -> DependencyEntry:
        return next(d for d in self.dependencies[env] if d.name == dependency)


def services_in(paths: Iterable[Path]) -> list[Path]:
    """Service repositories among `paths`: each path is one, or a folder holding several."""
    services: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise UsageError(f"{path} is not a directory; give a folder of service repositories or a service")
        if (path / DEPLOY_DIR / BASE_FILE).is_file():
            services.append(path)
            continue
        found = sorted(p.parent.parent for p in path.glob(f"*/{DEPLOY_DIR}/{BASE_FILE}"))
        if not found:
            raise UsageError(f"{path} holds no service repository (no */{DEPLOY_DIR}/{BASE_FILE})")
        services += found
    return services


def read_member(directory: Path) -> Member | None:
    """The service's name and dependencies, or None when its files do not say (its own
    validation reports why)."""
    try:
        files = read_service(directory)
    except (ConfigErrors, UsageError):
        return None
    base: Any = files.base.data
    name = base.get("name") if isinstance(base, dict) else None
    if not isinstance(name, str):
        return None
    dependencies = {}
    for env in files.overlay_names():
        merged = merge_documents(files.base, files.overlays[env])
        listed = merged.data.get("dependencies") if isinstance(merged.data, dict) else None
        dependencies[env] = tuple(
            DependencyEntry(
                named, merged.positions.of_value(("dependencies", i)), field_path(("dependencies", i))
            )
            for i, entry in enumerate(listed if isinstance(listed, list) else [])
            if isinstance(named := entry.get("name") if isinstance(entry, dict) else entry, str)
        )
    return Member(directory.resolve(), name, files.base.positions.of_value(("name",)), dependencies)


def read_fleet(services: Iterable[Path]) -> tuple[list[Member], set[str]]:
    """The members, and the folder names of services whose files do not say their name:
    a dependency on one of those is not reported as unknown (the service's own errors are)."""
    members, unreadable = [], set()
    for directory in services:
        member = read_member(directory)
        if member is None:
            unreadable.add(directory.resolve().name)
        else:
            members.append(member)
    return members, unreadable


def check_fleet(
    members: Sequence[Member], fleet: str, unreadable: Iterable[str] = (), only: Member | None = None
) -> Findings:
    """What is wrong with the fleet (`fleet` names it in messages), or with `only`, with that
    member: its unknown dependencies and the cycles it is part of."""
    errors: list[ConfigError] = []
    by_name: dict[str, Member] = {}
    for member in sorted(members, key=lambda m: m.directory):
        first = by_name.setdefault(member.name, member)
        if first is not member and only is None:
            errors.append(
                ConfigError(
                    member.name_at,
                    "name",
                    f"{member.name} is also the name of {display_path(first.directory)} ({first.name_at}); two "
                    "services of a fleet cannot share a name: they would deploy over each other's Marathon app "
                    f"and Kubernetes objects, and share /service/{member.name}/",
                )
            )
    known = set(by_name) | set(unreadable)
    for member in members if only is None else [only]:
        errors += [
            _unknown(dependency, sorted(by_name), fleet)
            for entries in member.dependencies.values()
            for dependency in entries
            if dependency.name not in known
        ]
    return Findings(errors, _cycles(by_name, only))


def _unknown(dependency: DependencyEntry, names: list[str], fleet: str) -> ConfigError:
    close = difflib.get_close_matches(dependency.name, names, n=1)
    if close:
        hint = f"; did you mean '{close[0]}'?"
    else:
        shown = names[:SHOWN_NAMES] + (["..."] if len(names) > SHOWN_NAMES else [])
        hint = f"; its services are {', '.join(shown)}"
    return ConfigError(
        dependency.where, dependency.path, f"{dependency.name} is not a service of the fleet in {fleet}{hint}"
    )


def _cycles(by_name: Mapping[str, Member], only: Member | None) -> list[ConfigError]:
    """Each dependency cycle once (as warnings), at the dependency where it starts (the first
    service in name order, or `only`), with the environments it is in."""
    found: dict[tuple[str, ...], list[str]] = {}
    environments = sorted({env for member in by_name.values() for env in member.dependencies})
    for env in environments:
        for cycle in _cycles_in(by_name, env):
            found.setdefault(cycle, []).append(env)
    errors = []
    for cycle, envs in found.items():
        if only is not None and only.name not in cycle:
            continue
        start = cycle.index(only.name) if only is not None else 0
        path = (*cycle[start:-1], *cycle[: start + 1])
        entry = by_name[path[0]].entry(envs[0], path[1])
        errors.append(
            ConfigError(
                entry.where,
                entry.path,
                f"{' → '.join(path)} is a dependency cycle (in {', '.join(envs)}): if each needs the next to "
                "answer before it is healthy, none of them can start first (in a new environment, or on the "
                "other scheduler); make sure one starts without the others",
            )
        )
    return errors


def _cycles_in(by_name: Mapping[str, Member], env: str) -> list[tuple[str, ...]]:
    """Cycles of one environment's dependency graph, each as (a, b, ..., a) from its first
    name in order, so that every service on a cycle is on one of them: for each service not
    yet on a reported cycle, the shortest way back to itself (a search per service, never
    the exponential list of every cycle)."""
    calls = {
        name: sorted({d.name for d in member.dependencies.get(env, ()) if d.name in by_name})
        for name, member in sorted(by_name.items())
    }
    cycles: list[tuple[str, ...]] = []
    covered: set[str] = set()
    for start in calls:
        if start in covered:
            continue
        path = _shortest_way_back(calls, start)
        if path:
            first = path.index(min(path))
            cycles.append((*path[first:], *path[:first], path[first]))
            covered.update(path)
    return cycles


def _shortest_way_back(calls: Mapping[str, list[str]], start: str) -> list[str]:
    """[start, ..., last] where last calls start, by breadth-first search; [] when none."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for called in calls[current]:
            if called == start:
                path = [current]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if called not in came_from:
                came_from[called] = current
                queue.append(called)
    return []


def shown_folder(path: Path) -> str:
    """A folder as messages name it: relative to where the user stands, but never just '.'."""
    shown = display_path(path)
    return str(path.resolve()) if shown == "." else shown


def against_configured_fleet(directory: Path, environments_file: str | None) -> Findings:
    """The service in `directory` checked against the fleet its environments file names under
    `fleet:` (nothing found when it names none). That folder may hold an older copy of the
    service (the CI's checkout of the fleet): a member with its name or its folder is this
    service, read from `directory`."""
    from skytrain.config.environments import find_environments_file, found_in_checkout, load_environments

    path = find_environments_file(environments_file, directory)
    environments = load_environments(path, found_in_checkout(environments_file, path))
    this = read_member(directory) if environments.fleet is not None else None
    if environments.fleet is None or this is None:
        return Findings([], [])
    try:
        services = services_in([environments.fleet])
    except UsageError as exc:
        raise UsageError(f"the fleet: of {environments.file}: {exc}") from None
    members, unreadable = read_fleet(services)
    others = [m for m in members if m.directory != this.directory and m.name != this.name]
    return check_fleet([*others, this], shown_folder(environments.fleet), unreadable, only=this)
