"""Which destinations a statement is forwarded to (portfolio.storage.exchange).

The router runs inside ingest, before the insert, so the insert can queue the statement
in the outboxes in its own transaction. It reads the destinations on every batch: one
small query, and a destination added with the CLI takes effect at once in every worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from portfolio.storage.base import StatementIndex, Store
from portfolio.storage.exchange import DestinationRecord


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
        return [
            tuple(d.name for d in destinations if _matches(d, statement, index, owners))
            for statement, index in statements
        ]


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
