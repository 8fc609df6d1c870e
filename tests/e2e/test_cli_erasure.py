"""`cpdfolio people erase` and `cpdfolio retention apply` as an administrator runs them
(issue 5, item 5)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.storage import open_store
from tests.e2e.conftest import Instance
from tests.support import make_statement

PASSWORD = "correct horse battery\n"
ANN = "ann@example.org"
BOB = "bob@example.org"
LMS = Submitter(
    client_key="lms",
    authority={"objectType": "Agent", "account": {"homePage": "https://lms.test", "name": "lms"}},
)


def _database(instance: Instance) -> Path:
    return instance.root / "var" / "cpdfolio.db"


def _people(instance: Instance) -> list[str]:
    with sqlite3.connect(_database(instance)) as con:
        return [row[0] for row in con.execute("SELECT email FROM people ORDER BY email")]


def _setup(instance: Instance) -> dict[str, str]:
    """Statements about Ann, Bob and Carol, then portfolios for Ann and Bob (which
    witness what the LRS holds about them already); Carol has none."""
    assert instance.cli("db", "init").returncode == 0
    store = open_store(f"sqlite:///{_database(instance)}")
    statements = {
        "ann": make_statement(actor="ann", result={"response": "Ann's own words"}),
        "bob": make_statement(actor="bob"),
        "carol": make_statement(actor="carol"),
    }
    StatementIngest(store.statements).post(
        list(statements.values()), submitter=LMS, version="1.0.3"
    )
    store.close()
    for email, name in ((ANN, "Ann Jones"), (BOB, "Bob Smith")):
        created = instance.cli(
            "people", "create", "--email", email, "--name", name, "--password-stdin", stdin=PASSWORD
        )
        assert created.returncode == 0, created.stderr
    return {name: statement["id"] for name, statement in statements.items()}


def test_people_erase_asks_for_the_email_offers_the_export_then_erases(instance: Instance) -> None:
    ids = _setup(instance)
    erase = ("people", "erase", "--person", ANN, "--administrator", "Dana Admin")

    refused = instance.cli(*erase, "--request", "DPO-117", stdin="bob@example.org\n")
    assert refused.returncode == 1
    assert "not confirmed: nothing was erased" in refused.stderr
    assert f"cpdfolio export --person {ANN} --out FILE --password-stdin" in refused.stdout
    assert "1 statements naming them" in refused.stdout
    assert _people(instance) == [ANN, BOB]

    done = instance.cli(*erase, "--request", "DPO-117", stdin=f"{ANN}\n")
    assert done.returncode == 0, done.stderr
    assert f"erased the portfolio of {ANN}: 1 statements" in done.stdout
    assert "no personal data" in done.stdout
    assert _people(instance) == [BOB]
    raw = b"".join(p.read_bytes() for p in _database(instance).parent.glob("cpdfolio.db*"))
    for trace in (ANN, "Ann Jones", "Ann's own words", ids["ann"]):
        assert trace.encode() not in raw, trace
    with sqlite3.connect(_database(instance)) as con:
        (tombstone,) = con.execute(
            "SELECT body FROM portfolio_docs WHERE person_id = '' AND collection = 'erasure'"
        ).fetchone()
    assert json.loads(tombstone)["requested_by"] == {
        "role": "administrator",
        "administrator": "Dana Admin",
        "request": "DPO-117",
    }
    assert instance.cli("record", "verify", "--person", BOB).returncode == 0

    again = instance.cli(*erase, "--request", "DPO-117", "--yes")
    assert again.returncode == 1
    assert f"no portfolio for {ANN}" in again.stderr


def test_retention_apply_deletes_old_statements_no_portfolio_witnesses(
    instance: Instance,
) -> None:
    ids = _setup(instance)
    # Received long ago: Carol's is nobody's evidence; Bob's is witnessed in his record.
    with sqlite3.connect(_database(instance)) as con:
        con.execute(
            "UPDATE statements SET stored = '2020-01-01T00:00:00.000000Z' WHERE id IN (?, ?)",
            (ids["carol"], ids["bob"]),
        )
    retention = ("retention", "apply", "--before", "2021-01-01")

    dry = instance.cli(*retention, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete: 1 statements received before 2021-01-01" in dry.stdout

    done = instance.cli(*retention)
    assert done.returncode == 0, done.stderr
    assert "deleted: 1 statements" in done.stdout
    with sqlite3.connect(_database(instance)) as con:
        left = {row[0] for row in con.execute("SELECT id FROM statements")}
    assert left == {ids["ann"], ids["bob"]}
    assert _people(instance) == [ANN, BOB]  # never a portfolio


def test_retention_apply_refuses_a_bad_or_future_date(instance: Instance) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    future = instance.cli("retention", "apply", "--before", tomorrow)
    assert future.returncode == 1
    assert "is in the future" in future.stderr
    malformed = instance.cli("retention", "apply", "--before", "2026-13-01")
    assert malformed.returncode == 2
    assert "--before" in malformed.stderr
