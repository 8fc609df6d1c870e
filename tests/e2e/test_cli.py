"""The `cpdfolio` command as an administrator uses it: exit codes, messages, no secrets kept."""

from __future__ import annotations

import json
import stat

from portfolio.storage.sqlite_schema import MIGRATIONS
from tests.e2e.conftest import Instance


def test_db_init_creates_the_store_and_is_idempotent(instance: Instance) -> None:
    first = instance.cli("db", "init")
    assert first.returncode == 0, first.stderr
    assert "applied migration 0001" in first.stdout
    second = instance.cli("db", "init")
    assert second.returncode == 0
    assert "applied migration" not in second.stdout
    assert f"schema version {MIGRATIONS[-1].version}" in second.stdout


def test_clients_create_list_and_revoke(instance: Instance) -> None:
    instance.cli("db", "init")
    created = instance.cli(
        "clients", "create", "--name", "Council LMS", "--scope", "statements/write", "--json"
    )
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout)
    assert set(credentials) == {"key", "secret"}

    listed = json.loads(instance.cli("clients", "list", "--json").stdout)
    assert listed == [
        {
            "key": credentials["key"],
            "name": "Council LMS",
            "scopes": ["statements/write"],
            "created": listed[0]["created"],
            "revoked": None,
        }
    ]
    assert credentials["secret"] not in instance.cli("clients", "list").stdout

    revoked = instance.cli("clients", "revoke", credentials["key"])
    assert revoked.returncode == 0
    assert json.loads(instance.cli("clients", "list", "--json").stdout)[0]["revoked"]


def test_clients_create_with_an_unknown_scope_fails_with_usage_error(instance: Instance) -> None:
    instance.cli("db", "init")
    result = instance.cli("clients", "create", "--name", "X", "--scope", "statements/everything")
    assert result.returncode == 2
    assert "statements/everything" in result.stderr
    assert json.loads(instance.cli("clients", "list", "--json").stdout) == []


def test_clients_create_with_a_blank_name_fails(instance: Instance) -> None:
    instance.cli("db", "init")
    result = instance.cli("clients", "create", "--name", "  ", "--scope", "all")
    assert result.returncode == 1
    assert "name" in result.stderr


def test_revoking_an_unknown_client_fails(instance: Instance) -> None:
    instance.cli("db", "init")
    result = instance.cli("clients", "revoke", "no-such-key")
    assert result.returncode == 1
    assert "no live client" in result.stderr


def test_serve_on_an_uninitialised_store_says_to_run_db_init(instance: Instance) -> None:
    result = instance.cli("serve", "--port", "1")
    assert result.returncode == 1
    assert "cpdfolio db init" in result.stderr


def test_bad_configuration_is_a_clear_error(instance: Instance) -> None:
    instance.env["CPDFOLIO_MAX_BATCH_STATEMENTS"] = "many"
    result = instance.cli("db", "init")
    assert result.returncode == 1
    assert "max_batch_statements must be an integer" in result.stderr
    instance.env["CPDFOLIO_MAX_BATCH_STATEMENTS"] = "10"
    instance.env["CPDFOLIO_DATABASE_URL"] = "postgres://nope"
    result = instance.cli("db", "init")
    assert result.returncode == 1
    assert "unsupported database URL" in result.stderr


def test_first_serve_prints_the_url_and_how_to_create_a_client(instance: Instance) -> None:
    instance.cli("db", "init")
    url = instance.serve(workers=1)
    output = instance.stop()
    assert url in output
    assert "cpdfolio clients create" in output
    # Without CPDFOLIO_SECRET_KEY a development key is made, private, and the log says so.
    key_file = instance.root / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "CPDFOLIO_SECRET_KEY is not set" in output
