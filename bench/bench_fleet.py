"""Benchmark of the fleet checks and of what make asks skytrain (issue 14). Prints its
figures; asserts nothing.

1. The generated fleet of bench_config (60 services x 4 environments, each calling the next
   two: one long ring of cycles) read and checked as a whole (`validate --fleet`'s extra).
2. One service checked against that fleet named by `fleet:` (what `validate` and the
   pipeline's validate stage add for each service).
3. `skytrain makefile --runs-on examples/giphy` as a fresh process against `python -c pass`:
   what `make help`, `make deploy-*` and `make rollback-*` pay before they start.

Run: PYTHONPATH=. python bench/bench_fleet.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_config import command, interleaved, medians, write_fleet

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skytrain.config.fleet import against_configured_fleet, check_fleet, read_fleet  # noqa: E402


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        services = write_fleet(Path(tmp) / "fleet")
        environments = Path(tmp) / "fleet" / "skytrain-environments.yml"
        environments.write_text("fleet: services\n" + environments.read_text())

        def whole() -> None:
            members, unreadable = read_fleet(services)
            check_fleet(members, "fleet", unreadable)

        members, _ = read_fleet(services)
        findings = check_fleet(members, "fleet")
        print(
            f"fleet of {len(services)} services: read and checked in {best_of(runs, whole):.0f} ms "
            f"(best of {runs}); {len(findings.errors)} errors, {len(findings.warnings)} cycle warnings"
        )
        one = best_of(runs, lambda: against_configured_fleet(services[0], str(environments)))
        print(f"one service against that fleet (fleet: in the environments file): {one:.0f} ms")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    times = interleaved(
        {
            "pass": command([sys.executable, "-c", "pass"], REPO, env),
            "query": command(
                [sys.executable, "-m", "skytrain", "makefile", "--runs-on", "examples/giphy"], REPO, env
            ),
        },
        runs,
    )
    (base_wall, base_cpu), (wall, cpu) = medians(times["pass"]), medians(times["query"])
    print(
        f"skytrain makefile --runs-on examples/giphy: {wall * 1000:.0f} ms wall ({cpu * 1000:.0f} ms CPU) "
        f"against python -c pass: {base_wall * 1000:.0f} ms wall ({base_cpu * 1000:.0f} ms CPU)"
    )


if __name__ == "__main__":
    main()
