"""Fixtures of the config engine tests (helpers live in config_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from config_helpers import load_files

from skytrain.config import App


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., dict[str, App]]:
    """load({file: text}, environ={...}) -> {env: App}."""
    return lambda files, environ=None, **kwargs: load_files(tmp_path / "svc", files, environ, **kwargs)
