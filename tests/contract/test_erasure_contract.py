"""Erasure and retention: every adapter passes the same tests (issue 5, item 5).

SQLite always runs. MongoDB runs when MONGODB_URI points at a server (skipped with that
reason otherwise); tests/unit/storage/test_mongo_erasure.py also runs these on mongomock,
which checks the documents and filters the adapter writes, not a database.

The acceptance test builds two portfolios that share a statement, erases one and scans
the whole store for anything of the person erased: the raw bytes of the SQLite database
and its WAL, or every document of every MongoDB collection.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
import orjson
import pytest

from portfolio.assessment.analysis import start_analysis
from portfolio.assessment.reviews import invite
from portfolio.bundle.layout import ARCHIVED_ATTACHMENTS, ARCHIVED_STATEMENTS
from portfolio.erasure import RequestedBy, apply_retention, erase_person, preview_erasure
from portfolio.errors import InvalidInput, NotFound
from portfolio.evidence.links import reflect
from portfolio.evidence.rules import parse_rule, save_rule
from portfolio.goals import get_goal, set_goal
from portfolio.lrs.attachments import AttachmentPart
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.mentoring import Mentoring
from portfolio.people.accounts import Accounts, Owner
from portfolio.people.identities import Identities
from portfolio.people.outbox import Message
from portfolio.people.witness import witness_new_statements
from portfolio.record.chain import (
    Draft,
    apply_with_retry,
    instance_key,
    iter_entries,
    verify_stored_record,
)
from portfolio.record.entry import Role
from portfolio.record.keys import KdfCost, SigningKey
from portfolio.standards.catalogue import install_shipped
from portfolio.storage.base import (
    ERASURES,
    INSTANCE_DOCS,
    DocChange,
    Document,
    DocumentKey,
    DocumentKind,
    ErasureScopeChanged,
    Expect,
    PortfolioDoc,
    Store,
)
from portfolio.storage.exchange import (
    ALL_STREAM,
    Checkpoint,
    DestinationRecord,
    ForwardFilter,
    OutboxState,
    Provenance,
    RemoteLrs,
    SourceAgentsChange,
    SourceRecord,
    SyncRun,
)
from tests.support import COMPLETED, attachment_object, voiding

PASSWORD = "correct horse battery"
STANDARD = "https://cpdfolio.org/frameworks/vsc-cymru-standard"
KS1 = f"{STANDARD}/items/KS.1"
COURSE = "https://learning.example.gov.uk/course/strategic-leadership"
LMS = Submitter(
    client_key="test-lms",
    authority={"objectType": "Agent", "account": {"homePage": "https://lms.test", "name": "lms"}},
    may_void_others=True,
)
# Who is erased: everything of theirs below is distinctive, so a scan cannot miss it.
ANN_EMAIL = "annwen.erasable@example.org"
ANN_NAME = "Annwen Erasable"
ANN_ACCOUNT = "account:https://lms.council-a.test|annwen-4711"
ANN_HOME = "annwen.home@example.net"
# Who stays.
BOB_EMAIL = "bob.keeper@example.org"
BOB_NAME = "Bob Keeper"
# The exchange with other LRSs: the stream of Ann's own source (the agent it asks for),
# and where the administrator's source stopped.
EXCHANGED = "2026-01-05T00:00:00.000000Z"
ANN_STREAM = orjson.dumps({"mbox": f"mailto:{ANN_EMAIL}"}).decode()
ANN_HASHED_STREAM = orjson.dumps(
    {"mbox_sha1sum": hashlib.sha1(f"mailto:{ANN_EMAIL}".encode()).hexdigest()}
).decode()
BOB_STREAM = orjson.dumps({"mbox": f"mailto:{BOB_EMAIL}"}).decode()
COUNCIL_CHECKPOINT = Checkpoint(since=EXCHANGED, last_stored=EXCHANGED, last_id="council-last")
ALL_STATEMENTS = ("ann", "account", "instructor", "hashed", "voiding", "shared", "bob")


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)


@dataclass
class World:
    store: Store
    key: SigningKey
    accounts: Accounts
    ann: Owner
    bob: Owner
    ingest: StatementIngest
    # Statement ids by what they are, and text only Ann's data holds.
    ids: dict[str, str] = field(default_factory=dict)
    secrets: list[bytes] = field(default_factory=list)

    def post(self, statement: dict[str, Any], *, data: bytes | None = None) -> str:
        parts = None
        if data is not None:
            statement["attachments"] = [attachment_object(data)]
            sha2 = hashlib.sha256(data).hexdigest()
            parts = [AttachmentPart(number=1, sha2=sha2, content_type="text/plain", data=data)]
        return self.ingest.post(statement, submitter=LMS, version="1.0.3", parts=parts)[0]


def _agent(email: str, name: str) -> dict[str, Any]:
    return {"objectType": "Agent", "name": name, "mbox": f"mailto:{email}"}


def _statement(actor: dict[str, Any], text: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": actor,
        "verb": {"id": COMPLETED, "display": {"en-GB": "completed"}},
        "object": {"objectType": "Activity", "id": COURSE},
        "result": {"response": text, "duration": "PT2H"},
        **extra,
    }


def build_world(store: Store, *, attachments: bool = True) -> World:
    """Two portfolios, Ann's and Bob's, sharing one statement, with everything a
    portfolio and the LRS can hold about Ann."""
    key = instance_key(store.records, b"contract-secret")
    install_shipped(store.frameworks)
    rule = {"id": "course", "framework": STANDARD, "match": {"activity": COURSE}, "items": [KS1]}
    save_rule(store, parse_rule(rule))
    accounts = Accounts(
        store, instance_key=key, instance_url="http://lrs.test", kdf=KdfCost(memory_kib=1024)
    )
    people = {}
    for email, name in ((ANN_EMAIL, ANN_NAME), (BOB_EMAIL, BOB_NAME)):
        accounts.create(email=email, name=name, password=PASSWORD)
        people[email] = accounts.authenticate(accounts.login(email, PASSWORD).token)
    ann, bob = people[ANN_EMAIL], people[BOB_EMAIL]
    accounts.create_token(ann, name="Annwen's laptop", password=PASSWORD)
    outbox = Outbox()
    identities = Identities(accounts, outbox=outbox)
    identities.confirm_by_administrator(ANN_EMAIL, ANN_ACCOUNT, administrator="Admin")
    identities.start(ann, f"mbox:mailto:{ANN_HOME}")  # a code request, never confirmed
    # Bob's goal is set before the shared statement arrives: it counts toward it.
    bob_goal = set_goal(store, bob, {"title": "Lead strategically", "items": [KS1]})
    world = World(
        store=store,
        key=key,
        accounts=accounts,
        ann=ann,
        bob=bob,
        ingest=StatementIngest(
            store.statements, on_stored=lambda new: witness_new_statements(store, key, new)
        ),
    )
    world.ids["bob_goal"] = bob_goal["id"]
    ann_agent = _agent(ANN_EMAIL, ANN_NAME)
    bob_agent = _agent(BOB_EMAIL, BOB_NAME)
    ann_data = b"certificate of Annwen's own achievement" if attachments else None
    shared_data = b"certificate both of them earned" if attachments else None
    world.ids["ann"] = world.post(_statement(ann_agent, "Annwen reflected aloud"), data=ann_data)
    # By the account identity an administrator linked.
    account = {"homePage": "https://lms.council-a.test", "name": "annwen-4711"}
    world.ids["account"] = world.post(_statement({"account": account}, "Annwen by account"))
    # Naming Ann only as instructor, in a statement about someone with no portfolio.
    carol = _agent("carol.nobody@example.org", "Carol Nobody")
    world.ids["instructor"] = world.post(
        _statement(carol, "taught by Annwen", context={"instructor": ann_agent})
    )
    # Ann by the hash of her mailbox, never linked as such.
    sha1 = hashlib.sha1(f"mailto:{ANN_EMAIL}".encode()).hexdigest()
    world.ids["hashed"] = world.post(_statement({"mbox_sha1sum": sha1}, "Annwen hashed"))
    world.ids["voiding"] = world.post(voiding(world.ids["account"], actor="lms-admin"))
    # Both of them (Group members are direct agents): witnessed in both records.
    group = {"objectType": "Group", "member": [ann_agent, bob_agent]}
    world.ids["shared"] = world.post(_statement(group, "Annwen and Bob together"), data=shared_data)
    # Bob's own, with the same attachment bytes: they must stay.
    world.ids["bob"] = world.post(_statement(bob_agent, "Bob alone"), data=shared_data)

    ann_key = "mbox:mailto:" + ANN_EMAIL
    for document in (
        Document(
            key=DocumentKey(DocumentKind.STATE, "bookmark", activity_id=COURSE, agent=ann_key),
            content=b'{"where": "Annwen stopped here"}',
            content_type="application/json",
            etag="0" * 40,
            updated="2026-01-01T00:00:00.000000Z",
        ),
        Document(
            key=DocumentKey(DocumentKind.AGENT_PROFILE, "preferences", agent=ann_key),
            content=b"Annwen prefers Welsh",
            content_type="text/plain",
            etag="1" * 40,
            updated="2026-01-01T00:00:00.000000Z",
        ),
        Document(
            key=DocumentKey(
                DocumentKind.STATE, "bookmark", activity_id=COURSE, agent="mbox:mailto:" + BOB_EMAIL
            ),
            content=b'{"where": "Bob stopped here"}',
            content_type="application/json",
            etag="2" * 40,
            updated="2026-01-01T00:00:00.000000Z",
        ),
    ):
        store.documents.put(document, expected=Expect.ANY)

    goal = set_goal(store, ann, {"title": "Annwen's private goal", "items": [KS1]})
    reflection = {
        "what_happened": "Annwen's reflection on the course",
        "what_i_learnt": "Annwen learnt",
        "how_it_changes_my_practice": "Annwen changes",
    }
    reflect(store, ann, {"about": {"statement": world.ids["ann"]}, **reflection})
    reflect(store, ann, {"about": {"goal": goal["id"]}, **reflection})
    Mentoring(store, instance_key=key, instance_url="http://lrs.test", outbox=outbox).log(
        ann,
        {
            "role": "mentee",
            "other_email": BOB_EMAIL,
            "other_name": BOB_NAME,
            "date": "2026-01-10",
            "minutes": 60,
            "topics": "Annwen's mentoring topics",
        },
    )
    analysis = start_analysis(store, ann, framework=STANDARD, title="Annwen's analysis")
    reviewer = {"name": "Rita Reviewer", "email": "rita@example.org", "relationship": "peer"}
    invite(store, ann, analysis, reviewer, outbox=outbox, instance_url="http://lrs.test")

    connect_exchange(world)

    world.secrets = [
        text.encode()
        for text in (
            ANN_EMAIL,
            ANN_NAME,
            ann.person.id,
            ANN_ACCOUNT,
            "annwen-4711",
            ANN_HOME,
            sha1,
            "Annwen",  # every text of hers says it; Bob's and Carol's never do
        )
    ]
    for name in ("ann", "account", "instructor", "hashed", "voiding"):
        world.secrets.append(world.ids[name].encode())
    if ann_data is not None:
        world.secrets.append(ann_data)
        world.secrets.append(hashlib.sha256(ann_data).hexdigest().encode())
    return world


def _remote(username: str) -> RemoteLrs:
    return RemoteLrs(
        endpoint="https://lrs.council-a.test/xAPI/",
        username=username,
        sealed_secret=orjson.dumps({"sealed": f"credentials of {username}"}).decode(),
    )


def connect_exchange(world: World) -> None:
    """What the exchange with other LRSs holds about Ann: the source she connected for
    her own mailbox (its checkpoint, last run and provenance), her statements in three
    outboxes in every state, and two destinations that name her in their filter, one of
    them alone. Bob's source, the administrator's and a destination for everyone stay.
    Two administrator's sources ask about her by name: one about her alone (by her
    hashed mailbox), one about her and Bob."""
    store, ids = world.store, world.ids
    ann_id, bob_id = world.ann.person.id, world.bob.person.id
    for name, owner, agents in (
        ("annwen-lms", ann_id, (ANN_STREAM,)),
        ("bob-lms", bob_id, (BOB_STREAM,)),
        ("council-lms", None, ()),
        ("council-annwen", None, (ANN_HASHED_STREAM,)),
        ("council-team", None, (ANN_STREAM, BOB_STREAM)),
    ):
        store.sources.add(
            SourceRecord(
                name=name, remote=_remote(name), agents=agents, owner=owner, created=EXCHANGED
            )
        )

    def pulled(name: str, source: str) -> Provenance:
        authority = {"account": {"homePage": "https://lrs.council-a.test", "name": source}}
        return Provenance(ids[name], source, EXCHANGED, authority, EXCHANGED)

    # Her credentials could read one of Bob's statements too: its provenance names her
    # source, and goes with it.
    ann_page = [pulled("ann", "annwen-lms"), pulled("bob", "annwen-lms")]
    store.sources.page_done("annwen-lms", ANN_STREAM, Checkpoint(last_id=ids["ann"]), ann_page)
    store.sources.save_run(
        "annwen-lms", SyncRun(started=EXCHANGED, finished=None, status="failed", error="annwen?")
    )
    store.sources.page_done("bob-lms", BOB_STREAM, Checkpoint(), [pulled("bob", "bob-lms")])
    store.sources.page_done("council-annwen", ANN_HASHED_STREAM, COUNCIL_CHECKPOINT, [])
    for stream in (ANN_STREAM, BOB_STREAM):
        store.sources.page_done("council-team", stream, COUNCIL_CHECKPOINT, [])
    council_page = [pulled(name, "council-lms") for name in ("instructor", "hashed", "shared")]
    council_page.append(pulled("bob", "council-lms"))
    store.sources.page_done("council-lms", ALL_STREAM, COUNCIL_CHECKPOINT, council_page)

    for name, people in (
        ("annwen-only", (ann_id,)),
        ("team", (ann_id, bob_id)),
        ("everyone", ()),
    ):
        store.outbox.add_destination(
            DestinationRecord(
                name=name,
                remote=_remote(name),
                filter=ForwardFilter(verbs=(COMPLETED,), people=people),
                created=EXCHANGED,
            )
        )
        store.outbox.enqueue(name, [ids[n] for n in ALL_STATEMENTS], at=EXCHANGED)
    # Every state: sent, dead, pending.
    store.outbox.mark_sent("team", [ids["ann"]], at=EXCHANGED)
    store.outbox.mark_failed(
        "team", [ids["account"]], at=EXCHANGED, error="refused", retry_at=EXCHANGED, max_attempts=1
    )


def erase_ann(world: World) -> Any:
    return erase_person(
        world.store,
        world.key,
        world.ann.person.id,
        requested_by=RequestedBy.administrator_on_request("Dana Admin", "DPO ticket 2026-117"),
    )


# -------------------------------------------------------------------------- scanning


def store_bytes(store: Store) -> bytes:
    """Everything the store holds, as bytes to search: the raw files of a SQLite store
    (database and WAL), or every document of every collection of a MongoDB one."""
    from portfolio.storage.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        files = [store.path, Path(f"{store.path}-wal"), Path(f"{store.path}-shm")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    db = store.db()  # type: ignore[attr-defined]
    return b"".join(
        bson.encode(doc) for name in sorted(db.list_collection_names()) for doc in db[name].find()
    )


def traces(store: Store, secrets: list[bytes]) -> list[bytes]:
    data = store_bytes(store)
    return [secret for secret in secrets if secret in data or secret.lower() in data.lower()]


def run_no_trace(store: Store, *, attachments: bool) -> None:
    world = build_world(store, attachments=attachments)
    bob_id = world.bob.person.id
    assert traces(store, world.secrets) == world.secrets  # the scan sees them before

    erasure = erase_ann(world)

    assert traces(store, world.secrets) == []
    # What it said is gone from Bob's portfolio too; only the shared statement's id stays
    # in his signed record, beside the entry that says it was erased.
    assert traces(store, [b"Annwen and Bob together"]) == []
    summary = verify_stored_record(store.records, bob_id)
    erased = [
        entry.parsed()
        for entry in iter_entries(store.records, bob_id)
        if entry.parsed()["kind"] == "statement-erased"
    ]
    assert [e["body"] for e in erased] == [{"statement": world.ids["shared"]}]
    assert erased[0]["signer"]["role"] == "instance"
    assert summary.kinds["statement-erased"] == 1
    # Bob's evidence: only his own statement now, in coverage and goal progress alike.
    assert store.portfolio.get_doc(bob_id, "evidence", world.ids["shared"]) is None
    assert store.portfolio.get_doc(bob_id, "evidence", world.ids["bob"]) is not None
    coverage = orjson.loads(store.portfolio.get_doc(bob_id, "coverage", KS1).body)  # type: ignore[union-attr]
    assert coverage["count"] == 1
    assert get_goal(store, bob_id, world.ids["bob_goal"])["summary"]["evidence"] == 1
    totals = orjson.loads(store.portfolio.get_doc(bob_id, "totals", "evidence").body)  # type: ignore[union-attr]
    assert totals == {"evidence": 1}
    assert store.portfolio.list_docs(bob_id, "mentoring") == []
    # Bob's statement, its attachment (shared bytes) and his State document stay.
    assert store.statements.get(world.ids["bob"]) is not None
    if attachments:
        sha2 = hashlib.sha256(b"certificate both of them earned").hexdigest()
        assert set(store.statements.get_attachments([sha2])) == {sha2}
    bob_state = DocumentKey(
        DocumentKind.STATE, "bookmark", activity_id=COURSE, agent="mbox:mailto:" + BOB_EMAIL
    )
    assert store.documents.get(bob_state) is not None
    assert store.people.get(world.ann.person.id) is None
    assert [p.email for p in store.people.list()] == [BOB_EMAIL]

    # One tombstone: when, who asked, how much; nothing that names anyone.
    [tombstone] = store.portfolio.list_docs(INSTANCE_DOCS, ERASURES)
    body = orjson.loads(tombstone.body)
    assert tombstone.key == erasure.id
    assert body["requested_by"] == {
        "role": "administrator",
        "administrator": "Dana Admin",
        "request": "DPO ticket 2026-117",
    }
    assert body["counts"] == erasure.counts.to_json()
    assert body["counts"]["statements"] == 6
    assert body["counts"]["attachments"] == (1 if attachments else 0)
    assert body["counts"]["documents"] == 2
    assert body["counts"]["identities"] == 2
    assert body["counts"]["sessions"] == 2  # the login and the personal token
    assert body["counts"]["challenges"] == 1
    assert body["counts"]["sources"] == 3  # hers deleted; two administrator's changed
    assert body["counts"]["destinations"] == 2  # one changed, one removed
    assert body["counts"]["other_records"] == 1
    # The mentoring session, its link, Bob's pointer to it and the 360° review link.
    assert body["counts"]["shared_docs"] == 4
    assert set(body) == {"erased", "requested_by", "counts"}

    with pytest.raises(NotFound):
        erase_ann(world)


# ----------------------------------------------------------------------------- tests


def test_erasure_leaves_no_trace_of_the_person_in_the_store(store: Store) -> None:
    """Acceptance: statements, documents, attachments, keys and records of the person
    are gone, byte for byte; the other person's record still verifies."""
    run_no_trace(store, attachments=True)


