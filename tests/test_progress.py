"""Progress lines are masked like results: a scheduler's message can quote a credential."""

from __future__ import annotations

import io

import pytest

from skytrain.progress import PlainReporter, RichReporter

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
