"""The storage contract: every adapter passes the same tests.

SQLite always runs. MongoDB runs when MONGODB_URI points at a server (a replica set, for
transactions); without one those cases are skipped and say so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import uuid
from typing import Any

import orjson
import pytest

from portfolio.clock import format_us, now_us, parse_stored
from portfolio.errors import Conflict
from portfolio.lrs.agents import ifi_key
from portfolio.lrs.index import VOIDED_VERB, extract_index
from portfolio.storage.base import (
    ClientRecord,
    Document,
    DocumentChanged,
    DocumentKey,
    DocumentKind,
    DocumentScope,
    DuplicateStatementIds,
    Expect,
    NewStatement,
    StatementFilter,
    StatementQuery,
    Store,
)

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"


def agent(name: str) -> dict[str, Any]:
    return {"objectType": "Agent", "name": name, "mbox": f"mailto:{name}@example.org"}


def agent_key(name: str) -> str:
    key = ifi_key(agent(name))
    assert key is not None
    return key


def statement(
    *,
    actor: str = "ann",
    verb: str = COMPLETED,
    activity: str = "https://example.org/course/1",
    obj: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    client: str = "client-a",
    sid: str | None = None,
    timestamp: bool = True,
) -> NewStatement:
    body: dict[str, Any] = {
        "id": sid or str(uuid.uuid4()),
        "actor": agent(actor),
        "verb": {"id": verb},
        "object": obj or {"objectType": "Activity", "id": activity},
        "authority": {"objectType": "Agent", "account": {"homePage": "http://lrs", "name": client}},
    }
    if context:
        body["context"] = context
    if timestamp:
        body["timestamp"] = "2026-01-01T00:00:00Z"
    return NewStatement(
        id=body["id"],
        body=orjson.dumps(body),
        index=extract_index(body),
        authority_client=client,
        timestamp_from_stored=not timestamp,
    )


def voiding(
    target: str, *, client: str = "client-a", may_void_others: bool = False
) -> NewStatement:
    return dataclasses.replace(
        statement(
            verb=VOIDED_VERB, obj={"objectType": "StatementRef", "id": target}, client=client
        ),
        may_void_others=may_void_others,
    )


def ref(target: str, *, actor: str = "zed") -> NewStatement:
    return statement(actor=actor, verb=ATTEMPTED, obj={"objectType": "StatementRef", "id": target})


def ids(store: Store, **kwargs: Any) -> list[str]:
    filter_args = {
        k: kwargs.pop(k) for k in list(kwargs) if k in StatementFilter.__dataclass_fields__
    }
    page = store.statements.query(StatementQuery(filter=StatementFilter(**filter_args), **kwargs))
    return [r.id for r in page.statements]


# ------------------------------------------------------------------------ schema


def test_migrate_is_idempotent_and_reports_the_schema_version(store: Store) -> None:
    version = store.schema_version()
    assert version >= 1
    assert store.migrate() == []
    assert store.schema_version() == version
    store.ping()


# ------------------------------------------------------------------------ insert


def test_inserted_statement_reads_back_with_its_exact_bytes_and_a_stored_time(store: Store) -> None:
    s = statement()
    stored = store.statements.insert([s])
    record = store.statements.get(s.id)
    assert record is not None
    assert record.body == s.body
    assert record.stored == stored
    assert not record.voided
    assert orjson.loads(record.to_json())["stored"] == stored
    assert store.statements.count() == 1


def test_statement_without_timestamp_gets_its_stored_time_as_timestamp(store: Store) -> None:
    s = statement(timestamp=False)
    stored = store.statements.insert([s])
    record = store.statements.get(s.id)
    assert record is not None
    assert orjson.loads(record.to_json())["timestamp"] == stored


def test_stored_times_strictly_increase_across_inserts(store: Store) -> None:
    times = [store.statements.insert([statement()]) for _ in range(20)]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert all(len(t) == len("2026-01-01T00:00:00.000000Z") for t in times)


def test_a_batch_reads_back_in_the_order_it_was_sent(store: Store) -> None:
    batch = [statement() for _ in range(5)]
    last = store.statements.insert(batch)
    assert ids(store, ascending=True) == [s.id for s in batch]
    records = store.statements.get_many([s.id for s in batch])
    assert max(r.stored for r in records.values()) == last
    assert len({r.stored for r in records.values()}) == 5


def test_insert_with_a_known_id_raises_and_writes_nothing(store: Store) -> None:
    first = statement()
    store.statements.insert([first])
    fresh = statement()
    again = statement(sid=first.id)
    with pytest.raises(DuplicateStatementIds) as caught:
        store.statements.insert([fresh, again])
    assert caught.value.ids == (first.id,)
    assert store.statements.get(fresh.id) is None
    assert store.statements.count() == 1


def test_get_many_returns_only_known_ids(store: Store) -> None:
    a, b = statement(), statement()
    store.statements.insert([a, b])
    found = store.statements.get_many([a.id, b.id, str(uuid.uuid4())])
    assert set(found) == {a.id, b.id}


def test_consistent_through_is_at_or_after_every_stored_time(store: Store) -> None:
    stored = store.statements.insert([statement()])
    assert store.statements.consistent_through() >= stored


def test_concurrent_inserts_all_land_with_distinct_stored_times(store: Store) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(10):
                store.statements.insert([statement(), statement()])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.statements.count() == 80


# ----------------------------------------------------------------------- voiding


def test_voiding_statement_voids_its_target_and_is_not_voided_itself(store: Store) -> None:
    target = statement()
    store.statements.insert([target])
    v = voiding(target.id)
    store.statements.insert([v])
    record = store.statements.get(target.id)
    voider = store.statements.get(v.id)
    assert record is not None and record.voided
    assert voider is not None and not voider.voided and voider.voids == target.id


def test_target_arriving_after_its_voiding_statement_is_voided(store: Store) -> None:
    target = statement()
    store.statements.insert([voiding(target.id)])
    store.statements.insert([target])
    record = store.statements.get(target.id)
    assert record is not None and record.voided


def test_target_arriving_after_another_clients_voiding_statement_stays_unvoided(
    store: Store,
) -> None:
    """Data 2.3.2.s2.b4: a client that may not void others' statements cannot do it by
    sending the voiding statement first; both statements are kept."""
    target = statement(client="client-a")
    v = voiding(target.id, client="client-b")
    store.statements.insert([v])
    store.statements.insert([target])
    record, voider = store.statements.get(target.id), store.statements.get(v.id)
    assert record is not None and not record.voided
    assert voider is not None and voider.voids == target.id
    assert set(ids(store)) == {target.id, v.id}


def test_target_arriving_after_a_voiding_statement_that_may_void_others_is_voided(
    store: Store,
) -> None:
    target = statement(client="client-a")
    store.statements.insert([voiding(target.id, client="admin", may_void_others=True)])
    store.statements.insert([target])
    record = store.statements.get(target.id)
    assert record is not None and record.voided


def test_a_stored_target_is_voided_only_by_a_voiding_statement_that_may_void_it(
    store: Store,
) -> None:
    """The domain answers 403 first; the store keeps the rule too, for a target stored
    by a concurrent writer between that check and the insert."""
    kept, voided = statement(client="client-a"), statement(client="client-a")
    store.statements.insert([kept, voided])
    store.statements.insert(
        [
            voiding(kept.id, client="client-b"),
            voiding(voided.id, client="admin", may_void_others=True),
        ]
    )
    kept_record, voided_record = store.statements.get(kept.id), store.statements.get(voided.id)
    assert kept_record is not None and not kept_record.voided
    assert voided_record is not None and voided_record.voided


def test_voided_statements_drop_out_of_queries(store: Store) -> None:
    target, other = statement(), statement()
    store.statements.insert([target, other])
    v = voiding(target.id)
    store.statements.insert([v])
    assert set(ids(store)) == {other.id, v.id}


# ----------------------------------------------------------------------- queries


def test_default_order_is_newest_first_and_ascending_reverses_it(store: Store) -> None:
    inserted = [statement() for _ in range(5)]
    for s in inserted:
        store.statements.insert([s])
    newest_first = [s.id for s in reversed(inserted)]
    assert ids(store) == newest_first
    assert ids(store, ascending=True) == newest_first[::-1]


def test_agent_filter_matches_actor_object_and_group_members(store: Store) -> None:
    as_actor = statement(actor="bob")
    as_object = statement(actor="ann", obj=agent("bob"))
    in_group = statement(
        obj={"objectType": "Group", "member": [agent("bob"), agent("cid")]}, actor="ann"
    )
    as_instructor = statement(actor="ann", context={"instructor": agent("bob")})
    store.statements.insert([as_actor, as_object, in_group, as_instructor])
    direct = set(ids(store, agent=agent_key("bob")))
    related = set(ids(store, agent=agent_key("bob"), related_agents=True))
    assert direct == {as_actor.id, as_object.id, in_group.id}
    assert related == direct | {as_instructor.id}


def test_related_agents_include_authority_team_and_substatement_agents(store: Store) -> None:
    team = statement(context={"team": {"objectType": "Group", "mbox": "mailto:team@example.org"}})
    sub = statement(
        obj={
            "objectType": "SubStatement",
            "actor": agent("dee"),
            "verb": {"id": COMPLETED},
            "object": {"id": "https://example.org/x"},
        }
    )
    store.statements.insert([team, sub])
    team_key = ifi_key({"mbox": "mailto:team@example.org"})
    assert ids(store, agent=team_key) == []
    assert ids(store, agent=team_key, related_agents=True) == [team.id]
    assert ids(store, agent=agent_key("dee"), related_agents=True) == [sub.id]
    authority_key = "account:http://lrs|client-a"
    assert set(ids(store, agent=authority_key, related_agents=True)) == {team.id, sub.id}


def test_verb_activity_registration_and_authority_filters(store: Store) -> None:
    reg = str(uuid.uuid4())
    a = statement(verb=ATTEMPTED, activity="https://example.org/a")
    b = statement(
        activity="https://example.org/b",
        context={
            "registration": reg,
            "contextActivities": {"parent": [{"id": "https://example.org/a"}]},
        },
        client="client-b",
    )
    store.statements.insert([a, b])
    assert ids(store, verb=ATTEMPTED) == [a.id]
    assert ids(store, activity="https://example.org/a") == [a.id]
    assert set(ids(store, activity="https://example.org/a", related_activities=True)) == {
        a.id,
        b.id,
    }
    assert ids(store, registration=reg) == [b.id]
    assert ids(store, authority_client="client-b") == [b.id]
    assert ids(store, verb=ATTEMPTED, activity="https://example.org/b") == []


def test_since_is_exclusive_and_until_inclusive_on_stored(store: Store) -> None:
    first, second, third = statement(), statement(), statement()
    t1 = store.statements.insert([first])
    t2 = store.statements.insert([second])
    store.statements.insert([third])
    assert ids(store, since=t1, until=t2) == [second.id]
    assert ids(store, since=t2) == [third.id]
    assert ids(store, until=t1) == [first.id]


def test_statement_refs_match_through_their_targets_recursively(store: Store) -> None:
    """Communication 2.1.3 Filter Conditions for StatementRefs: a→b→c matches c's filter."""
    c = statement(actor="ben", activity="https://example.org/explosives")
    store.statements.insert([c])
    b = ref(c.id, actor="andrew")
    t_b = store.statements.insert([b])
    a = ref(b.id, actor="carl")
    store.statements.insert([a])
    noise = statement(
        actor="andrew", context={"statement": {"objectType": "StatementRef", "id": c.id}}
    )
    store.statements.insert([noise])
    assert set(ids(store, agent=agent_key("ben"))) == {a.id, b.id, c.id}
    assert ids(store, activity="https://example.org/explosives", since=t_b) == [a.id]
    # context.statement never counts
    assert noise.id not in ids(store, agent=agent_key("ben"))


