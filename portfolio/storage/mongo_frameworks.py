"""The frameworks of the MongoDB store: one document per (uri, version), never updated.

The package is kept as BSON Binary, the exact canonical bytes the domain made, never as a
document: CASE `extensions` may hold any keys, dots and `$` included. Adding is one
`insert_one`, atomic on its own; the unique (uri, version) index refuses a second writer
of the same version. The item uris are an array of values (never keys) with a multikey
index, which answers "which frameworks have this item". Versions are few per framework,
so their order (`version_order`) is applied in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bson.binary import Binary
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from portfolio.errors import Conflict
from portfolio.storage.base import FrameworkRecord, FrameworkSummary, version_order
from portfolio.storage.mongo_connection import QUERY_MAX_TIME_MS, unavailable_on_driver_errors
from portfolio.storage.mongo_connection import Document as MongoDocument
from portfolio.storage.mongo_schema import FRAMEWORKS

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore

# What a summary needs: everything but the package and the item uris.
_SUMMARY_FIELDS = {"_id": False, "uri": True, "version": True, "title": True}
_SUMMARY_FIELDS |= {"item_count": True, "imported": True}


def _summary(doc: MongoDocument) -> FrameworkSummary:
    return FrameworkSummary(
        uri=str(doc["uri"]),
        version=str(doc["version"]),
        title=str(doc["title"]),
        item_count=int(doc["item_count"]),
        imported=str(doc["imported"]),
    )


def _in_order(docs: Iterable[MongoDocument]) -> list[FrameworkSummary]:
    summaries = [_summary(doc) for doc in docs]
    return sorted(summaries, key=lambda s: (s.uri, version_order(s.version), s.imported))


class MongoFrameworkStore:
    """Implements portfolio.storage.base.FrameworkStore."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def _coll(self) -> Collection[MongoDocument]:
        return self._store.collection(FRAMEWORKS)

    def add(self, record: FrameworkRecord) -> None:
        try:
            with unavailable_on_driver_errors("add framework"):
                self._coll().insert_one(
                    {
                        "uri": record.uri,
                        "version": record.version,
                        "title": record.title,
                        "package": Binary(record.package),
                        "digest": record.digest,
                        "item_uris": list(record.item_uris),
                        "item_count": len(record.item_uris),
                        "imported": record.imported,
                    }
                )
        except DuplicateKeyError as exc:
            raise Conflict(
                f"framework {record.uri} version {record.version} is already stored"
            ) from exc

    def get(self, uri: str, version: str | None = None) -> FrameworkRecord | None:
        if version is None:
            versions = self.versions(uri)
            if not versions:
                return None
            version = versions[-1].version
        with unavailable_on_driver_errors("get framework"):
            doc = self._coll().find_one({"uri": uri, "version": version})
        if doc is None:
            return None
        return FrameworkRecord(
            uri=str(doc["uri"]),
            version=str(doc["version"]),
            title=str(doc["title"]),
            # A real server decodes Binary subtype 0 as bytes; mongomock keeps the Binary.
            package=bytes(doc["package"]),
            digest=str(doc["digest"]),
            item_uris=tuple(str(uri) for uri in doc["item_uris"]),
            imported=str(doc["imported"]),
        )

    def _find(self, flt: MongoDocument, action: str) -> list[FrameworkSummary]:
        with unavailable_on_driver_errors(action):
            docs = list(self._coll().find(flt, _SUMMARY_FIELDS).max_time_ms(QUERY_MAX_TIME_MS))
        return _in_order(docs)

    def versions(self, uri: str) -> list[FrameworkSummary]:
        return self._find({"uri": uri}, "list framework versions")

    def containing(self, item_uri: str) -> list[FrameworkSummary]:
        return self._find({"item_uris": item_uri}, "find framework item")

    def list(self) -> list[FrameworkSummary]:
        return self._find({}, "list frameworks")


__all__ = ["MongoFrameworkStore"]
