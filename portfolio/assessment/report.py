"""What an analysis shows its owner: the analysis itself, self against others per item,
the development needs it derives, and the training-needs grid.

The rules are in portfolio.assessment.needs; this module gathers the ratings and the
provision they are applied to. Provision for an item is the activities on offer that
develop it: the mapping rules (portfolio.evidence.rules) whose `match.activity` is set
and whose items include it, limited to rules for everyone or for a council one of the
owner's identities belongs to (provision the owner can reach).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from portfolio.assessment.analysis import (
    framework_of,
    list_analyses,
    load_analysis,
    rateable_items,
    reviewer_docs,
)
from portfolio.assessment.needs import (
    PROVISION_LEVELS,
    SKILL_NEED_LEVELS,
    RatingSummary,
    development_need,
    gap,
    place,
    priority,
    provision_level,
    skill_need,
    summarise,
)
from portfolio.assessment.reviews import status
from portfolio.assessment.scale import RELATIONSHIPS, scale_json
from portfolio.evidence.rules import council_of, list_rules
from portfolio.standards.framework import FrameworkItem
from portfolio.storage.base import Store

__all__ = [
    "NEEDS_RULE",
    "analyses_view",
    "analysis_view",
    "comparison",
    "development_needs",
    "provision",
    "training_grid",
]

NEEDS_RULE = (
    "An item is a development need when the self rating is 2 or below, or others' mean"
    " rating is 2 or below, or the self rating and others' mean differ by 1.5 or more."
)
RED_AREA = (
    "Seed 000's red area, 'skills/knowledge for development - high skill need and little"
    " accessible provision': skill need 3-4 with provision 1-2."
)


def _summary(
    analysis: Mapping[str, Any], reviewers: Sequence[Mapping[str, Any]], items: int
) -> dict[str, Any]:
    return {
        "id": analysis["id"],
        "title": analysis["title"],
        "framework": analysis["framework"],
        "created": analysis["created"],
        "status": analysis["status"],
        "closed": analysis["closed"],
        "items": items,
        "self_rated": len(analysis["self_ratings"]),
        "reviews": {
            "invited": len(reviewers),
            "rated": sum(1 for r in reviewers if r["rated"] is not None),
        },
    }


def _reviewer(reviewer: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": reviewer["id"],
        "name": reviewer["name"],
        "email": reviewer["email"],
        "relationship": reviewer["relationship"],
        "invited": reviewer["invited"],
        "expires": reviewer["expires"],
        "status": status(reviewer),
        "rated": reviewer["rated"],
    }


def analyses_view(store: Store, person_id: str) -> list[dict[str, Any]]:
    """The person's analyses, newest first, each summarised."""
    views = []
    for analysis in list_analyses(store, person_id):
        items = len(rateable_items(framework_of(store, analysis)))
        views.append(_summary(analysis, reviewer_docs(store, person_id, analysis["id"]), items))
    return views


def analysis_view(store: Store, person_id: str, analysis_id: str) -> dict[str, Any]:
    """One analysis: its summary, the scale, the self-ratings and the reviewers (never
    their links). Raises NotFound when it is not the person's."""
    analysis = load_analysis(store, person_id, analysis_id)
    reviewers = reviewer_docs(store, person_id, analysis_id)
    items = len(rateable_items(framework_of(store, analysis)))
    return {
        **_summary(analysis, reviewers, items),
        "scale": scale_json(),
        "self_assessed": analysis["self_assessed"],
        "self_ratings": analysis["self_ratings"],
        "reviewers": [_reviewer(r) for r in reviewers],
    }


def _item(item: FrameworkItem) -> dict[str, Any]:
    return {"item": item.uri, "code": item.code, "statement": item.statement, "parent": item.parent}


