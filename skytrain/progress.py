"""How a long operation shows its progress: a live view on a terminal, plain timestamped
lines in CI (no escape codes), nothing when the result is printed as JSON.

In CI a gate can wait minutes without a change of state; a log that says nothing for
that long looks hung. So while a gate waits the plain reporter prints a heartbeat at
least every HEARTBEAT_SECONDS: the time waited, the time left and the last state.

Backends report through a Reporter and never print themselves. What a reporter shows is
masked like the results: a state's detail can quote a scheduler's message, which can echo
a credential from the service's environment.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import IO, TYPE_CHECKING, Protocol

from skytrain.redact import redact, secret_values

if TYPE_CHECKING:
    from rich.table import Table


class Reporter(Protocol):
    def update(self, subject: str, state: str, detail: str = "") -> None:
        """The current state of one object (`staging/giphy Deployment`, `rolling out`, `2/4 ready`)."""

    def note(self, message: str) -> None:
        """A one-off line worth keeping in the log (`waiting for deployment 97c1… to finish`)."""

    def gating(self, subject: str, timeout: float) -> AbstractContextManager[None]:
        """The block in which the gate of `subject` waits, up to `timeout` seconds."""

    def close(self) -> None: ...


HEARTBEAT_SECONDS = 10.0


class PlainReporter:
    """One line per change of state, prefixed with UTC time, and a heartbeat while a gate
    waits: good for CI logs."""

    def __init__(self, stream: IO[str] | None = None, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.stream = stream or sys.stderr
        self.heartbeat_seconds = heartbeat_seconds
        self._last: dict[str, tuple[str, str]] = {}
        self._gates: dict[str, tuple[float, float]] = {}  # subject: (started, deadline), monotonic
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._beating: threading.Thread | None = None
        self._secrets = secret_values()

    def _line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.gmtime())
        with self._lock:
            print(f"{stamp} {redact(text, self._secrets)}", file=self.stream, flush=True)

    def update(self, subject: str, state: str, detail: str = "") -> None:
        if self._last.get(subject) == (state, detail):
            return
        self._last[subject] = (state, detail)
        self._line(f"{subject}: {state}" + (f" ({detail})" if detail else ""))

    def note(self, message: str) -> None:
        self._line(message)

    @contextmanager
    def gating(self, subject: str, timeout: float) -> Iterator[None]:
        started = time.monotonic()
        with self._lock:
            self._gates[subject] = (started, started + timeout)
            if self._beating is None:
                self._beating = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
                self._beating.start()
        try:
            yield
        finally:
            with self._lock:
                self._gates.pop(subject, None)

    def _beat(self) -> None:
        while not self._closed.wait(self.heartbeat_seconds):
            with self._lock:
                gates = dict(self._gates)
            now = time.monotonic()
            for subject, (started, deadline) in gates.items():
                state, detail = self._last.get(subject, ("waiting", ""))
                self._line(
                    f"{subject}: still {state}"
                    + (f" ({detail})" if detail else "")
                    + f"; {now - started:.0f}s waited, {max(0.0, deadline - now):.0f}s left"
                )

    def close(self) -> None:
        self._closed.set()


class RichReporter:
    """A live table of every object's state, redrawn in place on a terminal."""

    def __init__(self, stream: IO[str] | None = None):
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=stream or sys.stderr)
        self._secrets = secret_values()
        self._states: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._live = Live(self._table(), console=self._console, refresh_per_second=8, transient=False)
        self._live.start()

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(show_header=True, header_style="bold", box=None)
        table.add_column("object")
        table.add_column("state")
        table.add_column("detail")
        for subject, (state, detail) in self._states.items():
            style = (
                "green"
                if state in {"healthy", "unchanged", "deployed"}
                else "red"
                if "fail" in state
                else "yellow"
            )
            table.add_row(subject, f"[{style}]{state}[/]", detail)
        return table

    def update(self, subject: str, state: str, detail: str = "") -> None:
        with self._lock:
            self._states[subject] = (state, redact(detail, self._secrets))
            self._live.update(self._table())

    def note(self, message: str) -> None:
        self._live.console.print(redact(message, self._secrets))

    def gating(self, subject: str, timeout: float) -> AbstractContextManager[None]:
        return nullcontext()  # the live table shows every state as it is, all the time

    def close(self) -> None:
        self._live.stop()


class NullReporter:
    def update(self, subject: str, state: str, detail: str = "") -> None:
        return None

    def note(self, message: str) -> None:
        return None

    def gating(self, subject: str, timeout: float) -> AbstractContextManager[None]:
        return nullcontext()

    def close(self) -> None:
        return None


def make_reporter(output: str, stream: IO[str] | None = None) -> Reporter:
    if output == "json":
        return NullReporter()
    target = stream or sys.stderr
    if target.isatty():
        return RichReporter(target)
    return PlainReporter(target)
