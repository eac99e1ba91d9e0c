"""A traceback is a bug: mangle the example files at random (seeded, so a failure
reproduces) and check that loading and rendering only ever ends in a config error."""

from __future__ import annotations

import copy
import random
import shutil
from pathlib import Path

import pytest
import yaml
from config_helpers import CLEAN_ENVIRON

from skytrain.config import load_service
from skytrain.errors import ConfigErrors, UsageError
from skytrain.schedulers import render
from tests.support import EXAMPLES

NOISE = [
    ":",
    "{",
    "}",
    "[",
    "]",
    "-",
    "#",
    "!",
    "&",
    "*",
    "'",
    '"',
    "\t",
    "\n",
    " ",
    "{{",
    "null",
    "~",
    "|",
    ">",
]


def mangle(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        how = rng.randrange(5)
        if how == 0 and text:
            at = rng.randrange(len(text))
            text = text[:at] + text[at + 1 :]
        elif how == 1:
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(NOISE) + text[at:]
        elif how == 2 and lines:
            line = rng.randrange(len(lines))
            lines.insert(line, lines[line])
            text = "".join(lines)
        elif how == 3 and len(lines) > 1:
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            text = "".join(lines)
        else:
            line = rng.randrange(len(lines)) if lines else 0
            lines[line:line] = ["  " * rng.randint(0, 3) + rng.choice(["x: 1\n", "- y\n", "replicas: {}\n"])]
            text = "".join(lines)
        lines = text.splitlines(keepends=True)
    return text


def _victim(tmp_path: Path, attempt: int, rng: random.Random) -> tuple[Path, Path]:
    """A fresh copy of a random example and its environments file; one of its files to mangle."""
    service = rng.choice(["giphy", "organization", "media"])
    work = tmp_path / f"{attempt}"
    shutil.copytree(EXAMPLES / service, work / service)
    shutil.copy(EXAMPLES / "skytrain-environments.yml", work / "skytrain-environments.yml")
    files = [*sorted((work / service / "deploy").glob("*.yml")), work / "skytrain-environments.yml"]
    return work / service, rng.choice(files)


def _only_config_errors(service: Path, victim: Path, context: str) -> None:
    try:
        _, apps = load_service(service, environ=CLEAN_ENVIRON)
        for app in apps.values():
            for target in app.schedulers:
                render(app, target)
    except (ConfigErrors, UsageError):
        pass
    except Exception as exc:  # pragma: no cover - the failure report
        pytest.fail(f"{context}: {victim.name} of {service.name} gave {exc!r}:\n{victim.read_text()}")


@pytest.mark.parametrize("seed", range(8))
def test_mangled_files_give_config_errors_never_tracebacks(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    for attempt in range(40):
        service, victim = _victim(tmp_path, attempt, rng)
        victim.write_text(mangle(victim.read_text(), rng))
        _only_config_errors(service, victim, f"seed {seed} attempt {attempt}")


VALUES = [
    None,
    0,
    -1,
    1.5,
    10**12,
    "",
    "x",
    "Giphy",
    [],
    {},
    ["a"],
    {"a": 1},
    {"name": "x"},
    True,
    "{{ X }}",
    "0m",
]


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


def _replace(data, path, value):
    if not path:
        return value
    *parents, last = path
    target = data
    for part in parents:
        target = target[part]
    target[last] = value
    return data


@pytest.mark.parametrize("seed", range(8))
def test_values_of_every_wrong_type_give_config_errors_never_tracebacks(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    for attempt in range(40):
        service, victim = _victim(tmp_path, attempt, rng)
        data = yaml.safe_load(victim.read_text()) or {}
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(list(_paths(data)))
            data = _replace(data, path, copy.deepcopy(rng.choice(VALUES)))
        victim.write_text(yaml.safe_dump(data))
        _only_config_errors(service, victim, f"seed {seed} attempt {attempt}")
