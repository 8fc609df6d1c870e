"""The exchange port: other LRSs this instance pulls from (sources) and forwards to
(destinations), and what it keeps about that traffic.

- A **source** is a remote LRS with credentials and the agents to ask for (empty: every
  statement the credentials may read). Each stream of a source (one per agent, or "*")
  has a checkpoint, saved after each page is stored, so a run that dies resumes where
  the last finished page ended.
- **Provenance** says which source a statement came from, with the remote `stored` and
  `authority` (cpdfolio sets its own authority on everything it stores).
- The **outbox** holds one item per (destination, statement). Items are written by the
  statement insert itself (NewStatement.forward_to), in the same transaction: a stored
  statement is never missing from the outbox, and the outbox never names a statement
  that was not stored.

Credentials are kept sealed (lrs_adapters.credentials); the store never holds a remote
secret in the clear.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

# The stream of a source that asks for everything (no agent filter).
ALL_STREAM = "*"


@dataclass(frozen=True)
class RemoteLrs:
    """Where a remote LRS is and how to sign in to it (Basic auth)."""

    endpoint: str
    username: str
    sealed_secret: str  # JSON of lrs_adapters.credentials.SealedSecret
    xapi_version: str = "1.0.3"


@dataclass(frozen=True)
class SourceRecord:
    name: str
    remote: RemoteLrs
    # JSON of each agent to ask for (the `agent` parameter), or none: everything.
    agents: tuple[str, ...]
    # The person who connected it for their own identities; None for an administrator's.
    owner: str | None
    created: str
    # What the remote's `since` filters on: "stored", as xAPI says, or "timestamp", as
    # some LRSs do (Ralph). The checkpoint follows the same field.
    since_field: str = "stored"


@dataclass(frozen=True)
class SourceAgentsChange:
    """An administrator's source that asks about a person being erased: its agents as
    planned, and those that stay. When none stays the source goes, since a source with
    no agents pulls everything. The streams dropped lose their checkpoints."""

    name: str
    agents: tuple[str, ...]
    keep: tuple[str, ...]

    @property
    def dropped(self) -> tuple[str, ...]:
        return tuple(agent for agent in self.agents if agent not in self.keep)


@dataclass(frozen=True)
class Checkpoint:
    """Where a stream of a source stopped: the `since` to ask for next time, and the
    remote `stored` and id of the last statement kept."""

    since: str | None = None
    last_stored: str | None = None
    last_id: str | None = None


@dataclass(frozen=True)
class SyncRun:
    """The outcome of the latest run of a source."""

    started: str
    finished: str | None
    status: str  # "running" | "ok" | "failed"
    error: str | None = None
    fetched: int = 0
    new: int = 0
    duplicate: int = 0
    conflicts: int = 0
    rejected: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "started": self.started,
            "finished": self.finished,
            "status": self.status,
            "error": self.error,
            "fetched": self.fetched,
            "new": self.new,
            "duplicate": self.duplicate,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class Provenance:
    statement_id: str
    source: str
    remote_stored: str | None
    remote_authority: Mapping[str, object] | None
    fetched: str


class SourceStore(Protocol):
    def add(self, source: SourceRecord, *, replace: bool = False) -> None:
        """Store a source; raises portfolio.errors.Conflict when the name is taken and
        `replace` is false. Replacing keeps the checkpoints."""
        ...

    def get(self, name: str) -> SourceRecord | None: ...

    def list(self, *, owner: str | None = None) -> list[SourceRecord]:
        """Every source (or the owner's), by name."""
        ...

    def remove(self, name: str) -> bool:
        """Delete the source with its checkpoints and last run; False if unknown.
        Provenance stays: it describes statements that are still here."""
        ...

    def checkpoint(self, name: str, stream: str) -> Checkpoint: ...

    def page_done(
        self,
        name: str,
        stream: str,
        checkpoint: Checkpoint,
        provenance: Sequence[Provenance],
    ) -> None:
        """Save a stream's checkpoint and the provenance of the page's statements, in one
        transaction. Provenance already recorded for (statement, source) is kept."""
        ...

    def provenance(self, statement_ids: Sequence[str]) -> dict[str, builtins.list[Provenance]]:
        """The provenance of these statements, keyed by statement id."""
        ...

    def save_run(self, name: str, run: SyncRun) -> None: ...

    def last_run(self, name: str) -> SyncRun | None: ...


# ---------------------------------------------------------------------- forwarding


@dataclass(frozen=True)
class ForwardFilter:
    """Which statements a destination gets. Each non-empty condition must hold: the verb
    is one of `verbs`, the object Activity's type one of `activity_types`, an actor or
    object is an identity of one of `people` (person ids)."""

    verbs: tuple[str, ...] = ()
    activity_types: tuple[str, ...] = ()
    people: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {
            "verbs": list(self.verbs),
            "activity_types": list(self.activity_types),
            "people": list(self.people),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Sequence[str]]) -> ForwardFilter:
        return cls(
            verbs=tuple(value["verbs"]),
            activity_types=tuple(value["activity_types"]),
            people=tuple(value["people"]),
        )


