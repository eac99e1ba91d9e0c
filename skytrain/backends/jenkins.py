"""What a platform team scripts against a Jenkins server, through python-jenkins: check a
Jenkinsfile with the server's declarative validator, and create or update a service's
multibranch job from templates/jenkins/ (idempotently: an unchanged job is left alone).

The server and credentials come from JENKINS_URL, JENKINS_USER and JENKINS_TOKEN; the
token is never printed, not even inside an error from the server or the HTTP library.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from skytrain.errors import OperationFailed, UsageError
from skytrain.redact import redact
from skytrain.resources import template_dir

URL_VAR, USER_VAR, TOKEN_VAR = "JENKINS_URL", "JENKINS_USER", "JENKINS_TOKEN"
JOB_TEMPLATE = "jenkins/multibranch.xml"
TIMEOUT_SECONDS = 30


class JobChange(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class JenkinsServer:
    url: str
    user: str
    token: str = field(repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> JenkinsServer:
        environ = os.environ if environ is None else environ
        missing = [name for name in (URL_VAR, USER_VAR, TOKEN_VAR) if not environ.get(name)]
        if missing:
            raise UsageError(
                f"set {' and '.join(missing)} to reach Jenkins (the server's URL, your user name and an API "
                "token from <your user> > Configure > API Token); credentials are never read from a file"
            )
        return cls(environ[URL_VAR].rstrip("/") + "/", environ[USER_VAR], environ[TOKEN_VAR])

    def connect(self) -> Any:
        import jenkins

        return jenkins.Jenkins(self.url, username=self.user, password=self.token, timeout=TIMEOUT_SECONDS)

    def failed(self, doing: str, exc: Exception) -> OperationFailed:
        """An error a person can act on, with the token masked wherever the library put it."""
        detail = redact(str(exc), [self.token])
        hint = ""
        if any(code in detail for code in ("401", "403")):
            hint = f"; check {USER_VAR} and {TOKEN_VAR} (and that the user may configure jobs)"
        return OperationFailed(f"Jenkins at {redact(self.url)} could not {doing}: {detail}{hint}")


def lint(server: JenkinsServer, jenkinsfile: str) -> list[str]:
    """The server's declarative-pipeline validator's errors (empty: valid)."""
    import requests

    import jenkins

    try:
        errors = server.connect().check_jenkinsfile_syntax(jenkinsfile)
    except (jenkins.JenkinsException, requests.RequestException, ValueError) as exc:
        raise server.failed("check the Jenkinsfile", exc) from None
    return [message for error in errors for message in _messages(error)]


def _messages(error: Any) -> list[str]:
    """The validator answers [{"error": "..."}] or [{"error": ["...", ...]}]; flatten both."""
    if isinstance(error, Mapping):
        return [m for value in error.values() for m in _messages(value)]
    if isinstance(error, list):
        return [m for value in error for m in _messages(value)]
    return [str(error)]


def render_job(values: Mapping[str, str]) -> str:
    """The job's config.xml from the template, every value XML-escaped."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(
        loader=FileSystemLoader(template_dir()),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template(JOB_TEMPLATE).render(**values)


def setup_job(server: JenkinsServer, name: str, config_xml: str) -> JobChange:
    """Create the job, or update it when its configuration differs; never touch it otherwise."""
    import requests

    import jenkins

    try:
        client = server.connect()
        if not client.job_exists(name):
            client.create_job(name, config_xml)
            return JobChange.CREATED
        if _same_xml(client.get_job_config(name), config_xml):
            return JobChange.UNCHANGED
        client.reconfig_job(name, config_xml)
        return JobChange.UPDATED
    except (jenkins.JenkinsException, requests.RequestException) as exc:
        raise server.failed(f"set up the job {name}", exc) from None


def _same_xml(left: str, right: str) -> bool:
    """Jenkins rewrites a job's XML (declaration, whitespace, comments); compare what it means."""

    def canonical(text: str) -> str:
        body = text.split("?>", 1)[1] if text.lstrip().startswith("<?xml") else text
        return ET.canonicalize(body, strip_text=True, with_comments=False)

    try:
        return canonical(left) == canonical(right)
    except ET.ParseError:
        return False
