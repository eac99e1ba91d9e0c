"""Fixtures for the pipeline tests (helpers live in pipeline_helpers.py)."""

from pipeline_helpers import service  # noqa: F401  (a fixture)
