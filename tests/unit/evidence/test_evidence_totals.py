"""The evidence total of a portfolio is the number of its live evidence statements: those
witnessed in it and neither voided nor erased, whatever order statements, voidings and
erasures come in (the dashboard's `totals.evidence`, portfolio.evidence.ledger)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.erasure import RequestedBy, erase_person
from portfolio.evidence.ledger import COVERAGE, EVIDENCE, TOTALS
from portfolio.evidence.rules import parse_rule, save_rule
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.people.accounts import Accounts, Owner
from portfolio.people.witness import witness_new_statements
from portfolio.record.chain import instance_key, verify_stored_record
from portfolio.record.keys import KdfCost, SigningKey
from portfolio.standards.catalogue import install_shipped
from portfolio.storage.sqlite import SqliteStore
from tests.support import agent, make_statement, voiding

STANDARD = "https://cpdfolio.org/frameworks/vsc-cymru-standard"
KS1 = f"{STANDARD}/items/KS.1"
COURSE = "https://learning.example.gov.uk/course/strategic-leadership"
PASSWORD = "correct horse battery"
LMS = Submitter(
    client_key="test-lms",
    authority={"objectType": "Agent", "account": {"homePage": "https://lms.test", "name": "lms"}},
    may_void_others=True,
)


@dataclass
class Portfolios:
    """Ann's portfolio and Bob's, the statements posted, and what Ann's total should be."""

    store: SqliteStore
    key: SigningKey
    ann: Owner
    bob: Owner
    ingest: StatementIngest
    live: set[str] = field(default_factory=set)  # Ann's evidence, neither voided nor erased
    voidable: list[str] = field(default_factory=list)  # stored, not voided
    shared: set[str] = field(default_factory=set)  # about Ann and Bob both
    bob_erased: bool = False

    def post(self, statement: dict[str, Any]) -> None:
        self.ingest.post(statement, submitter=LMS, version="1.0.3")

    # The operations, each keeping `live` as the total should be.

    def about_ann(self) -> None:
        statement = make_statement(actor="ann", activity=COURSE)
        self.post(statement)
        self.live.add(statement["id"])
        self.voidable.append(statement["id"])

    def about_both(self) -> None:
        """A Group statement: witnessed in Ann's record and, until he is erased, Bob's."""
        group = {"objectType": "Group", "member": [agent("ann"), agent("bob")]}
        statement = make_statement(actor="ann", activity=COURSE)
        statement["actor"] = group
        self.post(statement)
        self.live.add(statement["id"])
        self.voidable.append(statement["id"])
        if not self.bob_erased:
            self.shared.add(statement["id"])

    def void(self, pick: int) -> None:
        if not self.voidable:
            return
        target = self.voidable.pop(pick % len(self.voidable))
        self.post(voiding(target, actor="lms-admin"))
        self.live.discard(target)

    def voided_before_it_arrives(self) -> None:
        """The voiding statement comes first: the target is voided when it is stored."""
        statement = make_statement(actor="ann", activity=COURSE)
        self.post(voiding(statement["id"], actor="lms-admin"))
        self.post(statement)

    def erase_bob(self) -> None:
        """Erasing Bob erases the statements about him: they leave Ann's evidence too."""
        if self.bob_erased:
            return
        erase_person(
            self.store,
            self.key,
            self.bob.person.id,
            requested_by=RequestedBy.administrator_on_request("Dana Admin", "ticket 7"),
        )
        self.bob_erased = True
        self.live -= self.shared
        self.voidable = [s for s in self.voidable if s not in self.shared]

    # What Ann's portfolio says.

    def doc(self, collection: str, key: str) -> dict[str, Any] | None:
        found = self.store.portfolio.get_doc(self.ann.person.id, collection, key)
        return None if found is None else orjson.loads(found.body)

    def check(self) -> None:
        totals = self.doc(TOTALS, EVIDENCE) or {"evidence": 0}
        evidence = [
            orjson.loads(doc.body)
            for doc in self.store.portfolio.list_docs(self.ann.person.id, EVIDENCE)
        ]
        live_docs = {e["statement"] for e in evidence if not e["voided"]}
        assert live_docs == self.live
        assert totals["evidence"] == len(self.live)
        coverage = self.doc(COVERAGE, KS1) or {"count": 0}
        assert coverage["count"] == len(self.live)  # the rule maps every one to KS.1


def portfolios(path: Path) -> Portfolios:
    store = SqliteStore(path / "totals.db")
    store.migrate()
    key = instance_key(store.records, b"totals-secret")
    install_shipped(store.frameworks)
    rule = {"id": "course", "framework": STANDARD, "match": {"activity": COURSE}, "items": [KS1]}
    save_rule(store, parse_rule(rule))
    accounts = Accounts(
        store, instance_key=key, instance_url="http://lrs.test", kdf=KdfCost(memory_kib=1024)
    )
    owners = []
    for email, name in (("ann@example.org", "Ann Jones"), ("bob@example.org", "Bob Evans")):
        accounts.create(email=email, name=name, password=PASSWORD)
        owners.append(accounts.authenticate(accounts.login(email, PASSWORD).token))
    ingest = StatementIngest(
        store.statements, on_stored=lambda new: witness_new_statements(store, key, new)
    )
    return Portfolios(store, key, owners[0], owners[1], ingest)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Portfolios]:
    built = portfolios(tmp_path)
    yield built
    built.store.close()


def test_a_voided_statement_leaves_the_total(world: Portfolios) -> None:
    world.about_ann()
    world.about_ann()
    world.check()
    world.void(0)
    world.check()
    assert world.doc(TOTALS, EVIDENCE) == {"evidence": 1}
    verify_stored_record(world.store.records, world.ann.person.id)


def test_a_statement_voided_before_it_arrives_is_never_counted(world: Portfolios) -> None:
    world.voided_before_it_arrives()
    world.check()
    assert (world.doc(TOTALS, EVIDENCE) or {"evidence": 0})["evidence"] == 0


def test_erasing_a_voided_statement_does_not_count_it_out_twice(world: Portfolios) -> None:
    world.about_ann()
    world.about_both()
    world.about_both()
    world.void(1)  # the first shared statement
    world.check()
    world.erase_bob()  # both shared statements leave Ann's evidence: the voided one already
    world.check()
    assert world.doc(TOTALS, EVIDENCE) == {"evidence": 1}
    verify_stored_record(world.store.records, world.ann.person.id)


OPERATIONS = st.lists(
    st.one_of(
        st.just(("about_ann",)),
        st.just(("about_both",)),
        st.tuples(st.just("void"), st.integers(min_value=0, max_value=20)),
        st.just(("voided_before_it_arrives",)),
        st.just(("erase_bob",)),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_the_total_is_the_live_evidence_after_any_sequence(
    operations: list[tuple[Any, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        world = portfolios(Path(directory))
        try:
            for name, *arguments in operations:
                getattr(world, name)(*arguments)
                world.check()
        finally:
            world.store.close()


def test_an_unknown_void_target_changes_no_total(world: Portfolios) -> None:
    """Voiding a statement that never arrives: nothing is counted in or out."""
    world.about_ann()
    world.post(voiding(str(uuid.uuid4()), actor="lms-admin"))
    world.check()
