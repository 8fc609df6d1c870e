"""The storage contract of sources, provenance and the forwarding outbox
(portfolio.storage.exchange): every adapter passes the same tests."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from portfolio.errors import Conflict, NotFound
from portfolio.storage.base import DuplicateStatementIds, NewStatement, Store
from portfolio.storage.exchange import (
    Checkpoint,
    DestinationRecord,
    ForwardFilter,
    OutboxState,
    Provenance,
    RemoteLrs,
    SourceRecord,
    SyncRun,
)
from tests.contract.test_store_contract import statement, voiding

AT = "2026-11-23T10:00:00.000000Z"
LATER = "2026-11-23T11:00:00.000000Z"
REMOTE = RemoteLrs(endpoint="http://127.0.0.1:9/xAPI/", username="k", sealed_secret="{}")


def source(name: str = "lms", *, owner: str | None = None) -> SourceRecord:
    return SourceRecord(
        name=name,
        remote=REMOTE,
        agents=('{"mbox":"mailto:a@example.org"}',),
        owner=owner,
        created=AT,
        since_field="timestamp",
    )


def destination(name: str = "hub", *, max_attempts: int = 3) -> DestinationRecord:
    return DestinationRecord(
        name=name,
        remote=REMOTE,
        filter=ForwardFilter(verbs=("http://adlnet.gov/expapi/verbs/completed",)),
        created=AT,
        batch_size=50,
        max_attempts=max_attempts,
    )


def forwarded(*names: str, count: int = 1) -> list[NewStatement]:
    return [dataclasses.replace(statement(), forward_to=names) for _ in range(count)]


# ------------------------------------------------------------------------- sources


def test_sources_are_added_listed_and_removed(store: Store) -> None:
    store.sources.add(source("lms"))
    store.sources.add(source("mine", owner="person-1"))
    assert store.sources.get("lms") == source("lms")
    assert [s.name for s in store.sources.list()] == ["lms", "mine"]
    assert [s.name for s in store.sources.list(owner="person-1")] == ["mine"]
    with pytest.raises(Conflict):
        store.sources.add(source("lms"))
    assert store.sources.remove("lms") is True
    assert store.sources.remove("lms") is False
    assert store.sources.get("lms") is None


def test_replacing_a_source_keeps_its_checkpoints(store: Store) -> None:
    store.sources.add(source())
    store.sources.page_done("lms", "*", Checkpoint("s", "st", "id"), [])
    changed = dataclasses.replace(source(), remote=dataclasses.replace(REMOTE, username="new"))
    store.sources.add(changed, replace=True)
    assert store.sources.get("lms") == changed
    assert store.sources.checkpoint("lms", "*") == Checkpoint("s", "st", "id")


def test_a_checkpoint_and_provenance_are_saved_together(store: Store) -> None:
    store.sources.add(source())
    assert store.sources.checkpoint("lms", "*") == Checkpoint()
    first = Provenance("s1", "lms", "2026-01-01T00:00:00Z", {"mbox": "mailto:x@y.z"}, AT)
    store.sources.page_done("lms", "*", Checkpoint("a", "b", "s1"), [first])
    # The same statement seen again (a re-run after a crash) keeps its first provenance.
    again = dataclasses.replace(first, fetched=LATER, remote_stored="other")
    store.sources.page_done("lms", "*", Checkpoint("c", "d", "s2"), [again])
    assert store.sources.checkpoint("lms", "*") == Checkpoint("c", "d", "s2")
    assert store.sources.checkpoint("lms", "other-stream") == Checkpoint()
    assert store.sources.provenance(["s1", "unknown"]) == {"s1": [first]}


def test_removing_a_source_keeps_the_provenance_and_forgets_the_checkpoint(store: Store) -> None:
    store.sources.add(source())
    p = Provenance("s1", "lms", None, None, AT)
    store.sources.page_done("lms", "*", Checkpoint("a", "b", "s1"), [p])
    store.sources.remove("lms")
    store.sources.add(source())
    assert store.sources.checkpoint("lms", "*") == Checkpoint()
    assert store.sources.provenance(["s1"]) == {"s1": [p]}


def test_the_last_run_is_kept(store: Store) -> None:
    store.sources.add(source())
    assert store.sources.last_run("lms") is None
    run = SyncRun(started=AT, finished=LATER, status="ok", fetched=3, new=2, duplicate=1)
    store.sources.save_run("lms", run)
    assert store.sources.last_run("lms") == run


# ------------------------------------------------------------------------- outbox


def test_destinations_are_added_listed_and_removed(store: Store) -> None:
    store.outbox.add_destination(destination("hub"))
    store.outbox.add_destination(destination("archive"))
    assert store.outbox.get_destination("hub") == destination("hub")
    assert [d.name for d in store.outbox.destinations()] == ["archive", "hub"]
    with pytest.raises(Conflict):
        store.outbox.add_destination(destination("hub"))
    store.outbox.add_destination(destination("hub", max_attempts=9), replace=True)
    assert store.outbox.get_destination("hub") == destination("hub", max_attempts=9)
    assert store.outbox.remove_destination("hub") is True
    assert store.outbox.remove_destination("hub") is False


def test_an_insert_queues_its_statements_in_the_same_transaction(store: Store) -> None:
    store.outbox.add_destination(destination("hub"))
    store.outbox.add_destination(destination("archive"))
    batch = forwarded("hub", count=3) + forwarded("hub", "archive") + forwarded()
    store.statements.insert(batch)
    due = store.outbox.due("hub", now="9999-12-31T00:00:00Z", limit=10)
    assert [i.statement_id for i in due] == [s.id for s in batch[:4]]  # queue order
    assert all(i.state is OutboxState.PENDING and i.attempts == 0 for i in due)
    assert [i.statement_id for i in store.outbox.due("archive", now="9", limit=10)] == [batch[3].id]


def test_a_refused_insert_queues_nothing(store: Store) -> None:
    store.outbox.add_destination(destination())
    first = forwarded("hub")
    store.statements.insert(first)
    with pytest.raises(DuplicateStatementIds):
        store.statements.insert(forwarded("hub", count=2) + first)
    assert len(store.outbox.due("hub", now="9", limit=10)) == 1


def test_a_destination_removed_meanwhile_is_skipped(store: Store) -> None:
    batch = forwarded("gone")
    store.statements.insert(batch)
    assert store.statements.get(batch[0].id) is not None
    assert store.outbox.status() == []


def test_due_respects_the_retry_time_and_the_limit(store: Store) -> None:
    store.outbox.add_destination(destination())
    batch = forwarded("hub", count=5)
    store.statements.insert(batch)
    now = "9999-01-01T00:00:00Z"
    assert len(store.outbox.due("hub", now=now, limit=2)) == 2
    store.outbox.mark_failed(
        "hub",
        [batch[0].id],
        at=now,
        error="HTTP 503",
        retry_at="9999-01-01T00:01:00Z",
        max_attempts=3,
    )
    assert [i.statement_id for i in store.outbox.due("hub", now=now, limit=10)] == [
        s.id for s in batch[1:]
    ]
    later = store.outbox.due("hub", now="9999-01-01T00:01:00Z", limit=10)
    assert [i.statement_id for i in later] == [s.id for s in batch]
    assert later[0].attempts == 1 and later[0].last_error == "HTTP 503"


def test_failures_reach_the_dead_letter_list_and_can_be_requeued(store: Store) -> None:
    store.outbox.add_destination(destination(max_attempts=2))
    batch = forwarded("hub", count=2)
    store.statements.insert(batch)
    ids = [s.id for s in batch]
    args: dict[str, Any] = {
        "error": "refused",
        "retry_at": "9999-01-01T00:00:00Z",
        "max_attempts": 2,
    }
    assert store.outbox.mark_failed("hub", ids, at=AT, **args) == 0
    assert store.outbox.mark_failed("hub", ids[:1], at=LATER, **args) == 1
    dead = store.outbox.items("hub", OutboxState.DEAD)
    assert [(i.statement_id, i.attempts, i.last_error) for i in dead] == [(ids[0], 2, "refused")]
    assert store.outbox.due("hub", now="9999-12-31", limit=10)[0].statement_id == ids[1]
    status = store.outbox.status()[0]
    assert (status.pending, status.sent, status.dead, status.last_error) == (1, 0, 1, "refused")
    assert store.outbox.requeue("hub", at=LATER) == 1
    again = store.outbox.due("hub", now=LATER, limit=10)
    assert [(i.statement_id, i.attempts) for i in again] == [(ids[0], 0)]
    assert store.outbox.requeue("hub", [ids[0]], at=LATER) == 0  # not dead any more


def test_sent_items_are_counted_and_never_due_again(store: Store) -> None:
    store.outbox.add_destination(destination())
    batch = forwarded("hub", count=3)
    store.statements.insert(batch)
    store.outbox.mark_sent("hub", [batch[0].id, batch[1].id], at=LATER)
    assert [i.statement_id for i in store.outbox.due("hub", now="9", limit=10)] == [batch[2].id]
    sent = store.outbox.items("hub", OutboxState.SENT)
    assert [(i.statement_id, i.sent, i.attempts) for i in sent] == [
        (batch[0].id, LATER, 1),
        (batch[1].id, LATER, 1),
    ]
    status = store.outbox.status()[0].to_json()
    assert status == {
        "name": "hub",
        "pending": 1,
        "sent": 2,
        "dead": 0,
        "next_attempt": store.outbox.due("hub", now="9", limit=1)[0].next_attempt,
        "last_error": None,
        "last_sent": LATER,
    }


def test_enqueue_backfills_stored_statements_once(store: Store) -> None:
    batch = forwarded(count=3)
    store.statements.insert(batch)
    store.outbox.add_destination(destination())
    ids = [s.id for s in batch]
    assert store.outbox.enqueue("hub", ids, at=AT) == 3
    assert store.outbox.enqueue("hub", ids, at=AT) == 0
    assert store.outbox.enqueue("unknown", ids, at=AT) == 0
    assert [i.statement_id for i in store.outbox.due("hub", now=AT, limit=10)] == ids


def test_removing_a_destination_drops_its_outbox(store: Store) -> None:
    store.outbox.add_destination(destination())
    store.statements.insert(forwarded("hub", count=2))
    store.outbox.remove_destination("hub")
    store.outbox.add_destination(destination())
    assert store.outbox.due("hub", now="9", limit=10) == []


def test_a_page_of_a_source_removed_meanwhile_is_refused(store: Store) -> None:
    with pytest.raises(NotFound):
        store.sources.page_done("gone", "*", Checkpoint("a", "b", "c"), [])


def test_item_states_say_where_each_statement_is_queued_and_how_far(store: Store) -> None:
    store.outbox.add_destination(destination("hub"))
    store.outbox.add_destination(destination("archive"))
    batch = forwarded("hub", "archive", count=2) + forwarded("hub") + forwarded()
    store.statements.insert(batch)
    ids = [s.id for s in batch]
    store.outbox.mark_sent("hub", [ids[0]], at=LATER)
    store.outbox.mark_failed(
        "archive", [ids[1]], at=LATER, error="refused", retry_at=LATER, max_attempts=1
    )

    assert store.outbox.item_states([*ids, "unknown"]) == {
        ids[0]: {"hub": OutboxState.SENT, "archive": OutboxState.PENDING},
        ids[1]: {"hub": OutboxState.PENDING, "archive": OutboxState.DEAD},
        ids[2]: {"hub": OutboxState.PENDING},
    }
    store.outbox.remove_destination("archive")
    assert store.outbox.item_states(ids[:1]) == {ids[0]: {"hub": OutboxState.SENT}}
    assert store.outbox.item_states([]) == {}


def test_voiding_items_are_the_destination_items_of_the_voiding_statements(
    store: Store,
) -> None:
    store.outbox.add_destination(destination("hub"))
    store.outbox.add_destination(destination("archive"))
    target, other, unvoided = forwarded("hub", "archive", count=3)
    store.statements.insert([target, other, unvoided])
    void_target = dataclasses.replace(voiding(target.id), forward_to=("hub",))
    void_other = dataclasses.replace(voiding(other.id), forward_to=("hub", "archive"))
    store.statements.insert([void_target, void_other])
    store.outbox.mark_sent("hub", [void_other.id], at=LATER)

    found = store.outbox.voiding_items("hub", [target.id, other.id, unvoided.id, "unknown"])
    assert {t: [(i.statement_id, i.state) for i in items] for t, items in found.items()} == {
        target.id: [(void_target.id, OutboxState.PENDING)],
        other.id: [(void_other.id, OutboxState.SENT)],
    }
    # Only the destination asked about: the archive holds the void of `other` alone.
    archive = store.outbox.voiding_items("archive", [target.id, other.id])
    assert {t: [i.statement_id for i in items] for t, items in archive.items()} == {
        other.id: [void_other.id]
    }
    assert store.outbox.voiding_items("hub", []) == {}
