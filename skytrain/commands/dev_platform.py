"""The local platform's process seen from the command line: start it in the background,
find it again from its `platform.json`, ask its control endpoint, stop it by its pid.

The platform itself (emulators, faults, the files it writes) is skytrain/emulators/local.py;
this side imports none of it, so `skytrain dev status` and `down` start fast and work
without the emulators' packages.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skytrain.emulators.local_layout import (
    ENVIRONMENTS_FILE,
    KUBECONFIG_FILE,
    LOG_FILE,
    PLATFORM_MODULE,
    STATE_FILE,
)
from skytrain.errors import OperationFailed, UsageError
from skytrain.outputs import check_directory, check_file

WRITTEN = (STATE_FILE, ENVIRONMENTS_FILE, KUBECONFIG_FILE)  # removed by `dev down`; the log stays
START_SECONDS = 60.0
STOP_SECONDS = 10.0
ASK_SECONDS = 10.0
PROC = Path("/proc")


@dataclass(frozen=True)
class Running:
    """A platform that runs: what its platform.json says."""

    directory: Path
    state: dict[str, Any]

    @property
    def pid(self) -> int:
        return int(self.state["pid"])

    def ask(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request to the control endpoint; its JSON answer. A 400 is the caller's
        mistake (UsageError); no answer at all is OperationFailed."""
        request = urllib.request.Request(
            self.state["control"] + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=ASK_SECONDS) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            said = json.loads(exc.read() or b"{}").get("error", exc.reason)
            raise (UsageError if exc.code == 400 else OperationFailed)(said) from None
        except OSError as exc:
            raise OperationFailed(
                f"the local platform (pid {self.pid}) does not answer at {self.state['control']} ({exc}); "
                f"stop it with: skytrain dev down --dir {self.directory}"
            ) from None


def find(directory: Path) -> Running | None:
    """The platform recorded in `directory`, if its process still runs."""
    try:
        state = json.loads((directory / STATE_FILE).read_text())
        pid = int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Running(directory, state) if alive(pid) and ours(pid) else None


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited but not yet reaped, does not)."""
    if not PROC.is_dir():  # not Linux: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def ours(pid: int) -> bool:
    """Whether `pid` is a local platform (not another process that got the number since)."""
    if not PROC.is_dir():
        return True  # the pid file and a live pid are all there is to go by
    try:
        return PLATFORM_MODULE.encode() in (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


def start(directory: Path) -> Running:
    """Start the platform in the background and return once it answers (it says so on a
    pipe, after its files are written); OperationFailed, with its log, when it does not."""
    if importlib.util.find_spec("kmock") is None:
        raise UsageError(
            "the local platform needs the emulators' packages: pip install 'skytrain[emulators]'"
        )
    check_directory(directory, "--dir")
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / LOG_FILE
    check_file(log_path, "--dir")
    read_end, write_end = os.pipe()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                PLATFORM_MODULE,
                "--dir",
                str(directory.resolve()),
                "--ready-fd",
                str(write_end),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(write_end,),
            start_new_session=True,  # it outlives this command and the terminal's Ctrl-C
        )
    os.close(write_end)
    try:
        said = _read_within(read_end, START_SECONDS)
    finally:
        os.close(read_end)
    if said.strip() != "ready":
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        why = "it stopped" if said == "" else f"it did not answer within {START_SECONDS:g}s"
        raise OperationFailed(
            f"the local platform did not start: {why}. The end of {log_path}:\n" + "\n".join(tail)
        )
    running = find(directory)
    if running is None:
        raise OperationFailed(
            f"the local platform said it is ready but {directory / STATE_FILE} does not name it"
        )
    return running


def _read_within(fd: int, seconds: float) -> str:
    """What arrives on the pipe before it closes or `seconds` pass ("" when it closed empty)."""
    deadline = time.monotonic() + seconds
    chunks = []
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            break
        chunk = os.read(fd, 256)
        if not chunk:
            break
        chunks.append(chunk)
        if b"\n" in chunk:
            break
    return b"".join(chunks).decode(errors="replace")


def stop(running: Running) -> bool:
    """SIGTERM, then SIGKILL if it does not end within STOP_SECONDS; whether it had to be
    killed. Its files go with it (the log stays)."""
    killed = False
    with contextlib.suppress(ProcessLookupError):
        os.kill(running.pid, signal.SIGTERM)
        if not wait_gone(running.pid, STOP_SECONDS):
            os.kill(running.pid, signal.SIGKILL)
            killed = True
            wait_gone(running.pid, STOP_SECONDS)
    forget(running.directory)
    return killed


def wait_gone(pid: int, seconds: float) -> bool:
    """Wait until `pid` ended (on Linux on its pidfd, which wakes at the exit; elsewhere by
    looking every 50 ms); whether it did."""
    if not hasattr(os, "pidfd_open"):
        deadline = time.monotonic() + seconds
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return not alive(pid)
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(seconds * 1000)
    finally:
        os.close(fd)
    return not alive(pid)


def forget(directory: Path) -> None:
    for name in WRITTEN:
        (directory / name).unlink(missing_ok=True)
