"""Versioned migrations of the MongoDB store, applied in order by `MongoStore.migrate`.

A migration is never edited once released: a change to the schema is a new entry. The
version reached is kept in the `meta` collection as `{_id: "schema_version", value: N}`.

Index design. Every filter a statement query can drive on has a compound index whose key
ends in `(stored, _id)`, the cursor order, so an equality on the leading field plus the
keyset bound walks one index range in page order and stops after `limit + 1` entries,
whatever the store's size. A single index serves both directions (the query planner walks
it forwards for ascending pages, backwards for descending ones): only the relative
direction of `stored` and `_id` matters, and the two always share it. The agent and
activity fields are arrays, so those indexes are multikey; each has exactly one array
field, which MongoDB requires of a compound index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

STATEMENTS = "statements"
CLIENTS = "clients"
DOCUMENTS = "documents"
META = "meta"
ATTACHMENTS = "attachments"
ATTACHMENT_BUCKET = "attachment_data"  # GridFS: attachment_data.files, attachment_data.chunks
ACTIVITIES = "activities"
FRAMEWORKS = "frameworks"
PEOPLE = "people"
IDENTITIES = "identities"
RECORD_ENTRIES = "record_entries"
CHALLENGES = "challenges"
SESSIONS = "sessions"
INSTANCE_KEYS = "instance_keys"
PORTFOLIO_DOCS = "portfolio_docs"
SOURCES = "sources"
SOURCE_CHECKPOINTS = "source_checkpoints"
PROVENANCE = "provenance"
DESTINATIONS = "destinations"
OUTBOX = "outbox"

# `_id` of the meta documents.
SCHEMA_VERSION_ID = "schema_version"
CLOCK_ID = "clock"
OUTBOX_ID = "outbox"  # the last queue position handed out (mongo_exchange)

_CURSOR_ORDER = [("stored", DESCENDING), ("_id", DESCENDING)]
_PRESENT = {"$exists": True}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Database[dict[str, Any]]], None]


def _by(field: str, *, partial: bool = False) -> IndexModel:
    """An index on `field` then the cursor order; partial when most statements lack it."""
    options: dict[str, Any] = {"name": f"statements_by_{field}"}
    if partial:
        # Documents leave the field out (never store null) so they stay out of the index.
        options["partialFilterExpression"] = {field: _PRESENT}
    return IndexModel([(field, ASCENDING), *_CURSOR_ORDER], **options)


# The statement indexes of migration 1 (a later change is a new migration, not an edit).
V1_STATEMENT_INDEXES: tuple[IndexModel, ...] = (
    IndexModel(_CURSOR_ORDER, name="statements_by_stored"),
    _by("agents_d"),
    _by("agents_r"),
    _by("activities_d"),
    _by("activities_r"),
    _by("verb"),
    _by("registration", partial=True),
    _by("authority_client"),
    # Voiding (a target arriving after its voiding statement) and the StatementRef walk
    # look statements up by what they point at; few statements point at any.
    IndexModel(
        [("voids", ASCENDING)],
        name="statements_by_voids",
        partialFilterExpression={"voids": _PRESENT},
    ),
    IndexModel(
        [("ref_target", ASCENDING)],
        name="statements_by_ref_target",
        partialFilterExpression={"ref_target": _PRESENT},
    ),
)


def _v1_statements_and_clients(db: Database[dict[str, Any]]) -> None:
    # create_indexes creates the collection when it is missing and is a no-op for an
    # identical index that exists, so a migration interrupted half-way can simply run again.
    db[STATEMENTS].create_indexes(list(V1_STATEMENT_INDEXES))
    db[CLIENTS].create_index(
        [("created", ASCENDING), ("_id", ASCENDING)], name="clients_by_created"
    )
    # The meta collection must exist before the first insert: the clock document is
    # upserted inside a transaction, and creating a collection there needs MongoDB 4.4+
    # and is refused on some sharded deployments.
    db[META].update_one({"_id": SCHEMA_VERSION_ID}, {"$setOnInsert": {"value": 0}}, upsert=True)


# The key of a document (State, Activity Profile, Agent Profile; Communication 2.2-2.7).
# What a kind of document does not have is "" (never missing), so the unique index makes
# one place per document. Every query names a prefix of it: a document, or
# (kind, activity, agent[, registration]) for a list or a delete-all.
DOCUMENT_KEY = ("kind", "activity", "agent", "registration", "doc_id")
V2_DOCUMENT_INDEXES: tuple[IndexModel, ...] = (
    IndexModel(
        [(field, ASCENDING) for field in DOCUMENT_KEY], name="documents_by_key", unique=True
    ),
)


def _v2_documents(db: Database[dict[str, Any]]) -> None:
    db[DOCUMENTS].create_indexes(list(V2_DOCUMENT_INDEXES))


def _v3_attachments_and_activities(db: Database[dict[str, Any]]) -> None:
    # GridFS's own indexes, made here because GridFS would otherwise make them on the
    # first upload; the attachments and activities collections exist before their first
    # use inside a transaction (creating a collection there needs MongoDB 4.4+).
    db[f"{ATTACHMENT_BUCKET}.files"].create_index(
        [("filename", ASCENDING), ("uploadDate", ASCENDING)], name="filename_1_uploadDate_1"
    )
    db[f"{ATTACHMENT_BUCKET}.chunks"].create_index(
        [("files_id", ASCENDING), ("n", ASCENDING)], name="files_id_1_n_1", unique=True
    )
    for name in (ATTACHMENTS, ACTIVITIES):
        if name not in db.list_collection_names():
            db.create_collection(name)


# Framework versions (portfolio.standards): one document per (uri, version), and the
# frameworks an item uri is in (a multikey index on the array of item uris).
V4_FRAMEWORK_INDEXES: tuple[IndexModel, ...] = (
    IndexModel(
        [("uri", ASCENDING), ("version", ASCENDING)], name="frameworks_by_version", unique=True
    ),
    IndexModel([("item_uris", ASCENDING)], name="frameworks_by_item"),
)


def _v4_frameworks(db: Database[dict[str, Any]]) -> None:
    db[FRAMEWORKS].create_indexes(list(V4_FRAMEWORK_INDEXES))


def _v5_people_and_records(db: Database[dict[str, Any]]) -> None:
    db[PEOPLE].create_index([("email", ASCENDING)], name="people_by_email", unique=True)
    db[IDENTITIES].create_index(
        [("person_id", ASCENDING), ("linked", ASCENDING)], name="identities_by_person"
    )
    # One entry per place in a record; a statement witnessed at most once per record
    # (`witness` is "<person_id>|<statement_id>"; entries that witness nothing leave it
    # out and stay out of the index).
    # create_index one by one: mongomock drops partialFilterExpression from create_indexes.
    db[RECORD_ENTRIES].create_index(
        [("person_id", ASCENDING), ("seq", ASCENDING)], name="record_entries_by_seq", unique=True
    )
    db[RECORD_ENTRIES].create_index(
        [("witness", ASCENDING)],
        name="record_entries_by_statement",
        unique=True,
        partialFilterExpression={"witness": _PRESENT},
    )
    db[RECORD_ENTRIES].create_index(
        [("statement_id", ASCENDING)],
        name="record_entries_witnessing",
        partialFilterExpression={"statement_id": _PRESENT},
    )
    db[SESSIONS].create_index([("person_id", ASCENDING)], name="sessions_by_person")
    db[PORTFOLIO_DOCS].create_index(
        [("person_id", ASCENDING), ("collection", ASCENDING), ("key", ASCENDING)],
        name="portfolio_docs_by_key",
        unique=True,
    )
    for name in (CHALLENGES, INSTANCE_KEYS):
        if name not in db.list_collection_names():
            db.create_collection(name)


def _v6_exchange(db: Database[dict[str, Any]]) -> None:
    # Sources pulled from (`_id` is the name); `owner` is left out of an administrator's.
    db[SOURCES].create_index(
        [("owner", ASCENDING)], name="sources_by_owner", partialFilterExpression={"owner": _PRESENT}
    )
    db[SOURCE_CHECKPOINTS].create_index(
        [("source", ASCENDING), ("stream", ASCENDING)], name="checkpoints_by_stream", unique=True
    )
    # Kept when its source is removed; found, and erased, by statement.
    db[PROVENANCE].create_index(
        [("statement_id", ASCENDING), ("source", ASCENDING)],
        name="provenance_by_statement",
        unique=True,
    )
    # One item per (destination, statement). Due items are found by (state, next_attempt)
    # in queue order; a state's items are listed in queue order (the sent ones pile up,
    # so that walk must not read them all); erasure and retention delete by statement.
    db[OUTBOX].create_index(
        [("destination", ASCENDING), ("statement_id", ASCENDING)],
        name="outbox_by_item",
        unique=True,
    )
    db[OUTBOX].create_index(
        [
            ("destination", ASCENDING),
            ("state", ASCENDING),
            ("next_attempt", ASCENDING),
            ("position", ASCENDING),
        ],
        name="outbox_due",
    )
    db[OUTBOX].create_index(
        [("destination", ASCENDING), ("state", ASCENDING), ("position", ASCENDING)],
        name="outbox_by_state",
    )
    db[OUTBOX].create_index([("statement_id", ASCENDING)], name="outbox_by_statement")
    # Destinations (`_id` is the name) are read inside the statement insert's transaction.
    if DESTINATIONS not in db.list_collection_names():
        db.create_collection(DESTINATIONS)


def _v7_voiding_rights(db: Database[dict[str, Any]]) -> None:
    # A voiding statement now keeps `voids_others: true` when its sender could void
    # statements other clients sent (Data 2.3.2.s2.b4); a target arriving later is voided
    # by it only then, or when the same client sent both (mongo_statements). For those
    # stored before, the right is not on record: it is taken from the client's scopes now
    # (`all` may void others, portfolio.clients). Setting true twice is harmless.
    allowed = [str(doc["_id"]) for doc in db[CLIENTS].find({"scopes": "all"}, {"_id": True})]
    if allowed:
        db[STATEMENTS].update_many(
            {"voids": _PRESENT, "authority_client": {"$in": allowed}},
            {"$set": {"voids_others": True}},
        )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "statements and clients", _v1_statements_and_clients),
    Migration(2, "documents", _v2_documents),
    Migration(
        3, "attachments, signatures and activity definitions", _v3_attachments_and_activities
    ),
    Migration(4, "frameworks", _v4_frameworks),
    Migration(5, "people, identities and signed records", _v5_people_and_records),
    Migration(6, "sources, provenance and the forwarding outbox", _v6_exchange),
    Migration(
        7, "who may void a statement that arrives after its voiding statement", _v7_voiding_rights
    ),
)
