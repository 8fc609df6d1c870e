"""The forwarding sender (lrs_adapters.forward): backoff, batches split around refused
statements, failures and the dead-letter list, re-sends after a crash.

The sending instance is a real SQLite store fed through the real ingest; the destination
is a real second cpdfolio (`cpdfolio serve` in its own process), never a mock. Only the
sender's clock is fake, so retries are due without waiting.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from lrs_adapters.connections import Connection
from lrs_adapters.destinations import add_destination, backfill_destination
from lrs_adapters.forward import ERASED, Backoff, Forwarder
from lrs_adapters.remote import Retry
from portfolio.clock import format_us, now_us, utc_now_iso
from portfolio.errors import InvalidInput
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.lrs.routing import ForwardRouter
from portfolio.storage.exchange import Checkpoint, OutboxState, Provenance, SourceRecord
from portfolio.storage.sqlite import SqliteStore
from portfolio.storage.sqlite_exchange import SqliteOutboxStore
from tests.e2e.conftest import Instance, free_port
from tests.support import (
    ATTEMPTED,
    COMPLETED,
    attachment_object,
    make_statement,
    multipart_body,
    voiding,
)

SECOND = 1_000_000
SUBMITTER = Submitter(
    client_key="lms",
    authority={"objectType": "Agent", "account": {"homePage": "http://a.test", "name": "lms"}},
)

# ------------------------------------------------------------------------ backoff


def test_backoff_doubles_from_the_first_wait_up_to_the_cap() -> None:
    backoff = Backoff(first=30, maximum=3600)
    middle = lambda: 0.5  # noqa: E731 - no jitter
    assert [backoff.seconds(n, rand=middle) for n in range(9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert backoff.seconds(10_000, rand=middle) == 3600  # no overflow however many attempts


def test_backoff_jitter_stays_within_ten_percent() -> None:
    backoff = Backoff(first=10, maximum=100)
    assert backoff.seconds(0, rand=lambda: 0.0) == pytest.approx(9.0)
    assert backoff.seconds(0, rand=lambda: 1.0) == pytest.approx(11.0)
    assert backoff.seconds(5, rand=lambda: 1.0) == pytest.approx(110.0)  # the cap, spread too
    assert all(9.0 <= backoff.seconds(0) <= 11.0 for _ in range(200))


# ------------------------------------------------------------------- a destination


class Destination:
    """A served cpdfolio and an all-scope client of it."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        assert instance.cli("db", "init").returncode == 0
        created = instance.cli(
            "clients", "create", "--name", "forwarded", "--scope", "all", "--json"
        )
        assert created.returncode == 0, created.stderr
        credentials = json.loads(created.stdout)
        self.key, self.secret = credentials["key"], credentials["secret"]
        writer = instance.cli(
            "clients", "create", "--name", "writer", "--scope", "statements/write", "--json"
        )
        assert writer.returncode == 0, writer.stderr
        self.writer = json.loads(writer.stdout)
        self.url = instance.serve(workers=1)
        self.endpoint = self.url + "/xapi/"
        self.session = requests.Session()
        self.session.auth = (self.key, self.secret)
        self.session.headers["X-Experience-API-Version"] = "1.0.3"

    def get(self, statement_id: str, **params: str) -> requests.Response:
        return self.session.get(
            self.endpoint + "statements", params={"statementId": statement_id, **params}, timeout=30
        )

    def holds(self, ids: Sequence[str]) -> list[str]:
        return [i for i in ids if self.get(i).status_code == 200]

    def holds_voided(self, ids: Sequence[str]) -> list[str]:
        """Those of `ids` the destination holds as voided (voidedStatementId)."""
        return [
            i
            for i in ids
            if self.session.get(
                self.endpoint + "statements", params={"voidedStatementId": i}, timeout=30
            ).status_code
            == 200
        ]

    def post(self, statements: list[dict[str, Any]]) -> None:
        reply = self.session.post(self.endpoint + "statements", json=statements, timeout=30)
        assert reply.status_code == 200, reply.text


@pytest.fixture(scope="module")
def destination(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Destination]:
    instance = Instance(tmp_path_factory.mktemp("destination"))
    try:
        yield Destination(instance)
    finally:
        instance.stop()


