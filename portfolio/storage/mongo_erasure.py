"""Erasure and retention in the MongoDB store (portfolio.storage.base.ErasureStore).

An erasure is one multi-document transaction (`_transaction`, snapshot reads, majority
writes): the scope is found again inside it, so a statement stored meanwhile makes the
erasure plan again rather than escape it, and everything goes or nothing does. Lookups
go through the indexes of mongo_schema: statements by `agents_r` (direct and related
agents), `voids`, `activities_r`, `stored` and `_id`; record entries by `person_id` and
`statement_id`; Agent Profile documents by a prefix of the key index, State documents by
its `kind` prefix (no index leads with the agent: the index keys are read, not the
documents); provenance and outbox items by `statement_id`, sources by `owner`. Provenance
by source and destinations by filter (there are a few) have no index: they are read once.

Two things cannot be in the transaction:
- GridFS (mongo_attachments.py): the bytes of attachments are deleted after the commit.
  They are content-addressed, and their `attachments` index document goes inside the
  transaction, so a failure after the commit leaves only bytes nothing names;
- knowing which attachments no other statement uses: no index says which statement
  declares which attachment, so the statements are read once before the transaction.
  A statement with the same attachment stored by someone else during those seconds
  could lose its data; such a coincidence needs the same bytes, sent at the same time.

What MongoDB keeps of deleted documents outside the collections (an oplog window, the
journal, free space in WiredTiger files until reused, backups) is the deployment's to
age out; the README's erasure section says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from bson import Binary
from gridfs import GridFSBucket
from pymongo.client_session import ClientSession

from portfolio.errors import NotFound
from portfolio.storage.base import (
    DeleteDoc,
    DocChange,
    DocumentKind,
    ErasureCounts,
    ErasureScope,
    ErasureScopeChanged,
    PortfolioDoc,
    RecordChange,
    RetentionCounts,
    attachment_hashes,
)
from portfolio.storage.exchange import SourceAgentsChange
from portfolio.storage.mongo_connection import Document, chunks, unavailable_on_driver_errors
from portfolio.storage.mongo_exchange import lock_outbox
from portfolio.storage.mongo_people import _append, _transaction
from portfolio.storage.mongo_portfolio import _id as doc_id
from portfolio.storage.mongo_schema import (
    ACTIVITIES,
    ATTACHMENT_BUCKET,
    ATTACHMENTS,
    CHALLENGES,
    CLOCK_ID,
    DESTINATIONS,
    DOCUMENTS,
    IDENTITIES,
    META,
    OUTBOX,
    PEOPLE,
    PORTFOLIO_DOCS,
    PROVENANCE,
    RECORD_ENTRIES,
    SESSIONS,
    SOURCE_CHECKPOINTS,
    SOURCES,
    STATEMENTS,
)

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore

# Statements deleted per retention transaction (well inside a transaction's limits).
RETENTION_BATCH = 1_000
_READ_BATCH = 1_000


def _scope(
    store: MongoStore, person_id: str, identities: Sequence[str], session: ClientSession | None
) -> ErasureScope:
    statements = store.collection(STATEMENTS)
    entries = store.collection(RECORD_ENTRIES)
    witnessed = [
        str(doc["statement_id"])
        for doc in entries.find(
            {"person_id": person_id, "statement_id": {"$exists": True}},
            {"statement_id": True},
            session=session,
        )
    ]
    found = {
        str(doc["_id"])
        for chunk in chunks(witnessed)
        for doc in statements.find({"_id": {"$in": chunk}}, {"_id": True}, session=session)
    }
    # `agents_r` holds the related agents, the direct ones included.
    found.update(
        str(doc["_id"])
        for chunk in chunks(list(identities))
        for doc in statements.find({"agents_r": {"$in": chunk}}, {"_id": True}, session=session)
    )
    # A voiding statement names its target's id; the target going, it goes too.
    found.update(
        str(doc["_id"])
        for chunk in chunks(sorted(found))
        for doc in statements.find({"voids": {"$in": chunk}}, {"_id": True}, session=session)
    )
    witnesses: dict[str, set[str]] = {}
    for chunk in chunks(sorted(found)):
        for doc in entries.find(
            {"statement_id": {"$in": chunk}, "person_id": {"$ne": person_id}},
            {"person_id": True, "statement_id": True},
            session=session,
        ):
            witnesses.setdefault(str(doc["person_id"]), set()).add(str(doc["statement_id"]))
    return ErasureScope(
        person_id=person_id,
        identities=frozenset(identities),
        statements=frozenset(found),
        witnesses={other: frozenset(ids) for other, ids in witnesses.items()},
    )


def _apply(store: MongoStore, changes: Sequence[DocChange], session: ClientSession | None) -> int:
    """Make document changes (as PortfolioStore.apply does); return how many happened."""
    docs = store.collection(PORTFOLIO_DOCS)
    done = 0
    for change in changes:
        key = doc_id(change.person_id, change.collection, change.key)
        if isinstance(change, DeleteDoc):
            done += docs.delete_one({"_id": key}, session=session).deleted_count
            continue
        docs.replace_one(
            {"_id": key},
            {
                "person_id": change.person_id,
                "collection": change.collection,
                "key": change.key,
                "body": Binary(change.body),
                "updated": change.updated,
            },
            upsert=True,
            session=session,
        )
        done += 1
    return done


def _delete_statements(
    store: MongoStore, statement_ids: Sequence[str], session: ClientSession | None
) -> int:
    """Delete statements with their provenance and their outbox items (whatever state: a
    sent item still names the statement); return how many statements went. The caller
    has locked the outbox (`lock_outbox`), so a backfill cannot queue one meanwhile."""
    deleted = 0
    for chunk in chunks(statement_ids):
        deleted += (
            store.collection(STATEMENTS)
            .delete_many({"_id": {"$in": chunk}}, session=session)
            .deleted_count
        )
        for name in (PROVENANCE, OUTBOX):
            store.collection(name).delete_many({"statement_id": {"$in": chunk}}, session=session)
    return deleted


def _delete_sources(store: MongoStore, person_id: str, session: ClientSession | None) -> int:
    """Delete the sources the person owns (their identities, their sealed credentials)
    with their checkpoints and last run, and the provenance that names them: the name is
    the person's, and so is what their credentials were told. Provenance has no index
    by source: it is read once."""
    names = [
        str(doc["_id"])
        for doc in store.collection(SOURCES).find(
            {"owner": person_id}, {"_id": True}, session=session
        )
    ]
    if not names:
        return 0
    for name in (SOURCE_CHECKPOINTS, PROVENANCE):
        store.collection(name).delete_many({"source": {"$in": names}}, session=session)
    result = store.collection(SOURCES).delete_many({"_id": {"$in": names}}, session=session)
    return int(result.deleted_count)


def _sources_as_planned(
    store: MongoStore, sources: Sequence[SourceAgentsChange], session: ClientSession | None
) -> bool:
    """Whether each source still has the agents its change was planned on."""
    found = {
        str(doc["_id"]): tuple(str(agent) for agent in doc["agents"])
        for doc in store.collection(SOURCES).find(
            {"_id": {"$in": [change.name for change in sources]}},
            {"agents": True},
            session=session,
        )
    }
    return all(found.get(change.name) == change.agents for change in sources)


def _forget_in_sources(
    store: MongoStore,
    sources: Sequence[SourceAgentsChange],
    session: ClientSession | None,
) -> int:
    """Apply the planned changes to administrators' sources (see SourceAgentsChange),
    checked by `_sources_as_planned` first."""
    collection = store.collection(SOURCES)
    checkpoints = store.collection(SOURCE_CHECKPOINTS)
    for change in sources:
        if change.keep:
            collection.update_one(
                {"_id": change.name}, {"$set": {"agents": list(change.keep)}}, session=session
            )
            dropped = {"source": change.name, "stream": {"$in": list(change.dropped)}}
        else:
            collection.delete_one({"_id": change.name}, session=session)
            dropped = {"source": change.name}
        checkpoints.delete_many(dropped, session=session)
    return len(sources)


def _unfilter_destinations(store: MongoStore, person_id: str, session: ClientSession | None) -> int:
    """Take the person out of every destination's `people` filter; a destination that
    named only them is removed with its outbox, as an empty filter would forward
    everyone's statements. Returns how many destinations changed."""
    destinations = store.collection(DESTINATIONS)
    changed = 0
    for doc in destinations.find(
        {"filter.people": person_id}, {"filter.people": True}, session=session
    ):
        changed += 1
        people = [p for p in doc["filter"]["people"] if p != person_id]
        if people:
            destinations.update_one(
                {"_id": doc["_id"]}, {"$set": {"filter.people": people}}, session=session
            )
        else:
            store.collection(OUTBOX).delete_many({"destination": doc["_id"]}, session=session)
            destinations.delete_one({"_id": doc["_id"]}, session=session)
    return changed


