"""`skytrain jenkins lint|setup`: check a Jenkinsfile on the server, and create or update a
service's multibranch job. JENKINS_URL, JENKINS_USER and JENKINS_TOKEN come from the
environment and are never printed."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from skytrain.commands.common import add_service_arguments
from skytrain.errors import EXIT_OK, EXIT_USAGE, UsageError
from skytrain.secret_shapes import PASSWORD_IN_URL

_DECLARATIVE = re.compile(r"^\s*pipeline\s*\{", re.MULTILINE)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "jenkins",
        help="check a Jenkinsfile on the Jenkins server, or create/update a service's job",
        description="Talk to Jenkins (JENKINS_URL, JENKINS_USER, JENKINS_TOKEN from the environment).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    lint = actions.add_parser(
        "lint",
        help="validate a declarative Jenkinsfile with the server's validator",
        description="Send the Jenkinsfile to the server's declarative-pipeline validator. Exit 2 when it "
        "reports errors, 1 when the server cannot be reached.",
    )
    lint.add_argument("jenkinsfile", type=Path, metavar="JENKINSFILE")
    lint.set_defaults(run=run_lint)
    setup = actions.add_parser(
        "setup",
        help="create or update the service's multibranch job (idempotent)",
        description="Render templates/jenkins/multibranch.xml for the service and create the job, or update "
        "it when its configuration differs. Running it again changes nothing.",
    )
    add_service_arguments(setup)
    setup.add_argument(
        "--repository", metavar="URL", help="git URL of the service (default: its origin remote)"
    )
    setup.add_argument("--credentials-id", default="", metavar="ID", help="Jenkins credentials to clone with")
    setup.add_argument("--job", metavar="NAME", help="job name (default: the service's name)")
    setup.add_argument(
        "--print", dest="print_only", action="store_true", help="print the job's config.xml; contact nothing"
    )
    setup.set_defaults(run=run_setup)


def run_lint(args: argparse.Namespace) -> int:
    from skytrain.backends.jenkins import JenkinsServer, lint

    try:
        text = args.jenkinsfile.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {args.jenkinsfile}: {exc.strerror}") from None
    if not _DECLARATIVE.search(text):
        print(
            f"{args.jenkinsfile}: not a declarative pipeline (no pipeline {{ }} block), so the server's "
            "validator has nothing to check; a Jenkinsfile calling skytrainPipeline() is covered by the "
            "library's own tests"
        )
        return EXIT_OK
    errors = lint(JenkinsServer.from_environ(), text)
    for error in errors:
        print(f"{args.jenkinsfile}: error: {error}")
    if errors:
        return EXIT_USAGE
    print(f"{args.jenkinsfile}: valid")
    return EXIT_OK


def run_setup(args: argparse.Namespace) -> int:
    from skytrain.backends.jenkins import JenkinsServer, render_job, setup_job
    from skytrain.commands.common import load_apps

    app = next(iter(load_apps(args.service, args.environments, None, args.variables).values()))
    job = args.job or app.name
    repository = args.repository or origin_of(args.service)
    if PASSWORD_IN_URL.search(repository):
        raise UsageError(
            "the repository URL has a password in it; give the plain URL and the Jenkins credentials to clone "
            "with (--credentials-id)"
        )
    config_xml = render_job(
        {
            "job": job,
            "display_name": app.name_nice,
            "description": app.description,
            "repository": repository,
            "credentials_id": args.credentials_id,
            "script_path": "Jenkinsfile",
        }
    )
    if args.print_only:
        print(config_xml, end="")
        return EXIT_OK
    change = setup_job(JenkinsServer.from_environ(), job, config_xml)
    print(f"{job}: {change.value}")
    return EXIT_OK


def origin_of(directory: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(directory), "remote", "get-url", "origin"], capture_output=True, text=True
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(f"{directory} has no git remote 'origin'; pass --repository URL")
    return done.stdout.strip()
