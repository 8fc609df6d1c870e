"""The embedded SQLite store (stdlib sqlite3): the default, needing no server.

Safe with several gunicorn worker processes on one file:
- WAL journal, so readers never block the writer, and `synchronous=FULL` so a commit
  that returned survives a power cut (WAL with NORMAL may lose the last commits);
- every write is one `BEGIN IMMEDIATE` transaction taken under an exclusive `flock` on a
  lock file beside the database: one writer at a time across threads and processes.
  SQLite's own busy handler makes a waiting writer *sleep* in growing steps (1, 2, 5,
  10 ms...), which with two gunicorn workers cost more than the writes themselves; a
  blocked flock is woken by the kernel the moment the holder releases it. Transactions
  are short (one batch), so writers queue for milliseconds;
- checkpoints run outside the write lock: SQLite's automatic checkpoint runs inside the
  COMMIT of whichever writer crosses the threshold, and at 100,000 statements it was half
  of every batch's time in the lock. Instead, after releasing the lock a writer runs a
  PASSIVE checkpoint (it never blocks other writers) every 128 of its commits or once a
  second: checkpoints compete with commits for the disk, so fewer, larger ones ingest
  faster (docs/benchmarks.md), while the time bound keeps the WAL to about a second of
  ingest. Now and then a TRUNCATE checkpoint caps the WAL file, which overlapping readers
  could otherwise let grow without bound (we saw 1.2 GB at 100,000 statements).
Each thread gets its own connection; nothing is opened at import time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from portfolio.clock import format_us, now_us, parse_stored
from portfolio.errors import Conflict, StorageUnavailable
from portfolio.jsonmerge import merge
from portfolio.storage.base import (
    AttachmentData,
    ClientRecord,
    Cursor,
    DuplicateStatementIds,
    NewStatement,
    StatementPage,
    StatementQuery,
    StatementRecord,
    VoidingOnArrival,
)
from portfolio.storage.sqlite_documents import SqliteDocumentStore
from portfolio.storage.sqlite_erasure import SqliteErasureStore
from portfolio.storage.sqlite_exchange import SqliteOutboxStore, SqliteSourceStore, queue_forwarding
from portfolio.storage.sqlite_frameworks import SqliteFrameworkStore
from portfolio.storage.sqlite_people import SqlitePersonStore, SqliteRecordStore
from portfolio.storage.sqlite_portfolio import SqlitePortfolioStore
from portfolio.storage.sqlite_query import RECORD_COLUMNS, SqlQuery
from portfolio.storage.sqlite_schema import MIGRATIONS

BUSY_TIMEOUT_MS = 10_000
# A PASSIVE checkpoint after every few commits of this process, or when this long has passed.
_CHECKPOINT_EVERY_COMMITS = 128
_CHECKPOINT_EVERY_SECONDS = 1.0
# Truncate the WAL file when it is larger than this (checked every so many commits).
WAL_TRUNCATE_BYTES = 256 * 1024 * 1024
_WAL_SIZE_CHECK_EVERY = 64
# SQLite's default limit on host parameters is 32766; stay well below it per statement.
_CHUNK = 500


def _record(row: sqlite3.Row | tuple[object, ...]) -> StatementRecord:
    return StatementRecord(
        id=str(row[0]),
        stored=str(row[1]),
        body=bytes(row[2]),  # type: ignore[arg-type]
        voided=bool(row[3]),
        voids=None if row[4] is None else str(row[4]),
        authority_client=None if row[5] is None else str(row[5]),
        signature=None if row[7] is None else orjson.loads(row[7]),  # type: ignore[arg-type]
    )


class SqliteStore:
    """A store in one SQLite file. Implements portfolio.storage.base.Store."""

    def __init__(self, path: str | Path, *, low_memory: bool = False) -> None:
        self.path = Path(path)
        # A store opened for one long pass (streaming): no memory-mapped file, a small page
        # cache, so reading a whole large store does not grow the process by its size.
        self._low_memory = low_memory
        self._local = threading.local()
        self._commits = 0
        self._last_checkpoint = time.monotonic()
        # flock is per open file description: threads of one process share it, so they
        # also queue on a threading lock first.
        self._thread_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._lock_pid = 0
        self._statements = SqliteStatementStore(self)
        self._clients = SqliteClientStore(self)
        self._documents = SqliteDocumentStore(self)
        self._frameworks = SqliteFrameworkStore(self)
        self._people = SqlitePersonStore(self)
        self._records = SqliteRecordStore(self)
        self._portfolio = SqlitePortfolioStore(self)
        self._erasure = SqliteErasureStore(self)
        self._sources = SqliteSourceStore(self)
        self._outbox = SqliteOutboxStore(self)

    # ----------------------------------------------------------------- connections

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = self._open()
            self._local.con = con
        return con

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            con = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA wal_autocheckpoint=0")  # see the module docstring
            con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            con.execute("PRAGMA foreign_keys=ON")
            if self._low_memory:
                con.execute("PRAGMA cache_size=-8192")
                con.execute("PRAGMA mmap_size=0")
            else:
                con.execute("PRAGMA cache_size=-65536")
                con.execute("PRAGMA mmap_size=268435456")
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"cannot open the SQLite store: {exc}") from exc
        return con

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the database's single write lock."""
        con = self.connection()
        with self._thread_lock, self._process_lock():
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StorageUnavailable(f"the store is busy: {exc}") from exc
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            try:
                con.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                raise StorageUnavailable(f"commit failed: {exc}") from exc
        self._after_commit(con)

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        if self._lock_fd is None or self._lock_pid != os.getpid():
            # A new descriptor after a fork: a lock inherited from the parent is shared.
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_pid = os.getpid()
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads."""
        con = self.connection()
        con.execute("BEGIN")
        try:
            yield con
        finally:
            con.execute("COMMIT")

    def _after_commit(self, con: sqlite3.Connection) -> None:
        """Checkpoint now and then, after the write lock is released (module docstring)."""
        self._commits += 1
        now = time.monotonic()
        if (
            self._commits % _CHECKPOINT_EVERY_COMMITS
            and now - self._last_checkpoint < _CHECKPOINT_EVERY_SECONDS
        ):
            return
        self._last_checkpoint = now
        with contextlib.suppress(sqlite3.OperationalError):
            con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        if self._commits % _WAL_SIZE_CHECK_EVERY:
            return
        try:
            wal_size = os.stat(f"{self.path}-wal").st_size
        except OSError:
            return
        if wal_size > WAL_TRUNCATE_BYTES:
            with contextlib.suppress(sqlite3.OperationalError):
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # ------------------------------------------------------------------ Store API

    @property
    def statements(self) -> SqliteStatementStore:
        return self._statements

    @property
    def clients(self) -> SqliteClientStore:
        return self._clients

    @property
    def documents(self) -> SqliteDocumentStore:
        return self._documents

    @property
    def frameworks(self) -> SqliteFrameworkStore:
        return self._frameworks

    @property
    def people(self) -> SqlitePersonStore:
        return self._people

    @property
    def records(self) -> SqliteRecordStore:
        return self._records

    @property
    def portfolio(self) -> SqlitePortfolioStore:
        return self._portfolio

    @property
    def erasure(self) -> SqliteErasureStore:
        return self._erasure

    @property
    def sources(self) -> SqliteSourceStore:
        return self._sources

    @property
    def outbox(self) -> SqliteOutboxStore:
        return self._outbox

    def schema_version(self) -> int:
        con = self.connection()
        row = con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if row is None:
            return 0
        row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> list[str]:
        applied: list[str] = []
        with self.write() as con:
            current = self.schema_version()
            for migration in sorted(MIGRATIONS, key=lambda m: m.version):
                if migration.version <= current:
                    continue
                # executescript would COMMIT our transaction; run the statements one by one.
                for sql in _split_sql(migration.sql):
                    con.execute(sql)
                con.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(migration.version),),
                )
                applied.append(f"{migration.version:04d} {migration.name}")
        return applied

    def ping(self) -> None:
        try:
            self.connection().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"the SQLite store cannot be read: {exc}") from exc
        if self.schema_version() < max(m.version for m in MIGRATIONS):
            raise StorageUnavailable("the store is not initialised: run `cpdfolio db init`")

    @contextlib.contextmanager
    def streaming(self) -> Iterator[SqliteStore]:
        """This store opened again for one long pass: mapped pages of the file and a large
        page cache would count in the process's memory for the whole pass (an export of
        100,000 statements peaked at 368 MB with them, 63 MB without)."""
        store = SqliteStore(self.path, low_memory=True)
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
        if self._lock_fd is not None and self._lock_pid == os.getpid():
            os.close(self._lock_fd)
            self._lock_fd = None

    def get_meta(self, key: str) -> str | None:
        row = self.connection().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])


def _split_sql(script: str) -> list[str]:
    """The statements of a migration script: comments dropped, split on semicolons."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqliteStatementStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    # ------------------------------------------------------------------- writing

    def insert(
        self, statements: Sequence[NewStatement], *, attachments: Sequence[AttachmentData] = ()
    ) -> str:
        if not statements:
            return self.consistent_through()
        ids = [s.id for s in statements]
        with self._store.write() as con:
            existing = [
                str(row[0])
                for chunk in _chunks(ids)
                for row in con.execute(
                    f"SELECT id FROM statements WHERE id IN ({_marks(len(chunk))})", chunk
                )
            ]
            if existing:
                raise DuplicateStatementIds(existing)
            stored_times = self._next_stored(con, len(statements))
            # seq is given explicitly, in batch order (see sqlite_query.py on why it matters).
            last_seq = int(
                con.execute("SELECT coalesce(max(seq), 0) FROM statements").fetchone()[0]
            )
            seq_of = {s.id: last_seq + 1 + i for i, s in enumerate(statements)}
            already_voided = _voided_on_arrival(con, statements)
            con.executemany(
                "INSERT INTO statements (seq, id, stored, body, verb, registration,"
                " authority_client, voids, ref_target, voided, signature, voids_others)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        seq_of[s.id],
                        s.id,
                        stored,
                        s.final_body(stored),
                        s.index.verb,
                        s.index.registration,
                        s.authority_client,
                        s.index.voids,
                        s.index.ref_target,
                        int(s.id in already_voided),
                        None if s.signature is None else orjson.dumps(s.signature).decode(),
                        int(s.index.voids is not None and s.may_void_others),
                    )
                    for s, stored in zip(statements, stored_times, strict=True)
                ],
            )
            con.executemany(
                "INSERT INTO statement_agents (agent, seq, direct) VALUES (?,?,?)",
                [
                    (agent, seq_of[s.id], int(agent in s.index.agents_direct))
                    for s in statements
                    for agent in s.index.agents_direct | s.index.agents_related
                ],
            )
            con.executemany(
                "INSERT INTO statement_activities (activity, seq, direct) VALUES (?,?,?)",
                [
                    (activity, seq_of[s.id], int(activity in s.index.activities_direct))
                    for s in statements
                    for activity in s.index.activities_direct | s.index.activities_related
                ],
            )
            _void_stored_targets(con, statements)
            con.executemany(
                "INSERT OR IGNORE INTO attachments (sha2, content_type, length, content)"
                " VALUES (?,?,?,?)",
                [(a.sha2, a.content_type, len(a.content), a.content) for a in attachments],
            )
            self._merge_definitions(con, statements, stored_times[-1])
            queue_forwarding(con, statements, stored_times[-1])
        return stored_times[-1]

    def _merge_definitions(
        self, con: sqlite3.Connection, statements: Sequence[NewStatement], updated: str
    ) -> None:
        """Merge the statements' definitions into the canonical ones, in statement order."""
        patches: dict[str, object] = {}
        for statement in statements:
            for activity_id, definition in statement.definitions:
                patches[activity_id] = merge(patches.get(activity_id), definition)
        if not patches:
            return
        current = self.get_definitions(list(patches))
        con.executemany(
            "INSERT INTO activities (id, definition, updated) VALUES (?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET definition = excluded.definition,"
            " updated = excluded.updated",
            [
                (
                    activity_id,
                    orjson.dumps(merge(current.get(activity_id), patch)).decode(),
                    updated,
                )
                for activity_id, patch in patches.items()
            ],
        )

    def get_attachments(self, sha2s: Sequence[str]) -> dict[str, AttachmentData]:
        con = self._store.connection()
        found: dict[str, AttachmentData] = {}
        for chunk in _chunks(list(dict.fromkeys(sha2s))):
            for sha2, content_type, content in con.execute(
                f"SELECT sha2, content_type, content FROM attachments"
                f" WHERE sha2 IN ({_marks(len(chunk))})",
                chunk,
            ):
                found[sha2] = AttachmentData(sha2=sha2, content_type=content_type, content=content)
        return found

    def get_definitions(self, activity_ids: Sequence[str]) -> dict[str, dict[str, object]]:
        con = self._store.connection()
        found: dict[str, dict[str, object]] = {}
        for chunk in _chunks(list(dict.fromkeys(activity_ids))):
            for activity_id, definition in con.execute(
                f"SELECT id, definition FROM activities WHERE id IN ({_marks(len(chunk))})", chunk
            ):
                found[activity_id] = orjson.loads(definition)
        return found

    def _next_stored(self, con: sqlite3.Connection, count: int) -> list[str]:
        """`count` consecutive `stored` times, later than any already visible.

        Taken under the write lock, so they are strictly increasing across writers.
        """
        row = con.execute("SELECT value FROM meta WHERE key='last_stored'").fetchone()
        last = parse_stored(str(row[0])) if row else 0
        first = max(now_us(), last + 1)
        times = [format_us(first + i) for i in range(count)]
        con.execute(
            "INSERT INTO meta (key, value) VALUES ('last_stored', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (times[-1],),
        )
        return times

    # ------------------------------------------------------------------- reading

    def get(self, statement_id: str) -> StatementRecord | None:
        row = (
            self._store.connection()
            .execute(f"SELECT {RECORD_COLUMNS} FROM statements s WHERE s.id = ?", (statement_id,))
            .fetchone()
        )
        return None if row is None else _record(row)

    def get_many(self, statement_ids: Sequence[str]) -> dict[str, StatementRecord]:
        con = self._store.connection()
        found: dict[str, StatementRecord] = {}
        unique = list(dict.fromkeys(statement_ids))
        for chunk in _chunks(unique):
            for row in con.execute(
                f"SELECT {RECORD_COLUMNS} FROM statements s WHERE s.id IN ({_marks(len(chunk))})",
                chunk,
            ):
                record = _record(row)
                found[record.id] = record
        return found

    def consistent_through(self) -> str:
        """The last `stored` time handed out: every statement at or before it is committed.

        Writers take `stored` under the write lock and strictly increasing, so any
        statement not yet visible will be stored later than this.
        """
        value = self._store.get_meta("last_stored")
        return value if value is not None else format_us(now_us())

    def count(self) -> int:
        row = self._store.connection().execute("SELECT count(*) FROM statements").fetchone()
        return int(row[0])

    def query(self, query: StatementQuery) -> StatementPage:
        with self._store.read() as con:
            rows = SqlQuery(query).run(con)
        has_more = len(rows) > query.limit
        page = tuple(_record(row) for row in rows[: query.limit])
        more = None
        if has_more and page:
            more = Cursor(stored=page[-1].stored, id=page[-1].id)
        return StatementPage(statements=page, more=more)


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _voided_on_arrival(con: sqlite3.Connection, statements: Sequence[NewStatement]) -> set[str]:
    """The ids among these statements that are voided as they are stored: a voiding
    statement stored earlier, or sent in the same batch, names them and may void them
    (Data 2.3.2: the same client sent both, or its sender may void others). A voiding
    statement from anyone else leaves its target unvoided, so a client cannot void
    another's statement by sending the voiding statement before it (VoidingOnArrival)."""
    arrival = VoidingOnArrival(statements)
    for chunk in _chunks(list(arrival.sender)):
        for target, client, voids_others in con.execute(
            "SELECT voids, authority_client, voids_others FROM statements"
            f" WHERE voids IN ({_marks(len(chunk))})",
            chunk,
        ):
            arrival.stored(str(target), client, voids_others=bool(voids_others))
    return arrival.voided


