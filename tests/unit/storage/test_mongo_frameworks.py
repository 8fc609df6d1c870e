"""The MongoDB adapter's framework documents and filters, checked on mongomock.

What this checks: that `MongoFrameworkStore` writes documents and builds filters that give
the framework contract's answers, by running those contract tests on a store over
`mongomock.MongoClient()`, plus the indexes of migration 4.

What it does not check: mongomock is not a database (see test_mongo_query_building.py).
The real check is tests/contract/test_framework_store_contract.py with MONGODB_URI set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portfolio.storage.base import FrameworkRecord
from portfolio.storage.mongo import MongoStore
from portfolio.storage.mongo_schema import FRAMEWORKS, V4_FRAMEWORK_INDEXES
from tests.contract import test_framework_store_contract as contract
from tests.unit.storage.mongomock_support import contract_cases


def _contract_tests() -> list[Any]:
    return contract_cases(contract)


@pytest.mark.parametrize("contract_test", _contract_tests())
def test_framework_contract_holds_on_mongomock(
    contract_test: Callable[[MongoStore], None], mongomock_store: MongoStore
) -> None:
    contract_test(mongomock_store)


def test_every_framework_contract_test_of_a_store_runs_here() -> None:
    """None is skipped: mongomock stands in for every one (the racing writers included)."""
    assert len(_contract_tests()) >= 10


def test_migration_4_makes_a_unique_version_index_and_an_item_index(
    mongomock_store: MongoStore,
) -> None:
    indexes = mongomock_store.collection(FRAMEWORKS).index_information()
    assert indexes["frameworks_by_version"]["unique"] is True
    assert list(indexes["frameworks_by_version"]["key"]) == [("uri", 1), ("version", 1)]
    assert list(indexes["frameworks_by_item"]["key"]) == [("item_uris", 1)]
    assert {i.document["name"] for i in V4_FRAMEWORK_INDEXES} <= set(indexes)


def test_a_framework_is_one_document_with_the_package_as_binary(
    mongomock_store: MongoStore,
) -> None:
    record = FrameworkRecord(
        uri="https://f.example.org/x",
        version="1.0",
        title="X",
        package=b'{"$x":{"a.b":1}}\n',
        digest="d",
        item_uris=("https://f.example.org/x/items/1",),
        imported="2026-01-01T00:00:00.000000Z",
    )
    mongomock_store.frameworks.add(record)
    doc = mongomock_store.collection(FRAMEWORKS).find_one({"uri": record.uri})
    assert doc is not None
    assert bytes(doc["package"]) == record.package
    assert doc["item_uris"] == list(record.item_uris)
    assert set(doc) == {
        "_id",
        "uri",
        "version",
        "title",
        "package",
        "digest",
        "item_uris",
        "item_count",
        "imported",
    }
