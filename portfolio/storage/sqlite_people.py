"""People, identities, sessions and signed records in the SQLite store.

Every write that changes a person appends its record entries in the same `store.write()`
transaction, which holds the database's single write lock: the head checked is the head
written after, and the change and its entries land together or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from portfolio.errors import Conflict, NotFound
from portfolio.record.entry import SignedEntry
from portfolio.storage.base import (
    Challenge,
    IdentityLink,
    InstanceKeyRecord,
    PersonRecord,
    RecordHeadMoved,
    SessionRecord,
)

if TYPE_CHECKING:
    from portfolio.storage.sqlite import SqliteStore

_PERSON = "id, name, email, created, sealed_key"
_SESSION = "id, secret_hash, person_id, kind, name, created, expires, sealed_key"
_ENTRY = "person_id, seq, canonical, hash, signature, statement_id"


def append_entries(con: sqlite3.Connection, person_id: str, entries: Sequence[SignedEntry]) -> None:
    """Append inside the caller's write transaction; raises RecordHeadMoved or Conflict."""
    if not entries:
        return
    # A record belongs to a stored person: witnessing under way when they were erased
    # must not write their entries back.
    if con.execute("SELECT 1 FROM people WHERE id = ?", (person_id,)).fetchone() is None:
        raise NotFound(f"no portfolio {person_id} (erased?)")
    row = con.execute(
        "SELECT MAX(seq) FROM record_entries WHERE person_id = ?", (person_id,)
    ).fetchone()
    head = int(row[0] or 0)
    for offset, entry in enumerate(entries):
        if entry.person != person_id or entry.seq != head + 1 + offset:
            raise RecordHeadMoved(person_id)
    try:
        con.executemany(
            f"INSERT INTO record_entries ({_ENTRY}) VALUES (?, ?, ?, ?, ?, ?)",
            [(e.person, e.seq, e.canonical, e.hash, e.signature, e.statement_id) for e in entries],
        )
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"a statement is already witnessed in the record of {person_id}") from exc


def _entry(row: tuple[Any, ...]) -> SignedEntry:
    return SignedEntry(
        person=str(row[0]),
        seq=int(row[1]),
        canonical=bytes(row[2]),
        hash=str(row[3]),
        signature=str(row[4]),
        statement_id=None if row[5] is None else str(row[5]),
    )


def _person(row: tuple[object, ...]) -> PersonRecord:
    return PersonRecord(*(str(v) for v in row))


def _session(row: tuple[object, ...]) -> SessionRecord:
    return SessionRecord(
        id=str(row[0]),
        secret_hash=str(row[1]),
        person_id=str(row[2]),
        kind=str(row[3]),
        name=str(row[4]),
        created=str(row[5]),
        expires=None if row[6] is None else str(row[6]),
        sealed_key=str(row[7]),
    )


class SqlitePersonStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def create(
        self, person: PersonRecord, *, identity: IdentityLink, entries: Sequence[SignedEntry]
    ) -> None:
        with self._store.write() as con:
            self._check_email_free(con, person.email)
            self._check_free(con, identity.identity)
            self._insert_person(con, person)
            self._insert_link(con, identity)
            append_entries(con, person.id, entries)

    @staticmethod
    def _check_email_free(con: sqlite3.Connection, email: str) -> None:
        if con.execute("SELECT 1 FROM people WHERE email = ?", (email,)).fetchone():
            raise Conflict(f"a person with the email {email} exists already")

    @staticmethod
    def _insert_person(con: sqlite3.Connection, person: PersonRecord) -> None:
        try:
            con.execute(
                f"INSERT INTO people ({_PERSON}) VALUES (?, ?, ?, ?, ?)",
                (person.id, person.name, person.email, person.created, person.sealed_key),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"a person with the id {person.id} exists already") from exc

    @staticmethod
    def _check_free(con: sqlite3.Connection, identity: str) -> None:
        if con.execute("SELECT 1 FROM identities WHERE identity = ?", (identity,)).fetchone():
            raise Conflict(f"the identity {identity} is linked to a portfolio already")

    @staticmethod
    def _insert_link(con: sqlite3.Connection, link: IdentityLink) -> None:
        con.execute(
            "INSERT INTO identities (identity, person_id, linked, proof) VALUES (?, ?, ?, ?)",
            (link.identity, link.person_id, link.linked, link.proof),
        )

    def get(self, person_id: str) -> PersonRecord | None:
        row = (
            self._store.connection()
            .execute(f"SELECT {_PERSON} FROM people WHERE id = ?", (person_id,))
            .fetchone()
        )
        return None if row is None else _person(row)

    def by_email(self, email: str) -> PersonRecord | None:
        row = (
            self._store.connection()
            .execute(f"SELECT {_PERSON} FROM people WHERE email = ?", (email,))
            .fetchone()
        )
        return None if row is None else _person(row)

    def identities(self, person_id: str) -> list[IdentityLink]:
        rows = (
            self._store.connection()
            .execute(
                "SELECT identity, person_id, linked, proof FROM identities"
                " WHERE person_id = ? ORDER BY linked, identity",
                (person_id,),
            )
            .fetchall()
        )
        return [IdentityLink(*(str(v) for v in row)) for row in rows]

    def owners(self, identities: Sequence[str]) -> dict[str, str]:
        if not identities:
            return {}
        marks = ", ".join("?" * len(identities))
        rows = (
            self._store.connection()
            .execute(
                f"SELECT identity, person_id FROM identities WHERE identity IN ({marks})",
                list(identities),
            )
            .fetchall()
        )
        return {str(identity): str(person) for identity, person in rows}

    def link(self, link: IdentityLink, *, entries: Sequence[SignedEntry]) -> None:
        with self._store.write() as con:
            self._check_free(con, link.identity)
            self._insert_link(con, link)
            append_entries(con, link.person_id, entries)

    def set_sealed_key(
        self, person_id: str, sealed_key: str, *, entries: Sequence[SignedEntry]
    ) -> None:
        with self._store.write() as con:
            con.execute("UPDATE people SET sealed_key = ? WHERE id = ?", (sealed_key, person_id))
            con.execute("DELETE FROM sessions WHERE person_id = ?", (person_id,))
            append_entries(con, person_id, entries)

    def add_challenge(self, challenge: Challenge) -> None:
        with self._store.write() as con:
            con.execute(
                "INSERT INTO challenges (id, person_id, identity, code_hash, created, expires,"
                " attempts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    challenge.id,
                    challenge.person_id,
                    challenge.identity,
                    challenge.code_hash,
                    challenge.created,
                    challenge.expires,
                    challenge.attempts,
                ),
            )

    def get_challenge(self, challenge_id: str) -> Challenge | None:
        row = (
            self._store.connection()
            .execute(
                "SELECT id, person_id, identity, code_hash, created, expires, attempts"
                " FROM challenges WHERE id = ?",
                (challenge_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return Challenge(
            id=str(row[0]),
            person_id=str(row[1]),
            identity=str(row[2]),
            code_hash=str(row[3]),
            created=str(row[4]),
            expires=str(row[5]),
            attempts=int(row[6]),
        )

    def count_attempt(self, challenge_id: str) -> int:
        with self._store.write() as con:
            con.execute(
                "UPDATE challenges SET attempts = attempts + 1 WHERE id = ?", (challenge_id,)
            )
            row = con.execute(
                "SELECT attempts FROM challenges WHERE id = ?", (challenge_id,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def delete_challenge(self, challenge_id: str) -> bool:
        with self._store.write() as con:
            cursor = con.execute("DELETE FROM challenges WHERE id = ?", (challenge_id,))
        return cursor.rowcount == 1

    def add_session(self, session: SessionRecord) -> None:
        with self._store.write() as con:
            con.execute(
                f"INSERT INTO sessions ({_SESSION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.secret_hash,
                    session.person_id,
                    session.kind,
                    session.name,
                    session.created,
                    session.expires,
                    session.sealed_key,
                ),
            )

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = (
            self._store.connection()
            .execute(f"SELECT {_SESSION} FROM sessions WHERE id = ?", (session_id,))
            .fetchone()
        )
        return None if row is None else _session(row)

    def sessions(self, person_id: str) -> list[SessionRecord]:
        rows = (
            self._store.connection()
            .execute(
                f"SELECT {_SESSION} FROM sessions WHERE person_id = ? ORDER BY created, id",
                (person_id,),
            )
            .fetchall()
        )
        return [_session(row) for row in rows]

    def delete_session(self, session_id: str) -> bool:
        with self._store.write() as con:
            cursor = con.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        return cursor.rowcount == 1

    def list(self) -> list[PersonRecord]:
        rows = (
            self._store.connection()
            .execute(f"SELECT {_PERSON} FROM people ORDER BY created, id")
            .fetchall()
        )
        return [_person(row) for row in rows]


class SqliteRecordStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def append(self, person_id: str, entries: Sequence[SignedEntry]) -> None:
        with self._store.write() as con:
            append_entries(con, person_id, entries)

    def head(self, person_id: str) -> SignedEntry | None:
        row = (
            self._store.connection()
            .execute(
                f"SELECT {_ENTRY} FROM record_entries WHERE person_id = ?"
                " ORDER BY seq DESC LIMIT 1",
                (person_id,),
            )
            .fetchone()
        )
        return None if row is None else _entry(row)

    def entries(
        self, person_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[SignedEntry]:
        rows = (
            self._store.connection()
            .execute(
                f"SELECT {_ENTRY} FROM record_entries WHERE person_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (person_id, after, -1 if limit is None else limit),
            )
            .fetchall()
        )
        return [_entry(row) for row in rows]

    def witnessed(self, person_id: str, statement_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        con = self._store.connection()
        for start in range(0, len(statement_ids), 500):
            chunk = list(statement_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            rows = con.execute(
                "SELECT statement_id FROM record_entries WHERE person_id = ?"
                f" AND statement_id IN ({marks})",
                [person_id, *chunk],
            ).fetchall()
            found.update(str(row[0]) for row in rows)
        return found

    def witnesses(self, statement_id: str) -> list[str]:
        rows = (
            self._store.connection()
            .execute(
                "SELECT person_id FROM record_entries WHERE statement_id = ? ORDER BY person_id",
                (statement_id,),
            )
            .fetchall()
        )
        return [str(row[0]) for row in rows]

    def instance_keys(self) -> list[InstanceKeyRecord]:
        rows = (
            self._store.connection()
            .execute("SELECT id, public, sealed, created FROM instance_keys ORDER BY created, id")
            .fetchall()
        )
        return [InstanceKeyRecord(*(str(v) for v in row)) for row in rows]

    def add_instance_key(self, key: InstanceKeyRecord) -> None:
        try:
            with self._store.write() as con:
                con.execute(
                    "INSERT INTO instance_keys (id, public, sealed, created) VALUES (?, ?, ?, ?)",
                    (key.id, key.public, key.sealed, key.created),
                )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"the instance key {key.id} exists already") from exc
