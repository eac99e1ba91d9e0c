"""`skytrain import marathon`, the pure half: Marathon app JSON in (one per environment),
each service's deploy/ files and the warnings out. No I/O: the command reads the files or
the live Marathons and writes the result (skytrain/commands/import_.py).

The steps, per app and environment: find the apps (sources), put each the way Marathon
holds it (clean), carry every field over that the model can say (convert), keep the rest for
Marathon in the escape hatch (hatch), then fold the environments into one base and minimal
overlays (factor) and write them as commented YAML (writer). The conversion matrix that
says what happens to each field is rules.RULES.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skytrain.config.environments import Environment, KubernetesCluster, MarathonCluster
from skytrain.importer.clean import clean
from skytrain.importer.convert import Draft, convert
from skytrain.importer.factor import factor
from skytrain.importer.hatch import NotExact, escape_hatch
from skytrain.importer.names import group_of, last_segment, service_name
from skytrain.importer.notes import Note, Notes, Refused
from skytrain.importer.sources import Found, apps_in
from skytrain.importer.writer import yaml_text

BASE_FILE = "application.yml"
MODERN_VERSION = "1.7"
LEGACY_VERSION = "1.4"
HATCH_COMMENT = "what the fields above do not say: Marathon runs exactly what ran before"


@dataclass(frozen=True)
class Input:
    """One environment's Marathon JSON. `version` and `group` are the environment's Marathon as
    the environments file says (None: not known, judged from the app)."""

    environment: str
    source: str  # how messages name it: a file, or an environment's Marathon
    document: Any
    version: str | None = None
    group: str | None = None
    namespace: str = "default"


@dataclass
class Service:
    name: str
    files: dict[str, str]  # file name in deploy/ → its text
    origins: dict[str, tuple[str, str]]  # environment → (source, app id)
    notes: list[Note]
    # environment → the app as given, and the app the imported files render on Marathon
    given: dict[str, dict[str, Any]] = field(default_factory=dict)
    intended: dict[str, dict[str, Any]] = field(default_factory=dict)
    pointers: dict[str, str] = field(default_factory=dict)  # environment → the app's place in its source


@dataclass
class Result:
    services: list[Service]
    notes: list[Note]  # about the inputs rather than one service (a pod skipped in a group)


class ImportRefused(Exception):
    """Every reason the inputs cannot be used (exit 2); nothing is written."""

    def __init__(self, refusals: list[Refused]):
        super().__init__("\n".join(str(r) for r in refusals))
        self.refusals = refusals


def import_marathon(inputs: list[Input], name: str | None = None) -> Result:
    refusals: list[Refused] = []
    notes: list[Note] = []
    by_service: dict[str, dict[str, tuple[Input, Found, list[str]]]] = {}
    for given in inputs:
        try:
            found, found_notes = apps_in(given.document, given.source)
        except Refused as exc:
            refusals.append(exc)
            continue
        notes += found_notes
        if name is not None and len(found) > 1:
            refusals.append(Refused(given.source, "", f"--name names one app, and this holds {len(found)}"))
            continue
        for app in found:
            service, changes = (name, []) if name else service_name(app.app_id)
            if service is None:
                refusals.append(Refused(given.source, app.pointer + "/id", changes[0]))
                continue
            same = by_service.setdefault(service, {})
            if given.environment in same:
                other = same[given.environment][1]
                refusals.append(
                    Refused(
                        given.source,
                        app.pointer + "/id",
                        f"{app.app_id} and {other.app_id} both become the service {service}; import them "
                        "separately with --name",
                    )
                )
                continue
            same[given.environment] = (given, app, changes)
    services = []
    for service, per_environment in sorted(by_service.items()):
        try:
            services.append(_service(service, per_environment))
        except Refused as exc:
            refusals.append(exc)
    if refusals:
        raise ImportRefused(refusals)
    return Result(services, notes)


def _service(name: str, per_environment: dict[str, tuple[Input, Found, list[str]]]) -> Service:
    drafts: dict[str, Draft] = {}
    service = Service(name, {}, {}, [])
    for environment, (given, found, changes) in per_environment.items():
        notes = Notes(given.source, found.pointer)
        version = given.version or MODERN_VERSION
        _identity(name, found.app_id, given, changes, notes)
        app = clean(found.app, notes, version == LEGACY_VERSION)
        draft = convert(app, name, notes)
        target = Environment(
            environment,
            marathon=MarathonCluster("http://marathon.invalid", version),
            kubernetes=KubernetesCluster(namespace=given.namespace),
        )
        try:
            hatch = escape_hatch(draft.document, draft.intended, target)
        except NotExact as exc:
            raise notes.refuse("", f"{exc}; this is a skytrain bug, please report it with this app") from None
        if hatch:
            draft.document["marathon"] = hatch
            draft.comments["marathon"] = HATCH_COMMENT
        drafts[environment] = draft
        service.origins[environment] = (given.source, found.app_id)
        service.given[environment] = found.app
        service.intended[environment] = draft.intended
        service.pointers[environment] = found.pointer
        service.notes += notes.items
    service.files = _files(name, drafts, service.origins)
    return service


def _identity(name: str, app_id: str, given: Input, changes: list[str], notes: Notes) -> None:
    """Where the imported service deploys on Marathon, when that is not where the app runs."""
    group = group_of(app_id)
    deployed_group = group if given.group is None else given.group
    if changes:
        notes.warn(
            "id-renamed",
            "/id",
            f"{'; '.join(changes)}. The Marathon app id becomes {deployed_group}/{name}: a new app, while "
            f"{app_id} keeps running until it is scaled to 0 or removed (or give --name)",
        )
    if given.group is None and group:
        notes.warn(
            "id-group",
            "/id",
            f"the app lives in the Marathon group {group}: ask the platform team to set marathon.group: {group} "
            f"for {given.environment} in the environments file, or the service deploys to /{name} beside it",
        )
    elif given.group is not None and group != given.group and not changes:
        notes.warn(
            "id-group",
            "/id",
            f"{given.environment} deploys to the group {given.group or '/'} (environments file), so the app id "
            f"becomes {given.group}/{name}: a new app beside {app_id}",
        )
    if last_segment(app_id) != name and not changes:
        notes.warn("id-renamed", "/id", f"--name {name}: the Marathon app id becomes {deployed_group}/{name}")


def _files(name: str, drafts: dict[str, Draft], origins: dict[str, tuple[str, str]]) -> dict[str, str]:
    environments = list(drafts)
    base, overlays = factor([drafts[e].document for e in environments])
    comments: dict[str, str] = {}
    for environment in environments:
        comments.update(drafts[environment].comments)
    sources = [f"  {e}: {_printable(origins[e][0])} (app {_printable(origins[e][1])})" for e in environments]
    files = {
        BASE_FILE: yaml_text(
            base,
            [
                f"{name}: imported by `skytrain import marathon` from",
                *sources,
                "What Kubernetes could not carry over is in the import's warnings.",
            ],
            comments,
        )
    }
    for environment, overlay in zip(environments, overlays, strict=True):
        header = [
            f"{environment}: what differs from {BASE_FILE}, imported from {_printable(origins[environment][0])}"
        ]
        if not overlay:
            header.append(f"nothing differs: this file says that {name} deploys to {environment}")
        files[f"{environment}.yml"] = yaml_text(overlay, header, comments)
    return files


def _printable(text: str) -> str:
    """A source's name as one comment line."""
    return "".join(c if c.isprintable() else "?" for c in text)
