"""Benchmark `skytrain import marathon` (issue 12 target: the whole corpus in one process
under 1 s). Run: `python bench/bench_import.py`.

Imports every file of ../shared/reference/marathon-apps in one fresh process, as the command
does (read the JSON, convert, write the YAML), and prints:
- the first pass, which pays the one-off costs (importing skytrain, detect-secrets, ruamel.yaml;
  reading the schemas and building their validators): the target;
- the median of five later passes;
- a pass that also writes every file through skytrain.outputs, as the command does (a
  temporary file, fsync, rename per file: the disk's figure more than skytrain's).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "marathon-apps"
TARGET_SECONDS = 1.0


def import_corpus(out: Path | None = None) -> tuple[int, int, int]:
    """(files converted, services, files refused); with `out`, every file written there."""
    from skytrain.importer import ImportRefused, Input, import_marathon
    from skytrain.outputs import write_file

    converted = services = refused = 0
    for index, path in enumerate(sorted(CORPUS.glob("*.json"))):
        document: Any = json.loads(path.read_text())
        try:
            result = import_marathon([Input("production", str(path), document)])
        except ImportRefused:
            refused += 1
            continue
        converted += 1
        services += len(result.services)
        for service in result.services if out is not None else ():
            for name, text in service.files.items():
                write_file(out / str(index) / service.name / "deploy" / name, text, "--out")
    return converted, services, refused


def timed(out: Path | None = None) -> float:
    started = time.perf_counter()
    import_corpus(out)
    return time.perf_counter() - started


def main() -> int:
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} is missing")
        return 0
    first = timed()
    later = statistics.median(timed() for _ in range(5))
    with tempfile.TemporaryDirectory() as folder:
        written = timed(Path(folder))
    converted, services, refused = import_corpus()
    print(f"corpus: {converted} files converted into {services} services, {refused} refused")
    print(f"whole corpus, first pass in a fresh process: {first:.3f} s (target {TARGET_SECONDS:.1f} s)")
    print(f"whole corpus, later passes (median of 5):     {later:.3f} s")
    print(f"whole corpus, files written (fsync'd):        {written:.3f} s")
    return 0 if first < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
