"""What the owner does with evidence: link it to an item or unlink it, with a rationale,
and write reflections on evidence or goals. Each is an owner-signed entry, applied
together with the coverage and goal progress it changes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from portfolio.errors import Conflict, NotFound
from portfolio.evidence.ledger import BY_ITEM, EVIDENCE, GOAL, REFLECTION, SEP, Ledger
from portfolio.goals import check_items
from portfolio.people.accounts import Owner
from portfolio.record.chain import Draft, apply_with_retry
from portfolio.record.entry import Role
from portfolio.storage.base import DocChange, Store


def _evidence(ledger: Ledger, statement_id: str) -> dict[str, Any]:
    evidence = ledger.get(EVIDENCE, statement_id)
    if evidence is None:
        raise NotFound(f"statement {statement_id} is not evidence in this portfolio")
    return evidence


def link(
    store: Store, owner: Owner, statement_id: str, item: str, rationale: str
) -> dict[str, Any]:
    """Count a statement of the owner's evidence toward `item`. Raises NotFound (not the
    owner's evidence), Conflict (voided, or counted already), InvalidInput (unknown item)."""
    check_items(store, [item], path="item")
    result: dict[str, Any] = {}

    def plan() -> tuple[list[Draft], list[DocChange]]:
        ledger = Ledger(store, owner.person.id)
        evidence = _evidence(ledger, statement_id)
        if evidence.get("voided"):
            raise Conflict("a voided statement cannot be evidence")
        if not ledger.attach(
            evidence, item, {"source": "owner", "hours": 0.0, "rationale": rationale}
        ):
            raise Conflict(f"the statement already counts toward {item}")
        result.clear()
        result.update(evidence)
        body = {"statement": statement_id, "item": item, "rationale": rationale}
        return [Draft("evidence-linked", body, owner.key, Role.OWNER)], ledger.changes()

    apply_with_retry(store, owner.person.id, plan)
    return result


def unlink(
    store: Store, owner: Owner, statement_id: str, item: str, rationale: str
) -> dict[str, Any]:
    """Stop counting a statement toward `item`, whether a rule or the owner linked it.
    Raises NotFound when it is not the owner's evidence or does not count toward it."""
    result: dict[str, Any] = {}

    def plan() -> tuple[list[Draft], list[DocChange]]:
        ledger = Ledger(store, owner.person.id)
        evidence = _evidence(ledger, statement_id)
        if not ledger.detach(evidence, item):
            raise NotFound(f"the statement does not count toward {item}")
        evidence.setdefault("unlinked", {})[item] = rationale
        ledger.put(EVIDENCE, statement_id, evidence)
        result.clear()
        result.update(evidence)
        body = {"statement": statement_id, "item": item, "rationale": rationale}
        return [Draft("evidence-unlinked", body, owner.key, Role.OWNER)], ledger.changes()

    apply_with_retry(store, owner.person.id, plan)
    return result


def get_evidence(store: Store, person_id: str, statement_id: str) -> dict[str, Any]:
    doc = store.portfolio.get_doc(person_id, EVIDENCE, statement_id)
    if doc is None:
        raise NotFound(f"statement {statement_id} is not evidence in this portfolio")
    evidence: dict[str, Any] = orjson.loads(doc.body)
    return evidence


def evidence_for_item(
    store: Store, person_id: str, item: str, *, limit: int = 100
) -> list[dict[str, Any]]:
    """The evidence counted toward `item`, newest first (at most `limit`)."""
    keys = store.portfolio.list_docs(person_id, BY_ITEM, prefix=item + SEP)
    newest = [doc.key.split(SEP)[2] for doc in reversed(keys)][:limit]
    return [get_evidence(store, person_id, statement) for statement in newest]


def reflect(store: Store, owner: Owner, reflection: Mapping[str, Any]) -> dict[str, Any]:
    """A reflection on a piece of evidence or a goal (validated by ReflectionCreateSchema:
    `about` has exactly one of statement, goal). Raises NotFound when it is not the
    owner's. The items it is about count one more reflection in their coverage."""
    about = dict(reflection["about"])
    reflection_id = uuid.uuid4().hex
    result: dict[str, Any] = {}

    def plan() -> tuple[list[Draft], list[DocChange]]:
        ledger = Ledger(store, owner.person.id)
        if "statement" in about:
            items = list(_evidence(ledger, about["statement"])["items"])
        else:
            goal = ledger.get(GOAL, about["goal"])
            if goal is None:
                raise NotFound(f"no goal {about['goal']}")
            items = list(goal["items"])
        body = {
            "id": reflection_id,
            "about": about,
            "what_happened": reflection["what_happened"],
            "what_i_learnt": reflection["what_i_learnt"],
            "how_it_changes_my_practice": reflection["how_it_changes_my_practice"],
        }
        ledger.put(REFLECTION, reflection_id, {**body, "created": ledger.now, "items": items})
        ledger.add_reflection_to(items)
        result.clear()
        result.update(body, created=ledger.now, items=items)
        return [Draft("reflection-written", body, owner.key, Role.OWNER)], ledger.changes()

    apply_with_retry(store, owner.person.id, plan)
    return result


def list_reflections(store: Store, person_id: str) -> list[dict[str, Any]]:
    found = [orjson.loads(d.body) for d in store.portfolio.list_docs(person_id, REFLECTION)]
    return sorted(found, key=lambda r: (r["created"], r["id"]))