class Clock:
    """The sender's time: starts a second ahead of the wall clock, moved by hand."""

    def __init__(self) -> None:
        self.us = now_us() + SECOND

    def __call__(self) -> int:
        return self.us

    def advance(self, seconds: float) -> None:
        self.us += int(seconds * SECOND)


CONNECTION = Connection(instance_secret=b"unit-test-instance-secret", retry=Retry(attempts=1))


class Sender:
    """The forwarding instance: a store, its ingest, and a Forwarder with a fake clock."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        store.migrate()
        self.ingest = StatementIngest(store.statements, router=ForwardRouter(store))
        self.clock = Clock()
        self.forwarder = Forwarder(
            store, CONNECTION, backoff=Backoff(first=30, maximum=3600), clock=self.clock
        )

    def add(self, name: str, endpoint: str, key: str, secret: str, **options: Any) -> None:
        add_destination(
            self.store,
            CONNECTION,
            name=name,
            endpoint=endpoint,
            key=key,
            secret=secret,
            check=False,
            **options,
        )

    def post(self, statements: list[dict[str, Any]], **kwargs: Any) -> list[str]:
        return self.ingest.post(statements, submitter=SUBMITTER, version="1.0.3", **kwargs)

    def pull(self, statements: list[dict[str, Any]], origin: str) -> list[str]:
        """Store statements as if pulled from the LRS at `origin` (service.exchange)."""
        ingest = StatementIngest(
            self.store.statements, router=ForwardRouter(self.store, origin=origin)
        )
        return ingest.post(statements, submitter=SUBMITTER, version="1.0.3")

    def items(self, name: str, state: OutboxState) -> list[str]:
        return [i.statement_id for i in self.store.outbox.items(name, state, limit=1000)]


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Sender]:
    store = SqliteStore(tmp_path / "a.db")
    yield Sender(store)
    store.close()


def statements(count: int) -> list[dict[str, Any]]:
    return [make_statement() for _ in range(count)]


# -------------------------------------------------------------------------- sends


def test_due_statements_are_sent_in_batches_and_marked_sent(
    sender: Sender, destination: Destination
) -> None:
    sender.add("hub", destination.endpoint, destination.key, destination.secret, batch_size=2)
    ids = sender.post(statements(5))

    [report] = sender.forwarder.run_once()

    assert (report.destination, report.sent, report.failed, report.dead) == ("hub", 5, 0, 0)
    assert report.ok
    assert destination.holds(ids) == ids
    assert sender.items("hub", OutboxState.SENT) == ids
    # The destination keeps the statement as sent, with its own authority and stored.
    here = json.loads(sender.store.statements.get(ids[0]).body)  # type: ignore[union-attr]
    there = destination.get(ids[0]).json()
    assert there["timestamp"] == here["timestamp"] and there["verb"] == here["verb"]
    assert there["authority"] != here["authority"]
    # Nothing is due any more: another round sends nothing.
    assert sender.forwarder.run_once()[0].sent == 0


def test_a_batch_refused_for_one_statement_is_split_and_the_rest_delivered(
    sender: Sender, destination: Destination
) -> None:
    sender.add("hub", destination.endpoint, destination.key, destination.secret, batch_size=8)
    batch = statements(8)
    # The destination already holds other content under two of the ids: each is a 409.
    for spoiled in (batch[2], batch[6]):
        destination.post([{**make_statement(actor="bob"), "id": spoiled["id"]}])
    ids = sender.post(batch)

    [report] = sender.forwarder.run_once()

    refused = [ids[2], ids[6]]
    assert (report.sent, report.dead, report.failed, report.error) == (6, 2, 0, None)
    assert sender.items("hub", OutboxState.DEAD) == refused
    good = [i for i in ids if i not in refused]
    assert sender.items("hub", OutboxState.SENT) == good
    assert destination.holds(good) == good
    dead = sender.store.outbox.items("hub", OutboxState.DEAD)
    assert all("409" in (i.last_error or "") for i in dead), dead
    assert all(i.attempts == 1 for i in dead)  # dead at once: retrying cannot help


def test_an_unreachable_destination_backs_off_then_moves_items_to_dead_letters(
    sender: Sender,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/xapi/"
    sender.add("gone", nowhere, "k", "s", max_attempts=3)
    ids = sender.post(statements(2))
    forwarder = Forwarder(
        sender.store,
        CONNECTION,
        backoff=Backoff(first=30, maximum=3600),
        clock=sender.clock,
        rand=lambda: 0.5,
    )

    [report] = forwarder.run_once()
    assert (report.sent, report.failed, report.dead) == (0, 2, 0)
    assert report.error is not None and "cannot be reached" in report.error
    [status] = sender.store.outbox.status()
    assert status.pending == 2
    assert status.next_attempt == format_us(sender.clock() + 30 * SECOND)
    assert status.last_error == report.error

    sender.clock.advance(29)  # not due yet: nothing is tried
    assert forwarder.run_once()[0].failed == 0

    sender.clock.advance(1)
    start = sender.clock()
    assert forwarder.run_once()[0].failed == 2
    assert sender.store.outbox.status()[0].next_attempt == format_us(start + 60 * SECOND)

    sender.clock.advance(60)
    [last] = forwarder.run_once()
    assert (last.failed, last.dead) == (0, 2)
    assert sender.items("gone", OutboxState.DEAD) == ids
    assert sender.store.outbox.due("gone", now="9999", limit=10) == []


def test_wrong_credentials_or_a_wrong_path_stop_the_destination_without_splitting(
    sender: Sender, destination: Destination
) -> None:
    sender.add("bad-secret", destination.endpoint, destination.key, "not-the-secret")
    sender.add("bad-path", destination.url + "/nothing/", destination.key, destination.secret)
    sender.post(statements(3))

    reports = {r.destination: r for r in sender.forwarder.run_once()}

    assert "refused the credentials" in (reports["bad-secret"].error or "")
    assert "404" in (reports["bad-path"].error or "")
    for report in reports.values():
        assert (report.sent, report.failed, report.dead) == (0, 3, 0)


def test_a_statement_erased_since_it_was_queued_is_not_sent(
    sender: Sender, destination: Destination
) -> None:
    sender.add("hub", destination.endpoint, destination.key, destination.secret)
    ids = sender.post(statements(3))
    with sender.store.write() as con:  # as if erased after the outbox was read
        con.execute("DELETE FROM statements WHERE id = ?", (ids[1],))

    [report] = sender.forwarder.run_once()

    assert (report.sent, report.dead) == (2, 1)
    [dead] = sender.store.outbox.items("hub", OutboxState.DEAD)
    assert (dead.statement_id, dead.last_error) == (ids[1], ERASED)
    assert destination.holds(ids) == [ids[0], ids[2]]


def test_attachments_are_forwarded_with_their_data(
    sender: Sender, destination: Destination
) -> None:
    sender.add("hub", destination.endpoint, destination.key, destination.secret)
    data = b"certificate of completion " + uuid.uuid4().bytes
    statement = make_statement(attachments=[attachment_object(data)])
    body, content_type = multipart_body([statement], [(data, {"Content-Type": "text/plain"})])
    from portfolio.lrs.multipart import parse_multipart

    json_part, parts = parse_multipart(body, content_type)
    [sid] = sender.post(json.loads(json_part), parts=parts)

    assert sender.forwarder.run_once()[0].sent == 1

    reply = destination.get(sid, attachments="true")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("multipart/mixed")
    assert data in reply.content
    assert hashlib.sha256(data).hexdigest().encode() in reply.content


# ---------------------------------------------------------------------- voiding


def test_a_void_follows_its_target_to_a_destination_whose_filter_it_does_not_match(
    sender: Sender, destination: Destination
) -> None:
    """The voiding statement's verb is `voided` and its object a StatementRef, so a filter
    by verb never matches it; yet the destination holds (or will hold) its target."""
    sender.add("hub", destination.endpoint, destination.key, destination.secret, verbs=[COMPLETED])
    [sent] = sender.post(statements(1))
    assert sender.forwarder.run_once()[0].sent == 1
    [pending] = sender.post(statements(1))  # queued, not sent yet, when it is voided

    voids = sender.post([voiding(sent), voiding(pending)])

    # The target still pending goes first, each void after it: queue order.
    assert sender.items("hub", OutboxState.PENDING) == [pending, *voids]
    [report] = sender.forwarder.run_once()
    assert (report.sent, report.skipped, report.error) == (3, 0, None)
    assert destination.holds([sent, pending, *voids]) == voids
    assert destination.holds_voided([sent, pending]) == [sent, pending]


def test_a_void_goes_where_its_target_is_pending_or_sent_and_never_back_to_its_origin(
    sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not where the target is dead (it may never arrive; a 409 there means another
    statement holds that id) or was never queued; and where the target goes in the same
    batch. The targets' items are read once per batch."""
    origin = "http://origin.test/xapi/"
    for name in ("dead", "pending", "sent"):
        sender.add(name, f"http://{name}.test/xapi/", "k", "s", verbs=[COMPLETED])
    sender.add("never", "http://never.test/xapi/", "k", "s", verbs=[ATTEMPTED])
    sender.add("origin", origin, "k", "s", verbs=[COMPLETED])
    [target] = sender.post(statements(1))
    sender.store.outbox.mark_sent("sent", [target], at="2026-01-01T00:00:00.000000Z")
    sender.store.outbox.mark_failed(
        "dead", [target], at="2026-01-01T00:00:00.000000Z", error="x", retry_at="z", max_attempts=1
    )
    reads: list[Sequence[str]] = []
    item_states = sender.store.outbox.item_states

    def counted(ids: Sequence[str]) -> dict[str, dict[str, OutboxState]]:
        reads.append(ids)
        return item_states(ids)

    monkeypatch.setattr(sender.store.outbox, "item_states", counted)

    [void] = sender.pull([voiding(target)], origin)  # the origin already holds it
    in_batch = statements(2)
    batch_ids = sender.post([in_batch[0], voiding(in_batch[0]["id"]), voiding(in_batch[1]["id"])])

    assert reads == [[target], sorted([in_batch[0]["id"], in_batch[1]["id"]])]
    states = sender.store.outbox.item_states([void, *batch_ids])
    assert sorted(states[void]) == ["pending", "sent"]
    assert sorted(states[batch_ids[1]]) == ["dead", "origin", "pending", "sent"]
    assert batch_ids[2] not in states  # its target is stored nowhere, so queued nowhere