def test_statements_targeting_a_voided_statement_are_still_returned(store: Store) -> None:
    """Communication 2.1.4.s1.b2: the voiding statement matches the voided one's filters."""
    target = statement(actor="eve")
    store.statements.insert([target])
    v = voiding(target.id)
    store.statements.insert([v])
    assert ids(store, agent=agent_key("eve")) == [v.id]


def test_paging_with_cursors_visits_every_statement_once_while_more_arrive(store: Store) -> None:
    for _ in range(25):
        store.statements.insert([statement(actor="pat")])
    seen: list[str] = []
    after = None
    for page_no in range(20):
        page = store.statements.query(
            StatementQuery(
                filter=StatementFilter(agent=agent_key("pat")), limit=4, after=after, ascending=True
            )
        )
        seen += [r.id for r in page.statements]
        # New statements keep arriving between pages; ascending paging must reach them too.
        if page_no < 3:
            store.statements.insert([statement(actor="pat")])
        if page.more is None:
            break
        after = page.more
    assert len(seen) == len(set(seen)) == 28


def test_descending_cursor_pages_do_not_repeat_or_skip(store: Store) -> None:
    for _ in range(10):
        store.statements.insert([statement()])
    all_ids = ids(store, limit=100)
    first = store.statements.query(StatementQuery(limit=3))
    assert first.more is not None
    second = store.statements.query(StatementQuery(limit=3, after=first.more))
    got = [r.id for r in first.statements + second.statements]
    assert got == all_ids[:6]


