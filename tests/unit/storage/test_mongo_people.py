"""The MongoDB adapter's people and record documents and filters, checked on mongomock.

This runs the people/record contract on a store over `mongomock.MongoClient()`, which
checks the documents written and the filters built. mongomock is not a database: it has
no transactions, so the racing-writers test is left to a real server (the contract run
with MONGODB_URI set), as for the statement store.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portfolio.storage.mongo import MongoStore
from portfolio.storage.mongo_schema import RECORD_ENTRIES
from tests.contract import test_people_record_contract as contract

mongomock = pytest.importorskip(
    "mongomock", reason="mongomock is not installed (pip install -e '.[dev]' installs it)"
)

# Needs a server: mongomock's inserts are not atomic across threads.
_NEEDS_A_SERVER = {"test_two_racing_appenders_one_wins"}


def _contract_tests() -> list[Any]:
    cases = []
    for name, fn in sorted(vars(contract).items()):
        if not name.startswith("test_") or list(inspect.signature(fn).parameters) != ["store"]:
            continue
        marks = (
            [
                pytest.mark.skip(
                    reason="mongomock has no transactions or atomic inserts across "
                    "threads; this runs against a real server (MONGODB_URI)"
                )
            ]
            if name in _NEEDS_A_SERVER
            else []
        )
        cases.append(pytest.param(fn, id=name.removeprefix("test_"), marks=marks))
    return cases


@pytest.fixture
def mongomock_store() -> Iterator[MongoStore]:
    store = MongoStore(
        "mongodb://mongomock.invalid/ignored",
        database=f"cpdfolio_unit_{uuid.uuid4().hex[:12]}",
        client=mongomock.MongoClient(),
        unsafe_without_transactions=True,
    )
    store.migrate()
    yield store
    store.drop_database()
    store.close()


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
