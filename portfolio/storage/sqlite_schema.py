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
        -- `seq` (the rowid) follows insert order, which is also `stored` order, so it
        -- orders statements as (stored, id) does; indexes on statements(x) hold
        -- (x, seq) and need nothing more (see sqlite_query.py).
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
        CREATE INDEX statements_by_stored ON statements (stored);
        CREATE INDEX statements_by_verb ON statements (verb);
        CREATE INDEX statements_by_registration ON statements (registration)
            WHERE registration IS NOT NULL;
        CREATE INDEX statements_by_authority ON statements (authority_client);
        CREATE INDEX statements_by_voids ON statements (voids) WHERE voids IS NOT NULL;
        CREATE INDEX statements_by_ref_target ON statements (ref_target)
            WHERE ref_target IS NOT NULL;

        -- Agents and activities a statement is found by: one row per (key, statement),
        -- with `direct` = 1 where the plain filter matches (actor or object; the object
        -- Activity) and 0 where only the related_* forms do. One narrow row rather than
        -- one per scope: each row is a randomly placed index page that an insert dirties,
        -- and dirty pages are what a commit has to write.
        CREATE TABLE statement_agents (
            agent  TEXT NOT NULL,
            seq    INTEGER NOT NULL,
            direct INTEGER NOT NULL,
            PRIMARY KEY (agent, seq)
        ) WITHOUT ROWID;
        CREATE TABLE statement_activities (
            activity TEXT NOT NULL,
            seq      INTEGER NOT NULL,
            direct   INTEGER NOT NULL,
            PRIMARY KEY (activity, seq)
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
    Migration(
        2,
        "documents",
        """
        -- The State, Activity Profile and Agent Profile documents (Communication 2.2-2.7).
        -- What a kind of document does not have (a profile's registration, an Activity
        -- Profile's agent...) is '' rather than NULL, so that the primary key makes one
        -- place per document. Every query names a prefix of the key: the document itself,
        -- or (kind, activity_id, agent[, registration]) for a list or a delete-all; the
        -- `since` bound of a list is checked on the few rows of that prefix. A rowid
        -- table, not WITHOUT ROWID: documents can be large, and SQLite keeps large rows
        -- out of the key's b-tree only in a rowid table.
        CREATE TABLE documents (
            kind         TEXT NOT NULL,
            activity_id  TEXT NOT NULL,
            agent        TEXT NOT NULL,
            registration TEXT NOT NULL,
            document_id  TEXT NOT NULL,
            content      BLOB NOT NULL,
            content_type TEXT NOT NULL,
            etag         TEXT NOT NULL,
            updated      TEXT NOT NULL,
            PRIMARY KEY (kind, activity_id, agent, registration, document_id)
        );
        """,
    ),
    Migration(
        3,
        "attachments, signatures and activity definitions",
        """
        -- What the LRS established about a signed statement's JWS (JSON), or NULL.
        ALTER TABLE statements ADD COLUMN signature TEXT;

        -- Attachment data, once per hash however many statements use it.
        CREATE TABLE attachments (
            sha2         TEXT PRIMARY KEY,
            content_type TEXT NOT NULL,
            length       INTEGER NOT NULL,
            content      BLOB NOT NULL
        );

        -- The canonical definition of each Activity (the Activities resource), merged
        -- from the statements of clients allowed to define Activities.
        CREATE TABLE activities (
            id         TEXT PRIMARY KEY,
            definition TEXT NOT NULL,
            updated    TEXT NOT NULL
        );
        """,
    ),
    Migration(
        4,
        "frameworks",
        """
        -- Competency frameworks (portfolio.standards): one row per version, never updated.
        -- `package` is the canonical CASE JSON the domain made, `digest` its SHA-256.
        CREATE TABLE frameworks (
            uri        TEXT NOT NULL,
            version    TEXT NOT NULL,
            title      TEXT NOT NULL,
            package    BLOB NOT NULL,
            digest     TEXT NOT NULL,
            item_count INTEGER NOT NULL,
            imported   TEXT NOT NULL,
            PRIMARY KEY (uri, version)
        );

        -- The items of each version in package order, and the versions an item is in.
        CREATE TABLE framework_items (
            framework_uri TEXT NOT NULL,
            version       TEXT NOT NULL,
            position      INTEGER NOT NULL,
            item_uri      TEXT NOT NULL,
            PRIMARY KEY (framework_uri, version, position),
            FOREIGN KEY (framework_uri, version) REFERENCES frameworks (uri, version)
        ) WITHOUT ROWID;
        CREATE INDEX framework_items_by_item ON framework_items (item_uri);
        """,
    ),
    Migration(
        5,
        "people, identities and signed records",
        """
        CREATE TABLE people (
            id         TEXT PRIMARY KEY,
            name       TEXT NOT NULL,
            email      TEXT NOT NULL UNIQUE,
            created    TEXT NOT NULL,
            sealed_key TEXT NOT NULL
        );

        -- An identity belongs to at most one person: the primary key says so.
        CREATE TABLE identities (
            identity  TEXT PRIMARY KEY,
            person_id TEXT NOT NULL REFERENCES people (id),
            linked    TEXT NOT NULL,
            proof     TEXT NOT NULL
        );
        CREATE INDEX identities_by_person ON identities (person_id, linked);

        -- Each person's record, entries kept as the canonical bytes that were signed.
        -- A statement is witnessed at most once in a record (the partial unique index).
        CREATE TABLE record_entries (
            person_id    TEXT NOT NULL,
            seq          INTEGER NOT NULL,
            canonical    BLOB NOT NULL,
            hash         TEXT NOT NULL,
            signature    TEXT NOT NULL,
            statement_id TEXT,
            PRIMARY KEY (person_id, seq)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX record_entries_by_statement ON record_entries (person_id, statement_id)
            WHERE statement_id IS NOT NULL;

        CREATE TABLE challenges (
            id        TEXT PRIMARY KEY,
            person_id TEXT NOT NULL,
            identity  TEXT NOT NULL,
            code_hash TEXT NOT NULL,
            created   TEXT NOT NULL,
            expires   TEXT NOT NULL,
            attempts  INTEGER NOT NULL DEFAULT 0
        );

        CREATE TABLE sessions (
            id          TEXT PRIMARY KEY,
            secret_hash TEXT NOT NULL,
            person_id   TEXT NOT NULL,
            kind        TEXT NOT NULL,
            name        TEXT NOT NULL,
            created     TEXT NOT NULL,
            expires     TEXT,
            sealed_key  TEXT NOT NULL
        );
        CREATE INDEX sessions_by_person ON sessions (person_id);

        CREATE TABLE instance_keys (
            id      TEXT PRIMARY KEY,
            public  TEXT NOT NULL,
            sealed  TEXT NOT NULL,
            created TEXT NOT NULL
        );

        -- Who witnessed a statement: found when it is voided.
        CREATE INDEX record_entries_witnessing ON record_entries (statement_id)
            WHERE statement_id IS NOT NULL;

        -- The portfolio's documents (goals, reflections, evidence, coverage...), each
        -- written with the record entries that say so; person_id '' for instance-wide ones.
        CREATE TABLE portfolio_docs (
            person_id  TEXT NOT NULL,
            collection TEXT NOT NULL,
            key        TEXT NOT NULL,
            body       BLOB NOT NULL,
            updated    TEXT NOT NULL,
            PRIMARY KEY (person_id, collection, key)
        );
        """,
    ),
    Migration(
        6,
        "sources, provenance and the forwarding outbox",
        """
        -- Remote LRSs pulled from. `secret` is sealed (lrs_adapters.credentials).
        CREATE TABLE sources (
            name         TEXT PRIMARY KEY,
            endpoint     TEXT NOT NULL,
            username     TEXT NOT NULL,
            secret       TEXT NOT NULL,
            xapi_version TEXT NOT NULL,
            agents       TEXT NOT NULL,
            owner        TEXT,
            created      TEXT NOT NULL,
            since_field  TEXT NOT NULL DEFAULT 'stored',
            last_run     TEXT
        );
        CREATE INDEX sources_by_owner ON sources (owner) WHERE owner IS NOT NULL;

        -- One row per stream of a source: "*" or the JSON of the agent asked for.
        CREATE TABLE source_checkpoints (
            source      TEXT NOT NULL REFERENCES sources (name) ON DELETE CASCADE,
            stream      TEXT NOT NULL,
            since       TEXT,
            last_stored TEXT,
            last_id     TEXT,
            PRIMARY KEY (source, stream)
        ) WITHOUT ROWID;

        -- Where a pulled statement came from; kept when its source is removed.
        CREATE TABLE provenance (
            statement_id     TEXT NOT NULL,
            source           TEXT NOT NULL,
            remote_stored    TEXT,
            remote_authority TEXT,
            fetched          TEXT NOT NULL,
            PRIMARY KEY (statement_id, source)
        ) WITHOUT ROWID;

        CREATE TABLE destinations (
            name         TEXT PRIMARY KEY,
            endpoint     TEXT NOT NULL,
            username     TEXT NOT NULL,
            secret       TEXT NOT NULL,
            xapi_version TEXT NOT NULL,
            filter       TEXT NOT NULL,
            batch_size   INTEGER NOT NULL,
            max_attempts INTEGER NOT NULL,
            created      TEXT NOT NULL
        );

        -- One item per (destination, statement), written by the statement insert.
        -- `position` keeps queue order; due items are found by (state, next_attempt).
        CREATE TABLE outbox (
            position     INTEGER PRIMARY KEY,
            destination  TEXT NOT NULL REFERENCES destinations (name) ON DELETE CASCADE,
            statement_id TEXT NOT NULL,
            state        TEXT NOT NULL,
            attempts     INTEGER NOT NULL DEFAULT 0,
            queued       TEXT NOT NULL,
            next_attempt TEXT NOT NULL,
            last_attempt TEXT,
            last_error   TEXT,
            sent         TEXT,
            UNIQUE (destination, statement_id)
        );
        CREATE INDEX outbox_due ON outbox (destination, state, next_attempt, position);
        """,
    ),
    Migration(
        7,
        "who may void a statement that arrives after its voiding statement",
        """
        -- For a voiding statement: 1 when its sender could void statements other clients
        -- sent (Data 2.3.2.s2.b4). A target arriving later is voided by it only then, or
        -- when the same client sent both (sqlite.py, insert).
        ALTER TABLE statements ADD COLUMN voids_others INTEGER NOT NULL DEFAULT 0;

        -- Voiding statements stored before this: the right is not on record, so it is
        -- taken from the client's scopes now (`all` may void others, portfolio.clients).
        UPDATE statements SET voids_others = 1
            WHERE voids IS NOT NULL
            AND authority_client IN (
                SELECT key FROM clients WHERE (' ' || scopes || ' ') LIKE '% all %'
            );
        """,
    ),
)
