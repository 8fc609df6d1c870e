"""The portfolio documents one change reads and writes: evidence, coverage, goals.

A `Ledger` is made inside a plan of `apply_with_retry` (portfolio.record.chain): it reads
documents lazily, keeps what it changed, and hands back the changes to write with the
plan's record entries. Coverage and goal progress are kept up to date here, as evidence
arrives or leaves, so that reading a dashboard never walks the statements.

Documents (per person):
- "evidence", key = statement id: {statement, stored, when, identity, verb, activity,
  name, voided, items: {item: {source, rules?, hours, rationale?}}, unlinked: {item: why}}
- "evidence-by-item", key = "<item> <stored> <statement id>" (U+001F between): one per
  (item, statement), so an item's evidence lists in time order and its latest is found;
- "coverage", key = item: {item, count, hours, latest, reflections};
- "goal", key = goal id: the goal, with `progress` per item: {count, hours, latest} of
  the evidence stored since the goal was set;
- "totals", key "evidence": {evidence: how many statements not voided are evidence here}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from portfolio.clock import utc_now_iso
from portfolio.storage.base import DeleteDoc, DocChange, PortfolioDoc, Store

SEP = "\x1f"
EVIDENCE = "evidence"
BY_ITEM = "evidence-by-item"
COVERAGE = "coverage"
GOAL = "goal"
REFLECTION = "reflection"
TOTALS = "totals"  # one document, key "evidence": {"evidence": n}

Json = dict[str, Any]


def by_item_key(item: str, stored: str, statement: str) -> str:
    return f"{item}{SEP}{stored}{SEP}{statement}"


class Ledger:
    def __init__(self, store: Store, person_id: str) -> None:
        self.store = store
        self.person_id = person_id
        self.now = utc_now_iso()
        self._docs: dict[tuple[str, str], Json | None] = {}
        self._changed: set[tuple[str, str]] = set()
        self._goals: list[str] | None = None

    # ------------------------------------------------------------------ documents

    def get(self, collection: str, key: str) -> Json | None:
        slot = (collection, key)
        if slot not in self._docs:
            doc = self.store.portfolio.get_doc(self.person_id, collection, key)
            self._docs[slot] = None if doc is None else orjson.loads(doc.body)
        return self._docs[slot]

    def put(self, collection: str, key: str, body: Json) -> None:
        self._docs[(collection, key)] = body
        self._changed.add((collection, key))

    def delete(self, collection: str, key: str) -> None:
        self._docs[(collection, key)] = None
        self._changed.add((collection, key))

    def goal_ids(self) -> list[str]:
        if self._goals is None:
            docs = self.store.portfolio.list_docs(self.person_id, GOAL)
            for doc in docs:
                self._docs.setdefault((GOAL, doc.key), orjson.loads(doc.body))
            self._goals = [doc.key for doc in docs]
        return self._goals

    def add_goal(self, goal: Json) -> None:
        self.goal_ids().append(goal["id"])
        self.put(GOAL, goal["id"], goal)

    def changes(self) -> list[DocChange]:
        out: list[DocChange] = []
        for collection, key in sorted(self._changed):
            body = self._docs[(collection, key)]
            if body is None:
                out.append(DeleteDoc(self.person_id, collection, key))
            else:
                data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
                out.append(PortfolioDoc(self.person_id, collection, key, data, self.now))
        return out

    # ------------------------------------------------------------------- evidence

    def new_evidence(self, evidence: Json) -> None:
        """Keep a newly witnessed statement's evidence document, and count it unless it
        was voided already (a voiding statement may arrive before its target)."""
        self.put(EVIDENCE, evidence["statement"], evidence)
        if not evidence.get("voided"):
            self._count_evidence(+1)

    def void_evidence(self, evidence: Json) -> bool:
        """The statement was voided: it stops counting toward its items and in the total,
        and its document says so. False when it was voided already (nothing changes)."""
        if evidence.get("voided"):
            return False
        for item in list(evidence["items"]):
            self.detach(evidence, item)
        evidence["voided"] = True
        self.put(EVIDENCE, evidence["statement"], evidence)
        self._count_evidence(-1)
        return True

    def remove_evidence(self, evidence: Json) -> None:
        """The statement is erased: its document goes (it quotes the statement), with its
        counts, items and total alike; a voided one left the total when it was voided."""
        for item in list(evidence["items"]):
            self.detach(evidence, item)
        self.delete(EVIDENCE, evidence["statement"])
        if not evidence.get("voided"):
            self._count_evidence(-1)

    def _count_evidence(self, step: int) -> None:
        # The total is how many live (not voided) statements are evidence here.
        totals = self.get(TOTALS, EVIDENCE) or {"evidence": 0}
        totals["evidence"] = max(0, int(totals["evidence"]) + step)
        self.put(TOTALS, EVIDENCE, totals)

    def attach(self, evidence: Json, item: str, link: Mapping[str, Any]) -> bool:
        """Count `evidence` toward `item` (link: {source, hours, rules?, rationale?}).
        False when it already counts toward it."""
        if item in evidence["items"] or evidence.get("voided"):
            return False
        evidence["items"][item] = dict(link)
        evidence.get("unlinked", {}).pop(item, None)
        self.put(EVIDENCE, evidence["statement"], evidence)
        self._count(evidence, item, +1, float(link.get("hours") or 0.0))
        return True

    def detach(self, evidence: Json, item: str) -> bool:
        """Stop counting `evidence` toward `item`. False when it did not count."""
        link = evidence["items"].pop(item, None)
        if link is None:
            return False
        self.put(EVIDENCE, evidence["statement"], evidence)
        self._count(evidence, item, -1, float(link.get("hours") or 0.0))
        return True

    def _count(self, evidence: Json, item: str, step: int, hours: float) -> None:
        stored, statement = evidence["stored"], evidence["statement"]
        key = by_item_key(item, stored, statement)
        if step > 0:
            self.put(BY_ITEM, key, {"statement": statement, "stored": stored})
        else:
            self.delete(BY_ITEM, key)
        coverage = self.get(COVERAGE, item) or {
            "item": item,
            "count": 0,
            "hours": 0.0,
            "latest": None,
            "reflections": 0,
        }
        coverage["count"] += step
        coverage["hours"] = round(max(0.0, coverage["hours"] + step * hours), 4)
        if step > 0 and (coverage["latest"] is None or stored > coverage["latest"]):
            coverage["latest"] = stored
        elif step < 0 and coverage["latest"] == stored:
            coverage["latest"] = self._latest(item, excluding=key)
        self.put(COVERAGE, item, coverage)
        for goal_id in self.goal_ids():
            goal = self.get(GOAL, goal_id)
            if goal is None or item not in goal["items"] or stored < goal["created"]:
                continue
            progress = goal["progress"].setdefault(item, {"count": 0, "hours": 0.0})
            progress["count"] += step
            progress["hours"] = round(max(0.0, progress["hours"] + step * hours), 4)
            self.put(GOAL, goal_id, goal)

    def _latest(self, item: str, *, excluding: str) -> str | None:
        # Only when the latest evidence of an item leaves: walk that item's keys.
        keys = [
            doc.key
            for doc in self.store.portfolio.list_docs(self.person_id, BY_ITEM, prefix=item + SEP)
            if doc.key != excluding and self._docs.get((BY_ITEM, doc.key), {}) is not None
        ]
        keys += [
            key
            for (collection, key), body in self._docs.items()
            if collection == BY_ITEM and body is not None and key.startswith(item + SEP)
        ]
        keys = [k for k in keys if k != excluding]
        return max(keys).split(SEP)[1] if keys else None

    def add_reflection_to(self, items: list[str]) -> None:
        for item in items:
            coverage = self.get(COVERAGE, item)
            if coverage is not None:
                coverage["reflections"] += 1
                self.put(COVERAGE, item, coverage)
            else:
                self.put(
                    COVERAGE,
                    item,
                    {"item": item, "count": 0, "hours": 0.0, "latest": None, "reflections": 1},
                )
