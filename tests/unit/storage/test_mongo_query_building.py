"""The MongoDB adapter's query building and document shapes, checked on mongomock.

What this checks: that `MongoStore` builds filters, sorts, cursors and documents that give
the contract's answers, by running the storage contract's tests against a store on
`mongomock.MongoClient()`, plus a few checks of the filters and documents themselves.

What it does not check: mongomock is not a database. It has no transactions, no write
conflicts, no query planner or indexes that matter, and its operators are a
re-implementation. The store here runs with `unsafe_without_transactions=True`, so
atomicity, the serialisation of writers on the clock document and the replica-set check
are not exercised. The real check of the MongoDB adapter is the contract suite
(`tests/contract/test_store_contract.py`) with MONGODB_URI pointing at a replica set.
"""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import mongomock
import orjson
import pytest

from portfolio.errors import StorageUnavailable
from portfolio.lrs.index import extract_index
from portfolio.storage import mongo_documents as mdoc
from portfolio.storage import mongo_query as mq
from portfolio.storage.base import (
    Cursor,
    DocumentKey,
    DocumentKind,
    DocumentScope,
    Expect,
    NewStatement,
    StatementFilter,
    StatementQuery,
)
from portfolio.storage.mongo import MongoStore
from portfolio.storage.mongo_connection import client_options, database_from_uri
from portfolio.storage.mongo_schema import (
    DOCUMENT_KEY,
    DOCUMENTS,
    STATEMENTS,
    V1_STATEMENT_INDEXES,
    V2_DOCUMENT_INDEXES,
)
from tests.contract import test_store_contract as contract
from tests.unit.storage.mongomock_support import contract_cases

# Contract tests mongomock cannot stand in for, and why.
MONGOMOCK_CANNOT = {
    "test_attachment_data_is_kept_once_per_hash_and_read_back": (
        "GridFS takes only a real pymongo Database, and mongomock's GridFS patch breaks "
        "pymongo 4.20's operation timeouts (its collections end up as the deadline)"
    ),
    "test_concurrent_inserts_all_land_with_distinct_stored_times": (
        "mongomock has no transactions and no write conflicts, so concurrent writers are "
        "serialised only on a real replica set; this would test mongomock's thread safety"
    ),
    "test_racing_compare_and_set_writers_have_exactly_one_winner": (
        "mongomock's update_one finds and then modifies without any lock, so two threads "
        "can both match the expected ETag; on a server the filter and the write are one "
        "atomic operation. This would test mongomock's thread safety"
    ),
}


def _contract_tests() -> list[Any]:
    return contract_cases(contract, MONGOMOCK_CANNOT)


@pytest.mark.parametrize("contract_test", _contract_tests())
def test_contract_holds_on_mongomock(
    contract_test: Callable[[MongoStore], None], mongomock_store: MongoStore
) -> None:
    contract_test(mongomock_store)


def test_every_contract_test_of_a_store_runs_here_documents_included() -> None:
    """A contract test taking only a store is run on mongomock or skipped with a reason."""
    cases = {case.id: case for case in _contract_tests()}
    store_tests = [
        name.removeprefix("test_")
        for name, fn in vars(contract).items()
        if name.startswith("test_")
        and callable(fn)
        and list(inspect.signature(fn).parameters) == ["store"]
    ]
    assert sorted(cases) == sorted(store_tests)
    documents = [name for name in store_tests if "document" in name]
    assert len(documents) >= 8
    for name in documents:
        skip = [mark for mark in cases[name].marks if mark.name == "skip"]
        assert not skip or "mongomock" in skip[0].kwargs["reason"], name
    assert set(MONGOMOCK_CANNOT) <= {f"test_{name}" for name in store_tests}


# ---------------------------------------------------------------- filters and cursors


def test_agent_and_activity_filters_use_the_related_arrays_only_when_asked() -> None:
    direct = mq.own_conditions(StatementFilter(agent="mbox:a", activity="https://x"))
    related = mq.own_conditions(
        StatementFilter(
            agent="mbox:a", related_agents=True, activity="https://x", related_activities=True
        )
    )
    assert direct == {"agents_d": "mbox:a", "activities_d": "https://x"}
    assert related == {"agents_r": "mbox:a", "activities_r": "https://x"}


def test_authority_client_never_applies_to_a_statement_ref_target() -> None:
    f = StatementFilter(verb="v", authority_client="client-a")
    assert "authority_client" not in mq.target_filter(f, ["t"])
    assert mq.referring_filter(StatementQuery(filter=f), ["s"])["authority_client"] == "client-a"


