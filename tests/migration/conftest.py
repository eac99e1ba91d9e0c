"""Fixtures of the migration tests (world.py builds them)."""

from __future__ import annotations

import pytest

from .world import World, world


@pytest.fixture
def deployed(tmp_path, monkeypatch) -> World:
    """The example fleet deployed on staging: organization on Marathon, media on
    Kubernetes, giphy on both."""
    with world(tmp_path, monkeypatch) as made:
        made.deploy()
        yield made
