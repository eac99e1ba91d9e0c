"""Fixtures for the pipeline tests (helpers live in pipeline_helpers.py)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulated_platform import Platform, emulated_platform
from pipeline_helpers import service  # noqa: F401  (a fixture)


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """Marathon and Kubernetes emulators per environment; KUBECONFIG names their clusters."""
    (tmp_path / "platform").mkdir()
    with emulated_platform(tmp_path / "platform") as running:
        monkeypatch.setenv("KUBECONFIG", str(running.kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield running
