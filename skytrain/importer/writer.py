"""The YAML of the imported files: deterministic (the same input gives the same bytes),
commented, and read back by skytrain exactly as written.

ruamel.yaml writes comments; it is told YAML 1.1 so that every string skytrain's reader
(PyYAML, YAML 1.1) would take for something else (yes, on, 0755, 1_000) is quoted, and the
version directive it then prints is left out. A string that holds template syntax is wrapped
in Jinja's raw block, so that it is read as the text it is and never run as a template.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

TEMPLATE_MARKERS = ("{{", "{%", "{#")
_DIRECTIVE = "%YAML 1.1\n---\n"


@cache
def _yaml() -> YAML:
    yaml = YAML()
    yaml.version = (1, 1)
    yaml.width = 4096  # never fold a long command line
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def _commented(value: Any) -> Any:
    if isinstance(value, dict):
        return CommentedMap((key, _commented(item)) for key, item in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented(item) for item in value)
    if isinstance(value, str) and any(marker in value for marker in TEMPLATE_MARKERS):
        return "{% raw %}" + value + "{% endraw %}"
    return value


def yaml_text(data: dict[str, Any], header: list[str], comments: dict[str, str]) -> str:
    """`data` as YAML under `header` (comment lines), with `comments` after their top-level keys."""
    lines = "".join(f"# {line}".rstrip() + "\n" for line in header)
    if not data:
        return lines
    document = _commented(data)
    for key, comment in comments.items():
        if key in document:
            document.yaml_add_eol_comment(comment, key)
    stream = io.StringIO()
    _yaml().dump(document, stream)
    return lines + stream.getvalue().removeprefix(_DIRECTIVE)
