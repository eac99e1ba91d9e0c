"""`skytrain schema`: print a published JSON Schema, for editors and other tools."""

from __future__ import annotations

import argparse
import json

from skytrain.errors import EXIT_OK

NAMES = {
    "application": "application.schema.json",
    "overlay": "overlay.schema.json",
    "environments": "environments.schema.json",
    "skeleton-vars": "skeleton-vars.schema.json",
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of application.yml, overlays, the environments file or skeleton-vars.yml",
        description="Print a JSON Schema (draft 2020-12); point yaml-language-server at it for completion.",
    )
    parser.add_argument("which", nargs="?", choices=sorted(NAMES), default="application")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain.config.schemas import load_schema

    print(json.dumps(load_schema(NAMES[args.which]), indent=2, ensure_ascii=False))
    return EXIT_OK
