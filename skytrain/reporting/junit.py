"""JUnit XML reports, so that Jenkins' `junit` step shows which file, stage or gate failed.

One test suite per service, one test case per validated file and per deploy, gate,
approval and rollback. A failure carries the message the terminal showed, with secrets
masked. The shape is the Apache Ant JUnit format Jenkins reads; tests/pipeline/junit.xsd
checks it.
"""

from __future__ import annotations

import argparse
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from skytrain.config.build import BASE_FILE, DEPLOY_DIR, display_path
from skytrain.errors import ConfigError, ConfigErrors
from skytrain.outputs import check_file, write_file
from skytrain.redact import redact
from skytrain.reporting.steps import Status, Step, deploy_steps, validation_steps

if TYPE_CHECKING:
    from skytrain.backends.base import DeployResult


def add_junit_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--junit",
        type=Path,
        metavar="FILE",
        help="also write a JUnit XML report here (for Jenkins' junit step); secrets are masked",
    )


def service_files(directory: Path, environments: Sequence[str] | None = None) -> list[str]:
    """The files validating the service reads, named as config errors name them."""
    shown = display_path(directory)
    prefix = f"{shown}/{DEPLOY_DIR}" if shown not in ("", ".") else DEPLOY_DIR
    overlays = sorted(p.stem for p in (directory / DEPLOY_DIR).glob("*.yml") if p.stem != BASE_FILE[:-4])
    chosen = overlays if environments is None else [e for e in overlays if e in environments]
    return [f"{prefix}/{BASE_FILE}", *(f"{prefix}/{name}.yml" for name in chosen)]


def junit_xml(suites: Mapping[str, Sequence[Step]]) -> bytes:
    import socket  # only for the host name the format requires

    root = ET.Element("testsuites")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    host = socket.gethostname() or "localhost"
    for index, (suite_name, steps) in enumerate(suites.items()):
        counts = {status: sum(1 for s in steps if s.status is status) for status in Status}
        suite = ET.SubElement(
            root,
            "testsuite",
            name=suite_name,
            package=suite_name,
            id=str(index),
            timestamp=stamp,
            hostname=host,
            tests=str(len(steps)),
            failures=str(counts[Status.FAILED]),
            errors="0",
            skipped=str(counts[Status.SKIPPED] + counts[Status.AWAITING_APPROVAL]),
            time=f"{sum(s.seconds for s in steps):.3f}",
        )
        ET.SubElement(suite, "properties")
        for step in steps:
            case = ET.SubElement(
                suite,
                "testcase",
                name=step.title,
                classname=f"{suite_name}.{step.stage}",
                time=f"{step.seconds:.3f}",
            )
            message = redact(step.message)
            if step.status is Status.FAILED:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=message.splitlines()[0] if message else "",
                    type=f"skytrain.{step.kind}",
                )
                failure.text = message
            elif step.status in (Status.SKIPPED, Status.AWAITING_APPROVAL):
                ET.SubElement(case, "skipped", message=message)
        ET.SubElement(suite, "system-out")
        ET.SubElement(suite, "system-err")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def check_junit_path(path: Path | None) -> None:
    """Before anything runs: a --junit that cannot be written is exit 2, not a traceback
    after a deploy."""
    if path is not None:
        check_file(path, "--junit")


def write_junit(path: Path, suites: Mapping[str, Sequence[Step]]) -> None:
    write_file(path, junit_xml(suites), "--junit")


@contextmanager
def config_errors_reported(path: Path | None, suite: str, files: Sequence[str]) -> Iterator[None]:
    """If the block raises ConfigErrors, write them as a JUnit report first (then re-raise,
    so the command still exits 2 with the errors on the terminal)."""
    try:
        yield
    except ConfigErrors as exc:
        if path is not None:
            write_junit(path, {suite: validation_steps(files, exc.errors)})
        raise


def write_validation_report(
    path: Path, directories: Sequence[Path], environment: str | None, errors: Sequence[ConfigError]
) -> None:
    """One suite per service, one case per file; an error in a file of no service (the
    environments file) is reported in the first service's suite."""
    files = {d: service_files(d, [environment] if environment else None) for d in directories}
    claimed = {f for names in files.values() for f in names}
    suites: dict[str, list[Step]] = {}
    for index, (directory, names) in enumerate(files.items()):
        mine = [
            e for e in errors if e.location.file in names or (index == 0 and e.location.file not in claimed)
        ]
        suites[f"skytrain.validate.{directory.resolve().name}"] = validation_steps(names, mine)
    write_junit(path, suites)


def write_deploy_report(path: Path, results: Sequence[DeployResult]) -> None:
    """One suite per service, a deploy and a gate case per environment and target."""
    suites: dict[str, list[Step]] = {}
    for result in results:
        seconds = result.gate.seconds if result.gate else 0.0
        suites.setdefault(f"skytrain.deploy.{result.app}", []).extend(
            deploy_steps(result.environment, result, seconds)
        )
    write_junit(path, suites)
