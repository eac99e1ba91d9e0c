"""Errors that carry where they come from, and the exit codes DESIGN.md promises.

Every user-facing failure of the pure path is a `ConfigError`: the CLI prints it as
`FILE:LINE:COL: error: <field path>: <message>` and exits 2, without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CHANGES = 3


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class ConfigError:
    location: Location
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: error: {self.path}: {self.message}"


class ConfigErrors(Exception):
    """All config errors of a run, sorted and without repeats, raised together."""

    def __init__(self, errors: list[ConfigError] | tuple[ConfigError, ...]):
        self.errors = tuple(sorted(set(errors)))
        super().__init__("\n".join(str(e) for e in self.errors))


class OperationFailed(Exception):
    """A scheduler refused, a gate failed or a rollback happened: exit 1."""


def field_path(path: tuple[str | int, ...]) -> str:
    """Render a path the way a person reads YAML: `healthCheck.path`, `dependencies[1]`."""
    if not path:
        return "(top level)"
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class UsageError(Exception):
    """Bad command line or missing input file: exit 2, nothing sent anywhere."""
