"""The LRS clients of the MongoDB store: one document per client, `_id` = its key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from portfolio.errors import Conflict
from portfolio.storage.base import ClientRecord
from portfolio.storage.mongo_connection import Document, unavailable_on_driver_errors
from portfolio.storage.mongo_schema import CLIENTS

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore


class MongoClientStore:
    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def _coll(self) -> Collection[Document]:
        return self._store.collection(CLIENTS)

    def add(self, client: ClientRecord) -> None:
        """Store a new client; raises portfolio.errors.Conflict if the key exists."""
        try:
            with unavailable_on_driver_errors("add client"):
                self._coll().insert_one(
                    {
                        "_id": client.key,
                        "name": client.name,
                        "scopes": list(client.scopes),
                        "secret_hash": client.secret_hash,
                        "created": client.created,
                        "revoked": client.revoked,
                    }
                )
        except DuplicateKeyError as exc:
            raise Conflict(f"a client with key {client.key!r} already exists") from exc

    def get(self, key: str) -> ClientRecord | None:
        with unavailable_on_driver_errors("get client"):
            doc = self._coll().find_one({"_id": key})
        return None if doc is None else _client(doc)

    def list(self) -> list[ClientRecord]:
        """Every client, revoked ones included, oldest first (ties by key)."""
        with unavailable_on_driver_errors("list clients"):
            docs = list(self._coll().find().sort([("created", 1), ("_id", 1)]))
        return [_client(doc) for doc in docs]

    def revoke(self, key: str, *, at: str) -> bool:
        """Mark a live client revoked; False when there is none with that key."""
        with unavailable_on_driver_errors("revoke client"):
            # `revoked: None` matches null and absent alike: only a live client changes.
            result = self._coll().update_one(
                {"_id": key, "revoked": None}, {"$set": {"revoked": at}}
            )
        return result.modified_count == 1


def _client(doc: Document) -> ClientRecord:
    return ClientRecord(
        key=str(doc["_id"]),
        name=str(doc["name"]),
        scopes=tuple(str(s) for s in doc["scopes"]),
        secret_hash=str(doc["secret_hash"]),
        created=str(doc["created"]),
        revoked=None if doc.get("revoked") is None else str(doc["revoked"]),
    )