def _batches(items: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class MongoErasureStore:
    """Implements portfolio.storage.base.ErasureStore."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def scope(self, person_id: str, identities: Sequence[str]) -> ErasureScope:
        with unavailable_on_driver_errors("find what an erasure covers"):
            return _scope(self._store, person_id, identities, None)

    def erase(
        self,
        scope: ErasureScope,
        *,
        others: Sequence[RecordChange],
        changes: Sequence[DocChange],
        tombstone: Callable[[ErasureCounts], PortfolioDoc],
        sources: Sequence[SourceAgentsChange] = (),
    ) -> ErasureCounts:
        store = self._store
        with unavailable_on_driver_errors("find unused attachments"):
            unused = self._unused_attachments(scope.statements)

        def work(session: ClientSession | None) -> ErasureCounts:
            # Run again from the start if the transaction is retried: no state outside it.
            counts = self._erase(scope, others, changes, sources, unused, session)
            _apply(store, [tombstone(counts)], session)
            return counts

        counts = _transaction(store, "erase a portfolio", work)
        with unavailable_on_driver_errors("delete attachment data"):
            self._delete_data(unused)
        return counts

    def _erase(
        self,
        scope: ErasureScope,
        others: Sequence[RecordChange],
        changes: Sequence[DocChange],
        sources: Sequence[SourceAgentsChange],
        unused: set[str],
        session: ClientSession | None,
    ) -> ErasureCounts:
        store = self._store
        person_id = scope.person_id
        # Every insert of statements updates the clock document in its transaction
        # (mongo_statements._next_stored); writing it here too makes an insert that
        # commits meanwhile conflict with the erasure, which is then retried and sees the
        # statement in its scope check: the counterpart of SQLite's single write lock.
        # First, so that a conflict surfaces before any other work.
        store.collection(META).update_one(
            {"_id": CLOCK_ID}, {"$inc": {"erasures": 1}}, session=session
        )
        # Likewise a backfill queueing one of the statements, or for a destination the
        # erasure removes.
        lock_outbox(store, session)
        people = store.collection(PEOPLE)
        if people.find_one({"_id": person_id}, {"_id": True}, session=session) is None:
            raise NotFound(f"no portfolio {person_id}")
        if _scope(store, person_id, sorted(scope.identities), session) != scope:
            raise ErasureScopeChanged(person_id)
        if not _sources_as_planned(store, sources, session):
            raise ErasureScopeChanged(person_id)
        statements = store.collection(STATEMENTS)
        ids = sorted(scope.statements)
        activities = {
            str(activity)
            for chunk in chunks(ids)
            for doc in statements.find(
                {"_id": {"$in": chunk}}, {"activities_r": True}, session=session
            )
            for activity in doc.get("activities_r", ())
        }
        deleted = _delete_statements(store, ids, session)
        identities = sorted(scope.identities)
        documents = store.collection(DOCUMENTS)
        profiles = documents.delete_many(
            # The whole prefix of the key index: what a kind does not have is "".
            {
                "kind": DocumentKind.AGENT_PROFILE.value,
                "activity": "",
                "agent": {"$in": identities},
            },
            session=session,
        ).deleted_count
        states = documents.delete_many(
            {"kind": DocumentKind.STATE.value, "agent": {"$in": identities}}, session=session
        ).deleted_count
        for other in others:
            _append(store, other.person_id, other.entries, session)
            _apply(store, other.changes, session)

        def delete(collection: str, field: str = "person_id") -> int:
            result = store.collection(collection).delete_many({field: person_id}, session=session)
            return int(result.deleted_count)

        counts = ErasureCounts(
            statements=deleted,
            attachments=store.collection(ATTACHMENTS)
            .delete_many({"_id": {"$in": sorted(unused)}}, session=session)
            .deleted_count,
            documents=profiles + states,
            activities=self._forget_activities(sorted(activities), session),
            record_entries=delete(RECORD_ENTRIES),
            portfolio_docs=delete(PORTFOLIO_DOCS),
            identities=delete(IDENTITIES),
            sessions=delete(SESSIONS),
            challenges=delete(CHALLENGES),
            sources=_delete_sources(store, person_id, session)
            + _forget_in_sources(store, sources, session),
            destinations=_unfilter_destinations(store, person_id, session),
            shared_docs=_apply(store, changes, session),
            other_records=len(others),
        )
        # The person's document holds their sealed key.
        delete(PEOPLE, "_id")
        return counts

    def _forget_activities(self, activities: Sequence[str], session: ClientSession | None) -> int:
        """Forget the canonical definitions of these Activities that no remaining statement
        mentions: a definition may carry what a deleted statement said (a session's topics)."""
        statements = self._store.collection(STATEMENTS)
        gone = [
            activity
            for activity in activities
            if statements.find_one({"activities_r": activity}, {"_id": True}, session=session)
            is None
        ]
        if not gone:
            return 0
        result = self._store.collection(ACTIVITIES).delete_many(
            {"_id": {"$in": gone}}, session=session
        )
        return int(result.deleted_count)

    # ------------------------------------------------------------------ attachments

    def _hashes_of(self, statement_ids: Iterable[str]) -> set[str]:
        statements = self._store.collection(STATEMENTS)
        return {
            sha2
            for chunk in chunks(sorted(statement_ids))
            for doc in statements.find({"_id": {"$in": chunk}}, {"body": True})
            for sha2 in attachment_hashes(bytes(doc["body"]))
        }

    def _hashes_in_use(self, among: set[str], *, excluding: set[str]) -> set[str]:
        """Which of these hashes a statement outside `excluding` declares. No index says
        which statement declares which attachment (and a Binary body cannot be searched
        on the server), so every statement's body is read once, a batch at a time."""
        used: set[str] = set()
        if not among:
            return used
        cursor = self._store.collection(STATEMENTS).find({}, {"body": True})
        for doc in cursor.batch_size(_READ_BATCH):
            if str(doc["_id"]) not in excluding:
                used |= attachment_hashes(bytes(doc["body"])) & among
        return used

    def _unused_attachments(self, statement_ids: frozenset[str]) -> set[str]:
        """The attachment hashes these statements declare and no other statement does."""
        hashes = self._hashes_of(statement_ids)
        return hashes - self._hashes_in_use(hashes, excluding=set(statement_ids))

    def _delete_data(self, hashes: set[str]) -> None:
        """Delete the GridFS files of these hashes (every copy: a race of two uploaders can
        leave one behind), after the transaction that removed their index documents."""
        if not hashes:
            return
        bucket = GridFSBucket(self._store.db(), bucket_name=ATTACHMENT_BUCKET)
        for sha2 in sorted(hashes):
            for file in bucket.find({"filename": sha2}):
                bucket.delete(file._id)

    # -------------------------------------------------------------------- retention

    def retention(self, *, before: str, now: str, dry_run: bool) -> RetentionCounts:
        with unavailable_on_driver_errors("retention"):
            doomed, hashes = self._retainable(before)
            if dry_run:
                unused = hashes - self._hashes_in_use(hashes, excluding=doomed)
                return self._count_retention(len(doomed), unused, now)
            deleted = 0
            for chunk in chunks(sorted(doomed), RETENTION_BATCH):
                deleted += _transaction(self._store, "retention", partial(self._retain, chunk))
            # Looked for once the statements are gone: a statement a record witnessed
            # meanwhile stayed, and so does what it uses.
            unused = hashes - self._hashes_in_use(hashes, excluding=set())
            attachments = self._store.collection(ATTACHMENTS).delete_many(
                {"_id": {"$in": sorted(unused)}}
            )
            self._delete_data(unused)
            expired = {"$ne": None, "$lte": now}
            return RetentionCounts(
                statements=deleted,
                attachments=int(attachments.deleted_count),
                sessions=int(
                    self._store.collection(SESSIONS).delete_many({"expires": expired}).deleted_count
                ),
                challenges=int(
                    self._store.collection(CHALLENGES)
                    .delete_many({"expires": expired})
                    .deleted_count
                ),
            )

    def _retainable(self, before: str) -> tuple[set[str], set[str]]:
        """The statements stored before `before` that no record witnesses (nor the target
        of which, for a voiding statement), and the attachment hashes they declare."""
        statements = self._store.collection(STATEMENTS)
        entries = self._store.collection(RECORD_ENTRIES)
        doomed: set[str] = set()
        hashes: set[str] = set()
        cursor = statements.find(
            {"stored": {"$lt": before}}, {"voids": True, "body": True}
        ).batch_size(_READ_BATCH)
        for batch in _batches(cursor, _READ_BATCH):
            named = {str(d["_id"]) for d in batch}
            named.update(str(d["voids"]) for d in batch if "voids" in d)
            witnessed = {
                str(e["statement_id"])
                for e in entries.find(
                    {"statement_id": {"$in": sorted(named)}}, {"statement_id": True}
                )
            }
            for doc in batch:
                if str(doc["_id"]) in witnessed or str(doc.get("voids")) in witnessed:
                    continue
                doomed.add(str(doc["_id"]))
                hashes |= attachment_hashes(bytes(doc["body"]))
        return doomed, hashes

    def _retain(self, chunk: list[str], session: ClientSession | None) -> int:
        """Delete these statements but those a record has witnessed meanwhile."""
        lock_outbox(self._store, session)
        witnessed = {
            str(e["statement_id"])
            for e in self._store.collection(RECORD_ENTRIES).find(
                {"statement_id": {"$in": chunk}}, {"statement_id": True}, session=session
            )
        }
        return _delete_statements(self._store, [i for i in chunk if i not in witnessed], session)

    def _count_retention(self, statements: int, unused: set[str], now: str) -> RetentionCounts:
        expired: dict[str, Any] = {"$ne": None, "$lte": now}
        return RetentionCounts(
            statements=statements,
            attachments=self._store.collection(ATTACHMENTS).count_documents(
                {"_id": {"$in": sorted(unused)}}
            ),
            sessions=self._store.collection(SESSIONS).count_documents({"expires": expired}),
            challenges=self._store.collection(CHALLENGES).count_documents({"expires": expired}),
        )


__all__ = ["MongoErasureStore"]
