"""The bounds every template in a service's files runs within, on both the `{{ VAR }}` fast
path and in the Jinja2 sandbox (docs/security.md says why these numbers).

A template fills in a short value: an image tag, a URL, a flag. These bounds are far above
that and far below what would hurt the machine reading a pull request's files.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

MAX_VALUE_CHARS = 64 * 1024  # one rendered value, and any text or list a template builds
MAX_FILE_CHARS = 1024 * 1024  # everything the templates of one file render, together
MAX_RANGE = 10_000  # items of range()
MAX_INT_BITS = 4096  # an integer a template computes with * or **
TIME_BUDGET_SECONDS = 1.0  # the templates of one file, together


class Refused(Exception):
    """A template broke a rule. The message says which and never holds a value."""


def size_of(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """Characters of text plus items of collections in `value`, counting a shared item each
    time it appears (as printing or joining it would); stops counting past `limit`."""
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 8 + 1
        elif isinstance(item, Mapping):
            total += len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, range):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset) or type(item).__name__.startswith("dict_"):
            total += len(item)
            pending.extend(item)
        else:
            total += 1
    return total


def too_large(what: str) -> Refused:
    """`what` ("this template repeats text") would pass MAX_VALUE_CHARS."""
    return Refused(
        f"{what} beyond {MAX_VALUE_CHARS // 1024} KiB, and was stopped; templates fill in short values "
        "such as image tags"
    )


def check_size(value: Any, what: str = "this template builds a value") -> Any:
    if size_of(value) > MAX_VALUE_CHARS:
        raise too_large(what)
    return value


def out_of_time() -> Refused:
    return Refused(
        f"the templates of this file ran for more than {TIME_BUDGET_SECONDS:g} s and were stopped "
        "(a loop over too much?); templates fill in short values such as image tags"
    )


class FileBudgets:
    """Time and output left to the templates of each file, during one environment's templating.
    (A plain class: a dataclass costs every `skytrain validate` its creation at import.)"""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.chars: dict[str, int] = {}

    def deadline(self, file: str) -> float:
        """The monotonic time the next template of `file` must finish by."""
        left = self.seconds.get(file, TIME_BUDGET_SECONDS)
        if left <= 0:
            raise out_of_time()
        return time.monotonic() + left

    def spend_time(self, file: str, started: float) -> None:
        self.seconds[file] = self.seconds.get(file, TIME_BUDGET_SECONDS) - (time.monotonic() - started)

    def spend_chars(self, file: str, chars: int) -> None:
        self.chars[file] = self.chars.get(file, MAX_FILE_CHARS) - chars
        if self.chars[file] < 0:
            raise Refused(
                f"the templates of this file render more than {MAX_FILE_CHARS // 1024 // 1024} MiB together, "
                "and were stopped; templates fill in short values such as image tags"
            )