def _void_stored_targets(con: sqlite3.Connection, statements: Sequence[NewStatement]) -> None:
    """Data 2.3.2: a voiding statement voids its stored target, if it may: when its sender
    may void others, or sent the target too. The domain refuses any other voiding of a
    stored target (403) before it gets here; the condition keeps a target stored by a
    concurrent writer in between from being voided by a client that may not."""
    any_client = [s.index.voids for s in statements if s.index.voids and s.may_void_others]
    own = [
        (s.index.voids, s.authority_client)
        for s in statements
        if s.index.voids and not s.may_void_others
    ]
    for chunk in _chunks(any_client):
        con.execute(
            f"UPDATE statements SET voided = 1 WHERE voids IS NULL"
            f" AND id IN ({_marks(len(chunk))})",
            chunk,
        )
    con.executemany(
        "UPDATE statements SET voided = 1 WHERE voids IS NULL AND id = ? AND authority_client = ?",
        own,
    )


class SqliteClientStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def add(self, client: ClientRecord) -> None:
        try:
            with self._store.write() as con:
                con.execute(
                    "INSERT INTO clients (key, name, scopes, secret_hash, created, revoked)"
                    " VALUES (?,?,?,?,?,?)",
                    (
                        client.key,
                        client.name,
                        " ".join(client.scopes),
                        client.secret_hash,
                        client.created,
                        client.revoked,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"a client with key {client.key!r} already exists") from exc

    def get(self, key: str) -> ClientRecord | None:
        row = (
            self._store.connection()
            .execute(
                "SELECT key, name, scopes, secret_hash, created, revoked FROM clients"
                " WHERE key = ?",
                (key,),
            )
            .fetchone()
        )
        return None if row is None else _client(row)

    def list(self) -> list[ClientRecord]:
        rows = self._store.connection().execute(
            "SELECT key, name, scopes, secret_hash, created, revoked FROM clients"
            " ORDER BY created, key"
        )
        return [_client(row) for row in rows]

    def revoke(self, key: str, *, at: str) -> bool:
        with self._store.write() as con:
            cursor = con.execute(
                "UPDATE clients SET revoked = ? WHERE key = ? AND revoked IS NULL", (at, key)
            )
            return cursor.rowcount == 1


def _client(row: tuple[object, ...]) -> ClientRecord:
    return ClientRecord(
        key=str(row[0]),
        name=str(row[1]),
        scopes=tuple(str(row[2]).split()),
        secret_hash=str(row[3]),
        created=str(row[4]),
        revoked=None if row[5] is None else str(row[5]),
    )