def test_erasure_forgets_the_person_in_the_exchange(store: Store) -> None:
    """Her source goes with its checkpoint and last run, the erased statements lose their
    provenance and outbox items, and destinations forget her; Bob's share stays."""
    world = build_world(store, attachments=False)
    ids, bob_id = world.ids, world.bob.person.id
    erase_ann(world)

    assert [s.name for s in store.sources.list()] == ["bob-lms", "council-lms", "council-team"]
    assert store.sources.checkpoint("annwen-lms", ANN_STREAM) == Checkpoint()
    # The administrator's source about her alone went (no agents would pull everyone's);
    # the one about both asks about Bob only, and forgot when it last asked about her.
    assert store.sources.get("council-annwen") is None
    assert store.sources.checkpoint("council-annwen", ANN_HASHED_STREAM) == Checkpoint()
    council_team = store.sources.get("council-team")
    assert council_team is not None and council_team.agents == (BOB_STREAM,)
    assert store.sources.checkpoint("council-team", ANN_STREAM) == Checkpoint()
    assert store.sources.checkpoint("council-team", BOB_STREAM) == COUNCIL_CHECKPOINT
    assert store.sources.last_run("annwen-lms") is None
    assert store.sources.checkpoint("council-lms", ALL_STREAM) == COUNCIL_CHECKPOINT
    provenance = store.sources.provenance([ids[name] for name in ALL_STATEMENTS])
    assert {i: [p.source for p in found] for i, found in provenance.items()} == {
        ids["bob"]: ["bob-lms", "council-lms"]
    }

    # The destination for her alone is gone (an empty filter would forward everyone's);
    # the one for both now names Bob alone.
    assert [d.name for d in store.outbox.destinations()] == ["everyone", "team"]
    team = store.outbox.get_destination("team")
    assert team is not None and team.filter.people == (bob_id,)
    everyone = store.outbox.get_destination("everyone")
    assert everyone is not None and everyone.filter.people == ()
    for name in ("everyone", "team"):
        left = [
            (i.statement_id, i.state)
            for state in OutboxState
            for i in store.outbox.items(name, state)
        ]
        assert left == [(ids["bob"], OutboxState.PENDING)], name
    assert [(s.name, s.pending, s.sent, s.dead, s.last_error) for s in store.outbox.status()] == [
        ("everyone", 1, 0, 0, None),
        ("team", 1, 0, 0, None),
    ]


