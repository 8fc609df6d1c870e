"""Import's rules (portfolio.bundle.importer), through two in-process councils with real
SQLite stores: what is kept, what is reported, and what is refused without a trace."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from portfolio.errors import AuthenticationRequired, Conflict
from portfolio.evidence.ledger import EVIDENCE
from portfolio.record.chain import iter_entries, verify_portfolio_record
from tests.bundle_support import EMAIL, PASSWORD, Council, rich_portfolio
from tests.support import make_statement


@pytest.fixture
def a(tmp_path: Path) -> Council:
    return Council(tmp_path / "a", url="https://a.example")


@pytest.fixture
def b(tmp_path: Path) -> Council:
    return Council(tmp_path / "b", url="https://b.example")


def test_an_import_keeps_ids_stored_times_signatures_and_evidence(
    a: Council, b: Council, tmp_path: Path
) -> None:
    person = rich_portfolio(a, statements=3)
    a.export(tmp_path / "ann.zip")
    result = b.import_(tmp_path / "ann.zip")
    assert result.outcome == "imported"
    assert result.statements == 5  # 3, one with an attachment, one signed
    assert result.conflicts == []
    summary = verify_portfolio_record(b.store, person.id)
    assert summary.kinds["moved"] == 1 and summary.kinds["arrival-witnessed"] == 1
    # Each statement is kept byte for byte: the witness digests still match.
    for statement_id in summary.statements:
        kept = b.store.portfolio.get_doc(person.id, "statement", statement_id)
        original = a.store.statements.get(statement_id)
        assert kept is not None and original is not None
        assert kept.body == original.to_json()
    # ... and not put into B's LRS, whose clients have no business reading them.
    assert b.store.statements.count() == 0
    assert b.store.portfolio.count_docs(person.id, EVIDENCE) == a.store.portfolio.count_docs(
        person.id, EVIDENCE
    )
    # The moved entry names B's key, signed by the owner; B witnessed the arrival.
    entries = [e.parsed() for e in iter_entries(b.store.records, person.id)]
    moved, arrival = entries[-2:]
    assert moved["signer"]["role"] == "owner" and moved["body"]["to"] == "https://b.example"
    assert moved["body"]["instance_key"]["id"] == b.key.public.id
    assert arrival["signer"]["key"] == b.key.public.id


def test_a_statement_id_b_holds_with_other_content_is_reported_not_overwritten(
    a: Council, b: Council, tmp_path: Path
) -> None:
    rich_portfolio(a, statements=2)
    a.export(tmp_path / "ann.zip")
    taken_id = sorted(verify_portfolio_record(a.store, a.accounts.get(EMAIL).id).statements)[0]
    other = make_statement(actor="zed")
    other["id"] = taken_id
    b.post([other])
    before = b.store.statements.get(taken_id)
    result = b.import_(tmp_path / "ann.zip")
    assert result.conflicts == [taken_id]
    assert b.store.statements.get(taken_id) == before


def test_reimporting_the_same_bundle_changes_nothing(
    a: Council, b: Council, tmp_path: Path
) -> None:
    rich_portfolio(a, statements=2)
    a.export(tmp_path / "ann.zip")
    b.import_(tmp_path / "ann.zip")
    before = b.tables()
    assert b.import_(tmp_path / "ann.zip").outcome == "already here"
    assert b.tables() == before


def test_a_wrong_password_or_a_taken_email_is_refused_without_a_trace(
    a: Council, b: Council, tmp_path: Path
) -> None:
    rich_portfolio(a, statements=2)
    a.export(tmp_path / "ann.zip")
    b.accounts.create(email=EMAIL, name="Another Ann", password="another password")
    before = b.tables()
    with pytest.raises(AuthenticationRequired):
        b.import_(tmp_path / "ann.zip", password="not her password")
    with pytest.raises(Conflict, match="email"):
        b.import_(tmp_path / "ann.zip")
    assert b.tables() == before


def test_an_identity_held_by_another_portfolio_is_refused(
    a: Council, b: Council, tmp_path: Path
) -> None:
    rich_portfolio(a, statements=1)
    a.export(tmp_path / "ann.zip")
    other = b.accounts.create(email="other@example.org", name="Other", password=PASSWORD)
    from portfolio.people.identities import Identities
    from portfolio.people.outbox import FileOutbox

    Identities(
        b.accounts, outbox=FileOutbox(b.root / "outbox", sender="t")
    ).confirm_by_administrator(other.email, "mbox:mailto:ann@example.org", administrator="HR")
    before = b.tables()
    with pytest.raises(Conflict, match="identity"):
        b.import_(tmp_path / "ann.zip")
    assert b.tables() == before


def test_there_and_back_is_one_chain_and_a_diverged_record_is_refused(
    a: Council, b: Council, tmp_path: Path
) -> None:
    person = rich_portfolio(a, statements=2)
    a.export(tmp_path / "to-b.zip")
    b.import_(tmp_path / "to-b.zip")
    b.post([make_statement(actor="ann")])  # learning at B, under the same mailbox
    b.export(tmp_path / "to-a.zip")
    back = a.import_(tmp_path / "to-a.zip")
    assert back.outcome == "moved back"
    assert back.statements == 1  # only what A's LRS does not hold byte for byte
    summary = verify_portfolio_record(a.store, person.id)
    assert summary.kinds["moved"] == 2
    hashes_a = [e.hash for e in iter_entries(a.store.records, person.id)]
    hashes_b = [e.hash for e in iter_entries(b.store.records, person.id)]
    assert hashes_a[: len(hashes_b)] == hashes_b

    # Meanwhile B kept witnessing into its copy: that record has left the chain A holds.
    b.post([make_statement(actor="ann")])
    b.export(tmp_path / "diverged.zip")
    a.post([make_statement(actor="ann")])
    before = a.tables()
    with pytest.raises(Conflict, match="part ways"):
        a.import_(tmp_path / "diverged.zip")
    assert a.tables() == before


def test_the_owners_key_is_sealed_again_here_never_stored_open(
    a: Council, b: Council, tmp_path: Path
) -> None:
    person = rich_portfolio(a, statements=1)
    a.export(tmp_path / "ann.zip")
    b.import_(tmp_path / "ann.zip")
    sealed = orjson.loads(b.store.people.get(person.id).sealed_key)  # type: ignore[union-attr]
    assert sealed["kdf"] == "argon2id"
    assert sealed["salt"] != orjson.loads(a.store.people.get(person.id).sealed_key)["salt"]  # type: ignore[union-attr]
    assert b.owner().person.id == person.id  # the same password opens it


def test_mentoring_sessions_logged_at_a_come_along(a: Council, b: Council, tmp_path: Path) -> None:
    from portfolio.mentoring import Mentoring
    from portfolio.people.outbox import FileOutbox

    def mentoring(council: Council) -> Mentoring:
        outbox = FileOutbox(council.root / "outbox", sender="t")
        return Mentoring(
            council.store, instance_key=council.key, instance_url=council.url, outbox=outbox
        )

    rich_portfolio(a, statements=1)
    logged = mentoring(a).log(
        a.owner(),
        {
            "role": "mentee",
            "other_email": "mentor@example.org",
            "other_name": "Mo Mentor",
            "date": "2026-11-20",
            "minutes": 60,
            "topics": "Leading through change",
        },
    )
    a.export(tmp_path / "ann.zip")
    b.import_(tmp_path / "ann.zip")
    carried = mentoring(b).mine(b.owner())
    assert [(s["id"], s["topics"]) for s in carried] == [(logged["id"], "Leading through change")]


def test_pinned_instance_keys_tell_which_instances_signed(
    a: Council, b: Council, tmp_path: Path
) -> None:
    from portfolio.bundle.layout import BundleInvalid
    from portfolio.bundle.verify import load_trusted, verify_bundle
    from portfolio.record.chain import published_instance_keys

    def published(council: Council) -> bytes:
        return orjson.dumps(published_instance_keys(council.store.records, council.url))

    rich_portfolio(a, statements=1)
    a.export(tmp_path / "ann.zip")
    assert verify_bundle(str(tmp_path / "ann.zip")).pinned is False
    pinned = verify_bundle(str(tmp_path / "ann.zip"), trusted=load_trusted([published(a)]))
    assert pinned.pinned is True and pinned.summary()["instance_keys_pinned"] is True

    # The owner takes it to an instance of their own making that calls itself A: the
    # bundle is intact, but its keys are not A's.
    rogue = Council(tmp_path / "rogue", url="https://a.example")
    rogue.import_(tmp_path / "ann.zip")
    rogue.export(tmp_path / "forged.zip")
    verify_bundle(str(tmp_path / "forged.zip"))  # consistent in itself
    with pytest.raises(BundleInvalid, match="not one you trust"):
        verify_bundle(str(tmp_path / "forged.zip"), trusted=load_trusted([published(a)]))
    # Trusting the rogue's key alone, the first entry A signed fails, named by number.
    with pytest.raises(BundleInvalid, match=r"record.jsonl, entry \d+: signed by instance key"):
        verify_bundle(str(tmp_path / "forged.zip"), trusted=load_trusted([published(rogue)]))
    before = b.tables()
    with pytest.raises(BundleInvalid):
        b.importer.import_bundle(
            str(tmp_path / "forged.zip"), password=PASSWORD, trusted=load_trusted([published(a)])
        )
    assert b.tables() == before
