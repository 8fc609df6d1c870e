"""Versioned migrations of the SQLite store, applied in order by `SqliteStore.migrate`.

A migration is never edited once released: a change to the schema is a new entry.
"""

from __future__ import annotations

from typing import NamedTuple


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "statements and clients",
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        -- One row per statement. `body` is the JSON as accepted, without `stored`.
        CREATE TABLE statements (
            seq              INTEGER PRIMARY KEY,
            id               TEXT NOT NULL UNIQUE,
            stored           TEXT NOT NULL,
            body             BLOB NOT NULL,
            verb             TEXT NOT NULL,
            registration     TEXT,
            authority_client TEXT NOT NULL,
            voids            TEXT,
            ref_target       TEXT,
            voided           INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX statements_by_stored ON statements (stored, id);
        CREATE INDEX statements_by_verb ON statements (verb, stored, id);
        CREATE INDEX statements_by_registration ON statements (registration, stored, id)
            WHERE registration IS NOT NULL;
        CREATE INDEX statements_by_authority ON statements (authority_client, stored, id);
        CREATE INDEX statements_by_voids ON statements (voids) WHERE voids IS NOT NULL;
        CREATE INDEX statements_by_ref_target ON statements (ref_target)
            WHERE ref_target IS NOT NULL;

        -- Agents and activities a statement is found by, in two scopes: 'd' (direct: actor
        -- or object; object activity) and 'r' (related: every place, direct ones included).
        -- `stored` is copied here so one index range gives the rows in cursor order.
        CREATE TABLE statement_agents (
            agent        TEXT NOT NULL,
            scope        TEXT NOT NULL,
            stored       TEXT NOT NULL,
            statement_id TEXT NOT NULL,
            PRIMARY KEY (agent, scope, stored, statement_id)
        ) WITHOUT ROWID;
        CREATE TABLE statement_activities (
            activity     TEXT NOT NULL,
            scope        TEXT NOT NULL,
            stored       TEXT NOT NULL,
            statement_id TEXT NOT NULL,
            PRIMARY KEY (activity, scope, stored, statement_id)
        ) WITHOUT ROWID;

        CREATE TABLE clients (
            key         TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            scopes      TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            created     TEXT NOT NULL,
            revoked     TEXT
        );
        """,
    ),
)
