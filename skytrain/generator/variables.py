"""The skeleton's variables: skeleton-vars.yml (as the talk's skeleton writes it) and the
same values as flags, which win over the file, all checked against
schemas/skeleton-vars.schema.json before anything is rendered.

A flag's value is checked as argparse reads it (against the schema's rule for that key, so
the rule lives in one place); the file is checked as a whole, every error at its line.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from skytrain.config import schemas
from skytrain.config.build import display_path
from skytrain.config.model import Maintainer
from skytrain.config.yamlfile import YamlDocument, parse_yaml, read_text
from skytrain.errors import ConfigErrors, UsageError

SCHEMA = "skeleton-vars.schema.json"
DEFAULT_SCHEDULER = "kubernetes"
# --maintainer 'Anubhav Mishra <anubhav.mishra@example.com>'
_MAINTAINER = re.compile(r"\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>]*)>\s*")
# how each required key is given on the command line, for "missing" messages
_FLAGS = {
    "name": "the service's name (NAME)",
    "maintainers": "--maintainer 'Name <email>'",
    "projectType": "--project-type",
}


@dataclass(frozen=True)
class SkeletonVars:
    name: str
    name_nice: str
    description: str
    maintainers: tuple[Maintainer, ...]
    project_type: str
    scheduler: str

    def template_context(self) -> dict[str, Any]:
        """The variables the skeletons see, under skeleton-vars.yml's own names."""
        return {
            "name": self.name,
            "nameNice": self.name_nice,
            "description": self.description,
            "maintainers": [{"name": m.name, "email": m.email} for m in self.maintainers],
            "projectType": self.project_type,
            "scheduler": self.scheduler,
        }


@cache
def _schema() -> dict[str, Any]:
    return schemas.load_schema(SCHEMA)


def _rule(*path: str) -> dict[str, Any]:
    """The schema of one value: `_rule("maintainers", "email")`."""
    node = _schema()
    for key in path:
        node = node["items"] if node.get("type") == "array" else node
        node = node["properties"][key]
    return node


def choices(key: str) -> list[str]:
    return list(_rule(key)["enum"])


def _checked(value: str, *path: str) -> str:
    rule = _rule(*path)
    if not Draft202012Validator(rule).is_valid(value):
        raise argparse.ArgumentTypeError(f"{value!r}: {rule.get('x-error') or rule['description']}")
    return value


def flag(*path: str) -> Callable[[str], str]:
    """An argparse `type` that checks a flag's value against the schema's rule for it."""

    def check(value: str) -> str:
        return _checked(value, *path)

    return check


def maintainer(text: str) -> dict[str, str]:
    """`--maintainer 'Name <email>'`, each part checked against the schema."""
    match = _MAINTAINER.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a maintainer as 'Firstname Lastname <name@example.com>'"
        )
    return {
        "name": _checked(match["name"], "maintainers", "name"),
        "email": _checked(match["email"], "maintainers", "email"),
    }


def skeleton_vars(vars_file: Path | None, flags: Mapping[str, Any]) -> SkeletonVars:
    """The variables from `vars_file` (if any) with `flags` (skeleton-vars.yml's keys, values
    already checked) over them. ConfigErrors at the file's lines, or UsageError naming the
    flags that are missing."""
    given = {key: value for key, value in flags.items() if value is not None}
    if vars_file is None:
        missing = [said for key, said in _FLAGS.items() if key in _schema()["required"] and key not in given]
        if missing:
            raise UsageError(
                f"skytrain new needs {', '.join(missing)}, or --vars skeleton-vars.yml "
                "(e.g. skytrain new parcel-tracker --project-type go --maintainer 'Ann Lee <ann.lee@example.com>')"
            )
        data = given
    else:
        document = _read(vars_file)
        written = {} if document.data is None else document.data  # an empty file: every value from flags
        data = {**written, **given} if isinstance(written, dict) else written
        errors = schemas.check(YamlDocument(document.file, data, document.positions), SCHEMA)
        if errors:
            raise ConfigErrors(errors)
    name = data["name"]
    return SkeletonVars(
        name=name,
        name_nice=data.get("nameNice") or name.replace("-", " ").title(),
        description=data.get("description", ""),
        maintainers=tuple(Maintainer(m["name"], m["email"]) for m in data["maintainers"]),
        project_type=data["projectType"],
        scheduler=data.get("scheduler", DEFAULT_SCHEDULER),
    )


def _read(path: Path) -> YamlDocument:
    if not path.is_file():
        raise UsageError(
            f"--vars {path}: no such file; write one (see skytrain schema skeleton-vars) or give flags"
        )
    display = display_path(path)
    return parse_yaml(read_text(path, display), display)
