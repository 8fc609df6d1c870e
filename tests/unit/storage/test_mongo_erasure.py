"""The MongoDB adapter's erasure and retention, checked on mongomock.

This runs the erasure contract on a store over `mongomock.MongoClient()`, which checks
the documents the adapter deletes and the filters it builds, and scans every document of
every collection afterwards. mongomock is not a database: it has no transactions, and
its GridFS cannot stand in for attachments, so the scan here runs without attachments;
the contract run with MONGODB_URI set covers them on a real server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portfolio.storage.mongo import MongoStore
from tests.contract import test_erasure_contract as contract
from tests.unit.storage.mongomock_support import contract_cases

MONGOMOCK_CANNOT = {
    "test_erasure_leaves_no_trace_of_the_person_in_the_store": (
        "GridFS takes only a real pymongo Database, and mongomock's GridFS patch breaks "
        "pymongo's operation timeouts; the scan runs here without attachments (below) and "
        "with them against a real server (MONGODB_URI)"
    ),
}


def _contract_tests() -> list[Any]:
    return contract_cases(contract, MONGOMOCK_CANNOT)


@pytest.mark.parametrize("contract_test", _contract_tests())
def test_erasure_contract_holds_on_mongomock(
    contract_test: Callable[[MongoStore], None], mongomock_store: MongoStore
) -> None:
    contract_test(mongomock_store)


def test_erasure_leaves_no_trace_in_any_collection_on_mongomock(
    mongomock_store: MongoStore,
) -> None:
    """Acceptance, on mongomock: every document of every collection, serialised, holds
    nothing of the person erased."""
    contract.run_no_trace(mongomock_store, attachments=False)