def test_erasing_an_unknown_person_is_not_found(store: Store) -> None:
    key = instance_key(store.records, b"contract-secret")
    with pytest.raises(NotFound):
        erase_person(store, key, "no-such-person", requested_by=RequestedBy.owner())


def test_an_erasure_planned_on_a_stale_scope_writes_nothing(store: Store) -> None:
    """All or nothing: a statement about the person arriving between planning and
    erasing makes the store refuse the plan, and nothing is deleted."""
    world = build_world(store, attachments=False)
    ann_id = world.ann.person.id
    identities = [link.identity for link in store.people.identities(ann_id)]
    stale = store.erasure.scope(ann_id, identities)
    late = world.post(_statement(_agent(ANN_EMAIL, ANN_NAME), "late arrival"))
    before = store.statements.count()
    with pytest.raises(ErasureScopeChanged):
        store.erasure.erase(stale, others=[], changes=[], tombstone=_no_tombstone)
    assert store.statements.count() == before
    assert store.statements.get(late) is not None
    assert store.people.get(ann_id) is not None
    assert [s.name for s in store.sources.list()] == [
        "annwen-lms",
        "bob-lms",
        "council-annwen",
        "council-lms",
        "council-team",
    ]
    assert len(store.outbox.destinations()) == 3
    assert store.portfolio.list_docs(INSTANCE_DOCS, ERASURES) == []


