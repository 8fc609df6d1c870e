"""The portfolio's documents in the MongoDB store: one document each, `_id` made of
(person_id, collection, key), written with their record entries in one transaction."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from bson import Binary
from pymongo import ASCENDING, DESCENDING
from pymongo.client_session import ClientSession
from pymongo.errors import DuplicateKeyError

from portfolio.errors import Conflict
from portfolio.record.entry import SignedEntry
from portfolio.storage.base import Arrival, DeleteDoc, DocChange, PortfolioDoc, RecordHeadMoved
from portfolio.storage.mongo_connection import Document, unavailable_on_driver_errors
from portfolio.storage.mongo_people import (
    _append,
    _check_follows,
    _link_doc,
    _transaction,
    person_document,
)
from portfolio.storage.mongo_schema import (
    IDENTITIES,
    PEOPLE,
    PORTFOLIO_DOCS,
    RECORD_ENTRIES,
    SESSIONS,
)

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore


_BATCH = 1000
T = TypeVar("T")


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, _BATCH)):
        yield batch


def _doc_document(doc: PortfolioDoc) -> Document:
    return {
        "_id": _id(doc.person_id, doc.collection, doc.key),
        "person_id": doc.person_id,
        "collection": doc.collection,
        "key": doc.key,
        "body": Binary(doc.body),
        "updated": doc.updated,
    }


def _id(person_id: str, collection: str, key: str) -> str:
    # NUL cannot occur in the parts (they are JSON strings from the domain), so the
    # joined id is unambiguous.
    return f"{person_id}\x00{collection}\x00{key}"


def _doc(d: Document) -> PortfolioDoc:
    return PortfolioDoc(
        person_id=str(d["person_id"]),
        collection=str(d["collection"]),
        key=str(d["key"]),
        body=bytes(d["body"]),
        updated=str(d["updated"]),
    )


def _filter(person_id: str, collection: str, prefix: str) -> Document:
    query: Document = {"person_id": person_id, "collection": collection}
    if prefix:
        query["key"] = {"$regex": "^" + re.escape(prefix)}
    return query


class MongoPortfolioStore:
    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def apply(
        self, person_id: str, entries: Sequence[SignedEntry], changes: Sequence[DocChange]
    ) -> None:
        store = self._store

        def work(session: ClientSession | None) -> None:
            # Checked first, so a refused apply writes nothing even without a transaction.
            _check_follows(store, person_id, entries, session)
            coll = store.collection(PORTFOLIO_DOCS)
            for change in changes:
                doc_id = _id(change.person_id, change.collection, change.key)
                if isinstance(change, DeleteDoc):
                    coll.delete_one({"_id": doc_id}, session=session)
                else:
                    coll.replace_one(
                        {"_id": doc_id}, _doc_document(change), upsert=True, session=session
                    )
            _append(store, person_id, entries, session)

        _transaction(store, "apply portfolio changes", work)

    def get_doc(self, person_id: str, collection: str, key: str) -> PortfolioDoc | None:
        with unavailable_on_driver_errors("get portfolio document"):
            d = self._store.collection(PORTFOLIO_DOCS).find_one(
                {"_id": _id(person_id, collection, key)}
            )
        return None if d is None else _doc(d)

    def list_docs(
        self, person_id: str, collection: str, *, prefix: str = "", limit: int | None = None
    ) -> list[PortfolioDoc]:
        with unavailable_on_driver_errors("list portfolio documents"):
            cursor = (
                self._store.collection(PORTFOLIO_DOCS)
                .find(_filter(person_id, collection, prefix))
                .sort("key", ASCENDING)
            )
            if limit is not None:
                cursor = cursor.limit(limit)
            return [_doc(d) for d in cursor]

    def count_docs(self, person_id: str, collection: str, *, prefix: str = "") -> int:
        with unavailable_on_driver_errors("count portfolio documents"):
            return int(
                self._store.collection(PORTFOLIO_DOCS).count_documents(
                    _filter(person_id, collection, prefix)
                )
            )

    def docs_of(
        self, person_id: str, *, after: tuple[str, str] | None = None, limit: int = 500
    ) -> list[PortfolioDoc]:
        query: Document = {"person_id": person_id}
        if after is not None:
            collection, key = after
            query["$or"] = [
                {"collection": {"$gt": collection}},
                {"collection": collection, "key": {"$gt": key}},
            ]
        with unavailable_on_driver_errors("list portfolio documents"):
            cursor = (
                self._store.collection(PORTFOLIO_DOCS)
                .find(query)
                .sort([("collection", ASCENDING), ("key", ASCENDING)])
                .limit(limit)
            )
            return [_doc(d) for d in cursor]

    def arrive(self, arrival: Arrival) -> None:
        store = self._store
        person = arrival.person

        def work(session: ClientSession | None) -> None:
            # Everything is checked before anything is written, so a refused arrival
            # writes nothing even without a transaction.
            people = store.collection(PEOPLE)
            identities = store.collection(IDENTITIES)
            if arrival.new and people.find_one({"email": person.email}, session=session):
                raise Conflict(f"a person with the email {person.email} exists already")
            for link in arrival.identities:
                if identities.find_one({"_id": link.identity}, session=session):
                    raise Conflict(f"the identity {link.identity} is linked to a portfolio already")
            last = store.collection(RECORD_ENTRIES).find_one(
                {"person_id": person.id},
                sort=[("seq", DESCENDING)],
                projection={"seq": 1},
                session=session,
            )
            if (0 if last is None else int(last["seq"])) != arrival.after_seq:
                raise RecordHeadMoved(person.id)
            if arrival.new:
                people.insert_one(person_document(person), session=session)
            else:
                people.update_one(
                    {"_id": person.id}, {"$set": {"sealed_key": person.sealed_key}}, session=session
                )
                if arrival.end_sessions:
                    sessions = store.collection(SESSIONS)
                    sessions.delete_many({"person_id": person.id}, session=session)
            for link in arrival.identities:
                identities.insert_one(_link_doc(link), session=session)
            for batch in _batches(arrival.entries()):
                _append(store, person.id, batch, session)
            docs = store.collection(PORTFOLIO_DOCS)
            docs.delete_many({"person_id": person.id}, session=session)
            for doc_batch in _batches(arrival.docs()):
                docs.insert_many(
                    [_doc_document(d) for d in doc_batch], ordered=True, session=session
                )

        try:
            _transaction(store, "import a portfolio", work)
        except DuplicateKeyError as exc:  # a concurrent create or link won the race
            raise Conflict("that email, id or identity was just taken") from exc
