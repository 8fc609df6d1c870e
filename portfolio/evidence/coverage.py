"""Coverage: per framework item, what the portfolio holds — evidence count, hours, latest
evidence, reflections — read from the documents the ledger keeps, so a dashboard costs a
handful of reads whatever the number of statements."""

from __future__ import annotations

from typing import Any

import orjson

from portfolio.evidence.ledger import COVERAGE, EVIDENCE, TOTALS
from portfolio.goals import list_goals
from portfolio.standards.catalogue import get_framework
from portfolio.storage.base import Store


def dashboard(store: Store, person_id: str, framework_uri: str) -> dict[str, Any]:
    """The framework's items in hierarchy order with the person's coverage of each, their
    goals, and totals. Raises NotFound for an unknown framework."""
    framework = get_framework(store.frameworks, framework_uri)
    uris = {item.uri for item in framework.items}
    # A person's coverage documents are one per item they have evidence for: few.
    covered = {
        doc.key: orjson.loads(doc.body)
        for doc in store.portfolio.list_docs(person_id, COVERAGE)
        if doc.key in uris
    }
    items = []
    for item in framework.items:
        coverage = covered.get(item.uri, {})
        items.append(
            {
                "item": item.uri,
                "code": item.code,
                "statement": item.statement,
                "depth": item.depth,
                "parent": item.parent,
                "count": coverage.get("count", 0),
                "hours": coverage.get("hours", 0.0),
                "latest": coverage.get("latest"),
                "reflections": coverage.get("reflections", 0),
            }
        )
    goals = [
        g
        for g in list_goals(store, person_id)
        if any(i in covered or i.startswith(framework.uri) for i in g["items"])
    ]
    return {
        "framework": {"uri": framework.uri, "version": framework.version, "title": framework.title},
        "items": items,
        "goals": goals,
        "totals": {
            "evidence": _evidence_count(store, person_id),
            "items_with_evidence": sum(1 for i in items if i["count"] > 0),
            "items": len(items),
        },
    }


def _evidence_count(store: Store, person_id: str) -> int:
    doc = store.portfolio.get_doc(person_id, TOTALS, EVIDENCE)
    return 0 if doc is None else int(orjson.loads(doc.body)["evidence"])