def test_an_erasure_planned_on_a_changed_source_writes_nothing(store: Store) -> None:
    """An administrator's source whose agents changed between planning and erasing
    (`sources add --replace`) makes the store refuse the plan, and nothing is deleted."""
    world = build_world(store, attachments=False)
    ann_id = world.ann.person.id
    identities = [link.identity for link in store.people.identities(ann_id)]
    scope = store.erasure.scope(ann_id, identities)
    before = store.statements.count()
    planned = SourceAgentsChange("council-team", (ANN_STREAM,), ())  # it has Bob's too
    with pytest.raises(ErasureScopeChanged):
        store.erasure.erase(
            scope, others=[], changes=[], tombstone=_no_tombstone, sources=[planned]
        )
    gone = SourceAgentsChange("no-such-source", (ANN_STREAM,), ())
    with pytest.raises(ErasureScopeChanged):
        store.erasure.erase(scope, others=[], changes=[], tombstone=_no_tombstone, sources=[gone])
    assert store.people.get(ann_id) is not None
    assert store.statements.count() == before
    council_team = store.sources.get("council-team")
    assert council_team is not None and council_team.agents == (ANN_STREAM, BOB_STREAM)
    assert store.sources.checkpoint("council-team", ANN_STREAM) == COUNCIL_CHECKPOINT


