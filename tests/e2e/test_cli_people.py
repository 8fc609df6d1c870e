"""`cpdfolio people ...` and `cpdfolio record verify` as an administrator runs them."""

from __future__ import annotations

import json
import sqlite3

from tests.e2e.conftest import Instance

PASSWORD = "correct horse battery\n"


def _create(instance: Instance, email: str = "ann@example.org") -> None:
    instance.cli("db", "init")
    created = instance.cli(
        "people",
        "create",
        "--email",
        email,
        "--name",
        "Ann Jones",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    assert f"created {email}" in created.stdout


def test_people_create_then_record_verify(instance: Instance) -> None:
    _create(instance)
    listed = json.loads(instance.cli("people", "list", "--json").stdout)
    assert [(p["email"], p["identities"]) for p in listed] == [
        ("ann@example.org", ["mbox:mailto:ann@example.org"])
    ]
    verified = instance.cli("record", "verify", "--person", "ann@example.org")
    assert verified.returncode == 0, verified.stderr
    assert "verified the record of Ann Jones <ann@example.org>: 2 entries" in verified.stdout


def test_no_password_is_ever_stored_or_echoed(instance: Instance) -> None:
    _create(instance)
    data = (instance.root / "var" / "cpdfolio.db").read_bytes()
    assert b"correct horse battery" not in data
    assert "correct horse" not in instance.cli("people", "list").stdout


def test_people_create_refuses_bad_input_and_writes_nothing(instance: Instance) -> None:
    instance.cli("db", "init")
    cases = [
        (["--email", "not-an-email", "--name", "Ann"], PASSWORD, "e-mail"),
        (["--email", "ann@example.org", "--name", "  "], PASSWORD, "name"),
        (["--email", "ann@example.org", "--name", "Ann"], "short\n", "at least 10"),
        (["--email", "ann@example.org", "--name", "Ann"], "", "no password"),
    ]
    for args, stdin, message in cases:
        result = instance.cli("people", "create", *args, "--password-stdin", stdin=stdin)
        assert result.returncode == 1, (args, result.stdout)
        assert message in result.stderr
    assert json.loads(instance.cli("people", "list", "--json").stdout) == []


def test_the_same_email_twice_is_refused(instance: Instance) -> None:
    _create(instance)
    again = instance.cli(
        "people",
        "create",
        "--email",
        "ANN@example.org",
        "--name",
        "Ann",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert again.returncode == 1
    assert "exists already" in again.stderr


def test_an_administrator_links_an_lms_account_and_it_is_recorded(instance: Instance) -> None:
    _create(instance)
    account = '{"account": {"homePage": "https://lms.council.example", "name": "ajones"}}'
    linked = instance.cli(
        "people",
        "link",
        "--email",
        "ann@example.org",
        "--identity",
        account,
        "--administrator",
        "Carys Evans (L&D)",
    )
    assert linked.returncode == 0, linked.stderr
    listed = json.loads(instance.cli("people", "list", "--json").stdout)
    assert "account:https://lms.council.example|ajones" in listed[0]["identities"]
    bad = instance.cli(
        "people",
        "link",
        "--email",
        "ann@example.org",
        "--identity",
        '{"name": "x"}',
        "--administrator",
        "A",
    )
    assert bad.returncode == 1
    assert "--identity" in bad.stderr
    assert instance.cli("record", "verify", "--person", "ann@example.org").returncode == 0


def test_record_verify_names_the_first_tampered_entry(instance: Instance) -> None:
    _create(instance)
    instance.cli(
        "people",
        "link",
        "--email",
        "ann@example.org",
        "--identity",
        '{"mbox": "mailto:ann.jones@example.org"}',
        "--administrator",
        "A",
    )
    with sqlite3.connect(instance.root / "var" / "cpdfolio.db") as con:
        (canonical,) = con.execute("SELECT canonical FROM record_entries WHERE seq = 2").fetchone()
        changed = bytes(canonical).replace(b"first identity", b"one-time code")
        con.execute("UPDATE record_entries SET canonical = ? WHERE seq = 2", (changed,))
    verified = instance.cli("record", "verify", "--person", "ann@example.org")
    assert verified.returncode == 1
    assert "entry 2" in verified.stderr
    assert "hash" in verified.stderr


def test_reset_password_rotates_the_key_and_the_record_still_verifies(instance: Instance) -> None:
    _create(instance)
    reset = instance.cli(
        "people",
        "reset-password",
        "--email",
        "ann@example.org",
        "--administrator",
        "HR desk",
        "--password-stdin",
        stdin="a brand new password\n",
    )
    assert reset.returncode == 0, reset.stderr
    verified = instance.cli("record", "verify", "--person", "ann@example.org")
    assert verified.returncode == 0, verified.stderr
    assert "2 owner key(s)" not in verified.stdout  # the new key has signed nothing yet
    assert "3 entries" in verified.stdout


def test_rules_add_list_remove_and_bad_rules_store_nothing(instance: Instance) -> None:
    instance.cli("db", "init")
    standard = "https://cpdfolio.org/frameworks/vsc-cymru-standard"
    good = {
        "id": "strategic-leader",
        "framework": standard,
        "match": {"activity": "https://learning.example.gov.uk/mdp/strategic-leader"},
        "items": [f"{standard}/items/KS.1"],
        "hours": 30,
    }
    path = instance.root / "rules.json"
    path.write_text(json.dumps([good]))
    added = instance.cli("rules", "add", str(path))
    assert added.returncode == 0, added.stderr
    assert json.loads(instance.cli("rules", "list", "--json").stdout)[0]["id"] == "strategic-leader"
    for bad, message in (
        ({**good, "id": "two", "items": [f"{standard}/items/NOPE"]}, "no stored framework"),
        ({**good, "id": "three", "match": {}}, "match"),
        ({**good, "id": "four", "colour": "red"}, "colour"),
    ):
        path.write_text(json.dumps(bad))
        result = instance.cli("rules", "add", str(path))
        assert result.returncode == 1, bad
        assert message in result.stderr
    assert len(json.loads(instance.cli("rules", "list", "--json").stdout)) == 1
    assert instance.cli("rules", "remove", "strategic-leader").returncode == 0
    assert instance.cli("rules", "remove", "strategic-leader").returncode == 1


def test_first_serve_says_how_to_create_a_client_and_a_portfolio(instance: Instance) -> None:
    instance.cli("db", "init")
    instance.serve(workers=1)
    output = instance.stop()
    assert "cpdfolio serving on http://127.0.0.1:" in output
    assert "cpdfolio clients create" in output
    assert "cpdfolio people create" in output
    _create(instance)
    instance.serve(workers=1)
    assert "cpdfolio people create" not in instance.stop()
