"""How long `skytrain pipeline show` takes as a fresh process, next to `skytrain validate`
(the issue's budget: the same start-up cost), and how long the Groovy harness runs.

    PYTHONPATH=$PWD python bench/bench_pipeline.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "examples" / "giphy"
RUNS = 15
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "JAVA_HOME": "/usr/lib/jvm/java-17-openjdk-amd64"}


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=ENV, cwd=ROOT)
    return time.perf_counter() - started


def medians_ms(commands: list[list[str]]) -> list[float]:
    """Runs the commands in turn, RUNS rounds, so a busy machine slows them alike."""
    times: list[list[float]] = [[] for _ in commands]
    for command in commands:
        wall(command)  # warm the page cache
    for _ in range(RUNS):
        for index, command in enumerate(commands):
            times[index].append(wall(command))
    return [statistics.median(t) * 1000 for t in times]


def main() -> None:
    cli = [sys.executable, "-m", "skytrain"]
    validate, show, show_json = medians_ms(
        [
            [*cli, "validate", str(SERVICE)],
            [*cli, "pipeline", "show", str(SERVICE)],
            [*cli, "pipeline", "show", str(SERVICE), "--format", "json"],
        ]
    )
    print(f"skytrain validate examples/giphy              {validate:7.1f} ms (median of {RUNS})")
    print(f"skytrain pipeline show examples/giphy         {show:7.1f} ms ({show / validate:.2f}x validate)")
    print(
        f"skytrain pipeline show --format json          {show_json:7.1f} ms ({show_json / validate:.2f}x validate)"
    )
    groovy = shutil.which("groovy")
    if groovy:
        with tempfile.TemporaryDirectory() as folder:
            shown = Path(folder) / "pipeline.json"
            shown.write_bytes(
                subprocess.run(
                    [*cli, "pipeline", "show", str(SERVICE), "--format", "json"],
                    check=True,
                    capture_output=True,
                    env=ENV,
                ).stdout
            )
            seconds = wall([groovy, str(ROOT / "jenkins/test/harness.groovy"), str(shown)])
        print(f"groovy jenkins/test/harness.groovy (8 cases)  {seconds * 1000:7.1f} ms (one JVM)")
    else:
        print("groovy not installed: harness not measured")


if __name__ == "__main__":
    main()
