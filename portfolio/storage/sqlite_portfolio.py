"""The portfolio's documents in the SQLite store, written with their record entries in
one transaction under the store's write lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from portfolio.record.entry import SignedEntry
from portfolio.storage.base import DeleteDoc, DocChange, PortfolioDoc
from portfolio.storage.sqlite_people import append_entries

if TYPE_CHECKING:
    from portfolio.storage.sqlite import SqliteStore

_COLUMNS = "person_id, collection, key, body, updated"


def _doc(row: tuple[Any, ...]) -> PortfolioDoc:
    return PortfolioDoc(
        person_id=str(row[0]),
        collection=str(row[1]),
        key=str(row[2]),
        body=bytes(row[3]),
        updated=str(row[4]),
    )


def _prefix_bounds(prefix: str) -> tuple[str, str]:
    # Keys in [prefix, prefix + U+10FFFF): an index range, unlike LIKE with its escapes.
    return prefix, prefix + "\U0010ffff"


class SqlitePortfolioStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def apply(
        self, person_id: str, entries: Sequence[SignedEntry], changes: Sequence[DocChange]
    ) -> None:
        with self._store.write() as con:
            append_entries(con, person_id, entries)
            for change in changes:
                if isinstance(change, DeleteDoc):
                    con.execute(
                        "DELETE FROM portfolio_docs WHERE person_id = ? AND collection = ?"
                        " AND key = ?",
                        (change.person_id, change.collection, change.key),
                    )
                else:
                    con.execute(
                        f"INSERT INTO portfolio_docs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (person_id, collection, key) DO UPDATE SET"
                        " body = excluded.body, updated = excluded.updated",
                        (
                            change.person_id,
                            change.collection,
                            change.key,
                            change.body,
                            change.updated,
                        ),
                    )

    def get_doc(self, person_id: str, collection: str, key: str) -> PortfolioDoc | None:
        row = (
            self._store.connection()
            .execute(
                f"SELECT {_COLUMNS} FROM portfolio_docs"
                " WHERE person_id = ? AND collection = ? AND key = ?",
                (person_id, collection, key),
            )
            .fetchone()
        )
        return None if row is None else _doc(row)

    def list_docs(
        self, person_id: str, collection: str, *, prefix: str = "", limit: int | None = None
    ) -> list[PortfolioDoc]:
        low, high = _prefix_bounds(prefix)
        rows = (
            self._store.connection()
            .execute(
                f"SELECT {_COLUMNS} FROM portfolio_docs WHERE person_id = ? AND collection = ?"
                " AND key >= ? AND key < ? ORDER BY key LIMIT ?",
                (person_id, collection, low, high, -1 if limit is None else limit),
            )
            .fetchall()
        )
        return [_doc(row) for row in rows]

    def count_docs(self, person_id: str, collection: str, *, prefix: str = "") -> int:
        low, high = _prefix_bounds(prefix)
        row = (
            self._store.connection()
            .execute(
                "SELECT COUNT(*) FROM portfolio_docs WHERE person_id = ? AND collection = ?"
                " AND key >= ? AND key < ?",
                (person_id, collection, low, high),
            )
            .fetchone()
        )
        return int(row[0])
