"""How large, how deep and how many values a YAML file skytrain reads may be.

Deploy files are written by whoever opens a pull request, and skytrain reads them on an
agent that holds deploy credentials: without bounds, a 50 MB file or ten thousand nested
brackets would cost that agent seconds and gigabytes. The bounds sit far above any real
service's files. The platform may move them through the CI's environment (trusted), never
through a file in the repository (untrusted); docs/config.md lists them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from skytrain.errors import UsageError

MAX_BYTES_ENV = "SKYTRAIN_MAX_FILE_BYTES"
MAX_DEPTH_ENV = "SKYTRAIN_MAX_DEPTH"
MAX_VALUES_ENV = "SKYTRAIN_MAX_VALUES"
# merging, templating and the schema checks walk a document recursively: far below
# Python's recursion limit even with several frames per level
DEPTH_CEILING = 200


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_values: int = 20_000


def current(environ: Mapping[str, str] = os.environ) -> Limits:
    """The limits in force: the defaults, or what the platform set in the environment."""
    return _limits(environ.get(MAX_BYTES_ENV), environ.get(MAX_DEPTH_ENV), environ.get(MAX_VALUES_ENV))


@lru_cache(maxsize=8)
def _limits(max_bytes: str | None, max_depth: str | None, max_values: str | None) -> Limits:
    default = Limits()
    return Limits(
        _whole_number(MAX_BYTES_ENV, max_bytes, default.max_bytes),
        _whole_number(MAX_DEPTH_ENV, max_depth, default.max_depth, ceiling=DEPTH_CEILING),
        _whole_number(MAX_VALUES_ENV, max_values, default.max_values),
    )


def _whole_number(name: str, text: str | None, default: int, ceiling: int | None = None) -> int:
    if text is None or not text.strip():
        return default
    value = int(text) if text.strip().isdigit() else 0
    if value < 1 or (ceiling is not None and value > ceiling):
        upper = f" and at most {ceiling}" if ceiling is not None else ""
        raise UsageError(
            f"{name} must be a whole number above 0{upper} (the default is {default}); got {text[:20]!r}"
        )
    return value