def test_last_page_has_no_more_cursor(store: Store) -> None:
    store.statements.insert([statement(), statement()])
    page = store.statements.query(StatementQuery(limit=2))
    assert len(page.statements) == 2 and page.more is None


def test_stored_format_round_trips() -> None:
    us = now_us()
    assert parse_stored(format_us(us)) == us


# ----------------------------------------------------------------------- clients


def client_record(key: str = "k1") -> ClientRecord:
    return ClientRecord(
        key=key,
        name="LMS",
        scopes=("statements/write", "statements/read"),
        secret_hash="ab" * 32,
        created="2026-01-01T00:00:00.000000Z",
    )


def test_clients_add_get_list_and_revoke(store: Store) -> None:
    store.clients.add(client_record("k1"))
    store.clients.add(client_record("k2"))
    got = store.clients.get("k1")
    assert got == client_record("k1")
    assert [c.key for c in store.clients.list()] == ["k1", "k2"]
    assert store.clients.revoke("k1", at="2026-02-01T00:00:00.000000Z")
    assert not store.clients.revoke("k1", at="2026-02-02T00:00:00.000000Z")
    revoked = store.clients.get("k1")
    assert revoked is not None and revoked.revoked == "2026-02-01T00:00:00.000000Z"
    assert store.clients.get("nope") is None


