"""The people and record storage contract: every adapter passes the same tests.

SQLite always runs. MongoDB runs when MONGODB_URI points at a server; without one those
cases are skipped and say so. (tests/unit/storage/test_mongo_people.py also runs these
tests on mongomock, which checks the adapter's documents and filters, not a database.)
"""

from __future__ import annotations

import threading
import uuid

import pytest

from portfolio.errors import Conflict
from portfolio.record.chain import Draft, build
from portfolio.record.entry import Role, SignedEntry
from portfolio.record.keys import SigningKey
from portfolio.storage.base import (
    Challenge,
    IdentityLink,
    InstanceKeyRecord,
    PersonRecord,
    RecordHeadMoved,
    SessionRecord,
    Store,
)

KEY = SigningKey.generate()
AT = "2026-11-23T10:00:00.000000Z"


def person(n: int = 1) -> PersonRecord:
    return PersonRecord(
        id=f"person-{n}", name=f"Person {n}", email=f"p{n}@example.org", created=AT, sealed_key="{}"
    )


def link(identity: str, person_id: str = "person-1") -> IdentityLink:
    return IdentityLink(identity=identity, person_id=person_id, linked=AT, proof="first identity")


def entries(person_id: str, n: int, *, head: SignedEntry | None = None) -> list[SignedEntry]:
    drafts = [
        Draft(
            "identity-linked",
            {"identity": f"mbox:mailto:{i}@x.org", "proof": "administrator"},
            KEY,
            Role.OWNER,
        )
        for i in range(n)
    ]
    return build(person_id, drafts, head=head)


def witness(person_id: str, statement: str, head: SignedEntry | None) -> list[SignedEntry]:
    body = {"statement": statement, "sha256": "0" * 64, "stored": AT, "identity": "x"}
    return build(person_id, [Draft("statement-witnessed", body, KEY, Role.INSTANCE)], head=head)


def create(store: Store, n: int = 1, identity: str | None = None) -> list[SignedEntry]:
    first = entries(f"person-{n}", 2)
    store.people.create(
        person(n),
        identity=link(identity or f"mbox:mailto:p{n}@example.org", f"person-{n}"),
        entries=first,
    )
    return first


def test_a_person_is_created_with_their_identity_and_first_entries(store: Store) -> None:
    first = create(store)
    assert store.people.get("person-1") == person(1)
    assert store.people.by_email("p1@example.org") == person(1)
    assert store.people.list() == [person(1)]
    assert store.people.identities("person-1") == [link("mbox:mailto:p1@example.org")]
    assert store.people.owners(["mbox:mailto:p1@example.org", "nobody"]) == {
        "mbox:mailto:p1@example.org": "person-1"
    }
    assert store.records.entries("person-1") == first
    assert store.records.head("person-1") == first[-1]


def test_a_taken_email_or_identity_refuses_the_whole_create(store: Store) -> None:
    create(store)
    same_email = PersonRecord("person-2", "Two", "p1@example.org", AT, "{}")
    with pytest.raises(Conflict):
        store.people.create(
            same_email,
            identity=link("mbox:mailto:new@x.org", "person-2"),
            entries=entries("person-2", 1),
        )
    with pytest.raises(Conflict):
        store.people.create(
            person(2),
            identity=link("mbox:mailto:p1@example.org", "person-2"),
            entries=entries("person-2", 1),
        )
    assert store.people.get("person-2") is None
    assert store.records.entries("person-2") == []


def test_link_appends_its_entries_in_the_same_write(store: Store) -> None:
    first = create(store)
    more = entries("person-1", 1, head=first[-1])
    store.people.link(link("account:https://lms.example|ann"), entries=more)
    assert [i.identity for i in store.people.identities("person-1")] == [
        "account:https://lms.example|ann",
        "mbox:mailto:p1@example.org",
    ]
    assert store.records.head("person-1") == more[-1]


def test_linking_a_linked_identity_writes_nothing(store: Store) -> None:
    first = create(store)
    create(store, 2)
    with pytest.raises(Conflict):
        store.people.link(
            link("mbox:mailto:p2@example.org"), entries=entries("person-1", 1, head=first[-1])
        )
    assert store.records.head("person-1") == first[-1]


def test_entries_that_do_not_follow_the_head_are_refused(store: Store) -> None:
    first = create(store)
    stale = entries("person-1", 1, head=first[0])  # seq 2 again
    with pytest.raises(RecordHeadMoved):
        store.records.append("person-1", stale)
    with pytest.raises(RecordHeadMoved):
        store.people.link(link("mbox:mailto:x@x.org"), entries=stale)
    assert store.people.owners(["mbox:mailto:x@x.org"]) == {}
    assert store.records.entries("person-1") == first


