"""Sources, provenance and the forwarding outbox in the MongoDB store
(portfolio.storage.exchange). Outbox items are written by the statement insert
(mongo_statements.py, `queue_forwarding`), inside its transaction.

Queue order. SQLite orders an outbox by its rowid, handed out in commit order under its
write lock. Here a counter (the meta document OUTBOX_ID) hands every queued item its
`position`, and every transaction that queues (an insert, a backfill) takes its positions
by writing that document: two such transactions conflict and with_transaction retries
the loser, which reads the counter again, so positions grow in commit order across
batches and backfills alike. The statements' `stored` times would order an insert's
items too, but not a backfill's: those are queued now, behind whatever is queued already,
as under SQLite.

A transaction that removes a destination or outbox items writes the counter document too
(`lock_outbox`): an insert that read the destination before it went then conflicts and
reads again, rather than queue items for a destination that is gone.

Insert-or-ignore (provenance kept for (statement, source), an item queued already) is a
read of what exists then one `insert_many`: two round trips a page, where an upsert per
item costs one each. In a transaction, a concurrent writer of the same key makes one of
the two conflict and run again.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

import orjson
from bson.int64 import Int64
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.errors import DuplicateKeyError

from portfolio.errors import Conflict, NotFound
from portfolio.storage.base import NewStatement
from portfolio.storage.exchange import (
    Checkpoint,
    DestinationRecord,
    DestinationStatus,
    ForwardFilter,
    OutboxItem,
    OutboxState,
    Provenance,
    RemoteLrs,
    SourceRecord,
    SyncRun,
)
from portfolio.storage.mongo_connection import Document, chunks, unavailable_on_driver_errors
from portfolio.storage.mongo_people import _transaction
from portfolio.storage.mongo_schema import (
    DESTINATIONS,
    META,
    OUTBOX,
    OUTBOX_ID,
    PROVENANCE,
    SOURCE_CHECKPOINTS,
    SOURCES,
    STATEMENTS,
)

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore

_PENDING = OutboxState.PENDING.value
_SENT = OutboxState.SENT.value
_DEAD = OutboxState.DEAD.value


# ------------------------------------------------------------------------- queueing


def lock_outbox(store: MongoStore, session: ClientSession | None) -> None:
    """Write the counter document every queueing transaction writes, so that one running
    meanwhile conflicts with this transaction (module docstring)."""
    store.collection(META).update_one(
        {"_id": OUTBOX_ID}, {"$inc": {"locks": Int64(1)}}, upsert=True, session=session
    )


def _take_positions(store: MongoStore, count: int, session: ClientSession | None) -> int:
    """Reserve `count` consecutive queue positions; return the first."""
    doc = store.collection(META).find_one_and_update(
        {"_id": OUTBOX_ID},
        {"$inc": {"position": Int64(count)}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    assert doc is not None  # an upsert returning the document after always finds one
    return int(doc["position"]) - count + 1


def _queue(
    store: MongoStore, pairs: Sequence[tuple[str, str]], at: str, session: ClientSession | None
) -> int:
    """Queue (destination, statement id) pairs, in the order given, but those queued
    already; return how many were added. The destinations are known to exist."""
    wanted = list(dict.fromkeys(pairs))
    outbox = store.collection(OUTBOX)
    by_destination: dict[str, list[str]] = {}
    for destination, statement_id in wanted:
        by_destination.setdefault(destination, []).append(statement_id)
    queued = {
        (destination, str(doc["statement_id"]))
        for destination, ids in by_destination.items()
        for chunk in chunks(ids)
        for doc in outbox.find(
            {"destination": destination, "statement_id": {"$in": chunk}},
            {"statement_id": True},
            session=session,
        )
    }
    new = [pair for pair in wanted if pair not in queued]
    if not new:
        return 0
    first = _take_positions(store, len(new), session)
    outbox.insert_many(
        [
            {
                "destination": destination,
                "statement_id": statement_id,
                "state": _PENDING,
                "attempts": 0,
                "queued": at,
                "next_attempt": at,
                "position": Int64(first + offset),
            }
            for offset, (destination, statement_id) in enumerate(new)
        ],
        ordered=True,
        session=session,
    )
    return len(new)


def queue_forwarding(
    store: MongoStore, statements: Sequence[NewStatement], at: str, session: ClientSession | None
) -> None:
    """Queue each statement for its destinations, inside the insert's transaction. A
    destination removed since the statement was routed is skipped, not an error."""
    names = list(dict.fromkeys(name for s in statements for name in s.forward_to))
    if not names:
        return
    existing = {
        str(doc["_id"])
        for doc in store.collection(DESTINATIONS).find(
            {"_id": {"$in": names}}, {"_id": True}, session=session
        )
    }
    pairs = [(name, s.id) for s in statements for name in s.forward_to if name in existing]
    if pairs:
        _queue(store, pairs, at, session)


# -------------------------------------------------------------------------- sources


def _remote_fields(remote: RemoteLrs) -> Document:
    return {
        "endpoint": remote.endpoint,
        "username": remote.username,
        "secret": remote.sealed_secret,
        "xapi_version": remote.xapi_version,
    }


def _remote(doc: Document) -> RemoteLrs:
    return RemoteLrs(
        endpoint=str(doc["endpoint"]),
        username=str(doc["username"]),
        sealed_secret=str(doc["secret"]),
        xapi_version=str(doc["xapi_version"]),
    )


def _source(doc: Document) -> SourceRecord:
    owner = doc.get("owner")
    return SourceRecord(
        name=str(doc["_id"]),
        remote=_remote(doc),
        agents=tuple(str(agent) for agent in doc["agents"]),
        owner=None if owner is None else str(owner),
        created=str(doc["created"]),
        since_field=str(doc["since_field"]),
    )


def _provenance(doc: Document) -> Provenance:
    authority = doc.get("remote_authority")
    return Provenance(
        statement_id=str(doc["statement_id"]),
        source=str(doc["source"]),
        remote_stored=doc.get("remote_stored"),
        remote_authority=None if authority is None else orjson.loads(authority),
        fetched=str(doc["fetched"]),
    )


class MongoSourceStore:
    """Implements portfolio.storage.exchange.SourceStore."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def add(self, source: SourceRecord, *, replace: bool = False) -> None:
        # The agents are JSON strings, as asked for: an agent's keys are the remote's.
        fields = {
            **_remote_fields(source.remote),
            "agents": list(source.agents),
            "since_field": source.since_field,
        }
        sources = self._store.collection(SOURCES)
        try:
            with unavailable_on_driver_errors("add source"):
                if not replace:
                    doc: Document = {"_id": source.name, **fields, "created": source.created}
                    if source.owner is not None:  # left out, never null: a partial index
                        doc["owner"] = source.owner
                    sources.insert_one(doc)
                    return
                # Replacing keeps `created` and the last run, as SQLite's upsert does.
                update: Document = {"$setOnInsert": {"created": source.created}}
                if source.owner is None:
                    update["$unset"] = {"owner": ""}
                else:
                    fields["owner"] = source.owner
                update["$set"] = fields
                sources.update_one({"_id": source.name}, update, upsert=True)
        except DuplicateKeyError as exc:
            raise Conflict(f"a source named {source.name!r} already exists") from exc

    def get(self, name: str) -> SourceRecord | None:
        with unavailable_on_driver_errors("get source"):
            doc = self._store.collection(SOURCES).find_one({"_id": name}, {"last_run": False})
        return None if doc is None else _source(doc)

    def list(self, *, owner: str | None = None) -> list[SourceRecord]:
        query: Document = {} if owner is None else {"owner": owner}
        with unavailable_on_driver_errors("list sources"):
            cursor = (
                self._store.collection(SOURCES)
                .find(query, {"last_run": False})
                .sort("_id", ASCENDING)
            )
            return [_source(doc) for doc in cursor]

    def remove(self, name: str) -> bool:
        store = self._store

        def work(session: ClientSession | None) -> bool:
            # One transaction: the checkpoints go with the source (and its last run, a
            # field of it). Deleting the source document conflicts with a page_done under
            # way, which writes it. Provenance stays: it describes statements still here.
            store.collection(SOURCE_CHECKPOINTS).delete_many({"source": name}, session=session)
            result = store.collection(SOURCES).delete_one({"_id": name}, session=session)
            return result.deleted_count > 0

        return _transaction(store, "remove source", work)

    def checkpoint(self, name: str, stream: str) -> Checkpoint:
        with unavailable_on_driver_errors("get checkpoint"):
            doc = self._store.collection(SOURCE_CHECKPOINTS).find_one(
                {"source": name, "stream": stream}
            )
        if doc is None:
            return Checkpoint()
        return Checkpoint(
            since=doc.get("since"), last_stored=doc.get("last_stored"), last_id=doc.get("last_id")
        )

    def page_done(
        self,
        name: str,
        stream: str,
        checkpoint: Checkpoint,
        provenance: Sequence[Provenance],
    ) -> None:
        """Raises NotFound when the source is gone (removed while it ran): a checkpoint
        left behind would resume a source added again under that name.

        The transaction writes the source document (a page counter), not just reads it:
        a read conflicts with nothing, so a `remove` committing meanwhile would let both
        commit and leave the stream's first checkpoint an orphan. Writing the document
        `remove` deletes makes the two conflict: with_transaction runs the loser again,
        and either this page finds the source gone or `remove` deletes its checkpoint."""
        store = self._store

        def work(session: ClientSession | None) -> None:
            # $inc always changes the document; a $set of an unchanged value may be
            # skipped by the server and then conflict with nothing.
            touched = store.collection(SOURCES).update_one(
                {"_id": name}, {"$inc": {"pages_saved": Int64(1)}}, session=session
            )
            if touched.matched_count == 0:
                raise NotFound(f"no source named {name!r}")  # removed while it ran
            store.collection(SOURCE_CHECKPOINTS).update_one(
                {"source": name, "stream": stream},
                {
                    "$set": {
                        "since": checkpoint.since,
                        "last_stored": checkpoint.last_stored,
                        "last_id": checkpoint.last_id,
                    }
                },
                upsert=True,
                session=session,
            )
            self._keep_provenance(provenance, session)

        _transaction(store, "save a page of a source", work)

    def _keep_provenance(
        self, provenance: Sequence[Provenance], session: ClientSession | None
    ) -> None:
        """Insert the provenance not recorded yet for its (statement, source)."""
        coll = self._store.collection(PROVENANCE)
        ids = list(dict.fromkeys(p.statement_id for p in provenance))
        known = {
            (str(doc["statement_id"]), str(doc["source"]))
            for chunk in chunks(ids)
            for doc in coll.find(
                {"statement_id": {"$in": chunk}},
                {"statement_id": True, "source": True},
                session=session,
            )
        }
        docs = []
        for p in provenance:
            if (p.statement_id, p.source) in known:
                continue
            known.add((p.statement_id, p.source))
            docs.append(
                {
                    "statement_id": p.statement_id,
                    "source": p.source,
                    "remote_stored": p.remote_stored,
                    # A JSON string: its keys are the remote's to choose (dots, `$`).
                    "remote_authority": None
                    if p.remote_authority is None
                    else orjson.dumps(p.remote_authority).decode(),
                    "fetched": p.fetched,
                }
            )
        if docs:
            coll.insert_many(docs, ordered=True, session=session)

    def provenance(self, statement_ids: Sequence[str]) -> dict[str, builtins.list[Provenance]]:
        found: dict[str, builtins.list[Provenance]] = {}
        coll = self._store.collection(PROVENANCE)
        with unavailable_on_driver_errors("get provenance"):
            for chunk in chunks(list(dict.fromkeys(statement_ids))):
                cursor = coll.find({"statement_id": {"$in": chunk}}).sort(
                    [("fetched", ASCENDING), ("source", ASCENDING)]
                )
                for doc in cursor:
                    p = _provenance(doc)
                    found.setdefault(p.statement_id, []).append(p)
        return found

    def save_run(self, name: str, run: SyncRun) -> None:
        with unavailable_on_driver_errors("save run"):
            self._store.collection(SOURCES).update_one(
                {"_id": name}, {"$set": {"last_run": run.to_json()}}
            )

    def last_run(self, name: str) -> SyncRun | None:
        with unavailable_on_driver_errors("last run"):
            doc = self._store.collection(SOURCES).find_one({"_id": name}, {"last_run": True})
        if doc is None or doc.get("last_run") is None:
            return None
        return SyncRun(**doc["last_run"])