def _no_tombstone(counts: Any) -> Any:  # pragma: no cover - never reached
    raise AssertionError("the erasure should have been refused")


def test_the_preview_says_what_an_erasure_would_delete(store: Store) -> None:
    world = build_world(store, attachments=False)
    preview = preview_erasure(store, world.ann.person.id)
    assert preview.person.email == ANN_EMAIL
    assert set(preview.identities) == {"mbox:mailto:" + ANN_EMAIL, ANN_ACCOUNT}
    assert (preview.statements, preview.shared_statements, preview.other_records) == (6, 1, 1)
    assert preview.record_entries > 5
    assert store.people.get(world.ann.person.id) is not None  # a preview deletes nothing


def test_an_administrator_reference_naming_the_person_is_refused(store: Store) -> None:
    """The tombstone keeps the administrator's name and reference: neither may hold the
    person's e-mail or name."""
    world = build_world(store, attachments=False)
    for request in (f"letter from {ANN_EMAIL}", f"{ANN_NAME.upper()} asked by phone"):
        with pytest.raises(InvalidInput) as refused:
            erase_person(
                store,
                world.key,
                world.ann.person.id,
                requested_by=RequestedBy.administrator_on_request("Dana Admin", request),
            )
        assert refused.value.path == "request"
    assert store.people.get(world.ann.person.id) is not None


