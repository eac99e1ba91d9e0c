"""`--verbose`: every request to a scheduler on stderr, as a timestamped line beside the
progress (`03:30:31 marathon: GET http://127.0.0.1:8080/v2/apps/giphy: 200 in 3 ms`).

The clients call `request_done` after each request; it costs nothing unless `log_requests`
was called. A gate polls Marathon twenty times a second: the same request with the same
answer is printed once, then how many more times it was made, so a long gate stays
readable. Lines are masked like every other output: a URL can carry a credential.
"""

from __future__ import annotations

import logging
import sys
import time

from skytrain.redact import redact, secret_values
from skytrain.wording import count

REQUESTS = "skytrain.requests"
_log = logging.getLogger(REQUESTS)


def request_done(scheduler: str, method: str, url: str, answer: int | str, started: float) -> None:
    """Say one request: `answer` is the HTTP status, or why there was none."""
    if _log.isEnabledFor(logging.DEBUG):
        milliseconds = (time.monotonic() - started) * 1000
        _log.debug("%s: %s %s: %s", scheduler, method, url, answer, extra={"milliseconds": milliseconds})


class RequestLines(logging.Handler):
    """Timestamped lines on the stderr of the moment (a live terminal view swaps sys.stderr to
    print above itself), a repeated request folded into a count."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._secrets = secret_values()
        self._last = ""
        self._repeats = 0

    def emit(self, record: logging.LogRecord) -> None:
        said = redact(record.getMessage(), self._secrets)
        if said == self._last:
            self._repeats += 1
            return
        self._say_repeats()
        self._last = said
        self._write(f"{said} in {getattr(record, 'milliseconds', 0.0):.0f} ms")

    def flush(self) -> None:
        self.acquire()
        try:
            self._say_repeats()
        finally:
            self.release()

    def _say_repeats(self) -> None:
        if self._repeats:
            self._write(f"{self._last}: the same {count(self._repeats, 'more time')}")
            self._repeats = 0

    @staticmethod
    def _write(text: str) -> None:
        print(f"{time.strftime('%H:%M:%S', time.gmtime())} {text}", file=sys.stderr, flush=True)


def flush_requests() -> None:
    """Say the count of a request still being repeated: when the progress ends, before the result."""
    for handler in _log.handlers:
        handler.flush()


def log_requests() -> RequestLines:
    """From now on, say every request (until the process ends; logging flushes at exit)."""
    handler = RequestLines()
    _log.addHandler(handler)
    _log.setLevel(logging.DEBUG)
    _log.propagate = False
    return handler
