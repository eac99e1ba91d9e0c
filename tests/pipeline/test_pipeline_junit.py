"""JUnit reports: valid against the Ant JUnit schema Jenkins reads (tests/pipeline/junit.xsd),
one case per validated file and per stage step, failures carrying the terminal's message
with secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from pipeline_helpers import skytrain
from test_pipeline_run import TOKEN, run

from skytrain.reporting.junit import junit_xml

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit.xsd"))))


def parsed(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    SCHEMA.assertValid(root)
    return root


def cases(root: etree._Element) -> dict[str, etree._Element]:
    return {case.get("name"): case for case in root.iter("testcase")}


def test_the_schema_rejects_what_jenkins_would_not_read() -> None:
    broken = b'<testsuites><testsuite name="x" tests="1"><testcase name="a"/></testsuite></testsuites>'
    assert not SCHEMA.validate(etree.fromstring(broken))


def test_validate_junit_has_one_case_per_file_and_fails_the_bad_one(service: Path, tmp_path: Path) -> None:
    (service / "deploy" / "staging.yml").write_text("replicas: many\n")
    report = tmp_path / "reports" / "validate.xml"
    done = skytrain("validate", service, "--junit", report)
    assert done.returncode == 2
    root = parsed(report.read_bytes())
    found = cases(root)
    names = sorted(Path(n.split(" ", 1)[1]).name for n in found)
    assert names == ["application.yml", "dev.yml", "production.yml", "staging.yml"]
    [failed] = [c for c in found.values() if c.find("failure") is not None]
    failure = failed.find("failure")
    assert failed.get("name").endswith("deploy/staging.yml")
    # the same sentence the terminal printed
    assert failure.text.strip() in done.stderr
    assert root.find("testsuite").get("failures") == "1"


def test_validate_junit_all_passing(service: Path, tmp_path: Path) -> None:
    report = tmp_path / "ok.xml"
    done = skytrain("validate", service, "--junit", report)
    assert done.returncode == 0, done.stderr
    root = parsed(report.read_bytes())
    assert len(cases(root)) == 4 and not list(root.iter("failure"))


def test_pipeline_junit_for_a_stopped_approval(service: Path, tmp_path: Path) -> None:
    report = tmp_path / "pipeline.xml"
    done = skytrain("pipeline", "run", service, "--from", "production", "--junit", report)
    assert done.returncode == 4
    found = cases(parsed(report.read_bytes()))
    assert found["production: approval"].find("skipped") is not None
    assert "--from production --yes" in found["production: approval"].find("skipped").get("message")
    assert found["production: deploy marathon"].find("skipped") is not None


def test_failed_gate_report_carries_the_evidence_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIPHY_API_KEY", TOKEN)
    result, _ = run(failing=frozenset({("staging", "kubernetes")}), approve=True)
    xml = junit_xml({"skytrain.pipeline.giphy": result.steps})
    assert TOKEN.encode() not in xml
    found = cases(parsed(xml))
    failure = found["staging: gate kubernetes"].find("failure")
    assert failure.get("type") == "skytrain.gate"
    assert "CrashLoopBackOff" in failure.text and "token=**** rejected" in failure.text
    assert found["staging: gate marathon"].find("failure") is None
    assert found["staging: rollback marathon"].find("failure") is None
    assert found["production: deploy marathon"].find("skipped") is not None
    assert found["dev: gate kubernetes"].get("classname") == "skytrain.pipeline.giphy.dev"


def test_deploy_junit_reports_config_errors_without_contacting_a_scheduler(
    service: Path, tmp_path: Path
) -> None:
    (service / "deploy" / "dev.yml").write_text("env:\n  DB_PASSWORD: hunter22\n")
    report = tmp_path / "deploy.xml"
    done = skytrain("deploy", service, "--env", "dev", "--junit", report)
    assert done.returncode == 2
    found = cases(parsed(report.read_bytes()))
    failure = next(c.find("failure") for n, c in found.items() if n.endswith("dev.yml"))
    assert "looks like a secret written inline" in failure.text
    assert "hunter22" not in report.read_text()


def test_deploy_report_has_a_deploy_and_a_gate_case_per_target(tmp_path: Path) -> None:
    from skytrain.backends.base import DeployResult, GateResult, Outcome
    from skytrain.reporting.junit import write_deploy_report

    refused = DeployResult(
        "giphy", "staging", "marathon", Outcome.FAILED, messages=["Marathon said 422: bad cpus"]
    )
    passed = DeployResult(
        "giphy", "staging", "kubernetes", Outcome.DEPLOYED, "3", "2", GateResult(True, seconds=4.2)
    )
    report = tmp_path / "deploy.xml"
    write_deploy_report(report, [refused, passed])
    found = cases(parsed(report.read_bytes()))
    assert sorted(found) == [
        "staging: deploy kubernetes",
        "staging: deploy marathon",
        "staging: gate kubernetes",
    ]
    failure = found["staging: deploy marathon"].find("failure")
    assert failure.get("type") == "skytrain.deploy"
    assert "Marathon said 422: bad cpus" in failure.text
    assert found["staging: gate kubernetes"].get("time") == "4.200"
