"""Fixtures the adapter tests share: this instance's store, and a second cpdfolio served
over real HTTP as the remote LRS (tests.unit.adapters.test_pull.Remote)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portfolio.storage import open_store
from portfolio.storage.base import Store
from tests.unit.adapters.test_pull import Remote


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    server = Remote(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'here.db'}")
    store.migrate()
    yield store
    store.close()
