"""Where the schemas, templates and Makefile.base.mk shipped with skytrain are, installed or
in a checkout.

A wheel carries them under `skytrain/_data/` (pyproject.toml's force-include); a checkout
(and an editable install) has them at the repository's top level, where DESIGN.md puts them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"skytrain is installed without its {name}/ folder; reinstall it")


def data_file(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"skytrain is installed without its {name}; reinstall it")


def schema_path(filename: str) -> Path:
    return data_dir("schemas") / filename


def template_dir() -> Path:
    return data_dir("templates")