def test_a_voided_statement_is_not_sent_when_its_void_does_not_follow_it(
    sender: Sender, destination: Destination
) -> None:
    """Voided while queued, and the void does not go after it: here it came from the
    destination itself. Sent, the destination would hold a statement the source voided
    (or, an LRS voiding late arrivals, hold it voided for nothing): it is marked sent."""
    sender.add("hub", destination.endpoint, destination.key, destination.secret)
    [target, kept] = sender.post(statements(2))
    void = voiding(target)
    destination.post([void])  # voided there, then pulled back from it
    sender.pull([void], destination.endpoint)
    assert sender.items("hub", OutboxState.PENDING) == [target, kept]

    [report] = sender.forwarder.run_once()

    assert destination.holds_voided([target]) == []  # never received
    assert destination.holds([target, kept]) == [kept]
    assert sender.items("hub", OutboxState.SENT) == [target, kept]
    assert (report.sent, report.skipped, report.dead, report.error) == (1, 1, 0, None)
    assert str(report) == "hub: sent 1, failed 0, dead 0, skipped 1 (voided)"


def test_a_statement_queued_behind_its_void_is_not_sent(
    sender: Sender, destination: Destination
) -> None:
    """The void arrived first (xAPI lets it wait for its target), so it goes first too;
    the target, voided as it is stored, would arrive after the void: it is marked sent."""
    sender.add("hub", destination.endpoint, destination.key, destination.secret)
    later = make_statement()
    [void] = sender.post([voiding(later["id"])])
    [target] = sender.post([later])
    assert sender.store.statements.get(target).voided  # type: ignore[union-attr]
    assert sender.items("hub", OutboxState.PENDING) == [void, target]

    [report] = sender.forwarder.run_once()

    assert destination.holds_voided([target]) == []  # never received
    assert destination.holds([void]) == [void]
    assert sender.items("hub", OutboxState.SENT) == [void, target]
    assert (report.sent, report.skipped) == (1, 1)


