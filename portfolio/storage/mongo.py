"""The MongoDB store (pymongo): the production adapter, for a replica set or sharded cluster.

Same behaviour as the SQLite store (the contract suite runs on both); how it gets there:
- a batch of statements is one multi-document transaction, so it lands whole or not at
  all. Transactions need a replica set (a single-node one is fine) or mongos; a
  standalone server is refused with a message saying so;
- `stored` comes from a clock document updated inside that transaction. Two transactions
  writing one document conflict, and the loser is retried by `with_transaction`, so
  writers take their `stored` one after another, as under SQLite's write lock;
- a statement's JSON is kept as the exact bytes accepted (BSON Binary), never as a
  document: extension keys are IRIs full of dots and may start with `$`;
- the client is built on first use, in the process that uses it: gunicorn forks workers
  after the app is created, and a MongoClient must not cross a fork.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from portfolio.errors import StorageUnavailable
from portfolio.storage.mongo_clients import MongoClientStore
from portfolio.storage.mongo_connection import (
    REPLICA_SET_NEEDED,
    Document,
    client_options,
    database_from_uri,
    unavailable_on_driver_errors,
)
from portfolio.storage.mongo_documents import MongoDocumentStore
from portfolio.storage.mongo_erasure import MongoErasureStore
from portfolio.storage.mongo_exchange import MongoOutboxStore, MongoSourceStore
from portfolio.storage.mongo_frameworks import MongoFrameworkStore
from portfolio.storage.mongo_people import MongoPersonStore, MongoRecordStore
from portfolio.storage.mongo_portfolio import MongoPortfolioStore
from portfolio.storage.mongo_schema import META, MIGRATIONS, SCHEMA_VERSION_ID
from portfolio.storage.mongo_statements import MongoStatementStore

__all__ = ["MongoStore"]


class MongoStore:
    """A store in one MongoDB database. Implements portfolio.storage.base.Store.

    `client` injects a ready client (tests); otherwise one is built from `uri` on first
    use. `unsafe_without_transactions` runs `insert` without a transaction and without
    checking for a replica set: a failure part-way leaves a partial batch, and concurrent
    writers may interleave. It exists for mongomock, which has no transactions; never set
    it against a real server.
    """

    def __init__(
        self,
        uri: str,
        *,
        database: str | None = None,
        client: MongoClient[Document] | None = None,
        unsafe_without_transactions: bool = False,
    ) -> None:
        self.uri = uri
        self.database = database or database_from_uri(uri)
        self.unsafe_without_transactions = unsafe_without_transactions
        self._injected = client
        self._client: MongoClient[Document] | None = client
        self._client_pid = os.getpid()
        self._lock = threading.Lock()
        self._transactions_checked = False
        self._statements = MongoStatementStore(self)
        self._clients = MongoClientStore(self)
        self._documents = MongoDocumentStore(self)
        self._frameworks = MongoFrameworkStore(self)
        self._people = MongoPersonStore(self)
        self._records = MongoRecordStore(self)
        self._portfolio = MongoPortfolioStore(self)
        self._erasure = MongoErasureStore(self)
        self._sources = MongoSourceStore(self)
        self._outbox = MongoOutboxStore(self)

    # ------------------------------------------------------------------- client

    def client(self) -> MongoClient[Document]:
        """This process's client, built on first use (and again in a forked child)."""
        with self._lock:
            if self._injected is not None:
                return self._injected
            if self._client is None or self._client_pid != os.getpid():
                # A client inherited over fork is dropped, not closed: its sockets and
                # monitor threads belong to the parent, which still uses them.
                with unavailable_on_driver_errors("connect"):
                    self._client = MongoClient(self.uri, **client_options(self.uri))
                self._client_pid = os.getpid()
                self._transactions_checked = False
            return self._client

    def db(self) -> Database[Document]:
        return self.client()[self.database]

    def collection(self, name: str) -> Collection[Document]:
        return self.db()[name]

    def require_transactions(self) -> None:
        """Raise StorageUnavailable unless the deployment can run transactions.

        `hello` names the replica set (`setName`) on a set member and says `isdbgrid` on
        mongos; a standalone mongod has neither and would refuse every transaction.
        """
        if self._transactions_checked:
            return
        with unavailable_on_driver_errors("hello"):
            hello = self.client().admin.command("hello")
        if "setName" not in hello and hello.get("msg") != "isdbgrid":
            raise StorageUnavailable(REPLICA_SET_NEEDED)
        self._transactions_checked = True

    # ---------------------------------------------------------------- Store API

    @property
    def statements(self) -> MongoStatementStore:
        return self._statements

    @property
    def clients(self) -> MongoClientStore:
        return self._clients

    @property
    def documents(self) -> MongoDocumentStore:
        return self._documents

    @property
    def frameworks(self) -> MongoFrameworkStore:
        return self._frameworks

    @property
    def people(self) -> MongoPersonStore:
        return self._people

    @property
    def records(self) -> MongoRecordStore:
        return self._records

    @property
    def portfolio(self) -> MongoPortfolioStore:
        return self._portfolio

    @property
    def erasure(self) -> MongoErasureStore:
        return self._erasure

    @property
    def sources(self) -> MongoSourceStore:
        return self._sources

    @property
    def outbox(self) -> MongoOutboxStore:
        return self._outbox

    def schema_version(self) -> int:
        """The highest migration applied; 0 for an uninitialised database."""
        with unavailable_on_driver_errors("read the schema version"):
            doc = self.collection(META).find_one({"_id": SCHEMA_VERSION_ID})
        return 0 if doc is None else int(doc["value"])

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied; return their names (none when current).

        Safe to run again, and from two processes at once: every step is idempotent and
        the version only moves up (`$max`).
        """
        applied: list[str] = []
        current = self.schema_version()
        with unavailable_on_driver_errors("migrate"):
            for migration in sorted(MIGRATIONS, key=lambda m: m.version):
                if migration.version <= current:
                    continue
                migration.apply(self.db())
                self.collection(META).update_one(
                    {"_id": SCHEMA_VERSION_ID},
                    {"$max": {"value": migration.version}},
                    upsert=True,
                )
                applied.append(f"{migration.version:04d} {migration.name}")
        return applied

    def ping(self) -> None:
        """Raise StorageUnavailable if the server is unreachable or the store uninitialised."""
        with unavailable_on_driver_errors("ping"):
            self.client().admin.command("ping")
        if self.schema_version() < max(m.version for m in MIGRATIONS):
            raise StorageUnavailable("the store is not initialised: run `cpdfolio db init`")

    @contextlib.contextmanager
    def streaming(self) -> Iterator[MongoStore]:
        """Long passes read through cursors in batches already: the store itself."""
        yield self

    def close(self) -> None:
        """Close the client (an injected one too); the next use builds a new one."""
        with self._lock:
            client, self._client, self._injected = self._client, None, None
            self._transactions_checked = False
        if client is not None and self._client_pid == os.getpid():
            client.close()

    def drop_database(self) -> None:
        """Drop the whole database. For tests: the contract suite uses one per test."""
        with unavailable_on_driver_errors("drop database"):
            self.client().drop_database(self.database)
