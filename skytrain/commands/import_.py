"""`skytrain import marathon`: a service's deploy/ files from the Marathon app that runs today.

From files (`app.json --env production`, or `--env dev=dev.json --env production=prod.json`)
or live (`--from staging --from production --app /giphy`, read through the Marathon client of
each environment in the environments file). The conversion is pure (skytrain.importer); this
module reads, prints and writes. Exit 0 when every app converted (warnings on stderr), 2
when an input cannot be used (nothing written), 1 when a Marathon could not be read.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from skytrain.errors import EXIT_OK, EXIT_USAGE, OperationFailed, UsageError
from skytrain.redact import redact

ENVIRONMENT_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="write a service's deploy/ files from what runs on another scheduler",
        description="Write services' deploy/ files from what runs on another scheduler today.",
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="SCHEDULER")
    marathon = kinds.add_parser(
        "marathon",
        help="from Marathon app JSON (a file, a group, GET /v2/apps) or a live Marathon",
        description="Write OUT/<name>/deploy/ (application.yml and one overlay per environment) from Marathon "
        "app JSON, so that Marathon keeps running exactly what runs now; warnings say what Kubernetes "
        "could not carry over. Nothing is sent to any scheduler.",
    )
    marathon.add_argument("file", nargs="?", type=Path, metavar="FILE", help="app, group or apps JSON")
    marathon.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=FILE]",
        help="the environment FILE runs in; or NAME=FILE, repeated, for one app in several environments",
    )
    marathon.add_argument(
        "--from",
        dest="live",
        action="append",
        default=[],
        metavar="ENV",
        help="read the app from this environment's Marathon (repeatable; needs --app)",
    )
    marathon.add_argument(
        "--app", metavar="ID", help="the app id to read with --from (within the environment's group)"
    )
    marathon.add_argument(
        "--environments",
        metavar="FILE",
        help="environments file: where --from reads, and each environment's Marathon version and group",
    )
    marathon.add_argument(
        "--name", help="the service's name (one app only), instead of the one made from its id"
    )
    marathon.add_argument(
        "--out", type=Path, default=Path("."), metavar="DIR", help="write OUT/<name>/deploy/ (default .)"
    )
    marathon.add_argument("--force", action="store_true", help="overwrite an existing deploy/")
    marathon.add_argument(
        "--format", choices=("text", "json"), default="text", help="how to report (default text)"
    )
    marathon.add_argument(
        "--matrix", action="store_true", help="print the conversion matrix (Markdown) and exit"
    )
    marathon.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skytrain.importer import ImportRefused, import_marathon
    from skytrain.importer.rules import matrix

    if args.matrix:
        sys.stdout.write(matrix())
        return EXIT_OK
    inputs = _live_inputs(args) if args.live else _file_inputs(args)
    try:
        result = import_marathon(inputs, args.name)
    except ImportRefused as exc:
        for refusal in exc.refusals:
            print(redact(str(refusal)), file=sys.stderr)
        if args.format == "json":
            _print_json([], [], [r.as_json() for r in exc.refusals])
        count = len(exc.refusals)
        print(f"{count} error{'s' if count != 1 else ''}; nothing was written.", file=sys.stderr)
        return EXIT_USAGE
    written = _write(result.services, args.out, args.force)
    notes = [*result.notes, *(note for service in result.services for note in service.notes)]
    if args.format == "json":
        _print_json(
            [
                {
                    "name": service.name,
                    "directory": str(args.out / service.name),
                    "files": [str(path) for path in written[service.name]],
                    "environments": {env: {"source": s, "app": a} for env, (s, a) in service.origins.items()},
                }
                for service in result.services
            ],
            [note.as_json() for note in notes],
            [],
        )
    else:
        for note in notes:
            print(redact(str(note)), file=sys.stderr)
        for paths in written.values():
            for path in paths:
                print(path)
        print(
            f"{len(result.services)} service{'s' if len(result.services) != 1 else ''} imported, "
            f"{len(notes)} warning{'s' if len(notes) != 1 else ''}.",
            file=sys.stderr,
        )
    return EXIT_OK


def _print_json(services: list[Any], warnings: list[Any], errors: list[Any]) -> None:
    text = json.dumps({"services": services, "warnings": warnings, "errors": errors}, indent=2)
    sys.stdout.write(redact(text) + "\n")


def _environments(explicit: str | None, required: bool) -> Any:
    """The environments file (trusted: the CI's or the platform's), when one is named."""
    from skytrain.config.environments import ENV_VAR, find_environments_file, load_environments

    if not (explicit or os.environ.get(ENV_VAR) or required):
        return None
    return load_environments(find_environments_file(explicit, Path.cwd()))


def _file_inputs(args: argparse.Namespace) -> list[Any]:
    from skytrain.importer import Input

    if args.app:
        raise UsageError("--app goes with --from (a live Marathon); a file holds its own apps")
    if args.file is not None:
        if len(args.env) != 1 or "=" in args.env[0]:
            raise UsageError(f"say which environment {args.file} runs in: --env NAME (one)")
        pairs = [(args.env[0], args.file)]
    else:
        if not args.env or not all("=" in item for item in args.env):
            raise UsageError(
                "give a FILE and --env NAME, or --env NAME=FILE per environment, or --from ENV with --app ID"
            )
        pairs = [(name, Path(file)) for name, _, file in (item.partition("=") for item in args.env)]
    environments = _environments(args.environments, required=False)
    _check_names([name for name, _ in pairs], environments)
    return [Input(name, str(path), _read_json(path), *_cluster(environments, name)) for name, path in pairs]


def _check_names(names: list[str], environments: Any) -> None:
    for name in names:
        if not ENVIRONMENT_NAME.fullmatch(name):
            raise UsageError(f"{name!r} is not an environment name (lowercase letters, digits and dashes)")
        if environments is not None and name not in environments:
            raise UsageError(
                f"{environments.file} defines no environment {name!r}; it has {', '.join(environments.names())}"
            )
    if len(set(names)) != len(names):
        raise UsageError("each environment is given once")


def _cluster(environments: Any, name: str) -> tuple[str | None, str | None, str]:
    """(Marathon version, group, Kubernetes namespace) of the environment, when the file says."""
    environment = environments[name] if environments is not None else None
    if environment is None or environment.marathon is None:
        return None, None, "default"
    namespace = environment.kubernetes.namespace if environment.kubernetes else "default"
    return environment.marathon.version, environment.marathon.group, namespace


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise UsageError(f"{path}: cannot read it ({reason})") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: error: this is not JSON ({exc.msg})") from None
    except ValueError as exc:
        raise UsageError(f"{path}: error: {exc}") from None
    except RecursionError:
        raise UsageError(f"{path}: error: the JSON nests too deeply to be a Marathon app") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _live_inputs(args: argparse.Namespace) -> list[Any]:
    from skytrain.backends.marathon import create_client
    from skytrain.backends.marathon.client import MarathonError, NotFound
    from skytrain.importer import Input

    if args.file is not None or args.env:
        raise UsageError(
            "--from reads a live Marathon; give either files (FILE --env, --env NAME=FILE) or --from"
        )
    if not args.app:
        raise UsageError("--from needs --app ID: the app to read (e.g. --app /giphy)")
    environments = _environments(args.environments, required=True)
    _check_names(args.live, environments)
    clients = {name: create_client(environments[name]) for name in args.live}  # every setting checked first
    inputs = []
    for name, client in clients.items():
        version, group, namespace = _cluster(environments, name)
        app_id = f"{group or ''}/{args.app.strip('/')}"
        source = f"{client.display_url}/v2/apps{app_id}"
        try:
            app = client.get_app(app_id)
        except NotFound:
            raise UsageError(f"{source}: {name}'s Marathon has no app {app_id}") from None
        except MarathonError as exc:
            raise OperationFailed(f"cannot read {app_id} from {name}'s Marathon: {exc}") from None
        finally:
            client.close()
        inputs.append(Input(name, source, app, version, group, namespace))
    return inputs


def _write(services: list[Any], out: Path, force: bool) -> dict[str, list[Path]]:
    """Every check before the first write: a deploy/ that exists (without --force), a place
    that cannot be written or a link on the way refuses the whole import."""
    from skytrain.outputs import check_directory, write_file

    problems = []
    for service in services:
        deploy = out / service.name / "deploy"
        if deploy.exists() and not force:
            problems.append(f"{deploy} exists; skytrain never overwrites a service's files without --force")
            continue
        check_directory(deploy, "--out")
    if problems:
        raise UsageError("; ".join(problems))
    written: dict[str, list[Path]] = {}
    for service in services:
        deploy = out / service.name / "deploy"
        written[service.name] = []
        for file_name, text in service.files.items():
            write_file(deploy / file_name, text, "--out")
            written[service.name].append(deploy / file_name)
    return written
