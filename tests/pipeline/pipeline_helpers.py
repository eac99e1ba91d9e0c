"""The pipeline tests' fixture (a service repository copied from an example), and the shared
test helpers under the names these tests import them by."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import EXAMPLE_ENVIRONMENTS as ENVIRONMENTS
from tests.support import EXAMPLES, ROOT, cli_env, require_tool, skytrain

__all__ = ["ENVIRONMENTS", "EXAMPLES", "ROOT", "cli_env", "require_tool", "service", "skytrain"]


@pytest.fixture
def service(tmp_path: Path) -> Path:
    """A copy of examples/giphy (scheduler both) next to the platform's environments file."""
    shutil.copy(ENVIRONMENTS, tmp_path / ENVIRONMENTS.name)
    target = tmp_path / "giphy"
    shutil.copytree(EXAMPLES / "giphy", target)
    return target
