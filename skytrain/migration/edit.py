"""The finishing edit of a service's files (pure: texts in, texts out): its environment's
overlay says `scheduler: kubernetes`, every comment and the layout of the rest kept, so the
pull request shows one line. ruamel.yaml's round trip keeps comments, key order, quoting
and flow style; the indentation of block sequences is taken from the file itself."""

from __future__ import annotations

import difflib
import io
import re

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from skytrain.errors import UsageError

FIELD = "scheduler"


def with_scheduler(text: str, scheduler: str, shown: str) -> str:
    """`text` (an overlay) with `scheduler: <scheduler>`: replaced where it is, else added first."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    offset = _dash_offset(text)
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    try:
        data = yaml.load(text)
    except Exception as exc:  # ruamel raises many kinds; each means the file is not YAML we can edit
        raise UsageError(f"{shown} cannot be edited: {exc}") from None
    if data is None:
        separator = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{separator}{FIELD}: {scheduler}\n"
    if not isinstance(data, CommentedMap):
        raise UsageError(f"{shown} is not a mapping of fields, so skytrain cannot set {FIELD} in it")
    if FIELD in data:
        data[FIELD] = scheduler
    else:
        data.insert(0, FIELD, scheduler)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def diff(old: str, new: str, path: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}"))


def _dash_offset(text: str) -> int:
    """How far the file indents a block sequence's dash under its key (`key:\n  - x` is 2)."""
    parent = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        dash = re.match(r"( *)- ", line)
        if dash and parent is not None:
            return max(0, len(dash.group(1)) - parent)
        key = re.fullmatch(r"( *)[^\s#-][^:]*:\s*(#.*)?", line)
        parent = len(key.group(1)) if key else None
    return 0
