"""The MongoDB adapter's people and record documents and filters, checked on mongomock.

This runs the people/record contract on a store over `mongomock.MongoClient()`, which
checks the documents written and the filters built. mongomock is not a database: it has
no transactions, so the racing-writers test is left to a real server (the contract run
with MONGODB_URI set), as for the statement store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portfolio.storage.mongo import MongoStore
from portfolio.storage.mongo_schema import RECORD_ENTRIES
from tests.contract import test_people_record_contract as contract
from tests.unit.storage.mongomock_support import contract_cases

# Needs a server: mongomock's inserts are not atomic across threads.
MONGOMOCK_CANNOT = {
    "test_two_racing_appenders_one_wins": (
        "mongomock has no transactions or atomic inserts across threads; this runs against"
        " a real server (MONGODB_URI)"
    ),
}


def _contract_tests() -> list[Any]:
    return contract_cases(contract, MONGOMOCK_CANNOT)


@pytest.mark.parametrize("contract_test", _contract_tests())
def test_people_and_record_contract_holds_on_mongomock(
    contract_test: Callable[[MongoStore], None], mongomock_store: MongoStore
) -> None:
    contract_test(mongomock_store)


def test_record_entries_keep_the_signed_bytes_and_leave_out_a_missing_statement(
    mongomock_store: MongoStore,
) -> None:
    contract.create(mongomock_store)
    doc = mongomock_store.collection(RECORD_ENTRIES).find_one({"seq": 1})
    assert doc is not None
    assert bytes(doc["canonical"]).startswith(b'{"at":')
    assert "witness" not in doc  # absent, not null: the partial unique index skips it
    indexes = mongomock_store.collection(RECORD_ENTRIES).index_information()
    assert indexes["record_entries_by_seq"]["unique"] is True
    assert indexes["record_entries_by_statement"]["unique"] is True
