"""The documents of the SQLite store (State, Activity Profile, Agent Profile).

A compare-and-set write reads the stored ETag and writes inside one `store.write()`
transaction, which holds the database's single write lock (an flock across processes):
no other writer can come between the check and the write.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from portfolio.storage.base import (
    Document,
    DocumentChanged,
    DocumentEntry,
    DocumentKey,
    DocumentScope,
    Expect,
)

if TYPE_CHECKING:
    from portfolio.storage.sqlite import SqliteStore

_KEY_WHERE = "kind = ? AND activity_id = ? AND agent = ? AND registration = ? AND document_id = ?"
_COLUMNS = "content, content_type, etag, updated"


def _key_params(key: DocumentKey) -> tuple[str, str, str, str, str]:
    # '' for what a kind of document does not have (see migration 2).
    return (
        key.kind.value,
        key.activity_id or "",
        key.agent or "",
        key.registration or "",
        key.document_id,
    )


def _scope_where(scope: DocumentScope) -> tuple[str, list[str]]:
    where = "kind = ? AND activity_id = ? AND agent = ?"
    params = [scope.kind.value, scope.activity_id or "", scope.agent or ""]
    if scope.registration is not None:
        where += " AND registration = ?"
        params.append(scope.registration)
    return where, params


def _check(key: DocumentKey, expected: str | Expect, stored_etag: str | None) -> None:
    """Raise DocumentChanged unless the stored ETag (None: no document) is as expected."""
    if expected is Expect.ANY:
        return
    if expected is Expect.ABSENT:
        if stored_etag is not None:
            raise DocumentChanged(key)
        return
    if stored_etag != expected:
        raise DocumentChanged(key)


class SqliteDocumentStore:
    """Implements portfolio.storage.base.DocumentStore."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def get(self, key: DocumentKey) -> Document | None:
        row = (
            self._store.connection()
            .execute(f"SELECT {_COLUMNS} FROM documents WHERE {_KEY_WHERE}", _key_params(key))
            .fetchone()
        )
        if row is None:
            return None
        return Document(
            key=key,
            content=bytes(row[0]),
            content_type=str(row[1]),
            etag=str(row[2]),
            updated=str(row[3]),
        )

    def put(self, document: Document, *, expected: str | Expect) -> None:
        key = document.key
        with self._store.write() as con:
            _check(key, expected, _stored_etag(con, key))
            con.execute(
                "INSERT INTO documents (kind, activity_id, agent, registration, document_id,"
                f" {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (kind, activity_id, agent, registration, document_id) DO UPDATE"
                " SET content = excluded.content, content_type = excluded.content_type,"
                " etag = excluded.etag, updated = excluded.updated",
                (
                    *_key_params(key),
                    document.content,
                    document.content_type,
                    document.etag,
                    document.updated,
                ),
            )

    def delete(self, key: DocumentKey, *, expected: str | Expect) -> bool:
        if expected is Expect.ABSENT:
            raise ValueError("a delete cannot expect the document to be absent")
        with self._store.write() as con:
            stored = _stored_etag(con, key)
            if stored is None and expected is not Expect.ANY:
                raise DocumentChanged(key)
            _check(key, expected, stored)
            cursor = con.execute(f"DELETE FROM documents WHERE {_KEY_WHERE}", _key_params(key))
            return cursor.rowcount == 1

    def list(self, scope: DocumentScope, *, since: str | None = None) -> list[DocumentEntry]:
        where, params = _scope_where(scope)
        if since is not None:
            where += " AND updated > ?"
            params.append(since)
        rows = (
            self._store.connection()
            .execute(
                f"SELECT document_id, updated FROM documents WHERE {where}"
                " ORDER BY document_id, registration",
                params,
            )
            .fetchall()
        )
        return [DocumentEntry(document_id=str(row[0]), updated=str(row[1])) for row in rows]

    def delete_all(self, scope: DocumentScope) -> int:
        where, params = _scope_where(scope)
        with self._store.write() as con:
            return con.execute(f"DELETE FROM documents WHERE {where}", params).rowcount


def _stored_etag(con: sqlite3.Connection, key: DocumentKey) -> str | None:
    row = con.execute(f"SELECT etag FROM documents WHERE {_KEY_WHERE}", _key_params(key)).fetchone()
    return None if row is None else str(row[0])


__all__ = ["SqliteDocumentStore"]
