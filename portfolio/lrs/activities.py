"""The Activities resource (Communication 2.5): the canonical definition the LRS has
assembled for an Activity, from the statements of clients allowed to define Activities.

Communication 4.2 (`define` scope): without it, "ids will be saved ... but [the LRS]
SHOULD NOT update its canonical representation". So definitions from clients holding
`define` or `all` are merged into the canonical one (portfolio.jsonmerge), in the order
their statements were stored; others change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from portfolio.lrs.index import CONTEXT_ACTIVITY_KEYS

Json = Mapping[str, Any]


def defined_activities(statement: Json) -> Iterator[tuple[str, dict[str, Any]]]:
    """(activity id, definition) for every Activity with a definition in a statement."""
    yield from _in(statement)
    obj = statement.get("object") or {}
    if obj.get("objectType") == "SubStatement":
        yield from _in(obj)


def _in(statement: Json) -> Iterator[tuple[str, dict[str, Any]]]:
    obj = statement.get("object") or {}
    if obj.get("objectType", "Activity") == "Activity" and obj.get("definition"):
        yield obj["id"], dict(obj["definition"])
    activities = (statement.get("context") or {}).get("contextActivities") or {}
    for key in CONTEXT_ACTIVITY_KEYS:
        values = activities.get(key)
        if values is None:
            continue
        for activity in values if isinstance(values, list) else (values,):
            if activity.get("definition"):
                yield activity["id"], dict(activity["definition"])


def activity_object(activity_id: str, definition: Json | None) -> dict[str, Any]:
    """The Activity object the Activities resource returns (Communication 2.5.s2.b1: an
    Activity object even when nothing is known of it)."""
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        activity["definition"] = dict(definition)
    return activity


def with_canonical_definitions(statement: dict[str, Any], definitions: Json) -> dict[str, Any]:
    """The statement with each Activity's definition replaced by the canonical one where
    the LRS has one (format=canonical, Communication 2.1.3)."""

    def activity(obj: dict[str, Any]) -> dict[str, Any]:
        canonical = definitions.get(obj.get("id", ""))
        return {**obj, "definition": canonical} if canonical else obj

    def walk(stmt: dict[str, Any]) -> dict[str, Any]:
        out = dict(stmt)
        obj = out.get("object") or {}
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = activity(obj)
        elif kind == "SubStatement":
            out["object"] = walk(obj)
        context = out.get("context")
        if context and context.get("contextActivities"):
            out["context"] = {
                **context,
                "contextActivities": {
                    key: [activity(a) for a in values]
                    for key, values in context["contextActivities"].items()
                },
            }
        return out

    return walk(statement)


def activity_ids(statement: Json) -> set[str]:
    """Every Activity id a statement mentions (for fetching canonical definitions)."""
    ids: set[str] = set()

    def walk(stmt: Json) -> None:
        obj = stmt.get("object") or {}
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            ids.add(obj["id"])
        elif kind == "SubStatement":
            walk(obj)
        for values in ((stmt.get("context") or {}).get("contextActivities") or {}).values():
            ids.update(a["id"] for a in values)

    walk(statement)
    return ids
