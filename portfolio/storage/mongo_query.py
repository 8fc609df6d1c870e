"""The MongoDB filters of a statement query, built without touching the driver.

Mirrors `sqlite._SqlQuery`: the same query gives the same statements in the same order on
either adapter. Documents are shaped as `mongo.statement_document` writes them: the agent
and activity keys of a statement sit in the arrays `agents_d`/`agents_r` and
`activities_d`/`activities_r` (direct and related scope, Communication 2.1.3), and optional
fields (`registration`, `voids`, `ref_target`) are left out rather than stored as null.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from portfolio.storage.base import StatementFilter, StatementQuery

Document = dict[str, Any]

# What a StatementRecord is built from; the index arrays stay on the server.
RECORD_PROJECTION: Mapping[str, bool] = {
    "stored": True,
    "body": True,
    "voided": True,
    "voids": True,
    "authority_client": True,
    "signature": True,
}


def sort_order(query: StatementQuery) -> list[tuple[str, int]]:
    """The cursor order: (stored, _id), both in the query's direction."""
    direction = 1 if query.ascending else -1
    return [("stored", direction), ("_id", direction)]


def has_matching_filter(f: StatementFilter) -> bool:
    """Whether the filter has a condition a StatementRef target can satisfy.

    Communication 2.1.3 applies the StatementRef rule to agent, verb, activity and
    registration; `authority_client` always applies to the returned statement itself.
    """
    return any((f.agent, f.verb, f.activity, f.registration))


def own_conditions(f: StatementFilter) -> Document:
    """The filter's conditions on a statement's own fields, without `authority_client`.

    These are what a StatementRef target must match; voided targets are not excluded here
    (Communication 2.1.4: a voiding statement is returned for queries matching what it
    voided).
    """
    conditions: Document = {}
    if f.agent is not None:
        conditions["agents_r" if f.related_agents else "agents_d"] = f.agent
    if f.verb is not None:
        conditions["verb"] = f.verb
    if f.activity is not None:
        conditions["activities_r" if f.related_activities else "activities_d"] = f.activity
    if f.registration is not None:
        conditions["registration"] = f.registration
    return conditions


def returned_conditions(query: StatementQuery) -> Document:
    """Conditions on the statement returned itself: not voided, authority, time, cursor.

    `since` is exclusive and `until` inclusive on `stored`. The keyset cursor is the
    condition `(stored, _id) > after` (ascending) or `< after` (descending), written as an
    `$or`; its `stored` half is also folded into the range on `stored` so the index scan
    starts at the cursor instead of filtering its way there.
    """
    conditions: Document = {"voided": False}
    if query.filter.authority_client is not None:
        conditions["authority_client"] = query.filter.authority_client
    lower = None if query.since is None else ("$gt", query.since)
    upper = None if query.until is None else ("$lte", query.until)
    after = query.after
    if after is not None:
        op = "$gt" if query.ascending else "$lt"
        conditions["$or"] = [
            {"stored": {op: after.stored}},
            {"stored": after.stored, "_id": {op: after.id}},
        ]
        if query.ascending:
            lower = _tighter_lower(lower, ("$gte", after.stored))
        else:
            upper = _tighter_upper(upper, ("$lte", after.stored))
    stored_range = dict(bound for bound in (lower, upper) if bound is not None)
    if stored_range:
        conditions["stored"] = stored_range
    return conditions


def as_of(query: StatementQuery, stored: str) -> StatementQuery:
    """The query restricted to statements stored at or before `stored`."""
    until = stored if query.until is None else min(query.until, stored)
    return replace(query, until=until)


def _tighter_lower(a: tuple[str, str] | None, b: tuple[str, str]) -> tuple[str, str]:
    # Stored times are fixed-width, so string order is time order. At equal values the
    # exclusive bound ($gt) is the tighter one.
    if a is None or b[1] > a[1] or (b[1] == a[1] and b[0] == "$gt"):
        return b
    return a


def _tighter_upper(a: tuple[str, str] | None, b: tuple[str, str]) -> tuple[str, str]:
    if a is None or b[1] < a[1] or (b[1] == a[1] and b[0] == "$lt"):
        return b
    return a


def direct_filter(query: StatementQuery) -> Document:
    """The statements that match the query by their own fields."""
    return {**own_conditions(query.filter), **returned_conditions(query)}


def target_filter(f: StatementFilter, target_ids: list[str]) -> Document:
    """Among these StatementRef targets, the ones matching the filter on their own fields."""
    return {"_id": {"$in": target_ids}, **own_conditions(f)}


def referring_filter(query: StatementQuery, statement_ids: list[str]) -> Document:
    """Among statements reached through StatementRefs, the ones the query returns."""
    return {
        "_id": {"$in": statement_ids},
        "ref_target": {"$exists": True},
        **returned_conditions(query),
    }


def climb(edges: Mapping[str, str], matched: Iterable[str]) -> set[str]:
    """Every statement whose StatementRef chain reaches one of `matched`, those included.

    `edges` maps a referring statement's id to its `ref_target`. Communication 2.1.3
    ("Filter Conditions for StatementRefs") applies the rule recursively: a→b→c matches
    c's filter. A cycle (possible only through ids reused across stores) ends because an
    id is visited once.
    """
    referrers: dict[str, list[str]] = {}
    for statement_id, target in edges.items():
        referrers.setdefault(target, []).append(statement_id)
    reached = set(matched)
    frontier = set(reached)
    while frontier:
        frontier = {r for t in frontier for r in referrers.get(t, ())} - reached
        reached |= frontier
    return reached


def merge(
    direct: list[Document], referring: Iterable[Document], query: StatementQuery, fetch: int
) -> list[Document]:
    """Both result sets, each statement once, in cursor order, cut to `fetch`."""
    by_id = {str(doc["_id"]): doc for doc in direct}
    by_id.update((str(doc["_id"]), doc) for doc in referring)
    ordered = sorted(
        by_id.values(),
        key=lambda doc: (str(doc["stored"]), str(doc["_id"])),
        reverse=not query.ascending,
    )
    return ordered[:fetch]