# --------------------------------------------------------------------------- outbox


def _destination(doc: Document) -> DestinationRecord:
    f = doc["filter"]
    return DestinationRecord(
        name=str(doc["_id"]),
        remote=_remote(doc),
        filter=ForwardFilter.from_json(f),
        batch_size=int(doc["batch_size"]),
        max_attempts=int(doc["max_attempts"]),
        created=str(doc["created"]),
    )


def _item(doc: Document) -> OutboxItem:
    return OutboxItem(
        destination=str(doc["destination"]),
        statement_id=str(doc["statement_id"]),
        state=OutboxState(doc["state"]),
        attempts=int(doc["attempts"]),
        queued=str(doc["queued"]),
        next_attempt=str(doc["next_attempt"]),
        last_error=doc.get("last_error"),
        sent=doc.get("sent"),
    )


class MongoOutboxStore:
    """Implements portfolio.storage.exchange.OutboxStore."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def add_destination(self, destination: DestinationRecord, *, replace: bool = False) -> None:
        fields: Document = {
            **_remote_fields(destination.remote),
            # A document, not a JSON string, so that erasure finds a person in `people`.
            "filter": destination.filter.to_json(),
            "batch_size": destination.batch_size,
            "max_attempts": destination.max_attempts,
        }
        destinations = self._store.collection(DESTINATIONS)
        try:
            with unavailable_on_driver_errors("add destination"):
                if replace:
                    # Replacing keeps `created` (and the outbox), as SQLite's upsert does.
                    destinations.update_one(
                        {"_id": destination.name},
                        {"$set": fields, "$setOnInsert": {"created": destination.created}},
                        upsert=True,
                    )
                else:
                    destinations.insert_one(
                        {"_id": destination.name, **fields, "created": destination.created}
                    )
        except DuplicateKeyError as exc:
            raise Conflict(f"a destination named {destination.name!r} already exists") from exc

    def get_destination(self, name: str) -> DestinationRecord | None:
        with unavailable_on_driver_errors("get destination"):
            doc = self._store.collection(DESTINATIONS).find_one({"_id": name})
        return None if doc is None else _destination(doc)

    def destinations(self) -> list[DestinationRecord]:
        with unavailable_on_driver_errors("list destinations"):
            cursor = self._store.collection(DESTINATIONS).find().sort("_id", ASCENDING)
            return [_destination(doc) for doc in cursor]

    def remove_destination(self, name: str) -> bool:
        store = self._store

        def work(session: ClientSession | None) -> bool:
            lock_outbox(store, session)
            store.collection(OUTBOX).delete_many({"destination": name}, session=session)
            result = store.collection(DESTINATIONS).delete_one({"_id": name}, session=session)
            return result.deleted_count > 0

        return _transaction(store, "remove destination", work)

    def enqueue(self, destination: str, statement_ids: Sequence[str], *, at: str) -> int:
        store = self._store

        def work(session: ClientSession | None) -> int:
            found = store.collection(DESTINATIONS).find_one(
                {"_id": destination}, {"_id": True}, session=session
            )
            if found is None:
                return 0
            return _queue(store, [(destination, i) for i in statement_ids], at, session)

        return _transaction(store, "queue statements", work)

    def due(self, destination: str, *, now: str, limit: int) -> list[OutboxItem]:
        if limit <= 0:  # MongoDB reads a limit of 0 as no limit at all
            return []
        with unavailable_on_driver_errors("due outbox items"):
            cursor = (
                self._store.collection(OUTBOX)
                .find(
                    {"destination": destination, "state": _PENDING, "next_attempt": {"$lte": now}}
                )
                .sort("position", ASCENDING)
                .limit(limit)
            )
            return [_item(doc) for doc in cursor]

    def mark_sent(self, destination: str, statement_ids: Sequence[str], *, at: str) -> None:
        store = self._store

        def work(session: ClientSession | None) -> None:
            for chunk in chunks(list(dict.fromkeys(statement_ids))):
                store.collection(OUTBOX).update_many(
                    {"destination": destination, "statement_id": {"$in": chunk}, "state": _PENDING},
                    {
                        "$set": {"state": _SENT, "sent": at, "last_attempt": at},
                        "$inc": {"attempts": 1},
                        "$unset": {"last_error": ""},
                    },
                    session=session,
                )

        _transaction(store, "mark items sent", work)

    def mark_failed(
        self,
        destination: str,
        statement_ids: Sequence[str],
        *,
        at: str,
        error: str,
        retry_at: str,
        max_attempts: int,
    ) -> int:
        store = self._store

        def work(session: ClientSession | None) -> int:
            outbox = store.collection(OUTBOX)
            dead = 0
            for chunk in chunks(list(dict.fromkeys(statement_ids))):
                pending = {
                    "destination": destination,
                    "statement_id": {"$in": chunk},
                    "state": _PENDING,
                }
                # The attempt that reaches max_attempts makes the item dead; being dead,
                # the next update leaves it alone.
                dead += outbox.update_many(
                    {**pending, "attempts": {"$gte": max_attempts - 1}},
                    {
                        "$set": {"state": _DEAD, "last_error": error, "last_attempt": at},
                        "$inc": {"attempts": 1},
                    },
                    session=session,
                ).matched_count
                outbox.update_many(
                    pending,
                    {
                        "$set": {"last_error": error, "last_attempt": at, "next_attempt": retry_at},
                        "$inc": {"attempts": 1},
                    },
                    session=session,
                )
            return dead

        return _transaction(store, "mark items failed", work)

    def requeue(
        self, destination: str, statement_ids: Sequence[str] | None = None, *, at: str
    ) -> int:
        store = self._store
        dead: Document = {"destination": destination, "state": _DEAD}
        again = {"$set": {"state": _PENDING, "attempts": 0, "next_attempt": at}}

        def work(session: ClientSession | None) -> int:
            outbox = store.collection(OUTBOX)
            if statement_ids is None:
                return outbox.update_many(dead, again, session=session).matched_count
            return sum(
                outbox.update_many(
                    {**dead, "statement_id": {"$in": chunk}}, again, session=session
                ).matched_count
                for chunk in chunks(list(dict.fromkeys(statement_ids)))
            )

        return _transaction(store, "requeue items", work)

    def items(self, destination: str, state: OutboxState, *, limit: int = 100) -> list[OutboxItem]:
        if limit <= 0:  # MongoDB reads a limit of 0 as no limit at all
            return []
        with unavailable_on_driver_errors("list outbox items"):
            cursor = (
                self._store.collection(OUTBOX)
                .find({"destination": destination, "state": state.value})
                .sort("position", ASCENDING)
                .limit(limit)
            )
            return [_item(doc) for doc in cursor]

    def item_states(self, statement_ids: Sequence[str]) -> dict[str, dict[str, OutboxState]]:
        found: dict[str, dict[str, OutboxState]] = {}
        outbox = self._store.collection(OUTBOX)
        with unavailable_on_driver_errors("outbox items of statements"):
            for chunk in chunks(list(dict.fromkeys(statement_ids))):
                for doc in outbox.find(  # outbox_by_statement
                    {"statement_id": {"$in": chunk}},
                    {"destination": True, "statement_id": True, "state": True},
                ):
                    states = found.setdefault(str(doc["statement_id"]), {})
                    states[str(doc["destination"])] = OutboxState(doc["state"])
        return found

    def voiding_items(
        self, destination: str, statement_ids: Sequence[str]
    ) -> dict[str, list[OutboxItem]]:
        statements = self._store.collection(STATEMENTS)
        outbox = self._store.collection(OUTBOX)
        with unavailable_on_driver_errors("outbox items of voiding statements"):
            voids: dict[str, str] = {}  # voiding statement id -> the statement it voids
            for chunk in chunks(list(dict.fromkeys(statement_ids))):
                for doc in statements.find(  # statements_by_voids
                    {"voids": {"$in": chunk}}, {"_id": True, "voids": True}
                ):
                    voids[str(doc["_id"])] = str(doc["voids"])
            docs = [
                doc
                for chunk in chunks(list(voids))
                for doc in outbox.find(  # outbox_by_item
                    {"destination": destination, "statement_id": {"$in": chunk}}
                )
            ]
        found: dict[str, list[OutboxItem]] = {}
        for doc in sorted(docs, key=lambda d: int(d["position"])):  # queue order
            item = _item(doc)
            found.setdefault(voids[item.statement_id], []).append(item)
        return found

    def status(self) -> list[DestinationStatus]:
        outbox = self._store.collection(OUTBOX)
        statuses = []
        with unavailable_on_driver_errors("outbox status"):
            names = [
                str(doc["_id"])
                for doc in self._store.collection(DESTINATIONS)
                .find({}, {"_id": True})
                .sort("_id", ASCENDING)
            ]
            for name in names:
                counts = {
                    str(doc["_id"]): int(doc["count"])
                    for doc in outbox.aggregate(
                        [
                            {"$match": {"destination": name}},
                            {"$group": {"_id": "$state", "count": {"$sum": 1}}},
                        ]
                    )
                }
                due = outbox.find_one(
                    {"destination": name, "state": _PENDING},
                    {"next_attempt": True},
                    sort=[("next_attempt", ASCENDING)],
                )
                failed = outbox.find_one(
                    {"destination": name, "last_error": {"$ne": None}},
                    {"last_error": True},
                    sort=[("last_attempt", DESCENDING)],
                )
                sent = outbox.find_one(
                    {"destination": name, "state": _SENT},
                    {"sent": True},
                    sort=[("sent", DESCENDING)],
                )
                statuses.append(
                    DestinationStatus(
                        name=name,
                        pending=counts.get(_PENDING, 0),
                        sent=counts.get(_SENT, 0),
                        dead=counts.get(_DEAD, 0),
                        next_attempt=None if due is None else str(due["next_attempt"]),
                        last_error=None if failed is None else str(failed["last_error"]),
                        last_sent=None if sent is None else str(sent["sent"]),
                    )
                )
        return statuses


__all__ = ["MongoOutboxStore", "MongoSourceStore", "lock_outbox", "queue_forwarding"]