# ------------------------------------------------------------- crash and re-send


class CrashingOutbox(SqliteOutboxStore):
    """The outbox of a sender that dies once right after the destination accepted a
    batch, before marking it sent."""

    crashes = 1

    def mark_sent(self, destination: str, statement_ids: Sequence[str], *, at: str) -> None:
        if self.crashes:
            self.crashes -= 1
            raise KeyboardInterrupt("the sender died between accept and mark")
        super().mark_sent(destination, statement_ids, at=at)


class CrashingStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._crashing = CrashingOutbox(self)

    @property
    def outbox(self) -> CrashingOutbox:
        return self._crashing


def test_a_crash_between_accept_and_mark_resends_and_the_destination_keeps_one_copy(
    tmp_path: Path, destination: Destination
) -> None:
    sender = Sender(CrashingStore(tmp_path / "a.db"))
    sender.add("hub", destination.endpoint, destination.key, destination.secret)
    ids = sender.post(statements(3))

    with pytest.raises(KeyboardInterrupt):
        sender.forwarder.run_once()
    assert destination.holds(ids) == ids  # accepted there, still pending here
    assert sender.items("hub", OutboxState.PENDING) == ids

    [report] = sender.forwarder.run_once()  # the restarted sender sends them again

    assert (report.sent, report.dead, report.error) == (3, 0, None)
    assert sender.items("hub", OutboxState.SENT) == ids
    # One copy each: a query by the sender's activity finds each id once.
    found = destination.session.get(
        destination.endpoint + "statements",
        params={"since": "2000-01-01T00:00:00Z", "limit": "1000"},
        timeout=30,
    ).json()["statements"]
    assert sorted(s["id"] for s in found if s["id"] in ids) == sorted(ids)
    sender.store.close()


