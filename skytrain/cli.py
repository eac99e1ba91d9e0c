"""The `skytrain` command: parse arguments, run one command, turn failures into exit codes.

Commands live in skytrain/commands/, one module each, and import what they need only
when they run, so that `skytrain validate` never pays for the Kubernetes client.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from skytrain import __version__
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
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (`only`) one with just that command: importing every command
    module costs `skytrain validate` ~10 ms it does not need."""
    parser = argparse.ArgumentParser(
        prog="skytrain",
        description="Validate, render, diff and deploy a service on Marathon and Kubernetes from deploy/*.yml.",
    )
    parser.add_argument("--version", action="version", version=f"skytrain {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"skytrain.commands.{name}").add_parser(subparsers)
    return parser


def report_config_errors(exc: ConfigErrors) -> None:
    secrets = secret_values()
    for error in exc.errors:
        print(redact(str(error), secrets), file=sys.stderr)
    count = len(exc.errors)
    print(f"{count} error{'s' if count != 1 else ''}; nothing was sent to any scheduler.", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
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
