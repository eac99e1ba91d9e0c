"""A one-service repository whose deploy files a hostile pull request wrote, and the CLI
run on it the way CI runs it: in this process (cheap), or as a fresh process with its
address space capped and a timeout, where bounded time and memory is the claim.

(A uniquely named module rather than conftest.py, so that other test folders' helpers
never shadow it.)"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from skytrain.cli import main
from tests.support import cli_env

ENVIRONMENTS = """\
environments:
  staging:
    marathon: {url: "http://marathon.staging.example.com:8080"}
    kubernetes: {context: staging, namespace: default}
"""
BASE = """\
name: svc
image: registry.example.com/svc:1.0
scheduler: marathon
port: 8080
"""
BASE_FILE = "svc/deploy/application.yml"
# where `env: {X: ...}` puts X's value in BASE + env_file(...)
VALUE_SPOT = f"{BASE_FILE}:6:6: error: env.X: "
MEMORY_CAP = 768 * 1024 * 1024  # far above a validate run (~60 MB), far below what a bomb asks for
A_CI_SECRET = "ci-deploy-token-9f8e7d6c5b4a"  # what the agent holds, and nothing may print


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if ": error: " in line]

    def printed(self) -> str:
        return self.stdout + self.stderr

    def refused(self, errors: list[str], *never_printed: str) -> None:
        """Exit 2 with exactly `errors`, and none of `never_printed` (nor the CI's secret) shown."""
        assert self.code == 2, self.stderr
        assert self.errors == errors
        for secret in (*never_printed, A_CI_SECRET):
            assert secret not in self.printed()


def env_file(values: Mapping[str, str], extra: str = "") -> str:
    """BASE with an env mapping; each value written as a YAML double-quoted string."""
    lines = "".join(f"  {name}: {json.dumps(value)}\n" for name, value in values.items())
    return f"{BASE}env:\n{lines}{extra}"


def write_service(
    root: Path, base: str, overlay: str = "", environments: str = ENVIRONMENTS, overlay_name: str = "staging"
) -> Path:
    """root/svc with deploy/application.yml and one overlay; root/environments.yml."""
    deploy = root / "svc" / "deploy"
    deploy.mkdir(parents=True, exist_ok=True)
    (deploy / "application.yml").write_text(base)
    (deploy / f"{overlay_name}.yml").write_text(overlay)
    (root / "environments.yml").write_text(environments)
    return root / "svc"


def run_here(root: Path, *args: str, monkeypatch, capsys, **environ: str) -> Outcome:
    """`skytrain ARGS` through skytrain.cli.main in this process, from `root`, with the
    environments file of write_service and the CI's secret in the process environment."""
    monkeypatch.chdir(root)
    for name in ("BUILD_TAG", "SKYTRAIN_ENVIRONMENTS", "GIT_COMMIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI_DEPLOY_TOKEN", A_CI_SECRET)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = main([*args, "--environments", "environments.yml"])
    out, err = capsys.readouterr()
    return Outcome(code, out, err)


def run_capped(root: Path, *args: str, timeout: float = 60, **environ: str) -> Outcome:
    """`python -m skytrain ARGS` as a fresh process from `root` whose address space is capped
    at MEMORY_CAP: a template that tried to allocate gigabytes would end in MemoryError, not
    in the refusal the test expects. The timeout bounds its time."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    done = subprocess.run(
        [sys.executable, "-m", "skytrain", *args, "--environments", "environments.yml"],
        cwd=root,
        env=cli_env(CI_DEPLOY_TOKEN=A_CI_SECRET, **environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)
