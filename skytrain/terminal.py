"""How much skytrain says and whether in colour: `--quiet`, `--verbose` and `--color`.

The three are global options, accepted before the command and after it
(`skytrain --color always deploy ...` and `skytrain deploy ... --color always`), as kubectl
and helm accept theirs anywhere. Colour (`auto` by default) follows, in this order: the
option when it is `always` or `never`; then `NO_COLOR` (https://no-color.org) and
`FORCE_COLOR` (https://force-color.org), each when set and not empty, `NO_COLOR` first;
then whether the stream is a terminal. Jenkins' AnsiColor plugin shows colour in a log that
is no terminal: there, `--color always` or `FORCE_COLOR=1`.

Imported by `skytrain validate` too: nothing here may load more than the standard library.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from skytrain.errors import UsageError

QUIET, NORMAL, VERBOSE = -1, 0, 1
COLOR_CHOICES = ("auto", "always", "never")


def add_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """--quiet, --verbose and --color. A command's parser gets them without defaults
    (`defaults=False`): argparse copies a subcommand's defaults over what was given before
    the command, so `skytrain -q deploy ...` would lose its -q."""
    unset = {} if defaults else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("output (also before the command)")
    loudness = group.add_mutually_exclusive_group()
    loudness.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        **({"default": False} | unset),
        help="print only errors and the final result (no progress)",
    )
    loudness.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        **({"default": False} | unset),
        help="more progress detail: also each request to a scheduler (method, URL, answer, time)",
    )
    group.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        **({"default": "auto"} | unset),
        help="colour in diffs and progress: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces it), "
        "always (e.g. Jenkins' AnsiColor), never",
    )


@dataclass(frozen=True)
class Terminal:
    """What the person asked for; `colour(stream)` decides for one output stream."""

    verbosity: int = NORMAL
    color: str = "auto"
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, compare=False)

    def colour(self, stream: IO[str]) -> bool:
        if self.color != "auto":
            return self.color == "always"
        if self.environ.get("NO_COLOR"):
            return False
        if self.environ.get("FORCE_COLOR"):
            return True
        return stream.isatty()

    @property
    def quiet(self) -> bool:
        return self.verbosity == QUIET

    @property
    def verbose(self) -> bool:
        return self.verbosity == VERBOSE


def terminal(args: argparse.Namespace) -> Terminal:
    """The settings of this run; -q before the command and -v after it contradict each other."""
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    if quiet and verbose:
        raise UsageError("--quiet and --verbose contradict each other; give one of them")
    return Terminal(QUIET if quiet else VERBOSE if verbose else NORMAL, getattr(args, "color", "auto"))