def test_voiding_is_not_erasure(store: Store) -> None:
    """Data 2.3.2: a voided statement stays stored (only queries leave it out); erasure
    is what deletes it."""
    world = build_world(store, attachments=False)
    voided = store.statements.get(world.ids["account"])
    assert voided is not None and voided.voided
    assert store.statements.get(world.ids["voiding"]) is not None
    erase_ann(world)
    assert store.statements.get(world.ids["account"]) is None
    assert store.statements.get(world.ids["voiding"]) is None


def test_retention_deletes_old_unwitnessed_statements_and_keeps_witnessed_ones(
    store: Store,
) -> None:
    world = build_world(store, attachments=False)
    # Carol has no portfolio, and nobody's portfolio has the hashed mailbox: those two
    # statements are nobody's evidence. A voiding statement whose target a record
    # witnesses stays, so that the record's story stays whole.
    witnessed_target = world.post(_statement(_agent(BOB_EMAIL, BOB_NAME), "Bob's to void"))
    kept_voiding = world.post(voiding(witnessed_target, actor="lms-admin"))
    unwitnessed = [world.ids["instructor"], world.ids["hashed"]]
    total = store.statements.count()
    later = datetime.now(UTC) + timedelta(days=1)

    earlier = apply_retention(store, before=datetime.now(UTC) - timedelta(days=1), dry_run=False)
    assert earlier.counts.statements == 0
    dry = apply_retention(store, before=later, dry_run=True)
    assert dry.counts.statements == len(unwitnessed)
    assert store.statements.count() == total  # a dry run deletes nothing

    done = apply_retention(store, before=later, dry_run=False)
    assert done.counts.to_json() == dry.counts.to_json()
    assert store.statements.count() == total - len(unwitnessed)
    for statement_id in unwitnessed:
        assert store.statements.get(statement_id) is None
    for name in ("ann", "account", "voiding", "shared", "bob"):
        assert store.statements.get(world.ids[name]) is not None, name
    assert store.statements.get(kept_voiding) is not None
    # Their provenance and outbox items go with them; the kept statements' stay.
    assert store.sources.provenance(unwitnessed) == {}
    assert set(store.sources.provenance([world.ids["shared"], world.ids["bob"]])) == {
        world.ids["shared"],
        world.ids["bob"],
    }
    kept = [world.ids[name] for name in ALL_STATEMENTS if world.ids[name] not in unwitnessed]
    queued = store.outbox.items("everyone", OutboxState.PENDING)
    assert [i.statement_id for i in queued] == kept
    # Never a portfolio.
    assert {p.email for p in store.people.list()} == {ANN_EMAIL, BOB_EMAIL}
    verify_stored_record(store.records, world.ann.person.id)