# ------------------------------------------------------------------- configuration


def test_adding_checks_the_destination_and_accepts_a_key_that_may_only_write(
    sender: Sender, destination: Destination
) -> None:
    def add(name: str, endpoint: str, key: str, secret: str) -> None:
        add_destination(
            sender.store, CONNECTION, name=name, endpoint=endpoint, key=key, secret=secret
        )

    add("writer", destination.endpoint, destination.writer["key"], destination.writer["secret"])
    with pytest.raises(InvalidInput, match="refused the credentials") as wrong:
        add("wrong", destination.endpoint, destination.key, "not-the-secret")
    assert wrong.value.path == "secret"
    with pytest.raises(InvalidInput, match="cannot be reached") as gone:
        add("gone", f"http://127.0.0.1:{free_port()}/xapi/", destination.key, "s")
    assert gone.value.path == "endpoint"
    with pytest.raises(InvalidInput, match="404") as path:
        add("path", destination.url + "/nothing/", destination.key, destination.secret)
    assert path.value.path == "endpoint"
    with pytest.raises(InvalidInput, match="no person with the e-mail") as person:
        add_destination(
            sender.store,
            CONNECTION,
            name="person",
            endpoint=destination.endpoint,
            key=destination.key,
            secret=destination.secret,
            people_emails=["nobody@example.org"],
        )
    assert person.value.path == "person"
    assert [d.name for d in sender.store.outbox.destinations()] == ["writer"]

    ids = sender.post(statements(2))  # the write-only key is enough to forward
    assert sender.forwarder.run_once()[0].sent == 2
    assert destination.holds(ids) == ids


def test_backfill_queues_the_matching_statements_stored_before_but_not_their_origin(
    sender: Sender, destination: Destination
) -> None:
    completed = sender.post(statements(3))
    sender.post([make_statement(verb=ATTEMPTED)])
    # One statement was pulled from the destination's own LRS: it is not sent back.
    sender.store.sources.add(
        SourceRecord(
            name="same-lrs",
            remote=CONNECTION.seal(
                name="same-lrs",
                endpoint=destination.endpoint,
                username="k",
                secret="s",
                xapi_version="1.0.3",
            ),
            agents=(),
            owner=None,
            created=utc_now_iso(),
        )
    )
    sender.store.sources.page_done(
        "same-lrs", "*", Checkpoint(), [Provenance(completed[0], "same-lrs", None, None, "t")]
    )

    sender.add(
        "hub",
        destination.endpoint,
        destination.key,
        destination.secret,
        verbs=["http://adlnet.gov/expapi/verbs/completed"],
        backfill=True,
    )

    assert sender.items("hub", OutboxState.PENDING) == completed[1:]
    assert backfill_destination(sender.store, "hub") == 0  # queued once
    assert sender.forwarder.run_once()[0].sent == 2
    assert destination.holds(completed) == completed[1:]
