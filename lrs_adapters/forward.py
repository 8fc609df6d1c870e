"""Forwarding: sending the statements queued in the outbox to their destinations.

The statement insert queues a statement for each destination whose filter it matches, in
its own transaction (portfolio.storage.exchange); this module empties those queues. One
round (`Forwarder.run_once`) takes, for each destination, the items that are due, oldest
first, a batch at a time, and POSTs each batch as one JSON array (multipart/mixed when
statements carry attachment data):

- accepted (2xx): the items are marked sent.
- the destination cannot take anything now (unreachable, timeout, 5xx or 429 after the
  client's own few retries, refused credentials, an answer that is not xAPI, or a 4xx
  that says the request is wrong rather than a statement, such as a 404 for a mistyped
  endpoint): every item of the batch counts one failed attempt and waits a backoff
  (`Backoff`), and the destination is left alone until the next round. An item that
  reaches the destination's `max_attempts` moves to the dead-letter list.
- the destination refuses the batch for its content (400, 409, 413): one statement spoils
  a batch, since an LRS stores a batch whole or not at all. The batch is split in halves
  and each half sent again, down to single statements, so the good ones are delivered and
  only the refused ones are left. Those go straight to the dead-letter list with the
  destination's message: a statement refused for what it says would be refused again on
  every retry. `cpdfolio forward requeue` sends them again once the cause is fixed.

An item whose statement is no longer stored (erased since it was queued) has nothing to
send: it goes to the dead-letter list saying so, and nothing leaves this instance.

A statement voided since it was queued is sent only when its voiding statement follows
it to the destination: queued there, pending, and not ahead of it in the batch in hand
(queue order puts the void after a target queued before it: portfolio.lrs.routing). Then
the destination gets the target and the void, in that order, and hides the target as
this instance does. Otherwise the item is marked sent without sending anything (counted
as skipped): xAPI queries never return a voided statement, so a destination that never
had it loses nothing, while sending it with no void behind it would show there a
statement the source voided. That covers a void that arrived from the destination
itself (never forwarded back), one already sent or dead there, and one that went first.

Delivery guarantee: every statement is delivered at least once, and never stored twice
by the destination. An item is marked sent only after the destination has accepted it; a
process that dies between the two sends the batch again on its next round. xAPI makes
that re-send a no-op: a statement with an id the LRS already holds, and the same content,
is not stored again (Communication 2.1.2; the destination sets its own `stored` and
`authority`, which statement comparison ignores). So the destination ends up with each
statement once however often the sender crashed or the destination went away. Two
senders running at once for the same destination keep that guarantee too, sending some
statements twice for nothing; run one (`cpdfolio forward run`) per instance.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lrs_adapters.connections import Connection
from lrs_adapters.remote import (
    RemoteClient,
    RemoteError,
    RemoteRefused,
)
from portfolio.clock import format_us, now_us, parse_stored
from portfolio.errors import CpdfolioError, NotFound
from portfolio.storage.base import AttachmentData, StatementRecord, Store, attachment_hashes
from portfolio.storage.exchange import DestinationRecord, OutboxItem, OutboxState

log = logging.getLogger(__name__)

# The refusals that are about the statements sent, not the request or the destination:
# worth splitting the batch for, and not worth retrying for a single statement.
CONTENT_REFUSALS = frozenset({400, 409, 413})

ERASED = "the statement is no longer stored here (erased since it was queued): nothing to send"

_MAX_EXPONENT = 62  # 2**62 seconds is past any sensible cap; keeps the float finite


@dataclass(frozen=True)
class Backoff:
    """The wait before an item's next attempt: `first` seconds after its first failure,
    doubling with each failure up to `maximum`, spread by ±`jitter` so the items of many
    destinations that failed together do not all come back at once."""

    first: float = 30.0
    maximum: float = 3600.0
    jitter: float = 0.1

    def seconds(self, attempts: int, *, rand: Callable[[], float] = random.random) -> float:
        """The wait after a failure of an item that had failed `attempts` times before."""
        base = min(self.maximum, self.first * 2.0 ** min(max(attempts, 0), _MAX_EXPONENT))
        return base * (1.0 + self.jitter * (2.0 * rand() - 1.0))


@dataclass(frozen=True)
class DeliveryReport:
    """What one round did for one destination. `error` is why the destination stopped
    taking statements in this round (None when it took all that was due)."""

    destination: str
    sent: int = 0
    failed: int = 0  # attempts counted, to be retried after the backoff
    dead: int = 0  # moved to the dead-letter list
    error: str | None = None
    skipped: int = 0  # voided since queued, with no void following: marked sent, not sent

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, object]:
        return {
            "destination": self.destination,
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "skipped": self.skipped,
            "error": self.error,
        }

    def __str__(self) -> str:
        text = f"{self.destination}: sent {self.sent}, failed {self.failed}, dead {self.dead}"
        if self.skipped:  # rare: left out otherwise, so the usual line stays as it was
            text += f", skipped {self.skipped} (voided)"
        return text if self.error is None else f"{text}: {self.error}"


class _DestinationDown(Exception):
    """The destination takes nothing now; the message says why."""


class _Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.failed = 0
        self.dead = 0
        self.skipped = 0
        self.done: set[str] = set()  # items of the batch in hand that were sent or are dead

    def report(self, destination: str, error: str | None = None) -> DeliveryReport:
        return DeliveryReport(
            destination, self.sent, self.failed, self.dead, error, skipped=self.skipped
        )


class Forwarder:
    """Sends due outbox items to their destinations. One per process: it opens one HTTP
    client per destination per round."""

    def __init__(
        self,
        store: Store,
        connection: Connection,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], int] = now_us,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._connection = connection
        self._backoff = backoff or Backoff()
        self._clock = clock  # microseconds since the epoch
        self._rand = rand
        self._stop = threading.Event()

    # ------------------------------------------------------------------ rounds

    def run_once(self, destination_name: str | None = None) -> list[DeliveryReport]:
        """Send what is due now to every destination (or the one named): a report each.
        Raises NotFound for an unknown destination name."""
        if destination_name is None:
            destinations = self._store.outbox.destinations()
        else:
            found = self._store.outbox.get_destination(destination_name)
            if found is None:
                raise NotFound(f"no destination named {destination_name!r}")
            destinations = [found]
        reports = []
        for destination in destinations:
            if self._stop.is_set():
                break
            reports.append(self._deliver_due(destination))
        return reports

    def run(
        self,
        stop: threading.Event,
        *,
        poll_seconds: float = 10.0,
        destination_name: str | None = None,
    ) -> None:
        """Rounds until `stop` is set (the CLI sets it on SIGTERM and SIGINT). Between
        rounds it sleeps until the earliest retry or `poll_seconds`, whichever is sooner;
        a round in progress finishes the batch it is sending before stopping."""
        self._stop = stop
        while not stop.is_set():
            try:
                for report in self.run_once(destination_name):
                    if report.sent or report.failed or report.dead or report.error:
                        level = logging.WARNING if report.error or report.dead else logging.INFO
                        log.log(level, "forwarded %s", report)
                wait = self._next_wait(poll_seconds, destination_name)
            except CpdfolioError as exc:  # the store is unavailable: try again later
                log.error("forwarding round failed: %s", exc.message)
                wait = poll_seconds
            stop.wait(wait)

    def _next_wait(self, poll_seconds: float, destination_name: str | None) -> float:
        due = [
            s.next_attempt
            for s in self._store.outbox.status()
            if s.next_attempt and destination_name in (None, s.name)
        ]
        if not due:
            return poll_seconds
        now = self._clock()
        earliest = parse_stored(min(due))
        if earliest <= now:
            # Queued while the round ran: go again soon, but not in a tight loop.
            return min(poll_seconds, 0.2)
        return max(0.05, min(poll_seconds, (earliest - now) / 1_000_000))

    # ------------------------------------------------------------- one destination

    def _deliver_due(self, destination: DestinationRecord) -> DeliveryReport:
        name = destination.name
        tally = _Tally()
        now = self._clock()
        at = format_us(now)
        client: RemoteClient | None = None
        try:
            previous: list[str] = []
            while not self._stop.is_set():
                items = self._store.outbox.due(name, now=at, limit=destination.batch_size)
                ids = [i.statement_id for i in items]
                if not items or ids == previous:  # nothing due, or nothing moved: stop
                    break
                previous = ids
                records = self._store.statements.get_many(ids)
                erased = [i for i in ids if i not in records]
                if erased:
                    tally.dead += self._store.outbox.mark_failed(
                        name, erased, at=at, error=ERASED, retry_at=at, max_attempts=1
                    )
                batch = [i for i in items if i.statement_id in records]
                skipped = self._voided_without_void(name, batch, records, at)
                if skipped:
                    tally.skipped += len(skipped)
                    batch = [i for i in batch if i.statement_id not in skipped]
                if not batch:
                    continue
                tally.done.clear()
                try:
                    if client is None:
                        client = self._client(destination)
                    self._send(client, destination, batch, records, at, tally)
                except _DestinationDown as exc:
                    self._failed(destination, batch, now, str(exc), tally)
                    return tally.report(name, str(exc))
        finally:
            if client is not None:
                client.close()
        return tally.report(name)

    def _voided_without_void(
        self,
        destination: str,
        batch: Sequence[OutboxItem],
        records: dict[str, StatementRecord],
        at: str,
    ) -> set[str]:
        """Mark sent, without sending, the statements of the batch voided since they were
        queued whose void will not follow them to the destination (module docstring);
        return their ids. A void pending there and not ahead in this batch will follow:
        later in this batch, or in a later one."""
        voided = [i.statement_id for i in batch if records[i.statement_id].voided]
        if not voided:
            return set()
        place = {item.statement_id: n for n, item in enumerate(batch)}
        voids = self._store.outbox.voiding_items(destination, voided)
        skipped = {
            target
            for target in voided
            if not any(
                void.state is OutboxState.PENDING
                and place.get(void.statement_id, len(batch)) > place[target]
                for void in voids.get(target, ())
            )
        }
        if skipped:
            self._store.outbox.mark_sent(destination, sorted(skipped), at=at)
            log.info(
                "not forwarding %d statement(s) to %s: voided, and the void is not going"
                " after them",
                len(skipped),
                destination,
            )
        return skipped

    def _client(self, destination: DestinationRecord) -> RemoteClient:
        try:
            return self._connection.client(destination.name, destination.remote)
        except CpdfolioError as exc:  # the sealed secret does not open with this instance's
            raise _DestinationDown(exc.message) from None

    def _send(
        self,
        client: RemoteClient,
        destination: DestinationRecord,
        items: Sequence[OutboxItem],
        records: dict[str, StatementRecord],
        at: str,
        tally: _Tally,
    ) -> None:
        """Deliver `items`, splitting the batch around statements refused for their
        content. Raises _DestinationDown when the destination takes nothing now."""
        bodies = [records[i.statement_id].body for i in items]
        try:
            post_statements(client, bodies, self._attachments(bodies))
        except RemoteRefused as exc:
            if exc.status not in CONTENT_REFUSALS:
                raise _DestinationDown(f"{destination.remote.endpoint} refused: {exc}") from None
            if len(items) == 1:
                tally.dead += self._store.outbox.mark_failed(
                    destination.name,
                    [items[0].statement_id],
                    at=at,
                    error=f"refused by the destination: {exc}",
                    retry_at=at,
                    max_attempts=1,
                )
                tally.done.add(items[0].statement_id)
                return
            half = len(items) // 2
            self._send(client, destination, items[:half], records, at, tally)
            self._send(client, destination, items[half:], records, at, tally)
            return
        except RemoteError as exc:
            raise _DestinationDown(str(exc)) from None
        ids = [i.statement_id for i in items]
        self._store.outbox.mark_sent(destination.name, ids, at=at)
        tally.sent += len(ids)
        tally.done.update(ids)

    def _attachments(self, bodies: Sequence[bytes]) -> list[AttachmentData]:
        hashes = sorted({h for body in bodies for h in attachment_hashes(body)})
        if not hashes:
            return []
        found = self._store.statements.get_attachments(hashes)
        return [found[h] for h in hashes if h in found]

    def _failed(
        self,
        destination: DestinationRecord,
        items: Sequence[OutboxItem],
        now: int,
        error: str,
        tally: _Tally,
    ) -> None:
        """One more failed attempt for each item still pending, each waiting the backoff
        its own attempts call for. Items of the batch already sent or dead are left."""
        by_attempts: dict[int, list[str]] = defaultdict(list)
        for item in items:
            if item.statement_id not in tally.done:
                by_attempts[item.attempts].append(item.statement_id)
        at = format_us(now)
        for attempts, still in sorted(by_attempts.items()):
            delay = self._backoff.seconds(attempts, rand=self._rand)
            retry_at = format_us(now + int(delay * 1_000_000))
            dead = self._store.outbox.mark_failed(
                destination.name,
                still,
                at=at,
                error=error,
                retry_at=retry_at,
                max_attempts=destination.max_attempts,
            )
            tally.dead += dead
            tally.failed += len(still) - dead


def post_statements(
    client: RemoteClient, bodies: Sequence[bytes], attachments: Sequence[AttachmentData] = ()
) -> list[str]:
    """POST statements as they are stored (their JSON bodies, as a JSON array), with the
    attachment data they declare as multipart/mixed (Communication 1.5.2)."""
    return client.post_statements(b"[" + b",".join(bodies) + b"]", attachments)
