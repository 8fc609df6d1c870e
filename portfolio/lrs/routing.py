"""Which destinations a statement is forwarded to (portfolio.storage.exchange).

The router runs inside ingest, before the insert, so the insert can queue the statement
in the outboxes in its own transaction. It reads the destinations on every batch: one
small query, and a destination added with the CLI takes effect at once in every worker.

A voiding statement (verb `voided`, a StatementRef object) rarely matches a filter by
verb or activity type, yet a destination holding its target needs it, or it keeps a
statement the source voided. So it also goes wherever its target is queued pending (the
target will be sent: the void is queued after it and follows it) or was sent, and
wherever the target is routed in the same batch. Not where the target's item is dead: it
may never be delivered, and a 409 there means the destination holds a different
statement under that id, which is not ours to void. Nor where it was never queued: a
destination that never got the target has nothing to void. The targets' items are read
with one query per batch, and only when the batch holds a voiding statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from portfolio.storage.base import StatementIndex, Store
from portfolio.storage.exchange import DestinationRecord, OutboxState

# The states of a target's item that a voiding statement follows to its destination.
_VOID_FOLLOWS = frozenset({OutboxState.PENDING, OutboxState.SENT})


def same_endpoint(a: str, b: str) -> bool:
    """Whether two xAPI endpoints are the same LRS (the trailing slash aside)."""
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def activity_type(statement: Mapping[str, Any]) -> str | None:
    """The type of the statement's object Activity, when it says one."""
    obj = statement.get("object") or {}
    if obj.get("objectType", "Activity") != "Activity":
        return None
    kind = (obj.get("definition") or {}).get("type")
    return kind if isinstance(kind, str) else None


class ForwardRouter:
    """Matches statements against every destination's filter.

    `origin` is the endpoint a batch was pulled from: a statement is never forwarded
    back to the LRS it came from (that would loop between two LRSs forwarding to each
    other, each copy a no-op, for ever).
    """

    def __init__(self, store: Store, *, origin: str | None = None) -> None:
        self._store = store
        self._origin = origin

    def __call__(
        self, statements: Sequence[tuple[Mapping[str, Any], StatementIndex]]
    ) -> list[tuple[str, ...]]:
        destinations = [
            d
            for d in self._store.outbox.destinations()
            if self._origin is None or not same_endpoint(d.remote.endpoint, self._origin)
        ]
        if not destinations:
            return [() for _ in statements]
        owners: dict[str, str] = {}
        if any(d.filter.people for d in destinations):
            identities = sorted({key for _s, index in statements for key in index.agents_direct})
            owners = self._store.people.owners(identities) if identities else {}
        matched = [
            {d.name for d in destinations if _matches(d, statement, index, owners)}
            for statement, index in statements
        ]
        targets = {index.voids for _s, index in statements if index.voids}
        if targets:
            # Where each target goes: queued before this batch, or routed in it.
            follow: dict[str, set[str]] = {
                target: {name for name, state in states.items() if state in _VOID_FOLLOWS}
                for target, states in self._store.outbox.item_states(sorted(targets)).items()
            }
            for (statement, _index), names in zip(statements, matched, strict=True):
                target_id = statement.get("id")
                if isinstance(target_id, str) and target_id.lower() in targets:
                    follow.setdefault(target_id.lower(), set()).update(names)
            for (_statement, index), names in zip(statements, matched, strict=True):
                if index.voids:
                    names.update(follow.get(index.voids, ()))
        # In the order of the destinations (by name), whatever put a name in the set; the
        # origin was left out of `destinations`, so nothing goes back where it came from.
        return [tuple(d.name for d in destinations if d.name in names) for names in matched]


def _matches(
    destination: DestinationRecord,
    statement: Mapping[str, Any],
    index: StatementIndex,
    owners: Mapping[str, str],
) -> bool:
    wanted = destination.filter
    if wanted.verbs and index.verb not in wanted.verbs:
        return False
    if wanted.activity_types and activity_type(statement) not in wanted.activity_types:
        return False
    if wanted.people:
        people = {owners[key] for key in index.agents_direct if key in owners}
        if not people & set(wanted.people):
            return False
    return True
