"""The frameworks of the SQLite store: one row per (uri, version), and an index of items.

A version and its item index are written in one `store.write()` transaction, and the
primary key refuses a second row for the same (uri, version): adding is atomic, and two
writers racing to add the same version cannot both succeed. Rows are never updated.
Versions are few per framework, so their order (`version_order`) is applied in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

from portfolio.errors import Conflict
from portfolio.storage.base import FrameworkRecord, FrameworkSummary, version_order

if TYPE_CHECKING:
    from portfolio.storage.sqlite import SqliteStore

_SUMMARY = "f.uri, f.version, f.title, f.item_count, f.imported"


def _summary(row: tuple[object, ...]) -> FrameworkSummary:
    return FrameworkSummary(
        uri=str(row[0]),
        version=str(row[1]),
        title=str(row[2]),
        item_count=int(row[3]),  # type: ignore[call-overload]
        imported=str(row[4]),
    )


def _in_order(summaries: Iterable[FrameworkSummary]) -> list[FrameworkSummary]:
    return sorted(summaries, key=lambda s: (s.uri, version_order(s.version), s.imported))


class SqliteFrameworkStore:
    """Implements portfolio.storage.base.FrameworkStore."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def add(self, record: FrameworkRecord) -> None:
        try:
            with self._store.write() as con:
                con.execute(
                    "INSERT INTO frameworks (uri, version, title, package, digest, item_count,"
                    " imported) VALUES (?,?,?,?,?,?,?)",
                    (
                        record.uri,
                        record.version,
                        record.title,
                        record.package,
                        record.digest,
                        len(record.item_uris),
                        record.imported,
                    ),
                )
                con.executemany(
                    "INSERT INTO framework_items (item_uri, framework_uri, version, position)"
                    " VALUES (?,?,?,?)",
                    [
                        (item, record.uri, record.version, position)
                        for position, item in enumerate(record.item_uris)
                    ],
                )
        except sqlite3.IntegrityError as exc:
            raise Conflict(
                f"framework {record.uri} version {record.version} is already stored"
            ) from exc

    def get(self, uri: str, version: str | None = None) -> FrameworkRecord | None:
        if version is None:
            versions = self.versions(uri)
            if not versions:
                return None
            version = versions[-1].version
        con = self._store.connection()
        row = con.execute(
            "SELECT uri, version, title, package, digest, imported FROM frameworks"
            " WHERE uri = ? AND version = ?",
            (uri, version),
        ).fetchone()
        if row is None:
            return None
        items = con.execute(
            "SELECT item_uri FROM framework_items WHERE framework_uri = ? AND version = ?"
            " ORDER BY position",
            (uri, version),
        ).fetchall()
        return FrameworkRecord(
            uri=str(row[0]),
            version=str(row[1]),
            title=str(row[2]),
            package=bytes(row[3]),
            digest=str(row[4]),
            item_uris=tuple(str(item[0]) for item in items),
            imported=str(row[5]),
        )

    def versions(self, uri: str) -> list[FrameworkSummary]:
        rows = self._store.connection().execute(
            f"SELECT {_SUMMARY} FROM frameworks f WHERE f.uri = ?", (uri,)
        )
        return _in_order(_summary(row) for row in rows)

    def containing(self, item_uri: str) -> list[FrameworkSummary]:
        rows = self._store.connection().execute(
            f"SELECT {_SUMMARY} FROM framework_items i JOIN frameworks f"
            " ON f.uri = i.framework_uri AND f.version = i.version WHERE i.item_uri = ?",
            (item_uri,),
        )
        return _in_order(_summary(row) for row in rows)

    def list(self) -> list[FrameworkSummary]:
        rows = self._store.connection().execute(f"SELECT {_SUMMARY} FROM frameworks f")
        return _in_order(_summary(row) for row in rows)


__all__ = ["SqliteFrameworkStore"]
