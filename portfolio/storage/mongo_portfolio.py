"""The portfolio's documents in the MongoDB store: one document each, `_id` made of
(person_id, collection, key), written with their record entries in one transaction."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bson import Binary
from pymongo import ASCENDING
from pymongo.client_session import ClientSession

from portfolio.record.entry import SignedEntry
from portfolio.storage.base import DeleteDoc, DocChange, PortfolioDoc
from portfolio.storage.mongo_connection import Document, unavailable_on_driver_errors
from portfolio.storage.mongo_people import _append, _check_follows, _transaction
from portfolio.storage.mongo_schema import PORTFOLIO_DOCS

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore


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
                        {"_id": doc_id},
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
