"""The storage contract of a portfolio arriving from a bundle (PortfolioStore.arrive) and
of reading all of a person's documents (docs_of): every adapter passes the same tests.

The atomicity cases make the stream fail half-way, as a bundle changed on disk during an
import does, and check that nothing at all was written.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portfolio.errors import Conflict
from portfolio.record.chain import Draft, build
from portfolio.record.entry import Role, SignedEntry
from portfolio.record.keys import SigningKey
from portfolio.storage.base import (
    Arrival,
    IdentityLink,
    PersonRecord,
    PortfolioDoc,
    RecordHeadMoved,
    Store,
)

KEY = SigningKey.generate()
AT = "2026-11-23T10:00:00.000000Z"


def person(n: int = 1, *, sealed: str = "{}") -> PersonRecord:
    return PersonRecord(
        id=f"person-{n}",
        name=f"Person {n}",
        email=f"p{n}@example.org",
        created=AT,
        sealed_key=sealed,
    )


def entries(person_id: str, count: int, *, head: SignedEntry | None = None) -> list[SignedEntry]:
    drafts = [Draft("goal-set", {"n": i}, KEY, Role.OWNER) for i in range(count)]
    return build(person_id, drafts, head=head)


def doc(person_id: str, collection: str, key: str, body: bytes = b'{"a":1}') -> PortfolioDoc:
    return PortfolioDoc(person_id=person_id, collection=collection, key=key, body=body, updated=AT)


def arrival(
    who: PersonRecord,
    chain: list[SignedEntry],
    docs: list[PortfolioDoc],
    *,
    new: bool = True,
    after_seq: int = 0,
    identities: tuple[str, ...] = ("mbox:mailto:p1@example.org",),
    end_sessions: bool = False,
) -> Arrival:
    return Arrival(
        person=who,
        new=new,
        end_sessions=end_sessions,
        identities=[
            IdentityLink(identity=i, person_id=who.id, linked=AT, proof="first identity")
            for i in identities
        ],
        after_seq=after_seq,
        entries=lambda: iter(chain),
        docs=lambda: iter(docs),
    )


class Broken(Exception):
    pass


def failing_after(items: list[PortfolioDoc], n: int) -> Iterator[PortfolioDoc]:
    yield from items[:n]
    raise Broken("the bundle changed on disk")


def snapshot(store: Store, person_id: str) -> tuple[object, ...]:
    return (
        store.people.get(person_id),
        store.people.identities(person_id),
        store.records.entries(person_id),
        store.portfolio.docs_of(person_id),
    )


def test_a_new_person_arrives_with_record_identities_and_documents(store: Store) -> None:
    who = person()
    chain = entries(who.id, 1200)  # more than one batch
    docs = [doc(who.id, "goal", f"g{i:04}") for i in range(1500)] + [doc(who.id, "a", "x")]
    store.portfolio.arrive(arrival(who, chain, docs))
    assert store.people.get(who.id) == who
    assert [i.identity for i in store.people.identities(who.id)] == ["mbox:mailto:p1@example.org"]
    head = store.records.head(who.id)
    assert head is not None and head.seq == 1200 and head.hash == chain[-1].hash
    got = store.portfolio.docs_of(who.id, limit=10_000)
    assert [(d.collection, d.key) for d in got] == sorted((d.collection, d.key) for d in docs)


def test_docs_of_pages_by_collection_then_key(store: Store) -> None:
    who = person()
    docs = [doc(who.id, c, k) for c in ("b", "a", "c") for k in ("2", "1")]
    store.portfolio.arrive(arrival(who, entries(who.id, 1), docs))
    store.portfolio.apply("person-2", [], [doc("person-2", "a", "0")])  # someone else's
    first = store.portfolio.docs_of(who.id, limit=4)
    rest = store.portfolio.docs_of(who.id, after=(first[-1].collection, first[-1].key), limit=4)
    assert [(d.collection, d.key) for d in first + rest] == [
        ("a", "1"),
        ("a", "2"),
        ("b", "1"),
        ("b", "2"),
        ("c", "1"),
        ("c", "2"),
    ]


def test_an_arrival_that_fails_half_way_writes_nothing(store: Store) -> None:
    who = person()
    docs = [doc(who.id, "goal", f"g{i:04}") for i in range(2500)]
    broken = Arrival(
        person=who,
        new=True,
        end_sessions=False,
        identities=[IdentityLink("mbox:mailto:p1@example.org", who.id, AT, "first identity")],
        after_seq=0,
        entries=lambda: iter(entries(who.id, 3)),
        docs=lambda: failing_after(docs, 2100),
    )
    with pytest.raises(Broken):
        store.portfolio.arrive(broken)
    assert snapshot(store, who.id) == (None, [], [], [])
    assert store.people.owners(["mbox:mailto:p1@example.org"]) == {}


def test_a_taken_email_or_identity_is_a_conflict_and_writes_nothing(store: Store) -> None:
    store.portfolio.arrive(arrival(person(1), entries("person-1", 1), []))
    same_email = PersonRecord(
        id="person-9", name="Nine", email="p1@example.org", created=AT, sealed_key="{}"
    )
    with pytest.raises(Conflict):
        store.portfolio.arrive(arrival(same_email, entries("person-9", 1), [], identities=()))
    with pytest.raises(Conflict):
        store.portfolio.arrive(arrival(person(2), entries("person-2", 1), []))  # p1's mailbox
    assert snapshot(store, "person-9") == (None, [], [], [])
    assert snapshot(store, "person-2") == (None, [], [], [])


def test_moving_back_continues_the_record_and_replaces_the_documents(store: Store) -> None:
    who = person(sealed='{"old": true}')
    first = entries(who.id, 2)
    store.portfolio.arrive(arrival(who, first, [doc(who.id, "goal", "old")]))
    later = entries(who.id, 3, head=first[-1])
    back = PersonRecord(**{**who.__dict__, "sealed_key": '{"new": true}'})
    store.portfolio.arrive(
        arrival(
            back,
            later,
            [doc(who.id, "goal", "new")],
            new=False,
            after_seq=2,
            identities=("mbox:mailto:p1@work.example.org",),
            end_sessions=True,
        )
    )
    assert store.people.get(who.id) == back
    assert [e.hash for e in store.records.entries(who.id)] == [e.hash for e in first + later]
    assert [d.key for d in store.portfolio.docs_of(who.id)] == ["new"]
    assert len(store.people.identities(who.id)) == 2


def test_an_arrival_on_a_moved_head_is_refused(store: Store) -> None:
    who = person()
    first = entries(who.id, 2)
    store.portfolio.arrive(arrival(who, first, []))
    with pytest.raises(RecordHeadMoved):
        store.portfolio.arrive(
            arrival(
                who, entries(who.id, 1, head=first[0]), [], new=False, after_seq=1, identities=()
            )
        )
    assert len(store.records.entries(who.id)) == 2