def test_retention_ends_expired_sessions_codes_and_links(store: Store) -> None:
    world = build_world(store, attachments=False)
    from portfolio.storage.base import Challenge, SessionRecord

    past = "2020-01-01T00:00:00.000000Z"
    store.people.add_session(
        SessionRecord(
            id="old-session",
            secret_hash="0" * 64,
            person_id=world.bob.person.id,
            kind="session",
            name="login",
            created=past,
            expires=past,
            sealed_key="{}",
        )
    )
    store.people.add_challenge(
        Challenge(
            id="old-code",
            person_id=world.bob.person.id,
            identity="mbox:mailto:bob.old@example.org",
            code_hash="0" * 64,
            created=past,
            expires=past,
        )
    )
    report = apply_retention(store, before=datetime(2000, 1, 1, tzinfo=UTC), dry_run=False)
    assert (report.counts.sessions, report.counts.challenges, report.links) == (1, 1, 0)
    assert store.people.get_session("old-session") is None
    assert store.people.get_challenge("old-code") is None
    # Live sessions and tokens, and the links not yet expired, stay.
    assert len(store.people.sessions(world.ann.person.id)) == 2
    assert store.portfolio.list_docs(INSTANCE_DOCS, "mentoring-link") != []


def test_copies_other_portfolios_brought_from_elsewhere_are_erased_too(store: Store) -> None:
    """A portfolio that moved here keeps the statements it witnessed as its own copies,
    apart from the LRS (portfolio.bundle), and carries its mentoring sessions: those
    naming the person erased go as well, and the record that witnessed them says so."""
    world = build_world(store, attachments=False)
    bob_id = world.bob.person.id
    group = {"objectType": "Group", "member": [_agent(ANN_EMAIL, ANN_NAME)]}
    copy = _statement(group, "Annwen at council X", attachments=[attachment_object(b"X")])
    copy["stored"] = "2025-01-01T00:00:00.000000Z"
    sha2 = copy["attachments"][0]["sha2"]
    carried = {"id": "s-x", "date": "2025-01-01", "mentee": {"email": ANN_EMAIL}, "mentor": {}}

    def plan() -> tuple[list[Draft], list[DocChange]]:
        body = {
            "statement": copy["id"],
            "sha256": hashlib.sha256(orjson.dumps(copy)).hexdigest(),
            "stored": copy["stored"],
            "identity": "mbox:mailto:" + BOB_EMAIL,
        }
        now = copy["stored"]
        return [Draft("statement-witnessed", body, world.key, Role.INSTANCE)], [
            PortfolioDoc(bob_id, ARCHIVED_STATEMENTS, copy["id"], orjson.dumps(copy), now),
            PortfolioDoc(bob_id, ARCHIVED_ATTACHMENTS, sha2, b'{"content": "WA=="}', now),
            PortfolioDoc(bob_id, "mentoring", "s-x", orjson.dumps(carried), now),
        ]

    apply_with_retry(store, bob_id, plan)
    erase_ann(world)
    for collection, key in (
        (ARCHIVED_STATEMENTS, copy["id"]),
        (ARCHIVED_ATTACHMENTS, sha2),
        ("mentoring", "s-x"),
    ):
        assert store.portfolio.get_doc(bob_id, collection, key) is None, collection
    erased = [
        entry.parsed()["body"]["statement"]
        for entry in iter_entries(store.records, bob_id)
        if entry.parsed()["kind"] == "statement-erased"
    ]
    assert sorted(erased) == sorted([world.ids["shared"], copy["id"]])
    verify_stored_record(store.records, bob_id)
    assert traces(store, world.secrets) == []
