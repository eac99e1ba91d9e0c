"""Print the cut-over test's counts at the end of the run, also under pytest-xdist
(the test attaches them to its report as the `cutover` user property)."""

from __future__ import annotations

REPORT_PROPERTY = "cutover"


def pytest_terminal_summary(terminalreporter) -> None:
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", ()):
            if name == REPORT_PROPERTY and report.when == "call":
                terminalreporter.write_sep("-", f"cut-over counts: {report.nodeid}")
                terminalreporter.write_line(value)
