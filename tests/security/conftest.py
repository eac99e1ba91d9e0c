"""The checkout fixture of the hostile-input tests (tests/security/hostile.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.security.hostile import OUTSIDE_SECRET, Checkout
from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Checkout:
    root, outside = tmp_path / "checkout", tmp_path / "outside"
    shutil.copytree(EXAMPLES / "giphy", root / "giphy")
    shutil.copy(EXAMPLE_ENVIRONMENTS, root / "skytrain-environments.yml")
    outside.mkdir()
    (outside / "credentials.yml").write_text(OUTSIDE_SECRET)
    monkeypatch.chdir(root)
    for variable in ("BUILD_TAG", "SKYTRAIN_ENVIRONMENTS", "KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(variable, raising=False)
    return Checkout(root, root / "giphy", outside, capsys)
