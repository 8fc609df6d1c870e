"""Sources, provenance and the forwarding outbox in the SQLite store
(portfolio.storage.exchange). Outbox items are written by the statement insert
(sqlite.py, `queue_forwarding`), inside its transaction."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from portfolio.errors import Conflict, NotFound
from portfolio.storage.base import NewStatement
from portfolio.storage.exchange import (
    Checkpoint,
    DestinationRecord,
    DestinationStatus,
    ForwardFilter,
    OutboxItem,
    OutboxState,
    Provenance,
    RemoteLrs,
    SourceRecord,
    SyncRun,
)

if TYPE_CHECKING:
    from portfolio.storage.sqlite import SqliteStore

_CHUNK = 500


def queue_forwarding(con: sqlite3.Connection, statements: Sequence[NewStatement], at: str) -> None:
    """Queue each statement for its destinations, inside the insert's transaction. A
    destination removed since the statement was routed is skipped, not an error."""
    con.executemany(
        "INSERT OR IGNORE INTO outbox (destination, statement_id, state, queued, next_attempt)"
        " SELECT ?, ?, 'pending', ?, ? WHERE EXISTS (SELECT 1 FROM destinations WHERE name = ?)",
        [(name, s.id, at, at, name) for s in statements for name in s.forward_to],
    )


def _remote(row: Any, offset: int) -> RemoteLrs:
    return RemoteLrs(
        endpoint=str(row[offset]),
        username=str(row[offset + 1]),
        sealed_secret=str(row[offset + 2]),
        xapi_version=str(row[offset + 3]),
    )


_SOURCE_COLUMNS = (
    "name, endpoint, username, secret, xapi_version, agents, owner, created, since_field"
)


def _source(row: Any) -> SourceRecord:
    return SourceRecord(
        name=str(row[0]),
        remote=_remote(row, 1),
        agents=tuple(orjson.loads(row[5])),
        owner=None if row[6] is None else str(row[6]),
        created=str(row[7]),
        since_field=str(row[8]),
    )


def _provenance(row: Any) -> Provenance:
    return Provenance(
        statement_id=str(row[0]),
        source=str(row[1]),
        remote_stored=None if row[2] is None else str(row[2]),
        remote_authority=None if row[3] is None else orjson.loads(row[3]),
        fetched=str(row[4]),
    )


class SqliteSourceStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def add(self, source: SourceRecord, *, replace: bool = False) -> None:
        r = source.remote
        values = (
            source.name,
            r.endpoint,
            r.username,
            r.sealed_secret,
            r.xapi_version,
            orjson.dumps(list(source.agents)).decode(),
            source.owner,
            source.created,
            source.since_field,
        )
        with self._store.write() as con:
            if replace:
                con.execute(
                    f"INSERT INTO sources ({_SOURCE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT (name) DO UPDATE SET"
                    " endpoint = excluded.endpoint, username = excluded.username,"
                    " secret = excluded.secret, xapi_version = excluded.xapi_version,"
                    " agents = excluded.agents, owner = excluded.owner,"
                    " since_field = excluded.since_field",
                    values,
                )
                return
            try:
                con.execute(
                    f"INSERT INTO sources ({_SOURCE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", values
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"a source named {source.name!r} already exists") from exc

    def get(self, name: str) -> SourceRecord | None:
        row = (
            self._store.connection()
            .execute(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else _source(row)

    def list(self, *, owner: str | None = None) -> list[SourceRecord]:
        con = self._store.connection()
        if owner is None:
            rows = con.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY name")
        else:
            rows = con.execute(
                f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE owner = ? ORDER BY name", (owner,)
            )
        return [_source(row) for row in rows]

    def remove(self, name: str) -> bool:
        with self._store.write() as con:
            return con.execute("DELETE FROM sources WHERE name = ?", (name,)).rowcount > 0

    def checkpoint(self, name: str, stream: str) -> Checkpoint:
        row = (
            self._store.connection()
            .execute(
                "SELECT since, last_stored, last_id FROM source_checkpoints"
                " WHERE source = ? AND stream = ?",
                (name, stream),
            )
            .fetchone()
        )
        return Checkpoint() if row is None else Checkpoint(*row)

    def page_done(
        self,
        name: str,
        stream: str,
        checkpoint: Checkpoint,
        provenance: Sequence[Provenance],
    ) -> None:
        with self._store.write() as con:
            if con.execute("SELECT 1 FROM sources WHERE name = ?", (name,)).fetchone() is None:
                raise NotFound(f"no source named {name!r}")  # removed while it ran
            con.execute(
                "INSERT INTO source_checkpoints (source, stream, since, last_stored, last_id)"
                " VALUES (?,?,?,?,?) ON CONFLICT (source, stream) DO UPDATE SET"
                " since = excluded.since, last_stored = excluded.last_stored,"
                " last_id = excluded.last_id",
                (name, stream, checkpoint.since, checkpoint.last_stored, checkpoint.last_id),
            )
            con.executemany(
                "INSERT OR IGNORE INTO provenance (statement_id, source, remote_stored,"
                " remote_authority, fetched) VALUES (?,?,?,?,?)",
                [
                    (
                        p.statement_id,
                        p.source,
                        p.remote_stored,
                        None
                        if p.remote_authority is None
                        else orjson.dumps(p.remote_authority).decode(),
                        p.fetched,
                    )
                    for p in provenance
                ],
            )

    def provenance(self, statement_ids: Sequence[str]) -> dict[str, builtins.list[Provenance]]:
        con = self._store.connection()
        found: dict[str, builtins.list[Provenance]] = {}
        ids = list(statement_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in con.execute(
                "SELECT statement_id, source, remote_stored, remote_authority, fetched"
                f" FROM provenance WHERE statement_id IN ({marks}) ORDER BY fetched, source",
                chunk,
            ):
                p = _provenance(row)
                found.setdefault(p.statement_id, []).append(p)
        return found

    def save_run(self, name: str, run: SyncRun) -> None:
        with self._store.write() as con:
            con.execute(
                "UPDATE sources SET last_run = ? WHERE name = ?",
                (orjson.dumps(run.to_json()).decode(), name),
            )

    def last_run(self, name: str) -> SyncRun | None:
        row = (
            self._store.connection()
            .execute("SELECT last_run FROM sources WHERE name = ?", (name,))
            .fetchone()
        )
        if row is None or row[0] is None:
            return None
        return SyncRun(**orjson.loads(row[0]))


_DESTINATION_COLUMNS = (
    "name, endpoint, username, secret, xapi_version, filter, batch_size, max_attempts, created"
)
_ITEM_COLUMNS = "destination, statement_id, state, attempts, queued, next_attempt, last_error, sent"


def _destination(row: Any) -> DestinationRecord:
    f = orjson.loads(row[5])
    return DestinationRecord(
        name=str(row[0]),
        remote=_remote(row, 1),
        filter=ForwardFilter.from_json(f),
        batch_size=int(row[6]),
        max_attempts=int(row[7]),
        created=str(row[8]),
    )


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        destination=str(row[0]),
        statement_id=str(row[1]),
        state=OutboxState(row[2]),
        attempts=int(row[3]),
        queued=str(row[4]),
        next_attempt=str(row[5]),
        last_error=row[6],
        sent=row[7],
    )


class SqliteOutboxStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def add_destination(self, destination: DestinationRecord, *, replace: bool = False) -> None:
        r = destination.remote
        values = (
            destination.name,
            r.endpoint,
            r.username,
            r.sealed_secret,
            r.xapi_version,
            orjson.dumps(destination.filter.to_json()).decode(),
            destination.batch_size,
            destination.max_attempts,
            destination.created,
        )
        conflict = (
            " ON CONFLICT (name) DO UPDATE SET endpoint = excluded.endpoint,"
            " username = excluded.username, secret = excluded.secret,"
            " xapi_version = excluded.xapi_version, filter = excluded.filter,"
            " batch_size = excluded.batch_size, max_attempts = excluded.max_attempts"
            if replace
            else ""
        )
        with self._store.write() as con:
            try:
                con.execute(
                    f"INSERT INTO destinations ({_DESTINATION_COLUMNS})"
                    f" VALUES (?,?,?,?,?,?,?,?,?){conflict}",
                    values,
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"a destination named {destination.name!r} already exists") from exc

    def get_destination(self, name: str) -> DestinationRecord | None:
        row = (
            self._store.connection()
            .execute(f"SELECT {_DESTINATION_COLUMNS} FROM destinations WHERE name = ?", (name,))
            .fetchone()
        )
        return None if row is None else _destination(row)

    def destinations(self) -> list[DestinationRecord]:
        rows = self._store.connection().execute(
            f"SELECT {_DESTINATION_COLUMNS} FROM destinations ORDER BY name"
        )
        return [_destination(row) for row in rows]

    def remove_destination(self, name: str) -> bool:
        with self._store.write() as con:
            con.execute("DELETE FROM outbox WHERE destination = ?", (name,))
            return con.execute("DELETE FROM destinations WHERE name = ?", (name,)).rowcount > 0

    def enqueue(self, destination: str, statement_ids: Sequence[str], *, at: str) -> int:
        with self._store.write() as con:
            before = con.total_changes
            con.executemany(
                "INSERT OR IGNORE INTO outbox (destination, statement_id, state, queued,"
                " next_attempt) SELECT ?, ?, 'pending', ?, ?"
                " WHERE EXISTS (SELECT 1 FROM destinations WHERE name = ?)",
                [(destination, i, at, at, destination) for i in statement_ids],
            )
            return con.total_changes - before

    def due(self, destination: str, *, now: str, limit: int) -> list[OutboxItem]:
        rows = self._store.connection().execute(
            f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE destination = ? AND state = 'pending'"
            " AND next_attempt <= ? ORDER BY position LIMIT ?",
            (destination, now, limit),
        )
        return [_item(row) for row in rows]

    def mark_sent(self, destination: str, statement_ids: Sequence[str], *, at: str) -> None:
        with self._store.write() as con:
            con.executemany(
                "UPDATE outbox SET state = 'sent', sent = ?, last_attempt = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE destination = ?"
                " AND statement_id = ? AND state = 'pending'",
                [(at, at, destination, i) for i in statement_ids],
            )

    def mark_failed(
        self,
        destination: str,
        statement_ids: Sequence[str],
        *,
        at: str,
        error: str,
        retry_at: str,
        max_attempts: int,
    ) -> int:
        with self._store.write() as con:
            before = con.total_changes
            con.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_attempt = ?,"
                " state = 'dead' WHERE destination = ? AND statement_id = ?"
                " AND state = 'pending' AND attempts + 1 >= ?",
                [(error, at, destination, i, max_attempts) for i in statement_ids],
            )
            dead = con.total_changes - before
            con.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, last_attempt = ?,"
                " next_attempt = ? WHERE destination = ? AND statement_id = ?"
                " AND state = 'pending'",
                [(error, at, retry_at, destination, i) for i in statement_ids],
            )
            return dead

    def requeue(
        self, destination: str, statement_ids: Sequence[str] | None = None, *, at: str
    ) -> int:
        with self._store.write() as con:
            if statement_ids is None:
                return con.execute(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ?"
                    " WHERE destination = ? AND state = 'dead'",
                    (at, destination),
                ).rowcount
            before = con.total_changes
            con.executemany(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ?"
                " WHERE destination = ? AND statement_id = ? AND state = 'dead'",
                [(at, destination, i) for i in statement_ids],
            )
            return con.total_changes - before

    def items(self, destination: str, state: OutboxState, *, limit: int = 100) -> list[OutboxItem]:
        rows = self._store.connection().execute(
            f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE destination = ? AND state = ?"
            " ORDER BY position LIMIT ?",
            (destination, state.value, limit),
        )
        return [_item(row) for row in rows]

    def item_states(self, statement_ids: Sequence[str]) -> dict[str, dict[str, OutboxState]]:
        # By destination then statement: the (destination, statement_id) key serves it, so
        # no index by statement is needed, and there are few destinations.
        con = self._store.connection()
        found: dict[str, dict[str, OutboxState]] = {}
        ids = list(dict.fromkeys(statement_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for destination, statement_id, state in con.execute(
                "SELECT destination, statement_id, state FROM outbox"
                " WHERE destination IN (SELECT name FROM destinations)"
                f" AND statement_id IN ({marks})",
                chunk,
            ):
                found.setdefault(str(statement_id), {})[str(destination)] = OutboxState(state)
        return found

    def voiding_items(
        self, destination: str, statement_ids: Sequence[str]
    ) -> dict[str, list[OutboxItem]]:
        # CROSS JOIN keeps the voiding statements (statements_by_voids) as the outer loop,
        # rather than a walk of the destination's whole outbox.
        con = self._store.connection()
        columns = ", ".join(f"o.{c.strip()}" for c in _ITEM_COLUMNS.split(","))
        found: dict[str, list[OutboxItem]] = {}
        ids = list(dict.fromkeys(statement_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in con.execute(
                f"SELECT s.voids, {columns} FROM statements AS s CROSS JOIN outbox AS o"
                f" WHERE s.voids IN ({marks}) AND o.destination = ? AND o.statement_id = s.id"
                " ORDER BY o.position",
                [*chunk, destination],
            ):
                found.setdefault(str(row[0]), []).append(_item(row[1:]))
        return found

    def status(self) -> list[DestinationStatus]:
        con = self._store.connection()
        statuses = []
        for (name,) in con.execute("SELECT name FROM destinations ORDER BY name").fetchall():
            counts = dict(
                con.execute(
                    "SELECT state, count(*) FROM outbox WHERE destination = ? GROUP BY state",
                    (name,),
                ).fetchall()
            )
            next_attempt = con.execute(
                "SELECT min(next_attempt) FROM outbox WHERE destination = ? AND state = 'pending'",
                (name,),
            ).fetchone()[0]
            last_error = con.execute(
                "SELECT last_error FROM outbox WHERE destination = ? AND last_error IS NOT NULL"
                " ORDER BY last_attempt DESC LIMIT 1",
                (name,),
            ).fetchone()
            last_sent = con.execute(
                "SELECT max(sent) FROM outbox WHERE destination = ? AND state = 'sent'", (name,)
            ).fetchone()[0]
            statuses.append(
                DestinationStatus(
                    name=str(name),
                    pending=int(counts.get("pending", 0)),
                    sent=int(counts.get("sent", 0)),
                    dead=int(counts.get("dead", 0)),
                    next_attempt=next_attempt,
                    last_error=None if last_error is None else str(last_error[0]),
                    last_sent=last_sent,
                )
            )
        return statuses
