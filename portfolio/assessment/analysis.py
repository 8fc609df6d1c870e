"""Professional Development Analyses: an owner's audit against one version of a
framework (seed 004: "a rigorous process of audit including 360° review").

An analysis names its framework version, so its items keep their meaning when a new
version is published. Only items without sub-items are rated: headings (the Standard's
three elements) group the items and are not rated themselves. The owner rates each item
on the 1-4 scale (portfolio.assessment.scale) with an optional comment, and may rate it
again while the analysis is open; each self-assessment is an owner-signed
"self-assessed" entry holding the whole of it. Closing an analysis ends it: no more
self-ratings, invitations or reviews.

Documents: the analysis per person (collection "analysis", by id), each of its
reviewers per person ("analysis-reviewer", by "<analysis>/<reviewer>"); see
portfolio.assessment.reviews for the links.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from portfolio.clock import utc_now_iso
from portfolio.errors import Conflict, InvalidInput, NotFound
from portfolio.people.accounts import Owner
from portfolio.record.chain import Draft, apply_with_retry
from portfolio.record.entry import Role
from portfolio.standards.catalogue import find_item, get_framework
from portfolio.standards.framework import Framework, FrameworkItem
from portfolio.storage.base import DocChange, PortfolioDoc, Store

__all__ = [
    "ANALYSES",
    "REVIEWERS",
    "check_ratings",
    "close_analysis",
    "document",
    "framework_of",
    "list_analyses",
    "load_analysis",
    "rateable_items",
    "require_open",
    "reviewer_docs",
    "set_self_ratings",
    "start_analysis",
]

ANALYSES = "analysis"
REVIEWERS = "analysis-reviewer"
_ITEM_RULE = "must be the uri of an item of the analysis's framework"


def document(person_id: str, collection: str, key: str, body: Mapping[str, Any]) -> PortfolioDoc:
    """A portfolio document of `body` as JSON."""
    return PortfolioDoc(
        person_id, collection, key, orjson.dumps(body, option=orjson.OPT_SORT_KEYS), utc_now_iso()
    )


def rateable_items(framework: Framework) -> tuple[FrameworkItem, ...]:
    """The items an analysis rates: those without sub-items, in hierarchy order."""
    return tuple(item for item in framework.items if not item.children)


def framework_of(store: Store, analysis: Mapping[str, Any]) -> Framework:
    """The framework version an analysis is against. Raises NotFound if it is gone."""
    ref = analysis["framework"]
    return get_framework(store.frameworks, ref["uri"], version=ref["version"])


def check_ratings(
    store: Store, framework: Framework, ratings: Sequence[Mapping[str, Any]], *, path: str
) -> list[dict[str, Any]]:
    """The ratings (loaded by schemas.assessment.RatingSchema) in hierarchy order, as
    {item, rating[, comment]}.

    Raises InvalidInput naming `path[i].item` when an item is not one this framework
    version rates: unknown, of another framework, a heading, or rated twice.
    """
    order = {item.uri: index for index, item in enumerate(rateable_items(framework))}
    seen: set[str] = set()
    for index, rating in enumerate(ratings):
        uri, where = rating["item"], f"{path}[{index}].item"
        if uri not in order:
            raise _not_rateable(store, framework, uri, where)
        if uri in seen:
            raise InvalidInput(
                f"{where} rates {uri} a second time", path=where, rule="must not repeat an item"
            )
        seen.add(uri)
    checked = []
    for rating in sorted(ratings, key=lambda r: order[r["item"]]):
        value: dict[str, Any] = {"item": rating["item"], "rating": rating["rating"]}
        if rating.get("comment"):
            value["comment"] = rating["comment"]
        checked.append(value)
    return checked


def _not_rateable(store: Store, framework: Framework, uri: str, where: str) -> InvalidInput:
    if framework.item(uri) is not None:
        return InvalidInput(
            f"{where} is a heading of {framework.uri}: rate the items under it",
            path=where,
            rule="must be an item without sub-items (headings are not rated)",
        )
    found = find_item(store.frameworks, uri)
    if found is not None and found.framework.uri != framework.uri:
        return InvalidInput(
            f"{where} is an item of {found.framework.uri}, not of {framework.uri}",
            path=where,
            rule=_ITEM_RULE,
        )
    return InvalidInput(
        f"{where} is not an item of {framework.uri} version {framework.version}: {uri}",
        path=where,
        rule=_ITEM_RULE,
    )


def start_analysis(
    store: Store,
    owner: Owner,
    *,
    framework: str,
    version: str | None = None,
    title: str | None = None,
) -> str:
    """Start an analysis against that version of the framework (its latest when None);
    returns its id. Raises InvalidInput (path "framework" or "version") for a framework
    or version not stored here."""
    try:
        chosen = get_framework(store.frameworks, framework, version=version)
    except NotFound as exc:
        known = store.frameworks.versions(framework)
        path = "version" if known else "framework"
        rule = (
            "must be a stored version of the framework"
            if known
            else "must be the uri of a framework stored here"
        )
        raise InvalidInput(exc.message, path=path, rule=rule) from exc
    analysis_id = uuid.uuid4().hex
    person_id = owner.person.id

    def plan() -> tuple[list[Draft], list[DocChange]]:
        analysis: dict[str, Any] = {
            "id": analysis_id,
            "title": title or chosen.title,
            "framework": {"uri": chosen.uri, "version": chosen.version, "title": chosen.title},
            "created": utc_now_iso(),
            "status": "open",
            "closed": None,
            "self_assessed": None,
            "self_ratings": [],
        }
        body = {
            "id": analysis_id,
            "framework": chosen.uri,
            "version": chosen.version,
            "title": analysis["title"],
        }
        return [Draft("analysis-started", body, owner.key, Role.OWNER)], [
            document(person_id, ANALYSES, analysis_id, analysis)
        ]

    apply_with_retry(store, person_id, plan)
    return analysis_id


def load_analysis(store: Store, person_id: str, analysis_id: str) -> dict[str, Any]:
    """The person's analysis. Raises NotFound when they have none with this id (whether
    or not someone else has: ids are never confirmed to another owner)."""
    doc = store.portfolio.get_doc(person_id, ANALYSES, analysis_id)
    if doc is None:
        raise NotFound(f"no analysis {analysis_id}")
    analysis: dict[str, Any] = orjson.loads(doc.body)
    return analysis


def list_analyses(store: Store, person_id: str) -> list[dict[str, Any]]:
    """The person's analyses, newest first."""
    analyses = [orjson.loads(doc.body) for doc in store.portfolio.list_docs(person_id, ANALYSES)]
    return sorted(analyses, key=lambda a: (a["created"], a["id"]), reverse=True)


