"""Progress lines are masked like results: a scheduler's message can quote a credential."""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from skytrain.progress import PlainReporter, RichReporter
from skytrain.verbose import REQUESTS, RequestLines, log_requests, request_done

SECRET = "hunter2-never-print"


@pytest.mark.parametrize("reporter_class", [PlainReporter, RichReporter])
def test_a_secret_in_a_progress_line_is_masked(monkeypatch: pytest.MonkeyPatch, reporter_class) -> None:
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    stream = io.StringIO()
    reporter = reporter_class(stream)

    reporter.update("staging/giphy", "failed", f"container giphy: Error (DB_PASSWORD={SECRET})")
    reporter.note(f"staging/giphy: task failed: DB_PASSWORD={SECRET}")
    reporter.close()

    shown = stream.getvalue()
    assert "DB_PASSWORD=****" in shown
    assert SECRET not in shown


@contextmanager
def verbose() -> Iterator[RequestLines]:
    """--verbose as the CLI turns it on (reading the secrets of the moment), then off again."""
    logger = logging.getLogger(REQUESTS)
    handler = log_requests()
    try:
        yield handler
    finally:
        handler.flush()
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def test_verbose_folds_a_request_repeated_with_the_same_answer(capsys: pytest.CaptureFixture[str]) -> None:
    """A gate polls Marathon twenty times a second: one line, then how many more times."""
    with verbose():
        for answer in (200, 200, 200, 503, 200):
            request_done("marathon", "GET", "http://marathon:8080/v2/apps/giphy", answer, time.monotonic())
    lines = [line.split(" ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert [re.sub(r" in \d+ ms$", "", line) for line in lines] == [
        "marathon: GET http://marathon:8080/v2/apps/giphy: 200",
        "marathon: GET http://marathon:8080/v2/apps/giphy: 200: the same 2 more times",
        "marathon: GET http://marathon:8080/v2/apps/giphy: 503",
        "marathon: GET http://marathon:8080/v2/apps/giphy: 200",
    ]


def test_verbose_masks_a_secret_in_a_request(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    with verbose():
        url = f"https://admin:{SECRET}@k8s:6443/api?x={SECRET}"
        request_done("kubernetes", "GET", url, 200, time.monotonic())
    shown = capsys.readouterr().err
    assert SECRET not in shown and "https://admin:****@k8s:6443/api?x=****" in shown
