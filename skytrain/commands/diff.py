"""`skytrain diff`: what a change would do, against live state or, offline, a git ref.

Every environment is validated and rendered before any scheduler is contacted; live
state is read once per target and environment (the backend lists each kind once).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from skytrain.commands.common import add_service_arguments, add_target_argument, targets_for
from skytrain.config import load_service, template_variables
from skytrain.config.model import App
from skytrain.errors import EXIT_CHANGES, EXIT_OK, OperationFailed, UsageError

if TYPE_CHECKING:
    from skytrain.diff.compare import DiffResult

FORMATS = ("text", "markdown", "json")
# room for the summary table and the truncation note; below it a limit means nothing
MIN_MARKDOWN_LIMIT = 1000


def markdown_limit(text: str) -> int:
    """--markdown-limit: a whole number of characters, not less than MIN_MARKDOWN_LIMIT."""
    value = int(text) if text.strip().isdigit() else 0
    if value < MIN_MARKDOWN_LIMIT:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of characters, at least {MIN_MARKDOWN_LIMIT}; got {text!r}"
        )
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="show what deploying would change, against live state or a git ref",
        description="Compare what the service's files render with what runs (default) or with the same "
        "files at a git ref (--against, offline). Secrets are redacted. Exit 0 with or without changes, "
        "3 with --exit-code when something changes, 1 when live state cannot be read, 2 on bad input.",
    )
    add_service_arguments(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--env", help="environment to diff")
    which.add_argument(
        "--all-envs", action="store_true", help="every environment the service has an overlay for"
    )
    add_target_argument(parser)
    parser.add_argument(
        "--against",
        metavar="REF",
        help="diff against the service's files at this git ref instead of live state",
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="text (default), markdown, json")
    parser.add_argument("--exit-code", action="store_true", help="exit 3 when something would change")
    parser.add_argument(
        "--markdown-limit",
        type=markdown_limit,
        default=None,
        metavar="CHARS",
        help="largest markdown output (default 60000, under GitHub's comment limit)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    given = dict(args.variables)
    only = [args.env] if args.env else None
    environments, apps = load_service(args.service, args.environments, only, set_variables=given)
    if args.against:
        from skytrain.diff.offline import apps_at, diff_against_ref

        # the ref's files read the same variables as the working tree's
        variables = template_variables(environments, given=given)
        old_apps = apps_at(args.against, args.service, environments, list(apps), variables)
        results = diff_against_ref(args.against, apps, old_apps, args.target)
        if not results:
            raise UsageError(
                f"{args.service} runs on {args.target} neither in the working tree nor at {args.against} "
                "for the chosen environment; pick another --target"
            )
    else:
        results = diff_live_state(list(apps.values()), args.target, bool(args.all_envs))
    sys.stdout.write(render_output(results, args))
    changed = any(r.changed for r in results)
    return EXIT_CHANGES if changed and args.exit_code else EXIT_OK


def operations(apps: list[App], target: str | None, all_envs: bool) -> list[tuple[App, str]]:
    """(app, target) pairs; with --all-envs, environments where the app does not run on
    the target are skipped rather than refused."""
    if not all_envs:
        return [(app, t) for app in apps for t in targets_for(app, target)]
    pairs = [(app, t) for app in apps for t in app.schedulers if target in (None, t)]
    if not pairs:
        raise UsageError(
            f"{apps[0].name} runs on {target} in none of its environments; pick another --target"
        )
    return pairs


def diff_live_state(apps: list[App], target: str | None, all_envs: bool) -> list[DiffResult]:
    from skytrain.diff.plan import diff_live
    from skytrain.schedulers import backend, render

    pairs = operations(apps, target, all_envs)
    rendered = {(app.environment.name, t, app.name): render(app, t) for app, t in pairs}
    groups: dict[tuple[str, str], list[App]] = {}
    for app, t in pairs:
        groups.setdefault((t, app.environment.name), []).append(app)
    # made before any is used: a wrong setting is exit 2 here, not "could not read" (exit 1)
    backends = {group: backend(group[0], members[0].environment) for group, members in groups.items()}

    def read(group: tuple[str, str]) -> list[DiffResult]:
        name, environment = group
        members = groups[group]
        with unreadable(name, environment):
            live = backends[group].live_objects(members)
        mine = {a.name: rendered[(environment, name, a.name)] for a in members}
        return diff_live(members, name, live, mine)

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(groups)))) as pool:
        return [result for results in pool.map(read, groups) for result in results]


@contextmanager
def unreadable(target: str, environment: str) -> Iterator[None]:
    """Any failure to reach or read the scheduler becomes exit 1, saying where and why."""
    try:
        yield
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        raise OperationFailed(
            f"could not read what runs on {target} in {environment}, so there is nothing to diff "
            f"against: {reason}. Check that the cluster is reachable and your credentials; "
            "--against REF diffs offline instead."
        ) from exc


def render_output(results: list[DiffResult], args: argparse.Namespace) -> str:
    if args.format == "json":
        from skytrain.diff.format_json import format_json

        return format_json(results)
    if args.format == "markdown":
        from skytrain.diff.format_markdown import DEFAULT_LIMIT, format_markdown

        return format_markdown(results, args.markdown_limit or DEFAULT_LIMIT)
    from skytrain.diff.format_text import format_text
    from skytrain.terminal import terminal

    return format_text(results, colour=terminal(args).colour(sys.stdout))