def test_adding_a_client_twice_is_a_conflict(store: Store) -> None:
    store.clients.add(client_record())
    with pytest.raises(Conflict):
        store.clients.add(client_record())


# --------------------------------------------------------------------- documents
# The State, Activity Profile and Agent Profile documents (Communication 2.2-2.7).

ACTIVITY = "https://example.org/course/1"
REGISTRATION = "6c8f5d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"


def state_key(state_id: str = "bookmark", **kwargs: Any) -> DocumentKey:
    fields: dict[str, Any] = {"activity_id": ACTIVITY, "agent": agent_key("ann")}
    fields.update(kwargs)
    return DocumentKey(kind=DocumentKind.STATE, document_id=state_id, **fields)


def doc(
    key: DocumentKey,
    content: bytes = b'{"page":1}',
    *,
    updated: str = "2026-01-01T00:00:00.000001Z",
    content_type: str = "application/json",
) -> Document:
    return Document(
        key=key,
        content=content,
        content_type=content_type,
        etag=hashlib.sha1(content).hexdigest(),
        updated=updated,
    )


def test_document_reads_back_with_its_exact_bytes_type_etag_and_update_time(store: Store) -> None:
    every_byte = bytes(range(256)) * 3
    stored = doc(state_key(), every_byte, content_type="application/octet-stream; x=y")
    store.documents.put(stored, expected=Expect.ABSENT)
    assert store.documents.get(state_key()) == stored
    empty = doc(state_key("empty"), b"", content_type="text/plain")
    store.documents.put(empty, expected=Expect.ANY)
    assert store.documents.get(state_key("empty")) == empty
    assert store.documents.get(state_key("unknown")) is None


def test_documents_are_kept_apart_by_kind_activity_agent_registration_and_id(
    store: Store,
) -> None:
    keys = [
        state_key(),
        state_key("other"),
        state_key(activity_id="https://example.org/course/2"),
        state_key(agent=agent_key("bob")),
        state_key(registration=REGISTRATION),
        DocumentKey(
            kind=DocumentKind.ACTIVITY_PROFILE, document_id="bookmark", activity_id=ACTIVITY
        ),
        DocumentKey(
            kind=DocumentKind.AGENT_PROFILE, document_id="bookmark", agent=agent_key("ann")
        ),
    ]
    for i, key in enumerate(keys):
        store.documents.put(doc(key, f'{{"n":{i}}}'.encode()), expected=Expect.ABSENT)
    for i, key in enumerate(keys):
        found = store.documents.get(key)
        assert found is not None and found.content == f'{{"n":{i}}}'.encode()


