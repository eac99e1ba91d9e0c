"""A project type's files, rendered: templates/skeletons/common/ and templates/skeletons/<type>/
(the type's file wins where both have one), plus Makefile.base.mk as skytrain ships it.

A file ending in `.j2` is a Jinja2 template, rendered in Jinja2's immutable sandbox with
StrictUndefined (a variable a template misspells is an error, never an empty string); any
other file is copied as it is. A file named `dot-<name>` becomes `.<name>`: a `.gitignore`
inside skytrain's own tree would be read by git as rules for that folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from skytrain.resources import data_file, template_dir

SKELETONS = "skeletons"
COMMON = "common"
# written only when no environments file applies to the new service (skytrain.commands.new)
STARTER_ENVIRONMENTS = "starter-environments.yml"
TEMPLATE_SUFFIX = ".j2"
DOT_PREFIX = "dot-"
BASE_MAKEFILE = "Makefile.base.mk"


def yaml_string(value: str) -> str:
    """`value` as a YAML double-quoted scalar. JSON's string syntax is a subset of YAML's, and
    the schema keeps line breaks out of the values, so any text (quotes, `#`, `: `, a leading
    `*` or `!`) stays one plain string."""
    return json.dumps(value, ensure_ascii=False)


@cache
def _sandbox() -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["yaml"] = yaml_string
    return environment


def skeleton_root() -> Path:
    return template_dir() / SKELETONS


def project_types() -> list[str]:
    return sorted(p.name for p in skeleton_root().iterdir() if p.is_dir() and p.name != COMMON)


def render_skeleton(project_type: str, context: Mapping[str, Any]) -> dict[str, str]:
    """{path in the new repository: text} for the project type, every template rendered."""
    sources: dict[PurePosixPath, Path] = {}
    for folder in (skeleton_root() / COMMON, skeleton_root() / project_type):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                sources[PurePosixPath(path.relative_to(folder).as_posix())] = path
    files = {str(_target(relative)): _render(path, context) for relative, path in sorted(sources.items())}
    files[BASE_MAKEFILE] = data_file(BASE_MAKEFILE).read_text(encoding="utf-8")
    return files


def starter_environments() -> str:
    return (skeleton_root() / STARTER_ENVIRONMENTS).read_text(encoding="utf-8")


def _target(relative: PurePosixPath) -> PurePosixPath:
    name = relative.name.removesuffix(TEMPLATE_SUFFIX)
    if name.startswith(DOT_PREFIX):
        name = "." + name.removeprefix(DOT_PREFIX)
    return relative.with_name(name)


def _render(path: Path, context: Mapping[str, Any]) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix != TEMPLATE_SUFFIX:
        return text
    return _sandbox().from_string(text).render(dict(context))
