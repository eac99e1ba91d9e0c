"""How a long operation shows its progress: a live view on a terminal, plain timestamped
lines in CI, nothing when the result is printed as JSON or with --quiet. Colour (the state
of each line) follows skytrain.terminal: a CI log gets it only when asked (`--color always`,
`FORCE_COLOR`), a terminal unless refused (`--color never`, `NO_COLOR`).

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
from skytrain.terminal import Terminal
from skytrain.verbose import flush_requests
from skytrain.wording import DONE, FAILED, HEALTHY

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
# the colour of a state, the same in the live view (rich's names) and in plain lines
GOOD = frozenset({HEALTHY, "unchanged", "started", *DONE})
BAD = frozenset({"failing", "refused", "timed-out", "timed out"})  # and every `...failed`
_ANSI = {"green": "\033[32m", "red": "\033[31m", "yellow": "\033[33m"}


def tone(state: str) -> str:
    """green for done and healthy, red for what failed, yellow for everything on its way."""
    if state in GOOD:
        return "green"
    return "red" if state in BAD or state.endswith(FAILED) else "yellow"


class PlainReporter:
    """One line per change of state, prefixed with UTC time, and a heartbeat while a gate
    waits: good for CI logs."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        colour: bool = False,
    ):
        self.stream = stream or sys.stderr
        self.heartbeat_seconds = heartbeat_seconds
        self.colour = colour
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
        shown = f"{_ANSI[tone(state)]}{state}\033[0m" if self.colour else state
        self._line(f"{subject}: {shown}" + (f" ({detail})" if detail else ""))

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
        flush_requests()


class RichReporter:
    """A live table of every object's state, redrawn in place on a terminal."""

    def __init__(self, stream: IO[str] | None = None, colour: bool = True):
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=stream or sys.stderr, no_color=not colour)
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
            table.add_row(subject, f"[{tone(state)}]{state}[/]", detail)
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
        flush_requests()


class NullReporter:
    def update(self, subject: str, state: str, detail: str = "") -> None:
        return None

    def note(self, message: str) -> None:
        return None

    def gating(self, subject: str, timeout: float) -> AbstractContextManager[None]:
        return nullcontext()

    def close(self) -> None:
        return None


def make_reporter(output: str, terminal: Terminal | None = None, stream: IO[str] | None = None) -> Reporter:
    """Nothing beside JSON or with --quiet; a live view on a terminal; else plain lines."""
    settings = terminal or Terminal()
    if output == "json" or settings.quiet:
        return NullReporter()
    target = stream or sys.stderr
    if target.isatty():
        return RichReporter(target, settings.colour(target))
    return PlainReporter(target, colour=settings.colour(target))