def _others(rated: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """Others' ratings of one item, from (relationship, rating) pairs."""
    overall = summarise(r["rating"] for _, r in rated)
    by_relationship = {}
    for relationship in RELATIONSHIPS:
        found = summarise(r["rating"] for rel, r in rated if rel == relationship)
        if found is not None:
            by_relationship[relationship] = found.to_json()
    empty = {"count": 0, "mean": None, "min": None, "max": None}
    return {
        **(overall.to_json() if overall is not None else empty),
        "by_relationship": by_relationship,
        "comments": [
            {"relationship": rel, "comment": r["comment"]} for rel, r in rated if "comment" in r
        ],
    }


def _rows(
    store: Store, person_id: str, analysis_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The analysis summary, and per rateable item: the item, the self rating (or None),
    others' ratings summarised, the gap, the need's reasons and skill need."""
    analysis = load_analysis(store, person_id, analysis_id)
    reviewers = reviewer_docs(store, person_id, analysis_id)
    items = rateable_items(framework_of(store, analysis))
    own = {r["item"]: r for r in analysis["self_ratings"]}
    theirs: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for reviewer in reviewers:
        for rating in reviewer["ratings"]:
            theirs.setdefault(rating["item"], []).append((reviewer["relationship"], rating))
    rows = []
    for item in items:
        mine = own.get(item.uri)
        self_rating = mine["rating"] if mine is not None else None
        others: RatingSummary | None = summarise(r["rating"] for _, r in theirs.get(item.uri, []))
        difference = gap(self_rating, others)
        rows.append(
            {
                **_item(item),
                "self": mine,
                "others": _others(theirs.get(item.uri, [])),
                "gap": None if difference is None else round(float(difference), 2),
                "reasons": [str(r) for r in development_need(self_rating, others)],
                "skill_need": skill_need(self_rating, others),
            }
        )
    return _summary(analysis, reviewers, len(items)), rows


def comparison(store: Store, person_id: str, analysis_id: str) -> dict[str, Any]:
    """Self against others for every rateable item, in hierarchy order: the self rating,
    others' count, mean, min and max (overall and by relationship), their comments, the
    gap (self - others' mean) and the need, if it is one. Raises NotFound."""
    summary, rows = _rows(store, person_id, analysis_id)
    items = []
    for row in rows:
        need = (
            {"reasons": row["reasons"], "skill_need": row["skill_need"]} if row["reasons"] else None
        )
        items.append(
            {
                **{k: row[k] for k in ("item", "code", "statement", "parent", "self", "others")},
                "gap": row["gap"],
                "need": need,
            }
        )
    return {"analysis": summary, "items": items}


def development_needs(store: Store, person_id: str, analysis_id: str) -> dict[str, Any]:
    """The items that are development needs (NEEDS_RULE), highest skill need first, then
    in hierarchy order. Raises NotFound."""
    summary, rows = _rows(store, person_id, analysis_id)
    needs = [row for row in rows if row["reasons"]]
    needs.sort(key=lambda row: -int(row["skill_need"]))  # stable: hierarchy order kept
    return {
        "analysis": summary,
        "rule": NEEDS_RULE,
        "needs": [
            {
                **{k: row[k] for k in ("item", "code", "statement", "parent")},
                "self": row["self"]["rating"] if row["self"] is not None else None,
                "others": row["others"],
                "gap": row["gap"],
                "reasons": row["reasons"],
                "skill_need": row["skill_need"],
            }
            for row in needs
        ],
    }


def _activity_name(definition: Mapping[str, object] | None) -> str | None:
    names = (definition or {}).get("name")
    if not isinstance(names, dict) or not names:
        return None
    for language in ("en-GB", "en", "en-US"):
        if isinstance(names.get(language), str):
            return str(names[language])
    return str(next(iter(names.values())))


def provision(
    store: Store, person_id: str, items: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    """The activities on offer to the person that develop each item: item → [{activity,
    name, rules}], by activity id."""
    wanted = set(items)
    councils = {council_of(link.identity) for link in store.people.identities(person_id)}
    found: dict[str, dict[str, dict[str, Any]]] = {}
    titles: dict[str, str] = {}
    for rule in list_rules(store):
        activity = rule.match.get("activity")
        if activity is None or (rule.council is not None and rule.council.lower() not in councils):
            continue
        for item in wanted.intersection(rule.items):
            offered = found.setdefault(item, {}).setdefault(
                activity, {"activity": activity, "rules": []}
            )
            offered["rules"].append(rule.id)
            if rule.title:
                titles.setdefault(activity, rule.title)
    activities = sorted({a for offered in found.values() for a in offered})
    definitions = store.statements.get_definitions(activities) if activities else {}
    return {
        item: [
            {
                **offered[activity],
                "name": _activity_name(definitions.get(activity)) or titles.get(activity, activity),
            }
            for activity in sorted(offered)
        ]
        for item, offered in found.items()
    }


def training_grid(store: Store, person_id: str, analysis_id: str) -> dict[str, Any]:
    """The training-needs grid of seed 000: every rated item placed by its skill need
    (columns, 1-4) against the provision on offer for it (rows, 1-4), in 16 cells, with
    the needs in priority order (the red area first) and the items nobody rated.
    Raises NotFound."""
    summary, rows = _rows(store, person_id, analysis_id)
    rated = [row for row in rows if row["skill_need"] is not None]
    offered = provision(store, person_id, (row["item"] for row in rated))
    levels = {
        row["item"]: (int(row["skill_need"]), provision_level(len(offered.get(row["item"], []))))
        for row in rated
    }
    by_uri = {row["item"]: row for row in rated}
    cells = place([(uri, skill, level) for uri, (skill, level) in levels.items()])
    needs = [row["item"] for row in rated if row["reasons"]]
    return {
        "analysis": summary,
        "axes": {
            "skill_need": {
                "title": "Skill required for role (seed 000), here the need to develop it",
                "levels": [{"level": k, "meaning": v} for k, v in SKILL_NEED_LEVELS.items()],
            },
            "provision": {
                "title": "Existing provision: activities on offer that develop the item",
                "levels": [{"level": k, "meaning": v} for k, v in PROVISION_LEVELS.items()],
            },
        },
        "red_area": RED_AREA,
        "cells": [
            {
                "skill_need": cell.skill_need,
                "provision": cell.provision,
                "red": cell.red,
                "items": [
                    {
                        **{k: by_uri[uri][k] for k in ("item", "code", "statement", "parent")},
                        "need": bool(by_uri[uri]["reasons"]),
                        "reasons": by_uri[uri]["reasons"],
                        "provision": offered.get(uri, []),
                    }
                    for uri in cell.items
                ],
            }
            for cell in cells
        ],
        "priorities": sorted(needs, key=lambda uri: priority(*levels[uri])),
        "unrated": [row["item"] for row in rows if row["skill_need"] is None],
    }
