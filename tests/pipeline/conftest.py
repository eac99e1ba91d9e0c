"""Fixtures for the pipeline tests (helpers live in pipeline_helpers.py)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_helpers import service  # noqa: F401  (a fixture)

from skytrain.emulators.platform import MARATHON_CREDENTIALS, Platform, emulated_platform


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """Marathon and Kubernetes emulators per environment; KUBECONFIG names their clusters and
    MARATHON_USER/MARATHON_PASSWORD hold the Marathons' credentials (for this process and the
    in-process runs; child processes get them from Platform.process_env)."""
    (tmp_path / "platform").mkdir()
    with emulated_platform(tmp_path / "platform") as running:
        monkeypatch.setenv("KUBECONFIG", str(running.kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        monkeypatch.setenv("MARATHON_USER", MARATHON_CREDENTIALS[0])
        monkeypatch.setenv("MARATHON_PASSWORD", MARATHON_CREDENTIALS[1])
        yield running
