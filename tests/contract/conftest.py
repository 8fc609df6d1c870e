"""The store every contract test runs against: SQLite always, MongoDB when MONGODB_URI
points at a server (skipped with that reason otherwise). One database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from portfolio.storage.base import Store


@pytest.fixture(params=["sqlite", "mongo"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    if request.param == "sqlite":
        from portfolio.storage.sqlite import SqliteStore

        s: Store = SqliteStore(tmp_path / "contract.db")
    else:
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            pytest.skip("MONGODB_URI is not set: the MongoDB contract run needs a MongoDB server")
        from portfolio.storage.mongo import MongoStore

        s = MongoStore(uri, database=f"cpdfolio_contract_{uuid.uuid4().hex[:12]}")
    s.migrate()
    yield s
    if request.param == "mongo":
        s.drop_database()  # type: ignore[attr-defined]
    s.close()
