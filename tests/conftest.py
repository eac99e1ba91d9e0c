"""Suite-wide hooks. The cut-over test (tests/routing) attaches its request counts to its report
as the `cutover` user property; print them at the end of every run, also under pytest-xdist."""

from __future__ import annotations

REPORT_PROPERTY = "cutover"


def pytest_terminal_summary(terminalreporter) -> None:
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", ()):
            if name == REPORT_PROPERTY and report.when == "call":
                terminalreporter.write_sep("-", f"cut-over counts: {report.nodeid}")
                terminalreporter.write_line(value)
