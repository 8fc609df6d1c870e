"""Pulling statements from a source (another LRS) into this one.

A source has one stream per agent it asks for (or one, "*", for everything). A run walks
each stream from its checkpoint: GET statements?since=…&ascending=true, then `more` to
the end. Each page is taken in through StatementIngest.absorb (the same rules as
POST /xapi/statements), then the checkpoint and the page's provenance are saved
together. So:
- a run killed at any point has stored whole pages only (each page is one insert), and
  the checkpoint never runs ahead of what is stored: nothing is lost;
- the next run asks again from the checkpoint, and what it sees again is recognised by
  statement id (an identical statement is a duplicate, a differing one a conflict that
  is reported and not overwritten): nothing is stored twice.

`since` is exclusive and filters on `stored`, but an LRS may make a statement visible
after others stored later (Communication 2.1.3, X-Experience-API-Consistent-Through),
and some filter on `timestamp` instead (Ralph). So the next `since` is the newest
`stored` seen, moved back by an overlap and never past the consistent-through time the
remote gave; what the overlap fetches again is recognised by id. That checkpoint is saved
with each page only once the pages are seen to come oldest first (`_Order`); until then
it waits for the end of the run, since a page that fails may hold statements older than
any seen so far.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lrs_adapters.connections import Connection
from lrs_adapters.remote import RemoteClient, RemoteError, RemoteRefused, StatementPage
from lrs_adapters.sources import about_owner, not_the_owners_own, streams
from portfolio.clock import parse_iso8601, utc_now_iso
from portfolio.errors import CpdfolioError, NotFound
from portfolio.lrs.ingest import Absorbed, Rejected, StatementIngest, Submitter
from portfolio.storage.base import NewStatement, Store
from portfolio.storage.exchange import ALL_STREAM, Checkpoint, Provenance, SourceRecord, SyncRun

log = logging.getLogger(__name__)

# Statements per absorb call at most (one insert each); never more than the ingest's
# batch limit (PullSettings.chunk_size).
CHUNK = 500
# Conflicts and rejections kept (and reported) per run: their counts stay exact, but a
# remote with a million bad statements must not fill memory or the summary.
LISTED = 100

Witness = Callable[[Sequence[NewStatement]], object]


@dataclass
class SyncProgress:
    """Running totals of a sync, reported after every page."""

    source: str
    stream: str = ALL_STREAM
    pages: int = 0
    fetched: int = 0
    new: int = 0
    duplicate: int = 0
    # Exact counts; the lists hold only the first LISTED of each.
    conflicts_total: int = 0
    rejected_total: int = 0
    conflicts: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def add(self, absorbed: Absorbed, fetched: int) -> None:
        self.pages += 1
        self.fetched += fetched
        self.new += len(absorbed.new)
        self.duplicate += len(absorbed.duplicate)
        self.conflicts_total += len(absorbed.conflicts)
        self.rejected_total += len(absorbed.rejected)
        self.conflicts.extend(absorbed.conflicts[: max(0, LISTED - len(self.conflicts))])
        self.rejected.extend(absorbed.rejected[: max(0, LISTED - len(self.rejected))])

    def to_json(self) -> dict[str, object]:
        """`conflicts` and `rejected` list the first LISTED; `*_total` count them all, and
        `*_truncated` says whether the list stops short of the count."""
        return {
            "source": self.source,
            "pages": self.pages,
            "fetched": self.fetched,
            "new": self.new,
            "duplicate": self.duplicate,
            "conflicts": self.conflicts,
            "conflicts_total": self.conflicts_total,
            "conflicts_truncated": self.conflicts_total > len(self.conflicts),
            "rejected": [r.to_json() for r in self.rejected],
            "rejected_total": self.rejected_total,
            "rejected_truncated": self.rejected_total > len(self.rejected),
        }


@dataclass(frozen=True)
class PullSettings:
    page_size: int = 100
    # How far back from the newest `stored` seen the next run starts (see the docstring).
    overlap: timedelta = timedelta(minutes=5)
    # Ask for attachment data (multipart responses); turned off for a remote that
    # refuses the parameter.
    attachments: bool = True
    # Statements per absorb call: at most the ingest's max_batch_statements, or every
    # page of a source would be refused as too large (service.exchange sets it).
    chunk_size: int = CHUNK


class SyncFailed(Exception):
    """A run stopped on a remote error; what it stored so far is kept (and checkpointed)."""

    def __init__(self, message: str, progress: SyncProgress) -> None:
        super().__init__(message)
        self.progress = progress


class Puller:
    def __init__(
        self,
        store: Store,
        connection: Connection,
        *,
        ingest_for: Callable[[SourceRecord], StatementIngest],
        submitter_for: Callable[[SourceRecord], Submitter],
        witness_for: Callable[[SourceRecord], Witness] = lambda _source: lambda _s: None,
        settings: PullSettings | None = None,
        clock: Callable[[], str] = utc_now_iso,
    ) -> None:
        """`ingest_for` builds the ingest a source's statements go through (witnessing
        and routing, with the source's endpoint as their origin); the witness
        `witness_for` gives is called with the duplicates of each page, which an
        interrupted run may have stored without witnessing. Both are per source: an
        owner's source witnesses into its owner's record only (service.exchange)."""
        self._store = store
        self._connection = connection
        self._ingest_for = ingest_for
        self._submitter_for = submitter_for
        self._witness_for = witness_for
        self._settings = settings or PullSettings()
        self._clock = clock

    def sync(
        self, name: str, *, progress: Callable[[SyncProgress], None] | None = None
    ) -> SyncProgress:
        """One run of a source; raises NotFound (no such source), SyncFailed (a remote
        error), and whatever else stops it (InvalidInput for credentials that cannot be
        opened, StorageUnavailable, …). Every run that starts ends "ok" or "failed" in
        the source's last run: one left "running" would look alive for ever."""
        source = self._store.sources.get(name)
        if source is None:
            raise NotFound(f"no source named {name!r}")
        started = self._clock()
        totals = SyncProgress(source=name)
        self._store.sources.save_run(
            name, SyncRun(started=started, finished=None, status="running")
        )
        client: RemoteClient | None = None
        try:
            client = self._connection.client(
                name, source.remote, for_owner=source.owner is not None
            )
            for stream in streams(self._store, source):
                totals.stream = stream
                self._pull_stream(source, stream, client, totals, progress)
        except RemoteError as exc:
            self._failed(name, started, totals, exc)
            raise SyncFailed(str(exc), totals) from exc
        except BaseException as exc:  # Ctrl-C too: the run did not finish
            self._failed(name, started, totals, exc)
            raise
        finally:
            if client is not None:
                client.close()
        self._store.sources.save_run(name, _run(started, self._clock(), "ok", totals, None))
        return totals

    def _failed(self, name: str, started: str, totals: SyncProgress, exc: BaseException) -> None:
        """Record the run as failed. A failure to record it (the store may be what
        failed) is logged, so that the caller sees the error that stopped the run."""
        try:
            self._store.sources.save_run(
                name, _run(started, self._clock(), "failed", totals, _failure(exc))
            )
        except Exception:
            log.exception("could not record the failed run of source %s", name)

    def _pull_stream(
        self,
        source: SourceRecord,
        stream: str,
        client: RemoteClient,
        totals: SyncProgress,
        progress: Callable[[SyncProgress], None] | None,
    ) -> None:
        checkpoint = self._store.sources.checkpoint(source.name, stream)
        ingest = self._ingest_for(source)
        submitter = self._submitter_for(source)
        witness = self._witness_for(source)
        page = self._first_page(client, stream, checkpoint)
        field = source.since_field  # what the remote's `since` compares: see SourceRecord
        newest: datetime | None = _parse(checkpoint.last_stored)
        last_id = checkpoint.last_id
        # A remote that ignores `ascending` gives the newest first, and a checkpoint
        # saved then would skip what is still to come if a later page failed; so the
        # checkpoint moves only once the order is seen to ascend, or at the end of the run.
        order = _Order()
        held_back: Checkpoint | None = None
        while True:
            absorbed, provenance = self._take(page, source, ingest, submitter, witness)
            totals.add(absorbed, len(page.statements))
            dated = [(t, s.get("id")) for s in page.statements if (t := _parse(s.get(field)))]
            order.see([t for t, _id in dated])
            if dated:
                latest = max(dated, key=lambda pair: pair[0])
                if newest is None or latest[0] > newest:
                    newest, last_id = latest[0], str(latest[1])
            point = self._checkpoint(newest, last_id, page.consistent_through, checkpoint)
            if order.ascends:
                self._store.sources.page_done(source.name, stream, point, provenance)
                held_back = None
            else:
                self._store.sources.page_done(source.name, stream, checkpoint, provenance)
                held_back = point
            if progress is not None:
                progress(totals)
            if page.more is None:
                break
            page = client.more(page.more)
        if held_back is not None:
            self._store.sources.page_done(source.name, stream, held_back, [])

    def _first_page(
        self, client: RemoteClient, stream: str, checkpoint: Checkpoint
    ) -> StatementPage:
        params = {"limit": str(self._settings.page_size), "ascending": "true"}
        if stream != ALL_STREAM:
            params["agent"] = stream
        if checkpoint.since:
            params["since"] = checkpoint.since
        if not self._settings.attachments:
            return client.statements(params)
        try:
            return client.statements({**params, "attachments": "true"})
        except RemoteRefused as exc:
            if exc.status != 400:
                raise
            # An LRS without attachment support may refuse the parameter: ask without it.
            return client.statements(params)

    def _take(
        self,
        page: StatementPage,
        source: SourceRecord,
        ingest: StatementIngest,
        submitter: Submitter,
        witness: Witness,
    ) -> tuple[Absorbed, list[Provenance]]:
        """Absorb one page; the provenance of what is here now from this source."""
        total = Absorbed()
        version = source.remote.xapi_version
        owner_identities = about_owner(self._store, source)
        usable: list[dict[str, Any]] = []
        positions: list[int] = []  # where each usable statement is on the page
        for index, statement in enumerate(page.statements):
            if not isinstance(statement.get("id"), str):
                # Without its id a statement cannot be recognised next time: it would be
                # stored again on every run.
                total.rejected.append(
                    Rejected(index, None, "id", "must be present (the remote stored it)", "no id")
                )
                continue
            other = (
                None
                if owner_identities is None
                else not_the_owners_own(statement, owner_identities)
            )
            if other is not None:
                # An owner chooses this remote (and may run it): only what the owner did
                # comes in, never statements that name others (see lrs_adapters.sources).
                total.rejected.append(
                    Rejected(
                        index,
                        str(statement["id"]),
                        other,
                        "must be the owner: an Agent that is one of their identities"
                        " (an owner's source)",
                        f"the statement's {other} is not the owner who connected this source",
                    )
                )
                continue
            usable.append(statement)
            positions.append(index)
        size = self._settings.chunk_size
        for start in range(0, len(usable), size):
            chunk = usable[start : start + size]
            absorbed = ingest.absorb(chunk, submitter=submitter, version=version, parts=page.parts)
            total.new += absorbed.new
            total.duplicate += absorbed.duplicate
            total.conflicts += absorbed.conflicts
            total.rejected += [
                dataclasses.replace(r, index=positions[start + r.index]) for r in absorbed.rejected
            ]
            total.known += absorbed.known
        if total.known:
            witness(total.known)
        kept = {i.lower() for i in total.new + total.duplicate}
        fetched = self._clock()
        provenance = [
            Provenance(
                statement_id=str(s["id"]).lower(),
                source=source.name,
                remote_stored=s.get("stored") if isinstance(s.get("stored"), str) else None,
                remote_authority=s.get("authority")
                if isinstance(s.get("authority"), dict)
                else None,
                fetched=fetched,
            )
            for s in usable
            if str(s["id"]).lower() in kept
        ]
        return total, provenance

    def _checkpoint(
        self,
        newest: datetime | None,
        last_id: str | None,
        consistent_through: str | None,
        previous: Checkpoint,
    ) -> Checkpoint:
        if newest is None:
            return previous
        since = newest - self._settings.overlap
        through = _parse(consistent_through)
        if through is not None and through < since:
            since = through
        earlier = _parse(previous.since)
        if earlier is not None and since < earlier:
            since = earlier  # never move back past where the last run started
        return Checkpoint(
            since=_iso(since),
            last_stored=_iso(newest),
            last_id=last_id,
        )


