"""`skytrain new`: a new service repository (the talk's `./project-generator`), from
skeleton-vars.yml or the same values as flags.

Everything is decided before the first file is written: the variables checked, every file
rendered, every output path checked (a link planted in the folder, a folder where a file
goes), and a folder that is not empty refused unless --force. Files are written through
skytrain.outputs (whole or not at all, never through a link).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from skytrain.errors import EXIT_OK, UsageError
from skytrain.generator.variables import SkeletonVars, choices, flag, maintainer

SHOWN_ENTRIES = 5
# Makefile.base.mk's target that deploys dev on each scheduler
MAKE_DEPLOY_DEV = {"marathon": "deploy-dev", "kubernetes": "deploy-k8s-dev"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "new",
        help="start a service repository (go, python or scala) from skeleton-vars.yml or flags",
        description="Write a new service repository: the service with a /status endpoint and its test, "
        "Dockerfile, Dockerfile-dev, Makefile (with Makefile.base.mk), Jenkinsfile, deploy/application.yml "
        "with dev, staging and production overlays, README.md and skeleton-vars.yml. Flags win over --vars. "
        "It validates at once; make help lists what to do next.",
    )
    parser.add_argument(
        "name",
        nargs="?",
        type=flag("name"),
        metavar="NAME",
        help="the service's name: lowercase, dashes, no 'service' prefix or suffix (e.g. parcel-tracker)",
    )
    parser.add_argument("--vars", type=Path, metavar="FILE", help="skeleton-vars.yml to read the values from")
    parser.add_argument("--project-type", choices=choices("projectType"), help="the kind of service")
    parser.add_argument(
        "--name-nice",
        type=flag("nameNice"),
        metavar="TITLE",
        help="human readable title (default: from NAME)",
    )
    parser.add_argument(
        "--description", type=flag("description"), metavar="TEXT", help="what the service does"
    )
    parser.add_argument(
        "--maintainer",
        dest="maintainers",
        action="append",
        type=maintainer,
        metavar="'NAME <EMAIL>'",
        help="who to call when it breaks (repeatable)",
    )
    parser.add_argument(
        "--scheduler", choices=choices("scheduler"), help="where it runs (default: kubernetes)"
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="the folder to write (default: ./NAME)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into a folder that is not empty: the files skytrain new makes are replaced, others kept",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain.config.environments import FILE_NAME
    from skytrain.generator.skeleton import render_skeleton, starter_environments
    from skytrain.generator.variables import skeleton_vars
    from skytrain.outputs import check_directory, check_file, write_file

    variables = skeleton_vars(
        args.vars,
        {
            "name": args.name,
            "nameNice": args.name_nice,
            "description": args.description,
            "maintainers": args.maintainers,
            "projectType": args.project_type,
            "scheduler": args.scheduler,
        },
    )
    out: Path = args.out or Path(variables.name)
    check_directory(out, "--out")
    _refuse_if_not_empty(out, args.force)
    files = render_skeleton(variables.project_type, variables.template_context())
    environments = _environments_file_in_force(out)
    if environments is None:
        files[FILE_NAME] = starter_environments()
    for relative in files:
        check_file(out / relative, "--out")
    for relative, text in files.items():
        write_file(out / relative, text, "--out")
    _report(out, variables, sorted(files), environments)
    return EXIT_OK


def _refuse_if_not_empty(out: Path, force: bool) -> None:
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if entries and not force:
        shown = ", ".join(entries[:SHOWN_ENTRIES]) + (", ..." if len(entries) > SHOWN_ENTRIES else "")
        raise UsageError(
            f"--out {out}: this folder is not empty ({shown}); skytrain new writes into a new or empty folder, "
            "or with --force replaces the files it makes and keeps the others"
        )


def _environments_file_in_force(out: Path) -> Path | None:
    """The environments file skytrain would use for the new service, if any: then the new
    service uses it, and no starter file shadows it (a fleet checkout's, the CI's)."""
    from skytrain.config.environments import find_environments_file

    try:
        return find_environments_file(None, out)
    except UsageError:
        return None


def _report(out: Path, variables: SkeletonVars, files: list[str], environments: Path | None) -> None:
    from skytrain.config.environments import FILE_NAME

    print(f"created {variables.name} ({variables.project_type}, on {variables.scheduler}) in {out}:")
    for relative in files:
        print(f"  {relative}")
    if environments is None:
        print(
            f"{FILE_NAME} is a starter (dev, staging and production on this machine), written because no "
            "environments file applies here; the platform team's file replaces it"
        )
    else:
        print(f"environments: {environments} applies to it, so no starter file was written")
    from skytrain.config.model import schedulers_of

    # the last scheduler it runs on is the one it moves to: Kubernetes, for a service on both
    deploy = MAKE_DEPLOY_DEV[schedulers_of(variables.scheduler)[-1]]
    print(
        "next:\n"
        f"  cd {out} && make test && make validate\n"
        '  eval "$(skytrain dev up --dir ../.skytrain-dev)"     # a local Marathon and Kubernetes to deploy to\n'
        f"  make {deploy}"
    )
