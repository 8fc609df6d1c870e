"""The statements of the MongoDB store: transactional insert, voiding, reads and queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import orjson
from bson.binary import Binary
from bson.int64 import Int64
from pymongo import ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from portfolio.clock import format_us, now_us
from portfolio.jsonmerge import merge
from portfolio.storage import mongo_query as mq
from portfolio.storage.base import (
    AttachmentData,
    Cursor,
    DuplicateStatementIds,
    NewStatement,
    StatementPage,
    StatementQuery,
    StatementRecord,
    VoidingOnArrival,
)
from portfolio.storage.mongo_attachments import MongoAttachments
from portfolio.storage.mongo_connection import (
    QUERY_MAX_TIME_MS,
    Document,
    chunks,
    unavailable_on_driver_errors,
)
from portfolio.storage.mongo_exchange import queue_forwarding
from portfolio.storage.mongo_schema import ACTIVITIES, CLOCK_ID, META, STATEMENTS

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore

_DUPLICATE_KEY = 11000


def _record(doc: Document) -> StatementRecord:
    return StatementRecord(
        id=str(doc["_id"]),
        stored=str(doc["stored"]),
        # A real server decodes Binary subtype 0 as bytes; mongomock keeps the Binary.
        body=bytes(doc["body"]),
        voided=bool(doc["voided"]),
        voids=doc.get("voids"),
        authority_client=doc.get("authority_client"),
        signature=doc.get("signature"),
    )


def _loads(definition: str | None) -> object:
    return None if definition is None else orjson.loads(definition)


def statement_document(statement: NewStatement, *, stored: str, voided: bool) -> Document:
    """The document a statement is stored as.

    Optional fields are left out, never null, so the partial indexes hold only the
    statements that have them. Index arrays are sorted so a document is reproducible.
    """
    index = statement.index
    doc: Document = {
        "_id": statement.id,
        "stored": stored,
        "body": Binary(statement.final_body(stored)),
        "verb": index.verb,
        "authority_client": statement.authority_client,
        "voided": voided,
        "agents_d": sorted(index.agents_direct),
        "agents_r": sorted(index.agents_related),
        "activities_d": sorted(index.activities_direct),
        "activities_r": sorted(index.activities_related),
    }
    if statement.signature is not None:
        doc["signature"] = dict(statement.signature)
    if index.registration is not None:
        doc["registration"] = index.registration
    if index.voids is not None:
        doc["voids"] = index.voids
        if statement.may_void_others:
            # Left out when false, like the other optional fields (see _voided_on_arrival).
            doc["voids_others"] = True
    if index.ref_target is not None:
        doc["ref_target"] = index.ref_target
    return doc


class MongoStatementStore:
    def __init__(self, store: MongoStore) -> None:
        self._store = store
        self._attachments = MongoAttachments(store)

    # ------------------------------------------------------------------ writing

    def insert(
        self, statements: Sequence[NewStatement], *, attachments: Sequence[AttachmentData] = ()
    ) -> str:
        """Store the batch in one transaction; return the `stored` time of its last statement.

        The statements get consecutive `stored` times (1 µs apart) in the order given,
        and are queued for their destinations (`forward_to`) in the same transaction.
        Raises DuplicateStatementIds, writing nothing, when an id is already stored;
        StorageUnavailable when the server cannot be reached, is a standalone mongod, or
        the transaction keeps conflicting for two minutes.
        """
        if not statements:
            return self.consistent_through()
        store = self._store
        ids = [s.id for s in statements]
        try:
            with unavailable_on_driver_errors("insert"):
                # Before the transaction: GridFS cannot join one (mongo_attachments.py).
                self._attachments.save(attachments)
                if store.unsafe_without_transactions:
                    return self._insert(statements, None)
                store.require_transactions()
                with store.client().start_session() as session:
                    # DuplicateStatementIds raised in the callback aborts the transaction
                    # and propagates out of with_transaction unchanged (it is not a
                    # driver error, so it is never retried). Snapshot reads: the duplicate
                    # and voiding checks see one consistent state of the store.
                    return session.with_transaction(
                        lambda s: self._insert(statements, s),
                        read_concern=ReadConcern("snapshot"),
                        write_concern=WriteConcern("majority"),
                    )
        except DuplicateKeyError as exc:
            # Another writer stored one of these ids between our check and our insert.
            raise DuplicateStatementIds(self._existing_after_failure(ids) or ids) from exc
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            # An id repeated within the batch is reported by position; one stored by a
            # concurrent writer is found by looking (ordered inserts stop at the first).
            reported = [ids[e["index"]] for e in errors if 0 <= e.get("index", -1) < len(ids)]
            existing = self._existing_after_failure(ids)
            raise DuplicateStatementIds(existing or reported or ids) from exc

    def _insert(self, statements: Sequence[NewStatement], session: ClientSession | None) -> str:
        """The steps of one insert; inside a transaction unless `session` is None.

        Run again from the start when with_transaction retries, so it keeps no state
        outside the database.
        """
        coll = self._store.collection(STATEMENTS)
        # The clock first: it is the document every writer contends for, so a conflict
        # surfaces (and the transaction restarts) before any other work is done.
        stored_times = self._next_stored(len(statements), session)
        ids = list(dict.fromkeys(s.id for s in statements))
        existing = self._existing(ids, session)
        if existing:
            raise DuplicateStatementIds(existing)
        already_voided = self._voided_on_arrival(statements, session)
        coll.insert_many(
            [
                statement_document(s, stored=stored, voided=s.id in already_voided)
                for s, stored in zip(statements, stored_times, strict=True)
            ],
            ordered=True,
            session=session,
        )
        self._void_stored_targets(statements, session)
        self._merge_definitions(statements, stored_times[-1], session)
        queue_forwarding(self._store, statements, stored_times[-1], session)
        return stored_times[-1]

    def _voided_on_arrival(
        self, statements: Sequence[NewStatement], session: ClientSession | None
    ) -> set[str]:
        """The ids among these statements that are voided as they are stored: a voiding
        statement stored earlier, or sent in the same batch, names them and may void them
        (Data 2.3.2: the same client sent both, or its sender may void others). A voiding
        statement from anyone else leaves its target unvoided, so a client cannot void
        another's statement by sending the voiding statement before it (VoidingOnArrival)."""
        arrival = VoidingOnArrival(statements)
        coll = self._store.collection(STATEMENTS)
        for chunk in chunks(list(arrival.sender)):
            for doc in coll.find(
                {"voids": {"$in": chunk}},
                {"voids": True, "authority_client": True, "voids_others": True},
                session=session,
            ):
                arrival.stored(
                    str(doc["voids"]),
                    doc.get("authority_client"),
                    voids_others=bool(doc.get("voids_others")),
                )
        return arrival.voided

    def _void_stored_targets(
        self, statements: Sequence[NewStatement], session: ClientSession | None
    ) -> None:
        """Data 2.3.2: a voiding statement voids its stored target, if it may: when its
        sender may void others, or sent the target too. The domain refuses any other
        voiding of a stored target (403) before it gets here; the condition keeps a target
        stored by a concurrent writer in between from being voided by a client that may
        not. A voiding statement itself is never voided."""
        coll = self._store.collection(STATEMENTS)
        by_sender: dict[str | None, list[str]] = {}  # None: any sender's statement
        for s in statements:
            if s.index.voids:
                sender = None if s.may_void_others else s.authority_client
                by_sender.setdefault(sender, []).append(s.index.voids)
        for sender, targets in by_sender.items():
            for chunk in chunks(list(dict.fromkeys(targets))):
                flt: Document = {
                    "_id": {"$in": chunk},
                    "voids": {"$exists": False},
                    "voided": False,
                }
                if sender is not None:
                    flt["authority_client"] = sender
                coll.update_many(flt, {"$set": {"voided": True}}, session=session)

    def _merge_definitions(
        self, statements: Sequence[NewStatement], updated: str, session: ClientSession | None
    ) -> None:
        """Merge the statements' definitions into the canonical ones, in statement order,
        inside the insert's transaction (a concurrent writer of the same Activity makes
        one transaction conflict and retry)."""
        patches: dict[str, object] = {}
        for statement in statements:
            for activity_id, definition in statement.definitions:
                patches[activity_id] = merge(patches.get(activity_id), definition)
        if not patches:
            return
        activities = self._store.collection(ACTIVITIES)
        current = {
            str(doc["_id"]): doc["definition"]
            for doc in activities.find({"_id": {"$in": list(patches)}}, session=session)
        }
        for activity_id, patch in patches.items():
            activities.replace_one(
                {"_id": activity_id},
                # Kept as a JSON string: definitions hold extension IRIs full of dots.
                {
                    "definition": orjson.dumps(
                        merge(_loads(current.get(activity_id)), patch)
                    ).decode(),
                    "updated": updated,
                },
                upsert=True,
                session=session,
            )

    def get_attachments(self, sha2s: Sequence[str]) -> dict[str, AttachmentData]:
        with unavailable_on_driver_errors("get_attachments"):
            return self._attachments.get(sha2s)

    def get_definitions(self, activity_ids: Sequence[str]) -> dict[str, dict[str, object]]:
        with unavailable_on_driver_errors("get_definitions"):
            return {
                str(doc["_id"]): orjson.loads(doc["definition"])
                for chunk in chunks(list(dict.fromkeys(activity_ids)))
                for doc in self._store.collection(ACTIVITIES).find({"_id": {"$in": chunk}})
            }

    def _next_stored(self, count: int, session: ClientSession | None) -> list[str]:
        """`count` consecutive `stored` times (1 µs apart), later than any handed out.

        The first is max(now, last + 1) µs; the clock keeps the last. One atomic update of
        the clock document (an update pipeline, so the new value can depend on the old one).
        Inside a transaction the write also makes concurrent inserts conflict on this
        document, and with_transaction retries the losers: writers are serialised like
        SQLite's BEGIN IMMEDIATE, and a `stored` time handed out is never smaller than one
        already visible. The wall clock is this process's: across hosts with skewed clocks
        `stored` still only moves forward.
        """
        last = {"$ifNull": ["$last_us", Int64(0)]}
        first = {"$max": [Int64(now_us()), {"$add": [last, Int64(1)]}]}
        doc = self._store.collection(META).find_one_and_update(
            {"_id": CLOCK_ID},
            [{"$set": {"last_us": {"$add": [first, Int64(count - 1)]}}}],
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert doc is not None  # an upsert returning the document after always finds one
        last_us = int(doc["last_us"])
        return [format_us(us) for us in range(last_us - count + 1, last_us + 1)]

    def _existing(self, ids: Sequence[str], session: ClientSession | None = None) -> list[str]:
        """The ids among these already stored, in the order given."""
        coll = self._store.collection(STATEMENTS)
        found = {
            str(doc["_id"])
            for chunk in chunks(list(dict.fromkeys(ids)))
            for doc in coll.find({"_id": {"$in": chunk}}, {"_id": True}, session=session)
        }
        return [i for i in dict.fromkeys(ids) if i in found]

    def _existing_after_failure(self, ids: Sequence[str]) -> list[str]:
        with unavailable_on_driver_errors("insert"):
            return self._existing(ids)

    # ------------------------------------------------------------------ reading

    def get(self, statement_id: str) -> StatementRecord | None:
        with unavailable_on_driver_errors("get"):
            doc = self._store.collection(STATEMENTS).find_one(
                {"_id": statement_id}, mq.RECORD_PROJECTION
            )
        return None if doc is None else _record(doc)

    def get_many(self, statement_ids: Sequence[str]) -> dict[str, StatementRecord]:
        coll = self._store.collection(STATEMENTS)
        found: dict[str, StatementRecord] = {}
        with unavailable_on_driver_errors("get many"):
            for chunk in chunks(list(dict.fromkeys(statement_ids))):
                for doc in coll.find({"_id": {"$in": chunk}}, mq.RECORD_PROJECTION):
                    record = _record(doc)
                    found[record.id] = record
        return found

    def consistent_through(self) -> str:
        """The last `stored` time handed out: every statement at or before it is committed.

        The clock document is written in the same transaction as the statements, so it
        is never visible before them, and a writer not yet committed holds the clock
        and will store later than this.
        """
        last = self._last_stored()
        return format_us(now_us()) if last is None else last

    def _last_stored(self) -> str | None:
        """The clock's last `stored` time; None before the first insert."""
        with unavailable_on_driver_errors("read the clock"):
            doc = self._store.collection(META).find_one({"_id": CLOCK_ID})
        return None if doc is None else format_us(int(doc["last_us"]))

    def count(self) -> int:
        with unavailable_on_driver_errors("count"):
            return self._store.collection(STATEMENTS).count_documents({})

    def query(self, query: StatementQuery) -> StatementPage:
        fetch = query.limit + 1
        coll = self._store.collection(STATEMENTS)
        referring_too = mq.has_matching_filter(query.filter)
        if referring_too:
            # The answer takes several reads. Bounding them all by the clock, read first,
            # makes them one view: whatever commits meanwhile is stored later and left out
            # of every read, as SQLite's read transaction leaves it out.
            seen = self._last_stored()
            if seen is not None:
                query = mq.as_of(query, seen)
        with unavailable_on_driver_errors("query"):
            docs = self._find(coll, mq.direct_filter(query), query, fetch)
            if referring_too:
                referring = self._referring(coll, query, fetch)
                if referring:
                    docs = mq.merge(docs, referring, query, fetch)
        page = tuple(_record(doc) for doc in docs[: query.limit])
        more = None
        if len(docs) > query.limit and page:
            more = Cursor(stored=page[-1].stored, id=page[-1].id)
        return StatementPage(statements=page, more=more)

    @staticmethod
    def _find(
        coll: Collection[Document], flt: Document, query: StatementQuery, fetch: int
    ) -> list[Document]:
        # fetch is at least 1: a limit of 0 would mean "no limit" to MongoDB.
        cursor = (
            coll.find(flt, mq.RECORD_PROJECTION)
            .sort(mq.sort_order(query))
            .limit(fetch)
            .max_time_ms(QUERY_MAX_TIME_MS)
        )
        return list(cursor)

    def _referring(
        self, coll: Collection[Document], query: StatementQuery, fetch: int
    ) -> list[Document]:
        """Statements whose StatementRef target matches the filter, recursively.

        Communication 2.1.3 (Filter Conditions for StatementRefs). Like the SQLite
        adapter's recursive query, the work is bounded by the number of statements that
        target another statement (voiding statements among them), read once through the
        partial `ref_target` index; the chain is then climbed in memory.
        """
        edges = {
            str(doc["_id"]): str(doc["ref_target"])
            for doc in coll.find(
                {"ref_target": {"$exists": True}}, {"ref_target": True}
            ).max_time_ms(QUERY_MAX_TIME_MS)
        }
        if not edges:
            return []
        targets = sorted(set(edges.values()))
        matched = {
            str(doc["_id"])
            for chunk in chunks(targets)
            for doc in coll.find(mq.target_filter(query.filter, chunk), {"_id": True})
        }
        if not matched:
            return []
        candidates = sorted(i for i in mq.climb(edges, matched) if i in edges)
        found: list[Document] = []
        for chunk in chunks(candidates):
            found += self._find(coll, mq.referring_filter(query, chunk), query, fetch)
        return found