class _Order:
    """Whether a stream's pages come oldest first, as asked, judged on the `since` field
    of each page in the order the remote gave it.

    They ascend when every page is in ascending order and starts at or after where the
    previous one ended, with no slack: a remote that ignores `ascending` and gives the
    newest first may still have its newest statements within any overlap of each other
    (a bulk import). Ties prove nothing (a descending remote shows them too), so the
    order is known only once it has risen across two pages or more; a page out of order
    settles it as not ascending for the rest of the run.
    """

    def __init__(self) -> None:
        self._pages = 0
        self._oldest: datetime | None = None
        self._newest: datetime | None = None
        self._broken = False

    def see(self, times: Sequence[datetime]) -> None:
        if not times:
            return
        in_order = all(a <= b for a, b in itertools.pairwise(times))
        if not in_order or (self._newest is not None and times[0] < self._newest):
            self._broken = True
        self._pages += 1
        self._oldest = min(times) if self._oldest is None else min(self._oldest, *times)
        self._newest = max(times) if self._newest is None else max(self._newest, *times)

    @property
    def ascends(self) -> bool:
        return (
            not self._broken
            and self._pages > 1
            and self._oldest is not None
            and self._newest is not None
            and self._newest > self._oldest
        )


def _failure(exc: BaseException) -> str:
    """What a failed run records: the message of an error meant to be shown (a remote's
    or the domain's; neither holds a secret), and only the kind of anything else, whose
    message was never reviewed for what it may hold."""
    if isinstance(exc, RemoteError | CpdfolioError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"stopped by an unexpected {type(exc).__name__} (see the log)"


def _run(
    started: str, finished: str, status: str, totals: SyncProgress, error: str | None
) -> SyncRun:
    return SyncRun(
        started=started,
        finished=finished,
        status=status,
        error=error,
        fetched=totals.fetched,
        new=totals.new,
        duplicate=totals.duplicate,
        conflicts=totals.conflicts_total,
        rejected=totals.rejected_total,
    )


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso8601(value)
    except ValueError:
        return None


def _iso(value: datetime) -> str:
    # Always with a zone: some LRSs (Ralph) fail on a naive `since`.
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


__all__ = ["CHUNK", "LISTED", "PullSettings", "Puller", "SyncFailed", "SyncProgress", "Witness"]
