"""The mongomock store shared by the MongoDB adapter's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portfolio.storage.mongo import MongoStore
from tests.unit.storage.mongomock_support import mongomock_store_fixture


@pytest.fixture
def mongomock_store() -> Iterator[MongoStore]:
    yield from mongomock_store_fixture()
