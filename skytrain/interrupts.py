"""SIGINT and SIGTERM: stop waiting, and let the lifecycle leave a recorded, truthful state.

Ctrl-C at a terminal sends SIGINT; Jenkins aborting a build sends SIGTERM. Both mean
the same: whoever waits (for a lock, another deployment, a gate) stops at once, the
lifecycle records the revision it applied as interrupted, releases the lock, says what
runs and how to roll back or resume, and the command exits 128 + the signal (130, 143).

Signals are process-wide, so the request to stop is too: the CLI installs the handlers
(`handled`), the waiting code asks `requested()` or calls `wait()`, and a waiter that
blocks on its own condition registers a wake-up with `wakes`. Without installed
handlers (a library caller, the tests in-process) nothing here ever fires.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_stop = threading.Event()
_received: list[int] = []
_wakers: set[Callable[[], None]] = set()
_wakers_lock = threading.RLock()  # the handler runs in the main thread, which may hold it
HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """A signal asked skytrain to stop while it waited."""

    def __init__(self) -> None:
        super().__init__(f"interrupted by {signal_name()}")


def requested() -> bool:
    return _stop.is_set()


def check() -> None:
    if _stop.is_set():
        raise Interrupted()


def wait(seconds: float) -> None:
    """Sleep up to `seconds`, or raise Interrupted as soon as a signal arrives."""
    if _stop.wait(max(0.0, seconds)):
        raise Interrupted()


def signal_name() -> str:
    return signal.Signals(_received[0]).name if _received else "a signal"


def exit_code() -> int:
    """128 + the first signal received: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + (_received[0] if _received else signal.SIGINT)


@contextmanager
def wakes(waker: Callable[[], None]) -> Iterator[None]:
    """Call `waker` when a signal arrives while the block runs (to notify a condition)."""
    with _wakers_lock:
        _wakers.add(waker)
    try:
        if _stop.is_set():
            waker()
        yield
    finally:
        with _wakers_lock:
            _wakers.discard(waker)


def _handle(signum: int, frame: object) -> None:
    if not _received:
        _received.append(signum)
    _stop.set()
    with _wakers_lock:
        wakers = list(_wakers)
    for waker in wakers:
        waker()


@contextmanager
def handled() -> Iterator[None]:
    """SIGINT and SIGTERM request a stop instead of killing the process (main thread only)."""
    previous = {s: signal.signal(s, _handle) for s in HANDLED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
