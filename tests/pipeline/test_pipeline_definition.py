"""The pipeline a service gets: the default, one written in application.yml, and the
errors a wrong one gives (file, line, field, what to write instead)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import ENVIRONMENTS, EXAMPLES, ROOT

from skytrain.config import load_service
from skytrain.config.schemas import APPLICATION, OVERLAY, load_schema
from skytrain.errors import ConfigErrors, UsageError
from skytrain.pipeline.definition import Pipeline, build_pipeline


def pipeline_of(directory: Path) -> Pipeline:
    _, apps = load_service(directory, str(ENVIRONMENTS), environ={})
    return build_pipeline(str(directory), apps)


def add_pipeline(service: Path, text: str) -> None:
    base = service / "deploy" / "application.yml"
    base.write_text(base.read_text() + text)


def test_default_pipeline_follows_each_environment_scheduler() -> None:
    giphy = pipeline_of(EXAMPLES / "giphy")
    assert giphy.names() == ["validate", "dev", "staging", "production"]
    assert [s.targets for s in giphy.stages] == [
        ("marathon", "kubernetes"),
        ("marathon", "kubernetes"),
        ("marathon",),
    ]
    assert [s.approval for s in giphy.stages] == [False, False, True]
    assert giphy.stages[2].gate_timeout_seconds == 600  # production.yml's deploy.gateTimeoutSeconds
    assert not giphy.custom
    assert [s.targets for s in pipeline_of(EXAMPLES / "media").stages] == [("kubernetes",)] * 3


def test_pipeline_section_overrides_stages_targets_approval_and_gates(service: Path) -> None:
    add_pipeline(
        service,
        """
pipeline:
  stages:
    - environment: staging
      targets: [kubernetes]
      approval: true
      gateTimeoutSeconds: 120
      rollbackOnFailure: false
    - environment: production
      approval: false
""",
    )
    pipeline = pipeline_of(service)
    assert pipeline.custom
    assert pipeline.names() == ["validate", "staging", "production"]
    staging, production = pipeline.stages
    assert (staging.targets, staging.approval, staging.gate_timeout_seconds, staging.rollback_on_failure) == (
        ("kubernetes",),
        True,
        120,
        False,
    )
    assert (production.targets, production.approval, production.rollback_on_failure) == (
        ("marathon",),
        False,
        True,
    )


def test_stage_for_a_scheduler_the_environment_does_not_have_is_refused_at_its_line(service: Path) -> None:
    add_pipeline(
        service, "pipeline:\n  stages:\n    - environment: production\n      targets: [kubernetes]\n"
    )
    with pytest.raises(ConfigErrors) as caught:
        pipeline_of(service)
    [error] = caught.value.errors
    assert error.location.file.endswith("giphy/deploy/application.yml")
    assert error.location.line == 39
    assert error.path == "pipeline.stages[0].targets"
    assert "does not run on kubernetes in production" in error.message


def test_stage_without_an_overlay_and_repeated_stage_are_both_reported(service: Path) -> None:
    add_pipeline(
        service,
        "pipeline:\n  stages:\n    - environment: qa\n    - environment: dev\n    - environment: dev\n",
    )
    with pytest.raises(ConfigErrors) as caught:
        pipeline_of(service)
    messages = [(e.path, e.message) for e in caught.value.errors]
    assert ("pipeline.stages[0].environment", messages[0][1]) == messages[0]
    assert "there is no deploy/qa.yml" in messages[0][1]
    assert "dev already has a stage" in messages[1][1]


def test_misspelt_stage_field_names_the_nearest_one(service: Path) -> None:
    add_pipeline(service, "pipeline:\n  stages:\n    - environment: dev\n      aproval: true\n")
    with pytest.raises(ConfigErrors) as caught:
        load_service(service, str(ENVIRONMENTS), environ={})
    assert any(
        e.path == "pipeline.stages[0].aproval" and "did you mean 'approval'" in e.message
        for e in caught.value.errors
    )


def test_pipeline_in_an_overlay_is_refused(service: Path) -> None:
    (service / "deploy" / "staging.yml").write_text("pipeline:\n  stages:\n    - environment: staging\n")
    with pytest.raises(ConfigErrors) as caught:
        load_service(service, str(ENVIRONMENTS), environ={})
    [error] = caught.value.errors
    assert error.location.file.endswith("deploy/staging.yml")
    assert "service-wide" in error.message and "application.yml" in error.message


def test_from_and_until_select_stages_in_order() -> None:
    pipeline = pipeline_of(EXAMPLES / "giphy")
    assert pipeline.select(None, "staging") == (True, pipeline.stages[:2])
    assert pipeline.select("staging", None) == (False, pipeline.stages[1:])
    assert pipeline.select("production", "production") == (False, pipeline.stages[2:])
    assert pipeline.select(None, "validate") == (True, ())
    with pytest.raises(UsageError, match="its stages are: validate, dev, staging, production"):
        pipeline.select("prod", None)
    with pytest.raises(UsageError, match="comes after"):
        pipeline.select("production", "dev")


def test_published_overlay_schema_is_generated_and_leaves_the_pipeline_to_application_yml() -> None:
    published = json.loads((ROOT / "schemas" / "overlay.schema.json").read_text())
    assert published == load_schema(OVERLAY)
    assert "pipeline" in load_schema(APPLICATION)["properties"]
    assert "pipeline" not in published["properties"]