def test_two_racing_appenders_one_wins(store: Store) -> None:
    first = create(store)
    results: list[str] = []

    def append() -> None:
        try:
            store.records.append("person-1", entries("person-1", 3, head=first[-1]))
            results.append("ok")
        except RecordHeadMoved:
            results.append("moved")

    threads = [threading.Thread(target=append) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["moved", "moved", "moved", "ok"]
    assert [e.seq for e in store.records.entries("person-1")] == [1, 2, 3, 4, 5]


def test_a_statement_is_witnessed_once_per_record(store: Store) -> None:
    first = create(store)
    statement = str(uuid.uuid4())
    once = witness("person-1", statement, first[-1])
    store.records.append("person-1", once)
    assert store.records.witnessed("person-1", [statement, str(uuid.uuid4())]) == {statement}
    with pytest.raises(Conflict):
        store.records.append("person-1", witness("person-1", statement, once[-1]))
    assert store.records.head("person-1") == once[-1]


def test_entries_page_in_order(store: Store) -> None:
    first = create(store)
    store.records.append("person-1", entries("person-1", 5, head=first[-1]))
    assert [e.seq for e in store.records.entries("person-1", after=2, limit=3)] == [3, 4, 5]
    assert [e.seq for e in store.records.entries("person-1", after=6)] == [7]


def test_set_sealed_key_ends_sessions_and_appends(store: Store) -> None:
    first = create(store)
    session = SessionRecord("s1", "h", "person-1", "session", "login", AT, None, "{}")
    store.people.add_session(session)
    more = entries("person-1", 1, head=first[-1])
    store.people.set_sealed_key("person-1", '{"new": 1}', entries=more)
    assert store.people.get("person-1").sealed_key == '{"new": 1}'  # type: ignore[union-attr]
    assert store.people.get_session("s1") is None
    assert store.records.head("person-1") == more[-1]


def test_sessions(store: Store) -> None:
    create(store)
    one = SessionRecord(
        "s1", "h1", "person-1", "session", "login", AT, "2026-12-01T00:00:00.000000Z", "{}"
    )
    two = SessionRecord(
        "s2", "h2", "person-1", "token", "cli", "2026-11-24T00:00:00.000000Z", None, "{}"
    )
    store.people.add_session(one)
    store.people.add_session(two)
    assert store.people.get_session("s1") == one
    assert store.people.sessions("person-1") == [one, two]
    assert store.people.delete_session("s1") is True
    assert store.people.delete_session("s1") is False
    assert store.people.sessions("person-1") == [two]


def test_challenges_count_attempts_and_are_spent_once(store: Store) -> None:
    create(store)
    challenge = Challenge("c1", "person-1", "mbox:mailto:x@x.org", "hash", AT, AT)
    store.people.add_challenge(challenge)
    assert store.people.get_challenge("c1") == challenge
    assert store.people.count_attempt("c1") == 1
    assert store.people.count_attempt("c1") == 2
    assert store.people.delete_challenge("c1") is True
    assert store.people.delete_challenge("c1") is False
    assert store.people.get_challenge("c1") is None


def test_instance_keys_are_kept_oldest_first(store: Store) -> None:
    one = InstanceKeyRecord("a" * 64, "pub-a", "{}", "2026-01-01T00:00:00.000000Z")
    two = InstanceKeyRecord("b" * 64, "pub-b", "{}", "2026-02-01T00:00:00.000000Z")
    store.records.add_instance_key(two)
    store.records.add_instance_key(one)
    assert store.records.instance_keys() == [one, two]
    with pytest.raises(Conflict):
        store.records.add_instance_key(one)


# ------------------------------------------------------------------ portfolio documents


def doc(key: str, body: bytes = b"{}", person_id: str = "person-1", collection: str = "goal"):  # type: ignore[no-untyped-def]
    from portfolio.storage.base import PortfolioDoc

    return PortfolioDoc(person_id, collection, key, body, AT)


def test_apply_writes_documents_with_their_entries(store: Store) -> None:
    from portfolio.storage.base import DeleteDoc

    first = create(store)
    more = entries("person-1", 1, head=first[-1])
    store.portfolio.apply(
        "person-1", more, [doc("a/1", b'{"n":1}'), doc("a/2"), doc("b/1"), doc("x", person_id="")]
    )
    assert store.records.head("person-1") == more[-1]
    assert store.portfolio.get_doc("person-1", "goal", "a/1") == doc("a/1", b'{"n":1}')
    assert [d.key for d in store.portfolio.list_docs("person-1", "goal", prefix="a/")] == [
        "a/1",
        "a/2",
    ]
    assert store.portfolio.count_docs("person-1", "goal") == 3
    assert store.portfolio.get_doc("", "goal", "x") is not None
    store.portfolio.apply(
        "person-1", [], [doc("a/1", b'{"n":2}'), DeleteDoc("person-1", "goal", "b/1")]
    )
    assert store.portfolio.get_doc("person-1", "goal", "a/1").body == b'{"n":2}'  # type: ignore[union-attr]
    assert store.portfolio.get_doc("person-1", "goal", "b/1") is None
    assert [d.key for d in store.portfolio.list_docs("person-1", "goal", limit=1)] == ["a/1"]


def test_apply_on_a_moved_head_writes_nothing(store: Store) -> None:
    first = create(store)
    stale = entries("person-1", 1, head=first[0])
    with pytest.raises(RecordHeadMoved):
        store.portfolio.apply("person-1", stale, [doc("a/1")])
    assert store.portfolio.get_doc("person-1", "goal", "a/1") is None


def test_a_prefix_with_pattern_characters_is_taken_literally(store: Store) -> None:
    create(store)
    store.portfolio.apply("person-1", [], [doc("a.%_*(1"), doc("ab")])
    assert [d.key for d in store.portfolio.list_docs("person-1", "goal", prefix="a.%_*(")] == [
        "a.%_*(1"
    ]


def test_witnesses_names_the_people_who_witnessed_a_statement(store: Store) -> None:
    one = create(store)
    two = create(store, 2)
    statement = str(uuid.uuid4())
    store.records.append("person-1", witness("person-1", statement, one[-1]))
    store.records.append("person-2", witness("person-2", statement, two[-1]))
    assert store.records.witnesses(statement) == ["person-1", "person-2"]
    assert store.records.witnesses(str(uuid.uuid4())) == []
