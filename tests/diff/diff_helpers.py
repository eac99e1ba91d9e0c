"""A small service on disk (and its environments file) that the diff tests change."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import skytrain

ENVIRONMENTS = """\
environments:
  staging:
    marathon:
      url: http://127.0.0.1:9/
      version: "1.4"
    kubernetes:
      context: staging
      namespace: shop
  production:
    marathon:
      url: http://127.0.0.2:9/
      version: "1.7"
    kubernetes:
      context: production
      namespace: shop
"""

BASE = """\
name: hello
maintainers:
  - name: Sam Example
    email: sam@example.com
image: registry.example.com/hello:1.2.3
scheduler: both
replicas: 2
resources:
  cpu: 1
  memory: 1Gi
port: 8080
args: ["--port", "8080"]
env:
  LOG_LEVEL: info
secrets:
  API_KEY:
    secret: hello
    key: api-key
healthCheck:
  path: /health
"""


class Service:
    """deploy/ files in a folder; `write` replaces one, `load` builds the App models."""

    def __init__(self, root: Path):
        self.root = root
        self.directory = root / "hello"
        (self.directory / "deploy").mkdir(parents=True)
        self.environments = root / "skytrain-environments.yml"
        self.environments.write_text(ENVIRONMENTS)
        self.write("application.yml", BASE)
        self.write("staging.yml", "")
        self.write("production.yml", "replicas: 3\n")

    def write(self, name: str, text: str) -> None:
        (self.directory / "deploy" / name).write_text(text)

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.directory / "deploy" / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new))

    def load(self, env: str):
        from skytrain.config import load_service

        return load_service(self.directory, str(self.environments), [env], environ={})[1][env]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`skytrain diff` of this service as a fresh process, without colour."""
        return skytrain("diff", self.directory, "--environments", self.environments, *args, NO_COLOR="1")


FIXTURES = Path(__file__).parent / "fixtures"


def fixture_objects(name: str, **rendered: str) -> list[dict]:
    """A server-shaped fixture with the rendered values filled in (`HASH="..."` for ${HASH})."""
    import json

    import yaml

    text = (FIXTURES / name).read_text()
    for key, value in rendered.items():
        text = text.replace(f"${{{key}}}", value)
    if name.endswith(".json"):
        return [json.loads(text)]
    return [doc for doc in yaml.safe_load_all(text) if doc]


def rendered(app, target: str) -> list[dict]:
    from skytrain.schedulers import render

    return render(app, target)


def changes_by_path(result) -> dict:
    """{(object title, JSON pointer): FieldChange} of one DiffResult."""
    return {(o.title, c.path): c for o in result.objects for c in o.changes}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def rendered_html(markdown: str):
    """The markdown as GitHub shows it (CommonMark with tables and inline HTML), parsed."""
    from lxml import html
    from markdown_it import MarkdownIt

    return html.fromstring(
        f"<div>{MarkdownIt('commonmark', {'html': True}).enable('table').render(markdown)}</div>"
    )


def table_rows(document) -> list[dict[str, str]]:
    """The summary table's rows as {column header: cell text}."""
    [table] = document.xpath("//table")
    header = [th.text_content().strip() for th in table.xpath(".//thead//th")]
    return [
        dict(zip(header, (td.text_content().strip() for td in row.xpath("./td")), strict=True))
        for row in table.xpath(".//tbody/tr")
    ]
