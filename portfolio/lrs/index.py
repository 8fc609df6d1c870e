"""What a statement is found by, extracted once at ingest (see storage.base.StatementIndex)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portfolio.lrs.agents import agent_keys, is_agent_or_group
from portfolio.storage.base import StatementIndex

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")

Json = Mapping[str, Any]


def extract_index(statement: Json) -> StatementIndex:
    """The index fields of a validated, normalised statement.

    Communication 2.1.3: `agent` matches the actor or object (and a Group's members);
    `related_agents` adds authority, instructor, team and the same places in a
    SubStatement; `activity` matches the object Activity; `related_activities` adds the
    context activities and the same places in a SubStatement. `context.statement`
    never affects filtering.
    """
    agents_direct: set[str] = set()
    agents_related: set[str] = set()
    activities_direct: set[str] = set()
    activities_related: set[str] = set()

    agents_direct.update(agent_keys(statement["actor"]))
    obj = statement["object"]
    object_type = obj.get("objectType", "Activity")
    if is_agent_or_group(obj):
        agents_direct.update(agent_keys(obj))
    elif object_type == "Activity":
        activities_direct.add(obj["id"])

    agents_related.update(agents_direct)
    activities_related.update(activities_direct)
    _add_related(statement, agents_related, activities_related)
    if object_type == "SubStatement":
        agents_related.update(agent_keys(obj["actor"]))
        inner = obj["object"]
        if is_agent_or_group(inner):
            agents_related.update(agent_keys(inner))
        elif inner.get("objectType", "Activity") == "Activity":
            activities_related.add(inner["id"])
        _add_related(obj, agents_related, activities_related)

    verb = statement["verb"]["id"]
    ref_target = obj["id"].lower() if object_type == "StatementRef" else None
    context = statement.get("context") or {}
    registration = context.get("registration")
    return StatementIndex(
        verb=verb,
        agents_direct=frozenset(agents_direct),
        agents_related=frozenset(agents_related),
        activities_direct=frozenset(activities_direct),
        activities_related=frozenset(activities_related),
        registration=registration.lower() if registration else None,
        voids=ref_target if verb == VOIDED_VERB else None,
        ref_target=ref_target,
    )


def _add_related(statement: Json, agents: set[str], activities: set[str]) -> None:
    """Authority, instructor, team and context activities of a statement or SubStatement."""
    if "authority" in statement:
        agents.update(agent_keys(statement["authority"]))
    context = statement.get("context")
    if not context:
        return
    for role in ("instructor", "team"):
        if role in context:
            agents.update(agent_keys(context[role]))
    # xAPI 2.0.0 context agents and groups are related agents too.
    for entry in context.get("contextAgents") or ():
        agents.update(agent_keys(entry["agent"]))
    for entry in context.get("contextGroups") or ():
        agents.update(agent_keys(entry["group"]))
    for values in (context.get("contextActivities") or {}).values():
        for activity in values if isinstance(values, list) else (values,):
            activities.add(activity["id"])
