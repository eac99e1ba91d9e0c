"""What the import tests share: importing in-process and writing the files, an environments
file for the imported environments, reading the result back through the normal config path,
and the Marathon round trip measured with the diff's own normaliser."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from skytrain.config import App, load_service
from skytrain.diff.normalise_marathon import normalise_pair, to_modern_form
from skytrain.importer import Input, Result, import_marathon
from skytrain.importer.clean import without_nulls
from skytrain.importer.notes import Note
from skytrain.render.marathon import READ_ONLY_KEYS
from skytrain.schedulers import render

IMPORTED_VERSION = "1.7"


def write_result(result: Result, out: Path) -> dict[str, Path]:
    """Each service's files under out/<name>/deploy/, as the command writes them."""
    folders = {}
    for service in result.services:
        deploy = out / service.name / "deploy"
        deploy.mkdir(parents=True)
        for name, text in service.files.items():
            (deploy / name).write_text(text)
        folders[service.name] = out / service.name
    return folders


def environments_file(path: Path, environments: dict[str, dict[str, str]]) -> Path:
    """An environments file: each environment's Marathon (version, group) and a Kubernetes namespace."""
    lines = ["environments:"]
    for index, (name, marathon) in enumerate(environments.items()):
        group = f", group: {marathon['group']}" if marathon.get("group") else ""
        url = marathon.get("url", f"http://marathon-{index}.invalid:8080")
        lines += [
            f"  {name}:",
            f"    marathon: {{url: '{url}', version: '{marathon.get('version', IMPORTED_VERSION)}'{group}}}",
            f"    kubernetes: {{context: ctx-{index}, namespace: ns-{index}}}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def imported(
    tmp_path: Path, documents: dict[str, Any], **options: Any
) -> tuple[Result, dict[str, dict[str, App]]]:
    """Import {environment: JSON document} (sources named <env>.json), write the files, and
    load every service back as `validate` does."""
    result = import_marathon([Input(env, f"{env}.json", doc) for env, doc in documents.items()], **options)
    tmp_path.mkdir(parents=True, exist_ok=True)
    envs = environments_file(tmp_path / "environments.yml", {env: {} for env in documents})
    folders = write_result(result, tmp_path / "out")
    return result, {name: load_service(folder, str(envs), environ={})[1] for name, folder in folders.items()}


def as_marathon_holds_it(app: dict[str, Any]) -> dict[str, Any]:
    """The app as a 1.5+ Marathon stores it: nulls mean "not set", its own read-only fields
    dropped, the 1.4 form translated (API-NOTES §9)."""

    held = without_nulls(copy.deepcopy(app))
    for key in READ_ONLY_KEYS:
        held.pop(key, None)
    to_modern_form(held)
    return held


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """JSON pointers where two normalised apps differ (down to the keys of a mapping one side lacks)."""
    if (isinstance(a, dict) and b is None) or (a is None and isinstance(b, dict)):
        a, b = a or {}, b or {}
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for key in sorted(set(a) | set(b), key=str)
            for d in differences(a.get(key), b.get(key), f"{path}/{key}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for index, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}/{index}")
        ]
    return [] if a == b else [path]


def round_trip(app: App, original: dict[str, Any]) -> list[str]:
    """Where `skytrain render --target marathon` of the imported files differs from the
    original app, compared as the diff compares desired and live; skytrain's own labels and
    the id (which the environment's group decides) aside."""
    rendered = render(app, "marathon")[0]
    desired, live = normalise_pair(rendered, as_marathon_holds_it(original), IMPORTED_VERSION)
    assert desired is not None and live is not None
    for side in (desired, live):
        side.pop("id", None)
        labels = {k: v for k, v in side.get("labels", {}).items() if not k.startswith("SKYTRAIN_")}
        side.pop("labels", None)
        if labels:
            side["labels"] = labels
    return differences(desired, live)


def announced(difference: str, notes: list[Note], app_pointer: str) -> bool:
    """Whether a warning names this spot of the app (or one that contains it)."""
    spots = [n.pointer.removeprefix(app_pointer) for n in notes] + [c for n in notes for c in n.changes]
    return any(difference == spot or difference.startswith(spot + "/") for spot in spots if spot)
