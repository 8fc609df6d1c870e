"""Pytest fixtures for the peer LRSs (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.ralph import Ralph


@pytest.fixture
def ralph(tmp_path: Path) -> Iterator[Ralph]:
    """A running Ralph with one user, alice / secret, and an empty store. Without the Ralph
    venv this errors, telling you to run `make peers`: the peer tests must not be skipped."""
    server = Ralph(tmp_path / "ralph")
    server.start()
    yield server
    server.stop()
