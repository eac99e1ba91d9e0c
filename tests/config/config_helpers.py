"""Helpers for the config engine tests: write a service to a temp dir and load it (the CLI
runs through tests.support).

(A uniquely named module rather than conftest.py, so that other test folders' conftest
modules never shadow it.)"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from skytrain.config import App, load_service

EXAMPLE_SERVICES = ("giphy", "organization", "media")

# Jenkins sets BUILD_TAG; tests must not depend on the machine they run on
CLEAN_ENVIRON: dict[str, str] = {}

ENVIRONMENTS_YAML = """\
environments:
  dev:
    marathon: {url: "http://marathon.dev:8080", version: "1.4"}
    kubernetes: {context: dev, namespace: default}
  staging:
    marathon: {url: "http://marathon.staging:8080"}
    kubernetes: {context: staging, namespace: web}
  production:
    marathon: {url: "http://marathon.prod:8080", version: "1.7"}
    kubernetes: {context: production, namespace: default}
  legacy:
    marathon: {url: "http://marathon.legacy:8080"}
  cloud:
    kubernetes: {namespace: cloud}
"""

BASE_YAML = """\
name: giphy
image: registry.example.com/giphy:1.0
scheduler: both
port: 8080
"""


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def write_service(root: Path, files: Mapping[str, str], environments: str | None = ENVIRONMENTS_YAML) -> Path:
    """A service repository under `root` with deploy/<name> for each of `files`."""
    (root / "deploy").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / "deploy" / name).write_text(dedent(text))
    if environments is not None:
        (root / "skytrain-environments.yml").write_text(environments)
    return root


def load_files(
    root: Path, files: Mapping[str, str], environ: Mapping[str, str] | None = None, **kwargs
) -> dict[str, App]:
    """{env: App} for a service made of `files`, through the real file discovery."""
    directory = write_service(root, files)
    _, apps = load_service(directory, environ=dict(environ or CLEAN_ENVIRON), **kwargs)
    return apps


def messages(exc_info: pytest.ExceptionInfo) -> list[str]:
    return [str(e) for e in exc_info.value.errors]
