"""Erasure and retention in the SQLite store (portfolio.storage.base.ErasureStore).

An erasure is one `store.write()` transaction, under the database's single write lock:
the scope is checked again inside it, so a statement stored meanwhile cannot escape, and
either everything goes or nothing does.

Deleted bytes must not linger in the files. Three things see to it:
- `PRAGMA secure_delete=ON` while deleting: SQLite overwrites deleted cells, and pages it
  frees, with zeros, instead of leaving them in free space;
- then `VACUUM`: secure_delete cannot reach copies of a key that an index's interior
  pages keep as dividers (an e-mail in `people`'s unique index, an identity in
  `statement_agents`), which stay after the row itself is gone. VACUUM rebuilds every
  b-tree from the live rows and rewrites the whole file through the WAL;
- then `PRAGMA wal_checkpoint(TRUNCATE)`: the WAL held every page written before and
  during the erasure; the checkpoint copies what is live into the database and empties
  the WAL file.
VACUUM holds the write lock for as long as copying the database takes (about a second
per few hundred MB here); an erasure is rare, and a retention run deletes in batches first.

Big id lists are passed as one JSON array and read with `json_each`, which SQLite turns
into an index of its own: one statement, however many ids, and no limit on parameters.
Statements are found through `statement_agents` (one seek per identity), the `voids`
index and the witness index of `record_entries`. `statement_agents` and
`statement_activities` are keyed by (key, seq), so deleting a statement's rows by seq reads
the whole table once per transaction; nor has `documents` an index by agent, nor anything
an index of which statement declares which attachment, nor `provenance` one by source,
and the destinations' filters are JSON: an erasure reads those once. Outbox items are
deleted by (destination, statement), the outbox's key.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import orjson

from portfolio.errors import NotFound
from portfolio.storage.base import (
    DeleteDoc,
    DocChange,
    DocumentKind,
    ErasureCounts,
    ErasureScope,
    ErasureScopeChanged,
    PortfolioDoc,
    RecordChange,
    RetentionCounts,
    attachment_hashes,
)
from portfolio.storage.exchange import SourceAgentsChange
from portfolio.storage.sqlite_people import append_entries

if TYPE_CHECKING:
    from portfolio.storage.sqlite import SqliteStore

log = logging.getLogger(__name__)

# Statements deleted per retention transaction: each one reads the index tables once.
RETENTION_BATCH = 20_000
# How long a truncating checkpoint waits for readers of older snapshots to finish.
_CHECKPOINT_ATTEMPTS = 50
_CHECKPOINT_PAUSE = 0.02
_IN = "IN (SELECT value FROM json_each(?))"
_AGENT_DOCUMENTS = (DocumentKind.STATE.value, DocumentKind.AGENT_PROFILE.value)
_ATTACHMENTS_KEY = b'"attachments"'
# A witnessed statement, or a voiding statement whose target a record witnesses, is kept.
_RETAINABLE = (
    "SELECT s.seq, s.id, s.body FROM statements s"
    " WHERE s.stored < ? AND s.seq > ?"
    " AND NOT EXISTS (SELECT 1 FROM record_entries r WHERE r.statement_id = s.id)"
    " AND NOT (s.voids IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM record_entries r WHERE r.statement_id = s.voids))"
    " ORDER BY s.seq LIMIT ?"
)


def _json(values: Iterable[object]) -> str:
    return orjson.dumps(list(values)).decode()


@contextlib.contextmanager
def _secure_delete(con: sqlite3.Connection) -> Iterator[None]:
    """Zero what is deleted on this connection meanwhile (see the module docstring)."""
    previous = int(con.execute("PRAGMA secure_delete").fetchone()[0])
    con.execute("PRAGMA secure_delete=ON").fetchall()
    try:
        yield
    finally:
        con.execute(f"PRAGMA secure_delete={previous}").fetchall()


def _scope(con: sqlite3.Connection, person_id: str, identities: Sequence[str]) -> ErasureScope:
    witnessed = [
        str(row[0])
        for row in con.execute(
            "SELECT statement_id FROM record_entries"
            " WHERE person_id = ? AND statement_id IS NOT NULL",
            (person_id,),
        )
    ]
    found = {
        str(row[0])
        for row in con.execute(f"SELECT id FROM statements WHERE id {_IN}", (_json(witnessed),))
    }
    # statement_agents holds direct and related agents alike: one seek per identity.
    found.update(
        str(row[0])
        for row in con.execute(
            f"SELECT s.id FROM statement_agents a JOIN statements s ON s.seq = a.seq"
            f" WHERE a.agent {_IN}",
            (_json(identities),),
        )
    )
    # A voiding statement names its target's id; the target going, it goes too.
    found.update(
        str(row[0])
        for row in con.execute(f"SELECT id FROM statements WHERE voids {_IN}", (_json(found),))
    )
    witnesses: dict[str, set[str]] = {}
    for other, statement in con.execute(
        f"SELECT person_id, statement_id FROM record_entries WHERE statement_id {_IN}"
        " AND person_id != ?",
        (_json(sorted(found)), person_id),
    ):
        witnesses.setdefault(str(other), set()).add(str(statement))
    return ErasureScope(
        person_id=person_id,
        identities=frozenset(identities),
        statements=frozenset(found),
        witnesses={other: frozenset(ids) for other, ids in witnesses.items()},
    )


def _apply(con: sqlite3.Connection, changes: Sequence[DocChange]) -> int:
    """Make document changes (as PortfolioStore.apply does); return how many happened."""
    done = 0
    for change in changes:
        if isinstance(change, DeleteDoc):
            done += con.execute(
                "DELETE FROM portfolio_docs WHERE person_id = ? AND collection = ? AND key = ?",
                (change.person_id, change.collection, change.key),
            ).rowcount
        else:
            con.execute(
                "INSERT INTO portfolio_docs (person_id, collection, key, body, updated)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_id, collection, key) DO UPDATE"
                " SET body = excluded.body, updated = excluded.updated",
                (change.person_id, change.collection, change.key, change.body, change.updated),
            )
            done += 1
    return done


def _delete_statements(con: sqlite3.Connection, statements: Sequence[tuple[int, str]]) -> int:
    """Delete statements, given as (seq, id), with their index rows, their provenance and
    their outbox items (whatever state: a sent item still names the statement); return
    how many went."""
    seqs_json = _json(seq for seq, _ in statements)
    ids_json = _json(statement_id for _, statement_id in statements)
    con.execute(f"DELETE FROM statement_agents WHERE seq {_IN}", (seqs_json,))
    con.execute(f"DELETE FROM statement_activities WHERE seq {_IN}", (seqs_json,))
    con.execute(f"DELETE FROM provenance WHERE statement_id {_IN}", (ids_json,))
    # The outbox's key is (destination, statement_id): one seek per destination and
    # statement, where a search by statement alone would read the whole outbox.
    for (destination,) in con.execute("SELECT name FROM destinations").fetchall():
        con.execute(
            f"DELETE FROM outbox WHERE destination = ? AND statement_id {_IN}",
            (destination, ids_json),
        )
    return con.execute(f"DELETE FROM statements WHERE seq {_IN}", (seqs_json,)).rowcount


def _delete_sources(con: sqlite3.Connection, person_id: str) -> int:
    """Delete the sources the person owns (their identities, their sealed credentials)
    with their checkpoints (a foreign key cascades) and last run, and the provenance that
    names them: the name is the person's, and so is what their credentials were told.
    Provenance has no index by source: it is read once."""
    names = [
        str(row[0]) for row in con.execute("SELECT name FROM sources WHERE owner = ?", (person_id,))
    ]
    con.execute(f"DELETE FROM provenance WHERE source {_IN}", (_json(names),))
    return con.execute(f"DELETE FROM sources WHERE name {_IN}", (_json(names),)).rowcount


def _sources_as_planned(con: sqlite3.Connection, sources: Sequence[SourceAgentsChange]) -> bool:
    """Whether each source still has the agents its change was planned on."""
    for change in sources:
        row = con.execute("SELECT agents FROM sources WHERE name = ?", (change.name,)).fetchone()
        if row is None or tuple(orjson.loads(row[0])) != change.agents:
            return False
    return True


def _forget_in_sources(con: sqlite3.Connection, sources: Sequence[SourceAgentsChange]) -> int:
    """Apply the planned changes to administrators' sources (see SourceAgentsChange),
    checked by `_sources_as_planned` first."""
    for change in sources:
        if change.keep:
            con.execute(
                "UPDATE sources SET agents = ? WHERE name = ?",
                (orjson.dumps(list(change.keep)).decode(), change.name),
            )
            con.execute(
                f"DELETE FROM source_checkpoints WHERE source = ? AND stream {_IN}",
                (change.name, _json(change.dropped)),
            )
        else:  # its checkpoints go with it (a foreign key cascades)
            con.execute("DELETE FROM sources WHERE name = ?", (change.name,))
    return len(sources)


def _unfilter_destinations(con: sqlite3.Connection, person_id: str) -> int:
    """Take the person out of every destination's `people` filter; a destination that
    named only them is removed with its outbox, as an empty filter would forward
    everyone's statements. Returns how many destinations changed. The filters are JSON:
    every destination is read (there are a few)."""
    changed = 0
    for name, text in con.execute("SELECT name, filter FROM destinations").fetchall():
        flt = orjson.loads(text)
        if person_id not in flt["people"]:
            continue
        changed += 1
        flt["people"] = [p for p in flt["people"] if p != person_id]
        if flt["people"]:
            con.execute(
                "UPDATE destinations SET filter = ? WHERE name = ?",
                (orjson.dumps(flt).decode(), name),
            )
        else:
            con.execute("DELETE FROM outbox WHERE destination = ?", (name,))
            con.execute("DELETE FROM destinations WHERE name = ?", (name,))
    return changed


def _hashes_in_use(con: sqlite3.Connection, among: set[str]) -> set[str]:
    """Which of these attachment hashes a stored statement declares. No index says which
    statement uses which attachment: the statements with attachments are read (their
    bodies are filtered in SQLite, parsed here)."""
    used: set[str] = set()
    for (body,) in con.execute(
        "SELECT body FROM statements WHERE instr(body, ?) > 0", (_ATTACHMENTS_KEY,)
    ):
        used |= attachment_hashes(bytes(body)) & among
    return used


def _delete_unused_attachments(con: sqlite3.Connection, hashes: set[str]) -> int:
    if not hashes:
        return 0
    unused = sorted(hashes - _hashes_in_use(con, hashes))
    return con.execute(f"DELETE FROM attachments WHERE sha2 {_IN}", (_json(unused),)).rowcount


def _delete_unmentioned_activities(con: sqlite3.Connection, activities: Sequence[str]) -> int:
    """Forget the canonical definitions of these Activities that no remaining statement
    mentions: a definition may carry what a deleted statement said (a session's topics)."""
    gone = [
        activity
        for activity in activities
        if con.execute(
            "SELECT 1 FROM statement_activities WHERE activity = ? LIMIT 1", (activity,)
        ).fetchone()
        is None
    ]
    return con.execute(f"DELETE FROM activities WHERE id {_IN}", (_json(gone),)).rowcount


def _erase(
    con: sqlite3.Connection,
    scope: ErasureScope,
    *,
    others: Sequence[RecordChange],
    changes: Sequence[DocChange],
    sources: Sequence[SourceAgentsChange],
) -> ErasureCounts:
    """The deletions of `erase`, inside its transaction."""
    person_id = scope.person_id
    rows = con.execute(
        f"SELECT seq, id, body FROM statements WHERE id {_IN}",
        (_json(sorted(scope.statements)),),
    ).fetchall()
    seqs = [int(row[0]) for row in rows]
    hashes = {sha2 for row in rows for sha2 in attachment_hashes(bytes(row[2]))}
    activities = [
        str(row[0])
        for row in con.execute(
            f"SELECT DISTINCT activity FROM statement_activities WHERE seq {_IN}", (_json(seqs),)
        )
    ]
    statements = _delete_statements(con, [(int(row[0]), str(row[1])) for row in rows])
    attachments = _delete_unused_attachments(con, hashes)
    definitions = _delete_unmentioned_activities(con, activities)
    documents = con.execute(
        f"DELETE FROM documents WHERE kind IN (?, ?) AND agent {_IN}",
        (*_AGENT_DOCUMENTS, _json(sorted(scope.identities))),
    ).rowcount
    for other in others:
        append_entries(con, other.person_id, other.entries)
        _apply(con, other.changes)
    shared = _apply(con, changes)

    def delete(table: str) -> int:
        return con.execute(f"DELETE FROM {table} WHERE person_id = ?", (person_id,)).rowcount

    counts = ErasureCounts(
        statements=statements,
        attachments=attachments,
        documents=documents,
        activities=definitions,
        record_entries=delete("record_entries"),
        portfolio_docs=delete("portfolio_docs"),
        identities=delete("identities"),
        sessions=delete("sessions"),
        challenges=delete("challenges"),
        sources=_delete_sources(con, person_id) + _forget_in_sources(con, sources),
        destinations=_unfilter_destinations(con, person_id),
        shared_docs=shared,
        other_records=len(others),
    )
    # Last: identities refer to the person (a foreign key). The sealed key goes with it.
    con.execute("DELETE FROM people WHERE id = ?", (person_id,))
    return counts


class SqliteErasureStore:
    """Implements portfolio.storage.base.ErasureStore."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def scope(self, person_id: str, identities: Sequence[str]) -> ErasureScope:
        with self._store.read() as con:
            return _scope(con, person_id, identities)

    def erase(
        self,
        scope: ErasureScope,
        *,
        others: Sequence[RecordChange],
        changes: Sequence[DocChange],
        tombstone: Callable[[ErasureCounts], PortfolioDoc],
        sources: Sequence[SourceAgentsChange] = (),
    ) -> ErasureCounts:
        store = self._store
        person_id = scope.person_id
        with _secure_delete(store.connection()), store.write() as con:
            if con.execute("SELECT 1 FROM people WHERE id = ?", (person_id,)).fetchone() is None:
                raise NotFound(f"no portfolio {person_id}")
            if _scope(con, person_id, sorted(scope.identities)) != scope:
                raise ErasureScopeChanged(person_id)
            if not _sources_as_planned(con, sources):
                raise ErasureScopeChanged(person_id)
            counts = _erase(con, scope, others=others, changes=changes, sources=sources)
            _apply(con, [tombstone(counts)])
        self._compact()
        return counts

    def retention(self, *, before: str, now: str, dry_run: bool) -> RetentionCounts:
        store = self._store
        if dry_run:
            return self._count_retention(before=before, now=now)
        statements = 0
        hashes: set[str] = set()
        after = 0
        with _secure_delete(store.connection()):
            while True:
                # One batch per transaction, so that ingest goes on between batches.
                with store.write() as con:
                    rows = con.execute(_RETAINABLE, (before, after, RETENTION_BATCH)).fetchall()
                    if not rows:
                        break
                    after = int(rows[-1][0])
                    hashes.update(sha2 for row in rows for sha2 in attachment_hashes(bytes(row[2])))
                    statements += _delete_statements(
                        con, [(int(row[0]), str(row[1])) for row in rows]
                    )
            with store.write() as con:
                counts = RetentionCounts(
                    statements=statements,
                    attachments=_delete_unused_attachments(con, hashes),
                    sessions=con.execute(
                        "DELETE FROM sessions WHERE expires IS NOT NULL AND expires <= ?", (now,)
                    ).rowcount,
                    challenges=con.execute(
                        "DELETE FROM challenges WHERE expires <= ?", (now,)
                    ).rowcount,
                )
        if any(counts.to_json().values()):
            self._compact()
        return counts

    def _count_retention(self, *, before: str, now: str) -> RetentionCounts:
        with self._store.read() as con:
            doomed: set[str] = set()
            hashes: set[str] = set()
            after = 0
            while rows := con.execute(_RETAINABLE, (before, after, RETENTION_BATCH)).fetchall():
                after = int(rows[-1][0])
                doomed.update(str(row[1]) for row in rows)
                hashes.update(sha2 for row in rows for sha2 in attachment_hashes(bytes(row[2])))
            kept: set[str] = set()
            if hashes:
                for statement_id, body in con.execute(
                    "SELECT id, body FROM statements WHERE instr(body, ?) > 0", (_ATTACHMENTS_KEY,)
                ):
                    if str(statement_id) not in doomed:
                        kept |= attachment_hashes(bytes(body)) & hashes
            stored = con.execute(
                f"SELECT count(*) FROM attachments WHERE sha2 {_IN}",
                (_json(sorted(hashes - kept)),),
            ).fetchone()[0]
            sessions = con.execute(
                "SELECT count(*) FROM sessions WHERE expires IS NOT NULL AND expires <= ?", (now,)
            ).fetchone()[0]
            challenges = con.execute(
                "SELECT count(*) FROM challenges WHERE expires <= ?", (now,)
            ).fetchone()[0]
        return RetentionCounts(
            statements=len(doomed),
            attachments=int(stored),
            sessions=int(sessions),
            challenges=int(challenges),
        )

    def _compact(self) -> None:
        """Rebuild the database and empty the WAL, so that no page of deleted data is left
        in either file (module docstring). On a fresh connection: VACUUM refuses to run
        on one with a statement in progress. Holds the write lock throughout."""
        store = self._store
        con = store._open()
        try:
            with store._thread_lock, store._process_lock():
                con.execute("VACUUM")
                for _attempt in range(_CHECKPOINT_ATTEMPTS):
                    busy = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    if not busy:
                        return
                    # A reader still holds an older snapshot; it ends within a request.
                    time.sleep(_CHECKPOINT_PAUSE)
            log.warning(
                "the WAL of %s could not be truncated after an erasure (readers kept it);"
                " the next checkpoint that completes empties it",
                store.path,
            )
        finally:
            con.close()


__all__ = ["SqliteErasureStore"]
