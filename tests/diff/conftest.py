from __future__ import annotations

from pathlib import Path

import pytest
from diff_helpers import Service


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service(tmp_path)