def test_descending_cursor_is_a_keyset_condition_and_bounds_the_scan() -> None:
    q = StatementQuery(after=Cursor(stored="2026-01-02T00:00:00.000000Z", id="b"))
    flt = mq.direct_filter(q)
    assert flt["voided"] is False
    assert flt["$or"] == [
        {"stored": {"$lt": "2026-01-02T00:00:00.000000Z"}},
        {"stored": "2026-01-02T00:00:00.000000Z", "_id": {"$lt": "b"}},
    ]
    assert flt["stored"] == {"$lte": "2026-01-02T00:00:00.000000Z"}
    assert mq.sort_order(q) == [("stored", -1), ("_id", -1)]


def test_ascending_cursor_keeps_the_tighter_of_since_and_the_cursor() -> None:
    cursor = Cursor(stored="2026-01-02T00:00:00.000000Z", id="b")
    later_since = StatementQuery(ascending=True, after=cursor, since="2026-01-03T00:00:00.000000Z")
    earlier_since = StatementQuery(
        ascending=True, after=cursor, since="2026-01-01T00:00:00.000000Z"
    )
    same_since = StatementQuery(ascending=True, after=cursor, since=cursor.stored)
    assert mq.direct_filter(later_since)["stored"] == {"$gt": "2026-01-03T00:00:00.000000Z"}
    assert mq.direct_filter(earlier_since)["stored"] == {"$gte": cursor.stored}
    assert mq.direct_filter(same_since)["stored"] == {"$gt": cursor.stored}
    assert mq.direct_filter(later_since)["$or"][1] == {"stored": cursor.stored, "_id": {"$gt": "b"}}
    assert mq.sort_order(later_since) == [("stored", 1), ("_id", 1)]


def test_since_is_exclusive_and_until_inclusive() -> None:
    q = StatementQuery(since="2026-01-01T00:00:00.000000Z", until="2026-01-02T00:00:00.000000Z")
    assert mq.direct_filter(q)["stored"] == {
        "$gt": "2026-01-01T00:00:00.000000Z",
        "$lte": "2026-01-02T00:00:00.000000Z",
    }


def test_a_query_as_of_a_stored_time_keeps_the_earlier_upper_bound() -> None:
    early, late = "2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z"
    assert mq.as_of(StatementQuery(), late).until == late
    assert mq.as_of(StatementQuery(until=early), late).until == early
    assert mq.as_of(StatementQuery(until=late), early).until == early


def test_statement_ref_chains_are_climbed_to_the_end_and_cycles_stop() -> None:
    """Communication 2.1.3 Filter Conditions for StatementRefs: a→b→c matches c's filter."""
    edges = {"a": "b", "b": "c", "x": "y", "p": "q", "q": "p"}
    assert mq.climb(edges, {"c"}) == {"a", "b", "c"}
    assert mq.climb(edges, {"p"}) == {"p", "q"}
    assert mq.climb(edges, set()) == set()


# ------------------------------------------------------------------- document shapes


def test_extension_keys_with_dots_and_dollars_stay_inside_the_body_bytes(
    mongomock_store: MongoStore,
) -> None:
    body = {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:ann@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://example.org/a"},
        "result": {"extensions": {"https://example.org/ext.v1": {"$where": "1", "a.b": 2}}},
        "timestamp": "2026-01-01T00:00:00Z",
    }
    raw = orjson.dumps(body)
    statement = NewStatement(
        id=body["id"], body=raw, index=extract_index(body), authority_client="client-a"
    )
    mongomock_store.statements.insert([statement])
    doc = mongomock_store.collection(STATEMENTS).find_one({"_id": statement.id})
    assert doc is not None
    assert bytes(doc["body"]) == raw
    assert set(doc) == {
        "_id", "stored", "body", "verb", "authority_client", "voided",
        "agents_d", "agents_r", "activities_d", "activities_r",
    }  # fmt: skip
    assert doc["agents_d"] == sorted(extract_index(body).agents_direct)