def test_document_put_expecting_absence_fails_when_one_is_there_and_writes_nothing(
    store: Store,
) -> None:
    first = doc(state_key(), b"first")
    store.documents.put(first, expected=Expect.ABSENT)
    with pytest.raises(DocumentChanged):
        store.documents.put(doc(state_key(), b"second"), expected=Expect.ABSENT)
    assert store.documents.get(state_key()) == first


def test_document_put_expecting_an_etag_replaces_only_that_version(store: Store) -> None:
    first = doc(state_key(), b"first")
    with pytest.raises(DocumentChanged):  # nothing stored yet
        store.documents.put(first, expected=first.etag)
    store.documents.put(first, expected=Expect.ABSENT)
    second = doc(state_key(), b"second", updated="2026-01-01T00:00:00.000002Z")
    with pytest.raises(DocumentChanged):
        store.documents.put(second, expected=hashlib.sha1(b"other").hexdigest())
    assert store.documents.get(state_key()) == first
    store.documents.put(second, expected=first.etag)
    assert store.documents.get(state_key()) == second


def test_document_put_expecting_anything_creates_and_replaces(store: Store) -> None:
    store.documents.put(doc(state_key(), b"first"), expected=Expect.ANY)
    second = doc(state_key(), b"second", content_type="text/plain")
    store.documents.put(second, expected=Expect.ANY)
    assert store.documents.get(state_key()) == second


def test_document_delete_compares_the_etag_and_reports_whether_one_was_there(store: Store) -> None:
    first = doc(state_key())
    assert store.documents.delete(state_key(), expected=Expect.ANY) is False
    with pytest.raises(DocumentChanged):  # expected a version that is not there
        store.documents.delete(state_key(), expected=first.etag)
    store.documents.put(first, expected=Expect.ABSENT)
    with pytest.raises(DocumentChanged):
        store.documents.delete(state_key(), expected=hashlib.sha1(b"other").hexdigest())
    assert store.documents.get(state_key()) == first
    assert store.documents.delete(state_key(), expected=first.etag) is True
    assert store.documents.get(state_key()) is None
    store.documents.put(first, expected=Expect.ABSENT)
    assert store.documents.delete(state_key(), expected=Expect.ANY) is True
    with pytest.raises(ValueError):
        store.documents.delete(state_key(), expected=Expect.ABSENT)


def test_document_lists_follow_the_scope_and_since_is_exclusive(store: Store) -> None:
    times = [f"2026-01-01T00:00:0{i}.000000Z" for i in range(5)]
    store.documents.put(doc(state_key("b"), updated=times[1]), expected=Expect.ABSENT)
    store.documents.put(doc(state_key("a"), updated=times[2]), expected=Expect.ABSENT)
    registered = state_key("c", registration=REGISTRATION)
    store.documents.put(doc(registered, updated=times[3]), expected=Expect.ABSENT)
    also_registered = state_key("a", registration=REGISTRATION)
    store.documents.put(doc(also_registered, updated=times[4]), expected=Expect.ABSENT)
    store.documents.put(doc(state_key("z", agent=agent_key("bob"))), expected=Expect.ABSENT)

    def listed(since: str | None = None, registration: str | None = None) -> list[Any]:
        scope = DocumentScope(
            kind=DocumentKind.STATE,
            activity_id=ACTIVITY,
            agent=agent_key("ann"),
            registration=registration,
        )
        return [(e.document_id, e.updated) for e in store.documents.list(scope, since=since)]

    # Without a registration, every registration (ordered by id); "a" is there twice.
    assert [i for i, _ in listed()] == ["a", "a", "b", "c"]
    assert listed(registration=REGISTRATION) == [("a", times[4]), ("c", times[3])]
    assert listed(since=times[2]) == [("a", times[4]), ("c", times[3])]
    assert listed(since=times[4]) == []
    profiles = DocumentScope(kind=DocumentKind.ACTIVITY_PROFILE, activity_id=ACTIVITY)
    assert store.documents.list(profiles) == []