@dataclass(frozen=True)
class DestinationRecord:
    name: str
    remote: RemoteLrs
    filter: ForwardFilter
    created: str
    batch_size: int = 100
    # Attempts before an item moves to the dead-letter list.
    max_attempts: int = 10


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@dataclass(frozen=True)
class OutboxItem:
    destination: str
    statement_id: str
    state: OutboxState
    attempts: int
    queued: str
    next_attempt: str
    last_error: str | None = None
    sent: str | None = None


@dataclass(frozen=True)
class DestinationStatus:
    name: str
    pending: int
    sent: int
    dead: int
    # When the oldest pending item is due, and the latest failure (item or destination).
    next_attempt: str | None
    last_error: str | None
    last_sent: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pending": self.pending,
            "sent": self.sent,
            "dead": self.dead,
            "next_attempt": self.next_attempt,
            "last_error": self.last_error,
            "last_sent": self.last_sent,
        }


class OutboxStore(Protocol):
    def add_destination(self, destination: DestinationRecord, *, replace: bool = False) -> None:
        """Store a destination; raises Conflict when the name is taken and `replace` is
        false. Replacing keeps its outbox."""
        ...

    def get_destination(self, name: str) -> DestinationRecord | None: ...

    def destinations(self) -> list[DestinationRecord]:
        """Every destination, by name."""
        ...

    def remove_destination(self, name: str) -> bool:
        """Delete the destination and its outbox; False if unknown."""
        ...

    def enqueue(self, destination: str, statement_ids: Sequence[str], *, at: str) -> int:
        """Queue stored statements (a backfill); ones queued already are left as they are.
        Returns how many were added."""
        ...

    def due(self, destination: str, *, now: str, limit: int) -> list[OutboxItem]:
        """Pending items whose next attempt is at or before `now`, oldest queued first."""
        ...

    def mark_sent(self, destination: str, statement_ids: Sequence[str], *, at: str) -> None: ...

    def mark_failed(
        self,
        destination: str,
        statement_ids: Sequence[str],
        *,
        at: str,
        error: str,
        retry_at: str,
        max_attempts: int,
    ) -> int:
        """Count one more failed attempt: items that reach `max_attempts` become dead, the
        others wait until `retry_at`. Returns how many became dead."""
        ...

    def requeue(
        self, destination: str, statement_ids: Sequence[str] | None = None, *, at: str
    ) -> int:
        """Dead items (all, or these) become pending again, due now, with their attempts
        reset. Returns how many."""
        ...

    def items(self, destination: str, state: OutboxState, *, limit: int = 100) -> list[OutboxItem]:
        """Items in one state, oldest queued first."""
        ...

    def item_states(self, statement_ids: Sequence[str]) -> dict[str, dict[str, OutboxState]]:
        """Where these statements are queued: statement id -> destination -> the state of
        its item there. A statement queued nowhere is left out. The router asks it once per
        batch, for the targets of the batch's voiding statements (portfolio.lrs.routing)."""
        ...

    def voiding_items(
        self, destination: str, statement_ids: Sequence[str]
    ) -> dict[str, list[OutboxItem]]:
        """The destination's items (any state) of the stored statements that void these
        ones, keyed by the id of the statement voided, oldest queued first. The sender
        asks it before sending a statement voided since it was queued
        (lrs_adapters.forward)."""
        ...

    def status(self) -> list[DestinationStatus]:
        """Counts and latest news of every destination, by name."""
        ...