def test_migration_1_indexes_every_filter_in_cursor_order() -> None:
    # Checked on the index specifications: mongomock's create_indexes drops
    # partialFilterExpression, so what it reports is not what a server would hold.
    specs = {model.document["name"]: model.document for model in V1_STATEMENT_INDEXES}
    driving = ("agents_d", "agents_r", "activities_d", "activities_r", "verb", "authority_client")
    for field in driving:
        key = specs[f"statements_by_{field}"]["key"]
        assert list(key.items()) == [(field, 1), ("stored", -1), ("_id", -1)]
        assert "partialFilterExpression" not in specs[f"statements_by_{field}"]
    assert list(specs["statements_by_stored"]["key"].items()) == [("stored", -1), ("_id", -1)]
    for field in ("registration", "voids", "ref_target"):
        assert specs[f"statements_by_{field}"]["partialFilterExpression"] == {
            field: {"$exists": True}
        }


def test_migrate_creates_the_indexes_by_name(mongomock_store: MongoStore) -> None:
    names = set(mongomock_store.collection(STATEMENTS).index_information())
    assert {model.document["name"] for model in V1_STATEMENT_INDEXES} <= names
    documents = mongomock_store.collection(DOCUMENTS).index_information()
    assert {model.document["name"] for model in V2_DOCUMENT_INDEXES} <= set(documents)


def test_migration_2_makes_the_whole_document_key_unique() -> None:
    # Compare-and-set "must be absent" relies on the server refusing a second insert.
    (index,) = V2_DOCUMENT_INDEXES
    assert index.document["unique"] is True
    assert list(index.document["key"]) == list(DOCUMENT_KEY)
    assert list(mdoc.key_filter(contract.state_key())) == list(DOCUMENT_KEY)
    assert list(mdoc.scope_filter(DocumentScope(kind=DocumentKind.AGENT_PROFILE, agent="a"))) == [
        "kind",
        "activity",
        "agent",
    ]


def test_document_content_is_binary_and_absent_key_parts_are_empty_strings(
    mongomock_store: MongoStore,
) -> None:
    key = DocumentKey(kind=DocumentKind.ACTIVITY_PROFILE, document_id="p", activity_id="https://x")
    document = contract.doc(key, b"\x00\xff{", content_type="application/octet-stream")
    mongomock_store.documents.put(document, expected=Expect.ABSENT)
    stored = mongomock_store.collection(DOCUMENTS).find_one({"doc_id": "p"})
    assert stored is not None
    assert bytes(stored["content"]) == b"\x00\xff{"
    assert (stored["agent"], stored["registration"]) == ("", "")


# ------------------------------------------------------------ connection and errors


def test_the_database_name_comes_from_the_uri_path_unless_given() -> None:
    assert database_from_uri("mongodb://h1:27017,h2/lrs?replicaSet=rs0") == "lrs"
    assert database_from_uri("mongodb+srv://u:p%2Fw@cluster.example.org/") == "cpdfolio"
    assert database_from_uri("mongodb://localhost") == "cpdfolio"
    assert MongoStore("mongodb://localhost/lrs", database="other").database == "other"


def test_timeouts_set_in_the_uri_win_over_the_defaults() -> None:
    options = client_options("mongodb://h/db?serverselectiontimeoutms=100&w=1")
    assert "serverSelectionTimeoutMS" not in options and "w" not in options
    assert options["connectTimeoutMS"] == 5_000


def test_an_unreachable_server_is_storage_unavailable_and_connecting_is_lazy() -> None:
    started = time.monotonic()
    store = MongoStore("mongodb://127.0.0.1:9/cpdfolio?serverSelectionTimeoutMS=200")
    assert store._client is None  # nothing is opened before first use (gunicorn forks)
    with pytest.raises(StorageUnavailable):
        store.ping()
    store.close()
    assert time.monotonic() - started < 10


def test_a_standalone_server_is_refused_with_a_replica_set_message() -> None:
    mock = mongomock.MongoClient()

    class StandaloneClient:
        """mongomock's data, answering `hello` as a standalone mongod does."""

        admin = SimpleNamespace(command=lambda name: {"isWritablePrimary": True, "ok": 1.0})

        def __getitem__(self, name: str) -> Any:
            return mock[name]

        def close(self) -> None:
            mock.close()

    store = MongoStore("mongodb://standalone/db", client=StandaloneClient())  # type: ignore[arg-type]
    store.migrate()
    with pytest.raises(StorageUnavailable, match="replica set"):
        store.statements.insert([contract.statement()])
    assert store.statements.count() == 0
    store.close()


def test_an_uninitialised_store_fails_ping_with_the_init_command() -> None:
    store = MongoStore("mongodb://m/db", client=mongomock.MongoClient())
    assert store.schema_version() == 0
    with pytest.raises(StorageUnavailable, match="cpdfolio db init"):
        store.ping()
    store.close()
