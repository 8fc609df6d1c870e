"""Goals: the personal development plan.

A goal is linked to framework items, has a target date, planned actions (e-learning, a
course, mentoring, a secondment, an action learning set, reading) and a status the owner
sets. Its progress is never typed in: it is the evidence stored for its items since the
goal was set, kept up to date by the evidence ledger (portfolio.evidence.ledger).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from portfolio.errors import InvalidInput, NotFound
from portfolio.evidence.ledger import GOAL, Ledger
from portfolio.people.accounts import Owner
from portfolio.record.chain import Draft, apply_with_retry
from portfolio.record.entry import Role
from portfolio.standards.catalogue import find_current_item
from portfolio.storage.base import DocChange, Store


def check_items(store: Store, items: Sequence[str], *, path: str = "items") -> None:
    """Raise InvalidInput unless every item is an item, not a heading, of the latest
    version of a stored framework (portfolio.standards.catalogue.find_current_item): what
    is set or linked now names the framework as it is now. The path is `path[i]`, or
    `path` itself when `path` names a single item ("item")."""
    for index, uri in enumerate(items):
        where = path if path == "item" else f"{path}[{index}]"
        if find_current_item(store.frameworks, uri, path=where) is None:
            raise InvalidInput(
                f"{where} is not an item of any framework here: {uri}",
                path=where,
                rule="must be the uri of a framework item",
            )


def set_goal(store: Store, owner: Owner, goal: Mapping[str, Any]) -> dict[str, Any]:
    """Add a goal (already validated by schemas.portfolio.GoalCreateSchema) to the owner's
    plan; returns it. Raises InvalidInput for an unknown item."""
    check_items(store, goal["items"])
    person_id = owner.person.id
    goal_id = uuid.uuid4().hex
    created: dict[str, Any] = {}

    def plan() -> tuple[list[Draft], list[DocChange]]:
        ledger = Ledger(store, person_id)
        body = {
            "id": goal_id,
            "title": goal["title"],
            "items": list(dict.fromkeys(goal["items"])),
            "target_date": goal.get("target_date"),
            "status": "open",
            "actions": [dict(action) for action in goal.get("actions", [])],
        }
        created.clear()
        created.update(body, created=ledger.now, updated=ledger.now, progress={})
        ledger.add_goal(dict(created))
        return [Draft("goal-set", body, owner.key, Role.OWNER)], ledger.changes()

    apply_with_retry(store, person_id, plan)
    return with_progress(dict(created))


def update_goal(
    store: Store, owner: Owner, goal_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a goal's status, target date, title or actions; returns the goal.
    Raises NotFound for a goal that is not the owner's."""
    person_id = owner.person.id
    result: dict[str, Any] = {}

    def plan() -> tuple[list[Draft], list[DocChange]]:
        ledger = Ledger(store, person_id)
        goal = ledger.get(GOAL, goal_id)
        if goal is None:
            raise NotFound(f"no goal {goal_id}")
        goal.update({k: v for k, v in changes.items()})
        goal["updated"] = ledger.now
        ledger.put(GOAL, goal_id, goal)
        result.clear()
        result.update(goal)
        body = {"id": goal_id, "changes": dict(changes)}
        return [Draft("goal-updated", body, owner.key, Role.OWNER)], ledger.changes()

    apply_with_retry(store, person_id, plan)
    return result


def list_goals(store: Store, person_id: str) -> list[dict[str, Any]]:
    """The person's goals, oldest first, each with its progress."""
    goals = [orjson.loads(doc.body) for doc in store.portfolio.list_docs(person_id, GOAL)]
    return sorted((with_progress(goal) for goal in goals), key=lambda g: (g["created"], g["id"]))


def get_goal(store: Store, person_id: str, goal_id: str) -> dict[str, Any]:
    doc = store.portfolio.get_doc(person_id, GOAL, goal_id)
    if doc is None:
        raise NotFound(f"no goal {goal_id}")
    return with_progress(orjson.loads(doc.body))


def with_progress(goal: dict[str, Any]) -> dict[str, Any]:
    """The goal with a summary of its progress: items with evidence, evidence, hours."""
    progress = goal.get("progress", {})
    evidenced = [item for item in goal["items"] if progress.get(item, {}).get("count", 0) > 0]
    goal["summary"] = {
        "items": len(goal["items"]),
        "items_with_evidence": len(evidenced),
        "evidence": sum(p.get("count", 0) for p in progress.values()),
        "hours": round(sum(p.get("hours", 0.0) for p in progress.values()), 2),
    }
    return goal
