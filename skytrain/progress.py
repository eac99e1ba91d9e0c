"""How a long operation shows its progress: a live view on a terminal, plain timestamped
lines in CI (no escape codes), nothing when the result is printed as JSON.

Backends report through a Reporter and never print themselves. What a reporter shows is
masked like the results: a state's detail can quote a scheduler's message, which can echo
a credential from the service's environment.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Protocol

from skytrain.redact import redact, secret_values

if TYPE_CHECKING:
    from rich.table import Table


class Reporter(Protocol):
    def update(self, subject: str, state: str, detail: str = "") -> None:
        """The current state of one object (`staging/giphy Deployment`, `rolling out`, `2/4 ready`)."""

    def note(self, message: str) -> None:
        """A one-off line worth keeping in the log (`waiting for deployment 97c1… to finish`)."""

    def close(self) -> None: ...


class PlainReporter:
    """One line per change of state, prefixed with UTC time: good for CI logs."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream or sys.stderr
        self._last: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
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

    def close(self) -> None:
        return None


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

    def close(self) -> None:
        self._live.stop()


class NullReporter:
    def update(self, subject: str, state: str, detail: str = "") -> None:
        return None

    def note(self, message: str) -> None:
        return None

    def close(self) -> None:
        return None


def make_reporter(output: str, stream: IO[str] | None = None) -> Reporter:
    if output == "json":
        return NullReporter()
    target = stream or sys.stderr
    if target.isatty():
        return RichReporter(target)
    return PlainReporter(target)
