"""The portfolio's documents in the SQLite store, written with their record entries in
one transaction under the store's write lock."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from portfolio.errors import Conflict
from portfolio.record.entry import SignedEntry
from portfolio.storage.base import Arrival, DeleteDoc, DocChange, PortfolioDoc, RecordHeadMoved
from portfolio.storage.sqlite_people import _ENTRY, SqlitePersonStore, append_entries

if TYPE_CHECKING:
    from portfolio.storage.sqlite import SqliteStore

_COLUMNS = "person_id, collection, key, body, updated"
_BATCH = 1000
T = TypeVar("T")


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, _BATCH)):
        yield batch


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

    def docs_of(
        self, person_id: str, *, after: tuple[str, str] | None = None, limit: int = 500
    ) -> list[PortfolioDoc]:
        collection, key = after if after is not None else ("", "")
        rows = (
            self._store.connection()
            .execute(
                f"SELECT {_COLUMNS} FROM portfolio_docs WHERE person_id = ?"
                " AND (collection, key) > (?, ?) ORDER BY collection, key LIMIT ?",
                (person_id, collection, key, limit),
            )
            .fetchall()
        )
        return [_doc(row) for row in rows]

    def arrive(self, arrival: Arrival) -> None:
        person = arrival.person
        with self._store.write() as con:
            if arrival.new:
                SqlitePersonStore._check_email_free(con, person.email)
                SqlitePersonStore._insert_person(con, person)
            else:
                con.execute(
                    "UPDATE people SET sealed_key = ? WHERE id = ?", (person.sealed_key, person.id)
                )
                if arrival.end_sessions:
                    con.execute("DELETE FROM sessions WHERE person_id = ?", (person.id,))
            for link in arrival.identities:
                SqlitePersonStore._check_free(con, link.identity)
                SqlitePersonStore._insert_link(con, link)
            row = con.execute(
                "SELECT MAX(seq) FROM record_entries WHERE person_id = ?", (person.id,)
            ).fetchone()
            if int(row[0] or 0) != arrival.after_seq:
                raise RecordHeadMoved(person.id)
            expected = arrival.after_seq + 1
            for batch in _batches(arrival.entries()):
                for entry in batch:
                    if entry.person != person.id or entry.seq != expected:
                        raise RecordHeadMoved(person.id)
                    expected += 1
                try:
                    con.executemany(
                        f"INSERT INTO record_entries ({_ENTRY}) VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (e.person, e.seq, e.canonical, e.hash, e.signature, e.statement_id)
                            for e in batch
                        ],
                    )
                except sqlite3.IntegrityError as exc:
                    raise Conflict(f"a statement is witnessed twice in {person.id}") from exc
            con.execute("DELETE FROM portfolio_docs WHERE person_id = ?", (person.id,))
            for docs in _batches(arrival.docs()):
                con.executemany(
                    f"INSERT INTO portfolio_docs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                    [(person.id, d.collection, d.key, d.body, d.updated) for d in docs],
                )
