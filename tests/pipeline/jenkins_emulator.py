"""A Jenkins API emulator on pytest-httpserver: just the endpoints skytrain's python-jenkins
calls use, with the checks the real server makes.

- Every request needs HTTP basic auth with a known user and API token (else 401).
- A POST needs a crumb (CSRF protection): `Jenkins-Crumb` from GET /crumbIssuer/api/json,
  valid only with the session cookie the crumb was issued with, as since Jenkins 2.176
  (else 403 "No valid crumb was included in the request").
- Jobs: GET /job/<name>/api/json?tree=name, GET/POST /job/<name>/config.xml (404 when
  missing), POST /createItem?name=<name> with the XML (400 when it exists).
- POST /pipeline-model-converter/validateJenkinsfile: the declarative validator's JSON
  answer, for the two mistakes tests need (no pipeline block, no agent).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CRUMB_FIELD = "Jenkins-Crumb"
SESSION_COOKIE = "JSESSIONID.skytrain"


@dataclass
class JenkinsEmulator:
    server: HTTPServer
    user: str = "deployer"
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    jobs: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of accepted requests
    _crumbs: dict[str, str] = field(default_factory=dict)  # session -> crumb

    def install(self) -> JenkinsEmulator:
        self.server.expect_request(re.compile(".*")).respond_with_handler(self.handle)
        return self

    @property
    def url(self) -> str:
        return self.server.url_for("/")

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != self._basic():
            return Response("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="Jenkins"'})
        if request.method == "POST" and not self._crumb_ok(request):
            return Response("No valid crumb was included in the request", 403)
        self.requests.append((request.method, request.path))
        path = request.path
        if path == "/crumbIssuer/api/json":
            return self._issue_crumb()
        if path == "/pipeline-model-converter/validateJenkinsfile" and request.method == "POST":
            return self._validate(request.form.get("jenkinsfile", ""))
        if path == "/createItem" and request.method == "POST":
            name = request.args["name"]
            if name in self.jobs:
                return Response(f"A job already exists with the name '{name}'", 400)
            self.jobs[name] = request.get_data(as_text=True)
            return Response("", 200)
        match = re.fullmatch(r"/job/([^/]+)/(api/json|config\.xml)", path)
        if match:
            name, what = match.groups()
            if name not in self.jobs:
                return Response("Not Found", 404)
            if what == "api/json":
                return Response(json.dumps({"name": name}), 200, content_type="application/json")
            if request.method == "POST":
                self.jobs[name] = request.get_data(as_text=True)
                return Response("", 200)
            # the server answers with its own rewrite of the XML: a 1.1 declaration, no comments
            body = re.sub(r"<!--.*?-->\s*", "", self.jobs[name], flags=re.S)
            return Response(body, 200, content_type="application/xml")
        return Response("Not Found", 404)

    def _basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()

    def _crumb_ok(self, request: Request) -> bool:
        session = request.cookies.get(SESSION_COOKIE)
        return session is not None and self._crumbs.get(session) == request.headers.get(CRUMB_FIELD)

    def _issue_crumb(self) -> Response:
        session, crumb = secrets.token_hex(8), secrets.token_hex(16)
        self._crumbs[session] = crumb
        body = {
            "_class": "hudson.security.csrf.DefaultCrumbIssuer",
            "crumb": crumb,
            "crumbRequestField": CRUMB_FIELD,
        }
        response = Response(json.dumps(body), 200, content_type="application/json")
        response.set_cookie(SESSION_COOKIE, session, path="/", httponly=True)
        return response

    def _validate(self, text: str) -> Response:
        errors = []
        if not re.search(r"^\s*pipeline\s*\{", text, re.M):
            errors.append({"error": f"Jenkinsfile content '{text[:40]}' did not contain the 'pipeline' step"})
        elif not re.search(r"^\s*agent\b", text, re.M):
            errors.append(
                {"error": ['WorkflowScript: 1: Missing required section "agent" @ line 1, column 1.']}
            )
        data = {"result": "failure", "errors": errors} if errors else {"result": "success"}
        return Response(json.dumps({"status": "ok", "data": data}), 200, content_type="application/json")
