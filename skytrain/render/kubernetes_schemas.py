"""The Kubernetes schemas of the kubernetes-validate package, read directly from its files.

Read here rather than through the package, so that neither its per-call reloads nor its
imports land on the render path. A Kubernetes version's kinds refer into one
_definitions.json of 1.4 MB: parsed whole (~7 ms, and ~100,000 objects for the garbage
collector to scan and then free) only where jsonschema needs it, to explain an error. The
fast verdict reads just the definitions a document reaches (a few dozen), each when first
asked for (`DefinitionsOnDemand`).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

DEFINITIONS = "_definitions.json"


@cache
def schema_dir(version: str) -> Path:
    """The folder of the newest schemas not newer than `version` (the oldest if all are)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the kubernetes-validate package is missing; reinstall skytrain")
    root = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"

    def minor(name: str) -> int:
        return int(re.match(r"v1\.(\d+)", name).group(1))

    wanted = int(version.split(".")[1])
    available = sorted((d.name for d in root.glob("v1.*-local-strict")), key=minor)
    older = [name for name in available if minor(name) <= wanted] or available[:1]
    return root / older[-1]


def _api_group(api_version: str) -> str:
    return re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)


@cache
def kind_schema(version: str, kind: str, api_version: str) -> dict[str, Any]:
    """The kind's schema; FileNotFoundError when this Kubernetes version has no such kind."""
    return json.loads((schema_dir(version) / f"{kind.lower()}-{_api_group(api_version)}.json").read_text())


@cache
def definitions(version: str) -> dict[str, Any]:
    """The whole _definitions.json document ($id and $defs)."""
    return json.loads((schema_dir(version) / DEFINITIONS).read_bytes())


@cache
def definitions_on_demand(version: str) -> dict[str, Any]:
    """The _definitions.json document with its $defs read one by one, when first used."""
    text = (schema_dir(version) / DEFINITIONS).read_bytes()
    on_demand = DefinitionsOnDemand(text, lambda: definitions(version)["$defs"])
    at = text.rfind(b'\n  "$id": ')
    try:
        uri = json.loads(text[at + len(b'\n  "$id": ') : text.index(b"\n", at + 1)]) if at >= 0 else None
    except ValueError:
        uri = None
    return {"$id": uri, "$defs": on_demand} if isinstance(uri, str) else definitions(version)


class DefinitionsOnDemand(Mapping[str, Any]):
    """The $defs of a _definitions.json, each parsed from its own stretch of the text.

    The files are JSON written with an indent of 2: each definition starts on a line of its
    own with its name at four spaces' indentation and ends at the first line that closes
    a brace at that indentation (deeper lines are indented further, and a newline inside a
    string is written as \\n). A name not found that way, or a stretch that does not parse
    into an object, is looked up in the whole document (`whole`, parsed once); so a file
    laid out otherwise is only slower."""

    _START = b'\n    "'
    _END = b"\n    }"

    def __init__(self, text: bytes, whole: Callable[[], dict[str, Any]]):
        self._text = text
        self._whole = whole
        self._starts: dict[bytes, int] | None = None
        self._parsed: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._parsed:
            self._parsed[name] = self._from_stretch(name) or self._whole()[name]
        return self._parsed[name]

    def _from_stretch(self, name: str) -> dict[str, Any] | None:
        start = self._index().get(json.dumps(name)[1:-1].encode())
        end = self._text.find(self._END, start) if start is not None else -1
        if start is None or end < 0:
            return None
        try:
            value = json.loads(self._text[start : end + len(self._END)])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _index(self) -> dict[bytes, int]:
        """{name as written: where its value starts}, in one pass over the text."""
        if self._starts is None:  # made whole before it is kept: renders may run in threads
            starts = {}
            at = self._text.find(self._START)
            while at >= 0:
                name_end = self._text.find(b'": ', at + len(self._START))
                if name_end < 0:
                    break
                starts[self._text[at + len(self._START) : name_end]] = name_end + len(b'": ')
                at = self._text.find(self._START, name_end)
            self._starts = starts
        return self._starts

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())