def reviewer_docs(store: Store, person_id: str, analysis_id: str) -> list[dict[str, Any]]:
    """The reviewers invited to an analysis, in the order they were first invited."""
    docs = store.portfolio.list_docs(person_id, REVIEWERS, prefix=f"{analysis_id}/")
    reviewers = [orjson.loads(doc.body) for doc in docs]
    return sorted(reviewers, key=lambda r: (r["first_invited"], r["id"]))


def require_open(analysis: Mapping[str, Any]) -> None:
    """Raises Conflict when the analysis is closed."""
    if analysis["status"] != "open":
        raise Conflict(f"the analysis {analysis['id']} is closed: it takes no more ratings")


def set_self_ratings(
    store: Store, owner: Owner, analysis_id: str, ratings: Sequence[Mapping[str, Any]]
) -> None:
    """Replace the owner's self-assessment in the analysis with `ratings` (loaded by
    schemas.assessment.SelfRatingsSchema); items left out are unrated. The same
    self-assessment again changes nothing and signs nothing.

    Raises NotFound (not the owner's analysis), Conflict (closed), InvalidInput (an item
    the analysis does not rate, path "ratings[i].item").
    """
    person_id = owner.person.id
    framework = framework_of(store, load_analysis(store, person_id, analysis_id))
    checked = check_ratings(store, framework, ratings, path="ratings")

    def plan() -> tuple[list[Draft], list[DocChange]]:
        analysis = load_analysis(store, person_id, analysis_id)
        require_open(analysis)
        if analysis["self_assessed"] is not None and analysis["self_ratings"] == checked:
            return [], []
        analysis.update(self_ratings=checked, self_assessed=utc_now_iso())
        body = {"analysis": analysis_id, "ratings": checked}
        return [Draft("self-assessed", body, owner.key, Role.OWNER)], [
            document(person_id, ANALYSES, analysis_id, analysis)
        ]

    apply_with_retry(store, person_id, plan)


def close_analysis(store: Store, owner: Owner, analysis_id: str) -> None:
    """Close the analysis: its ratings stay, it takes no more. Closing a closed analysis
    changes nothing. Raises NotFound when it is not the owner's."""
    person_id = owner.person.id

    def plan() -> tuple[list[Draft], list[DocChange]]:
        analysis = load_analysis(store, person_id, analysis_id)
        if analysis["status"] == "closed":
            return [], []
        analysis.update(status="closed", closed=utc_now_iso())
        return [Draft("analysis-closed", {"id": analysis_id}, owner.key, Role.OWNER)], [
            document(person_id, ANALYSES, analysis_id, analysis)
        ]

    apply_with_retry(store, person_id, plan)
