"""Migration 7 of both stores: voiding statements stored before it learn whether their
sender may void others' statements, from the client's scopes (`all`, portfolio.clients).

The migration runs as part of `migrate`; these tests replay its backfill over statements
stored as an older version left them (no right on record)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portfolio.storage.base import ClientRecord, Store
from portfolio.storage.mongo import MongoStore
from portfolio.storage.mongo_schema import MIGRATIONS as MONGO_MIGRATIONS
from portfolio.storage.sqlite import SqliteStore, _split_sql
from portfolio.storage.sqlite_schema import MIGRATIONS as SQLITE_MIGRATIONS
from tests.contract.test_store_contract import statement, voiding
from tests.unit.storage.mongomock_support import mongomock_store_fixture


def _client(key: str, *scopes: str) -> ClientRecord:
    return ClientRecord(
        key=key, name=key, scopes=scopes, secret_hash="x", created="2026-01-01T00:00:00Z"
    )


def _replay_backfill(store: Store) -> None:
    if isinstance(store, SqliteStore):
        [migration] = [m for m in SQLITE_MIGRATIONS if m.version == 7]
        with store.write() as con:
            for sql in _split_sql(migration.sql):
                if sql.startswith("UPDATE"):
                    con.execute(sql)
    else:
        assert isinstance(store, MongoStore)
        [mongo_migration] = [m for m in MONGO_MIGRATIONS if m.version == 7]
        mongo_migration.apply(store.db())


@pytest.fixture(params=["sqlite", "mongomock"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite = SqliteStore(f"{tmp_path}/migration.db")
        sqlite.migrate()
        yield sqlite
        sqlite.close()
    else:
        yield from mongomock_store_fixture()


def test_voiding_statements_of_clients_with_all_may_void_others_after_the_migration(
    store: Store,
) -> None:
    store.clients.add(_client("admin", "all"))
    store.clients.add(_client("platform", "statements/write", "statements/read"))
    by_admin, by_platform = statement(client="lms"), statement(client="lms")
    # As stored before migration 7: no right on record.
    store.statements.insert([voiding(by_admin.id, client="admin")])
    store.statements.insert([voiding(by_platform.id, client="platform")])
    _replay_backfill(store)
    store.statements.insert([by_admin, by_platform])
    admin_target = store.statements.get(by_admin.id)
    platform_target = store.statements.get(by_platform.id)
    assert admin_target is not None and admin_target.voided
    assert platform_target is not None and not platform_target.voided
