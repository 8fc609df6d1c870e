"""The documents of the MongoDB store (State, Activity Profile, Agent Profile).

One MongoDB document per xAPI document, its content kept as BSON Binary (the exact bytes
sent, whatever their type). Each write is a single-document operation, atomic on its own,
so no transaction is needed: a compare-and-set is an update whose filter names the
expected ETag (no match: someone else wrote first), and "must be absent" is an insert
that the unique key index refuses when another writer got there first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bson.binary import Binary
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from portfolio.storage.base import (
    Document,
    DocumentChanged,
    DocumentEntry,
    DocumentKey,
    DocumentScope,
    Expect,
)
from portfolio.storage.mongo_connection import QUERY_MAX_TIME_MS, unavailable_on_driver_errors
from portfolio.storage.mongo_connection import Document as MongoDocument
from portfolio.storage.mongo_schema import DOCUMENTS

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore


def key_filter(key: DocumentKey) -> MongoDocument:
    """The filter naming exactly one document: every field of the unique key index."""
    # "" for what a kind of document does not have (see mongo_schema.DOCUMENT_KEY).
    return {
        "kind": key.kind.value,
        "activity": key.activity_id or "",
        "agent": key.agent or "",
        "registration": key.registration or "",
        "doc_id": key.document_id,
    }


def scope_filter(scope: DocumentScope) -> MongoDocument:
    """The filter of a list or delete-all: a prefix of the unique key index."""
    flt: MongoDocument = {
        "kind": scope.kind.value,
        "activity": scope.activity_id or "",
        "agent": scope.agent or "",
    }
    if scope.registration is not None:
        flt["registration"] = scope.registration
    return flt


def _content_fields(document: Document) -> MongoDocument:
    return {
        "content": Binary(document.content),
        "content_type": document.content_type,
        "etag": document.etag,
        "updated": document.updated,
    }


class MongoDocumentStore:
    """Implements portfolio.storage.base.DocumentStore."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def _coll(self) -> Collection[MongoDocument]:
        return self._store.collection(DOCUMENTS)

    def get(self, key: DocumentKey) -> Document | None:
        with unavailable_on_driver_errors("get document"):
            doc = self._coll().find_one(key_filter(key))
        if doc is None:
            return None
        return Document(
            key=key,
            # A real server decodes Binary subtype 0 as bytes; mongomock keeps the Binary.
            content=bytes(doc["content"]),
            content_type=str(doc["content_type"]),
            etag=str(doc["etag"]),
            updated=str(doc["updated"]),
        )

    def put(self, document: Document, *, expected: str | Expect) -> None:
        key = document.key
        fields = _content_fields(document)
        coll = self._coll()
        with unavailable_on_driver_errors("put document"):
            if expected is Expect.ABSENT:
                try:
                    coll.insert_one({**key_filter(key), **fields})
                except DuplicateKeyError as exc:
                    raise DocumentChanged(key) from exc
            elif expected is Expect.ANY:
                self._upsert(coll, key, fields)
            else:
                result = coll.update_one({**key_filter(key), "etag": expected}, {"$set": fields})
                if result.matched_count != 1:
                    raise DocumentChanged(key)

    @staticmethod
    def _upsert(coll: Collection[MongoDocument], key: DocumentKey, fields: MongoDocument) -> None:
        try:
            coll.update_one(key_filter(key), {"$set": fields}, upsert=True)
        except DuplicateKeyError:
            # Two upserts inserting the same new key at once: the loser finds the winner's
            # document now, and replaces it like any unconditional write.
            coll.update_one(key_filter(key), {"$set": fields}, upsert=True)

    def delete(self, key: DocumentKey, *, expected: str | Expect) -> bool:
        if expected is Expect.ABSENT:
            raise ValueError("a delete cannot expect the document to be absent")
        flt = key_filter(key)
        if expected is not Expect.ANY:
            flt["etag"] = expected
        with unavailable_on_driver_errors("delete document"):
            deleted = self._coll().delete_one(flt).deleted_count == 1
        if not deleted and expected is not Expect.ANY:
            raise DocumentChanged(key)
        return deleted

    def list(self, scope: DocumentScope, *, since: str | None = None) -> list[DocumentEntry]:
        flt = scope_filter(scope)
        if since is not None:
            flt["updated"] = {"$gt": since}
        with unavailable_on_driver_errors("list documents"):
            docs = list(
                self._coll()
                .find(flt, {"_id": False, "doc_id": True, "registration": True, "updated": True})
                .max_time_ms(QUERY_MAX_TIME_MS)
            )
        docs.sort(key=lambda d: (str(d["doc_id"]), str(d["registration"])))
        return [
            DocumentEntry(document_id=str(d["doc_id"]), updated=str(d["updated"])) for d in docs
        ]

    def delete_all(self, scope: DocumentScope) -> int:
        with unavailable_on_driver_errors("delete documents"):
            return self._coll().delete_many(scope_filter(scope)).deleted_count
