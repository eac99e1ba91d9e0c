"""The only code that runs `nginx`: unprivileged config checks, a server we own, and the
safe way to apply a new config to a running NGINX.

Safe apply (DESIGN.md "The routing layer"): write the new config aside, `nginx -t` it,
and only when it passes and differs from what runs, move it into place and reload.
A config that fails the check never reaches the running NGINX, which keeps serving the
old one; a reload the master refuses puts the old file back.

Start and reload completion are observed through the master's worker processes (Linux
/proc): a full set of new workers means the new config is serving. Old workers finish their requests and close
idle keep-alive connections, so keep-alive clients must retry a request whose reused
idle connection was reset (see TOOLCHAIN.md).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skytrain.errors import OperationFailed


class NginxMissing(OperationFailed):
    """No nginx binary on this machine."""


class ConfigRefused(OperationFailed):
    """`nginx -t` refused a config; nothing was applied."""


def find_nginx() -> str | None:
    """`nginx` on PATH, else in the `sbin` folder beside a `bin` folder on PATH: Debian installs
    it as /usr/sbin/nginx, which a user's PATH often leaves out. PATH alone decides, so a
    PATH without it is a machine without nginx (as `make demo` on a fresh machine is tested)."""
    found = shutil.which("nginx")
    if found:
        return found
    folders = [Path(p) for p in os.environ.get("PATH", os.defpath).split(os.pathsep) if p]
    beside = [folder.parent / "sbin" / "nginx" for folder in folders if folder.name == "bin"]
    return next((str(p) for p in beside if os.access(p, os.X_OK) and p.is_file()), None)


def _binary(binary: str | None) -> str:
    chosen = binary or find_nginx()
    if chosen is None:
        raise NginxMissing("nginx is not installed here; install it (Debian: apt-get install nginx-light)")
    return chosen


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    output: str  # what nginx said, for the user


def check_file(config: Path, prefix: Path, binary: str | None = None) -> CheckResult:
    """`nginx -t` on a config file; relative paths in it resolve under `prefix`."""
    done = subprocess.run(
        [_binary(binary), "-t", "-q", "-p", f"{prefix}/", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return CheckResult(done.returncode == 0, (done.stderr + done.stdout).strip())


def check_text(text: str, name: str = "nginx.conf", binary: str | None = None) -> CheckResult:
    """`nginx -t` on config text in a fresh temporary prefix, as any user can run it."""
    with tempfile.TemporaryDirectory(prefix="skytrain-nginx-") as prefix:
        config = Path(prefix) / name
        config.write_text(text)
        return check_file(config, Path(prefix), binary)


def _worker_pids(master: int) -> frozenset[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master:
            children.add(int(stat.parent.name))
    return frozenset(children)


_WORKER_PROCESSES = re.compile(r"^\s*worker_processes\s+(\d+|auto)\s*;", re.M)


def expected_workers(config_text: str) -> int:
    """How many workers the master starts: the config's `worker_processes`; for `auto`
    the smaller of the CPUs online and the CPUs we may run on (NGINX versions count one
    or the other)."""
    match = _WORKER_PROCESSES.search(config_text)
    if match and match.group(1) != "auto":
        return int(match.group(1))
    if match is None:
        return 1
    online = os.cpu_count() or 1
    return min(online, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else online


def _wait(condition: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


class NginxServer:
    """An nginx master this process started (tests, benchmarks, the demo), in the foreground.

    `prefix` holds everything nginx writes; the config's pid, temp and log paths must
    point inside it (render with `Paths.under(prefix)`) so no privileges are needed.
    """

    def __init__(self, prefix: Path, config: Path, binary: str | None = None):
        self.prefix = prefix
        self.config = config
        self.binary = _binary(binary)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = prefix / "nginx.out"

    def start(self, timeout: float = 10.0) -> None:
        result = check_file(self.config, self.prefix, self.binary)
        if not result.ok:
            raise ConfigRefused(f"nginx refused {self.config}:\n{result.output}")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-p", f"{self.prefix}/", "-c", str(self.config), "-g", "daemon off;"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wanted = expected_workers(self.config.read_text())
        if not _wait(lambda: self.process.poll() is not None or len(self.workers()) >= wanted, timeout):
            self.stop()
            raise OperationFailed(f"nginx did not start within {timeout:.0f}s; see {self.log}")
        if self.process.poll() is not None:
            raise OperationFailed(f"nginx exited at start:\n{self.log.read_text()}")

    @property
    def pid(self) -> int:
        if self.process is None:
            raise OperationFailed("nginx is not running")
        return self.process.pid

    def workers(self) -> frozenset[int]:
        return _worker_pids(self.pid)

    def reload(self, timeout: float = 10.0) -> None:
        """Reload and wait until the new workers are serving, or fail saying the old config
        still is; then until the old workers are gone (they accept new connections until
        they act on the master's stop, and finish the requests they hold), for up to
        `timeout` more: a caller that changes traffic (a canary step) then knows that every
        new request meets the new config."""
        before = self.workers()
        wanted = expected_workers(self.config.read_text())
        os.kill(self.pid, signal.SIGHUP)
        if not _wait(lambda: len(self.workers() - before) >= wanted, timeout):
            raise OperationFailed(
                f"nginx did not take the new config within {timeout:.0f}s and keeps serving the old one; "
                f"see {self.log}"
            )
        _wait(lambda: not (self.workers() & before), timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGQUIT), then a kill if nginx does not finish in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class ApplyResult:
    changed: bool  # False: the running config already was this one, nothing was reloaded


def safe_apply(server: NginxServer, new_text: str) -> ApplyResult:
    """Apply a config to a running NGINX without ever serving a broken one.

    Raises ConfigRefused (the old config keeps serving, its file untouched) when
    `nginx -t` fails; OperationFailed when the master refuses the reload, after putting
    the old file back.
    """
    live = server.config
    old_text = live.read_text() if live.exists() else None
    if old_text == new_text:
        return ApplyResult(changed=False)
    aside = live.with_name(live.name + ".new")
    aside.write_text(new_text)
    result = check_file(aside, server.prefix, server.binary)
    if not result.ok:
        aside.unlink()
        raise ConfigRefused(
            f"nginx -t refused the new config for {live.name}; the old config keeps serving.\n{result.output}"
        )
    os.replace(aside, live)
    try:
        server.reload()
    except OperationFailed:
        if old_text is not None:
            live.write_text(old_text)
        raise
    return ApplyResult(changed=True)