def test_document_delete_all_empties_the_scope_and_nothing_else(store: Store) -> None:
    store.documents.put(doc(state_key("a")), expected=Expect.ABSENT)
    store.documents.put(doc(state_key("b", registration=REGISTRATION)), expected=Expect.ABSENT)
    other_reg = "0c8f5d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"
    store.documents.put(doc(state_key("c", registration=other_reg)), expected=Expect.ABSENT)
    bobs = state_key("a", agent=agent_key("bob"))
    store.documents.put(doc(bobs), expected=Expect.ABSENT)
    profile = DocumentKey(kind=DocumentKind.ACTIVITY_PROFILE, document_id="a", activity_id=ACTIVITY)
    store.documents.put(doc(profile), expected=Expect.ABSENT)

    def scope(registration: str | None = None) -> DocumentScope:
        return DocumentScope(
            kind=DocumentKind.STATE,
            activity_id=ACTIVITY,
            agent=agent_key("ann"),
            registration=registration,
        )

    assert store.documents.delete_all(scope(REGISTRATION)) == 1
    assert [e.document_id for e in store.documents.list(scope())] == ["a", "c"]
    assert store.documents.delete_all(scope()) == 2
    assert store.documents.list(scope()) == []
    assert store.documents.get(bobs) is not None
    assert store.documents.get(profile) is not None


def race_puts(store: Store, documents: list[Document], *, expected: str) -> list[bool]:
    """Put the documents from as many threads released at once; which of them succeeded."""
    barrier = threading.Barrier(len(documents))
    won = [False] * len(documents)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            store.documents.put(documents[i], expected=expected)
            won[i] = True
        except DocumentChanged:
            pass

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(documents))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


def test_racing_compare_and_set_writers_have_exactly_one_winner(store: Store) -> None:
    """Two writers expecting the same version: one replaces it, the other is refused."""
    for round_no in range(10):
        key = state_key(f"race-{round_no}")
        base = doc(key, b"base")
        store.documents.put(base, expected=Expect.ABSENT)
        contenders = [doc(key, b"x"), doc(key, b"y")]
        won = race_puts(store, contenders, expected=base.etag)
        assert won.count(True) == 1
        assert store.documents.get(key) == contenders[won.index(True)]


# ---------------------------------------------------- attachments, signatures, definitions


def with_extras(new: NewStatement, **changes: Any) -> NewStatement:
    from dataclasses import replace

    return replace(new, **changes)


def test_attachment_data_is_kept_once_per_hash_and_read_back(store: Store) -> None:
    from portfolio.storage.base import AttachmentData

    data = AttachmentData(sha2="ab" * 32, content_type="application/pdf", content=b"%PDF \x00\xff")
    store.statements.insert([statement()], attachments=[data])
    store.statements.insert([statement()], attachments=[data])
    assert store.statements.get_attachments(["ab" * 32, "cd" * 32]) == {"ab" * 32: data}


def test_a_signature_record_is_kept_with_its_statement(store: Store) -> None:
    signature = {
        "algorithm": "RS256",
        "verified": True,
        "certificate_sha256": "f" * 64,
        "subject": "CN=x",
    }
    signed = with_extras(statement(), signature=signature)
    plain = statement()
    store.statements.insert([signed, plain])
    got = store.statements.get(signed.id)
    assert got is not None and got.signature == signature
    other = store.statements.get(plain.id)
    assert other is not None and other.signature is None
    page = store.statements.query(StatementQuery(ascending=True))
    assert [r.signature for r in page.statements] == [signature, None]


def test_definitions_merge_into_the_canonical_ones_in_statement_order(store: Store) -> None:
    course = "https://example.org/course/1"
    first = with_extras(statement(), definitions=((course, {"name": {"en-GB": "Finance"}}),))
    second = with_extras(
        statement(),
        definitions=(
            (
                course,
                {"name": {"cy": "Cyllid"}, "type": "http://adlnet.gov/expapi/activities/course"},
            ),
        ),
    )
    store.statements.insert([first])
    store.statements.insert([second])
    third = with_extras(
        statement(), definitions=((course, {"name": {"en-GB": "Finance for managers"}}),)
    )
    store.statements.insert([third])
    assert store.statements.get_definitions([course, "https://example.org/unknown"]) == {
        course: {
            "name": {"en-GB": "Finance for managers", "cy": "Cyllid"},
            "type": "http://adlnet.gov/expapi/activities/course",
        }
    }


def test_a_refused_insert_changes_no_definition(store: Store) -> None:
    course = "https://example.org/course/2"
    first = with_extras(statement(), definitions=((course, {"name": {"en-GB": "A"}}),))
    store.statements.insert([first])
    again = with_extras(statement(sid=first.id), definitions=((course, {"name": {"en-GB": "B"}}),))
    with pytest.raises(DuplicateStatementIds):
        store.statements.insert([statement(), again])
    assert store.statements.get_definitions([course]) == {course: {"name": {"en-GB": "A"}}}
