"""`skytrain makefile`: the Makefile.base.mk a service repository includes, and the one
question it asks skytrain (`--runs-on`: which scheduler each environment runs on), so that
`make help` lists only the targets that apply.

`--runs-on` reads only the `scheduler:` of deploy/*.yml, without templates or an
environments file: make asks it while it reads the Makefile, so it has to be quick and work
wherever `make help` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skytrain.errors import EXIT_OK, ConfigError, ConfigErrors


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "makefile",
        help="print the Makefile.base.mk a service's Makefile includes (skytrain makefile > Makefile.base.mk)",
        description="Print Makefile.base.mk, the make targets (validate, deploy-<env>, deploy-k8s-<env>, ...) a "
        "service repository includes from its Makefile. See docs/pipeline.md.",
    )
    parser.add_argument(
        "--runs-on",
        type=Path,
        metavar="SERVICE_DIR",
        help="instead, print which scheduler each environment of the service runs on, as words such as "
        "staging:kubernetes (what Makefile.base.mk asks for make help)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.runs_on is not None:
        print(" ".join(f"{env}:{scheduler}" for env, scheduler in runs_on(args.runs_on)))
        return EXIT_OK
    from skytrain.resources import data_file

    sys.stdout.write(data_file("Makefile.base.mk").read_text(encoding="utf-8"))
    return EXIT_OK


def runs_on(directory: Path) -> list[tuple[str, str]]:
    """(environment, scheduler) for every overlay, from the merged `scheduler:` as written."""
    from skytrain.config.build import read_service
    from skytrain.config.merge import merge_documents
    from skytrain.config.model import schedulers_of
    from skytrain.config.schemas import APPLICATION, load_schema

    files = read_service(directory)
    allowed = load_schema(APPLICATION)["properties"]["scheduler"]["enum"]
    pairs: list[tuple[str, str]] = []
    errors: list[ConfigError] = []
    for env in files.overlay_names():
        merged = merge_documents(files.base, files.overlays[env])
        value = merged.data.get("scheduler") if isinstance(merged.data, dict) else None
        if value not in allowed:
            errors.append(
                ConfigError(
                    merged.positions.of_value(("scheduler",)),
                    "scheduler",
                    f"must be one of {', '.join(allowed)} in {env}; skytrain validate says more",
                )
            )
            continue
        pairs += [(env, scheduler) for scheduler in schedulers_of(value)]
    if errors:
        raise ConfigErrors(errors)
    return pairs
