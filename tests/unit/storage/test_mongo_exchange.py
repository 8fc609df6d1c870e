"""The MongoDB adapter's sources, provenance and forwarding outbox, checked on mongomock:
the whole exchange contract, and what only this adapter has to get right (queue order
from a counter, the shape of its documents).

mongomock has no transactions, so whether an insert and its outbox items land together
under concurrent writers is left to a real server (the contract run with MONGODB_URI
set). Every contract case runs here: a refused insert writes nothing because the adapter
checks for duplicates before it writes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from portfolio.errors import NotFound
from portfolio.storage.exchange import Checkpoint, ForwardFilter, Provenance
from portfolio.storage.mongo import MongoStore
from portfolio.storage.mongo_schema import DESTINATIONS, SOURCE_CHECKPOINTS, SOURCES
from tests.contract import test_exchange_contract as contract
from tests.unit.storage.mongomock_support import contract_cases


def _contract_tests() -> list[Any]:
    return contract_cases(contract)


@pytest.mark.parametrize("contract_test", _contract_tests())
def test_exchange_contract_holds_on_mongomock(
    contract_test: Callable[[MongoStore], None], mongomock_store: MongoStore
) -> None:
    contract_test(mongomock_store)


def test_a_backfill_queues_behind_what_is_queued_and_before_later_inserts(
    mongomock_store: MongoStore,
) -> None:
    """Queue order is the order items were queued (a counter), not the statements'
    `stored` order: a backfilled old statement comes after the items queued before it."""
    store = mongomock_store
    store.outbox.add_destination(contract.destination())
    old = contract.forwarded()
    store.statements.insert(old)
    first = contract.forwarded("hub")
    store.statements.insert(first)
    assert store.outbox.enqueue("hub", [old[0].id], at=contract.AT) == 1
    later = contract.forwarded("hub")
    store.statements.insert(later)
    due = store.outbox.due("hub", now="9", limit=10)
    assert [i.statement_id for i in due] == [first[0].id, old[0].id, later[0].id]


def test_a_page_of_a_removed_source_is_refused_and_writes_nothing(
    mongomock_store: MongoStore,
) -> None:
    """A checkpoint left behind would resume a source added again under that name."""
    store = mongomock_store
    p = Provenance("s1", "lms", None, None, contract.AT)
    with pytest.raises(NotFound):
        store.sources.page_done("lms", "*", Checkpoint("a", "b", "s1"), [p])
    assert store.sources.checkpoint("lms", "*") == Checkpoint()
    assert store.sources.provenance(["s1"]) == {}


def test_documents_keep_what_erasure_and_odd_keys_need(mongomock_store: MongoStore) -> None:
    """A destination's filter is a document (erasure finds a person in it); an
    administrator's source has no owner field (the partial index leaves it out); a remote
    authority is kept as JSON, whatever its keys."""
    store = mongomock_store
    store.sources.add(contract.source("lms"))
    store.outbox.add_destination(
        dataclasses.replace(contract.destination(), filter=ForwardFilter(people=("p-1",)))
    )
    db = store.db()
    assert "owner" not in (db[SOURCES].find_one({"_id": "lms"}) or {})
    assert db[DESTINATIONS].count_documents({"filter.people": "p-1"}) == 1
    odd = {"account": {"homePage": "https://x.test", "name": "a.b"}, "$odd.key": 1}
    p = Provenance("s1", "lms", None, odd, contract.AT)
    store.sources.page_done("lms", "*", Checkpoint(), [p])
    assert store.sources.provenance(["s1"]) == {"s1": [p]}


class _Recorded:
    """A collection whose calls are written down: (collection, method, whether a
    `session` keyword was given)."""

    def __init__(self, name: str, collection: Any, calls: list[tuple[str, str, bool]]) -> None:
        self._name, self._collection, self._calls = name, collection, calls

    def __getattr__(self, method: str) -> Any:
        attribute = getattr(self._collection, method)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append((self._name, method, "session" in kwargs))
            return attribute(*args, **kwargs)

        return call


def _record_calls(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, str, bool]]:
    calls: list[tuple[str, str, bool]] = []
    collection = store.collection
    monkeypatch.setattr(store, "collection", lambda name: _Recorded(name, collection(name), calls))
    return calls


def test_a_page_writes_its_source_so_a_concurrent_remove_conflicts(
    mongomock_store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the source conflicts with nothing: a `remove` committing meanwhile would
    leave the stream's first checkpoint an orphan, and a source added again under that
    name would resume from it. page_done writes the source document in its transaction,
    as `remove` deletes it, so on a server the two conflict and one runs again."""
    store = mongomock_store
    store.sources.add(contract.source("lms"))
    before = store.db()[SOURCES].find_one({"_id": "lms"})
    calls = _record_calls(store, monkeypatch)

    store.sources.page_done("lms", "*", Checkpoint("a", "b", "s1"), [])

    assert (SOURCES, "update_one", True) in calls
    assert all(with_session for _c, _m, with_session in calls), calls
    assert store.db()[SOURCES].find_one({"_id": "lms"}) != before
    assert store.sources.get("lms") == contract.source("lms")  # the record is unchanged


def test_removing_a_source_deletes_it_and_its_checkpoints_in_one_transaction(
    mongomock_store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = mongomock_store
    store.sources.add(contract.source("lms"))
    store.sources.add(contract.source("other"))
    for name in ("lms", "other"):
        for stream in ("*", "agent-1"):
            store.sources.page_done(name, stream, Checkpoint("a", "b", "c"), [])
    calls = _record_calls(store, monkeypatch)

    assert store.sources.remove("lms") is True

    assert calls == [(SOURCE_CHECKPOINTS, "delete_many", True), (SOURCES, "delete_one", True)]
    assert store.db()[SOURCE_CHECKPOINTS].count_documents({"source": "lms"}) == 0
    assert store.db()[SOURCE_CHECKPOINTS].count_documents({"source": "other"}) == 2
