"""The `skytrain` command: parse arguments, run one command, turn failures into exit codes.

Commands live in skytrain/commands/, one module each, and import what they need only
when they run, so that `skytrain validate` never pays for the Kubernetes client. The
output options (--quiet, --verbose, --color; skytrain/terminal.py) are global: every
command's parser takes them too, so they work before the command and after it.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import keyword
import sys
from collections.abc import Callable, Iterator

from skytrain import __version__, terminal
from skytrain.errors import EXIT_FAILED, EXIT_USAGE, ConfigErrors, OperationFailed, UsageError
from skytrain.redact import redact, secret_values

COMMANDS = (
    "validate",
    "render",
    "schema",
    "diff",
    "deploy",
    "status",
    "rollback",
    "scale",
    "routes",
    "migrate",
    "pipeline",
    "jenkins",
    "dev",
    "completion",
    "new",
    "makefile",
    "import",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (`only`) one with just that command: importing every command
    module costs `skytrain validate` ~10 ms it does not need."""
    parser = argparse.ArgumentParser(
        prog="skytrain",
        description="Validate, render, diff and deploy a service on Marathon and Kubernetes from deploy/*.yml.",
    )
    parser.add_argument("--version", action="version", version=f"skytrain {__version__}")
    terminal.add_options(parser, defaults=True)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        module = f"skytrain.commands.{name}{'_' * keyword.iskeyword(name)}"  # import_.py: a keyword
        importlib.import_module(module).add_parser(subparsers)
    for command in command_parsers(parser):
        terminal.add_options(command, defaults=False)
    return parser


def command_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every command's and subcommand's parser (`pipeline`, `pipeline run`, ...), once each."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):
                yield command
                yield from command_parsers(command)


def command_named(argv: list[str]) -> str | None:
    """The command of `argv` when it is a known one, past the global options before it."""
    words = iter(argv)
    for word in words:
        if word == "--color":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def report_config_errors(exc: ConfigErrors) -> None:
    secrets = secret_values()
    for error in exc.errors:
        print(redact(str(error), secrets), file=sys.stderr)
    count = len(exc.errors)
    print(f"{count} error{'s' if count != 1 else ''}; nothing was sent to any scheduler.", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """`skytrain ARGS`; without `argv`, this process is skytrain (the console script,
    `python -m skytrain`) and runs as one (see as_the_process)."""
    if argv is None:
        return as_the_process(sys.argv[1:])
    return run(argv)


def as_the_process(argv: list[str]) -> int:
    """`run`, sparing the garbage collector work that finds nothing: starting builds
    modules, classes and the parser, which live until exit, yet the collector scans them
    again and again while the imports go on, and the interpreter scans everything once
    more as it exits. So the collector is off while starting; what exists then is frozen
    (gc.freeze: never scanned again) before the command runs with the collector on; and
    everything is frozen once more before exit. About a quarter of a `skytrain validate`."""
    gc.disable()
    try:
        return run(argv, started=_collect_only_what_comes_next)
    finally:
        gc.freeze()


def _collect_only_what_comes_next() -> None:
    gc.freeze()
    gc.enable()


def run(argv: list[str], started: Callable[[], None] | None = None) -> int:
    """One command; `started` is called once its module is loaded and the arguments are read."""
    parser = build_parser(command_named(argv))
    args = parser.parse_args(argv)
    if started is not None:
        started()
    try:
        if terminal.terminal(args).verbose:
            from skytrain.verbose import log_requests

            log_requests()
        return args.run(args)
    except ConfigErrors as exc:
        report_config_errors(exc)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"skytrain: error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except OperationFailed as exc:
        print(f"skytrain: failed: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("skytrain: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FAILED
