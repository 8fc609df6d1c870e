"""The owner's portfolio under /api/me: goals, evidence, reflections, the dashboard, and
the frameworks it is measured against. Thin: the rules live in portfolio.goals and
portfolio.evidence. Every route is about the caller's own portfolio."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from portfolio.evidence import links
from portfolio.evidence.coverage import dashboard
from portfolio.goals import get_goal, list_goals, set_goal, update_goal
from portfolio.lrs.params import parse_uuid, require_only, required
from portfolio.standards.catalogue import get_framework
from schemas.portfolio import (
    EvidenceLinkRequestSchema,
    GoalCreateSchema,
    GoalUpdateSchema,
    ReflectionCreateSchema,
)
from service.api import int_param, load_body
from service.json import json_response
from service.people import current_owner
from service.store import get_store

bp = Blueprint("api_portfolio", __name__, url_prefix="/api")


def _params(*allowed: str) -> dict[str, str]:
    params = request.args.to_dict()
    require_only(params, allowed, f"{request.method} {request.path}")
    return params


@bp.get("/frameworks")
def frameworks() -> Response:
    current_owner()
    _params()
    return json_response(
        [
            {"uri": s.uri, "version": s.version, "title": s.title, "items": s.item_count}
            for s in get_store().frameworks.list()
        ]
    )


@bp.get("/frameworks/items")
def framework_items() -> Response:
    """The items of a framework (its latest version), in hierarchy order."""
    current_owner()
    params = _params("framework")
    framework = get_framework(get_store().frameworks, required(params, "framework", "items"))
    return json_response(
        {
            "uri": framework.uri,
            "version": framework.version,
            "title": framework.title,
            "items": [
                {
                    "uri": i.uri,
                    "code": i.code,
                    "statement": i.statement,
                    "parent": i.parent,
                    "depth": i.depth,
                }
                for i in framework.items
            ],
        }
    )


@bp.get("/me/dashboard")
def me_dashboard() -> Response:
    owner = current_owner()
    params = _params("framework")
    uri = required(params, "framework", "GET /api/me/dashboard")
    return json_response(dashboard(get_store(), owner.person.id, uri))


@bp.get("/me/goals")
def goals() -> Response:
    owner = current_owner()
    _params()
    return json_response(list_goals(get_store(), owner.person.id))


@bp.post("/me/goals")
def create_goal() -> Response:
    owner = current_owner()
    goal = set_goal(get_store(), owner, load_body(GoalCreateSchema))
    return json_response(goal, status=201)


@bp.get("/me/goals/<goal_id>")
def goal(goal_id: str) -> Response:
    owner = current_owner()
    _params()
    return json_response(get_goal(get_store(), owner.person.id, goal_id))


@bp.patch("/me/goals/<goal_id>")
def change_goal(goal_id: str) -> Response:
    owner = current_owner()
    changes = load_body(GoalUpdateSchema)
    update_goal(get_store(), owner, goal_id, changes)
    return json_response(get_goal(get_store(), owner.person.id, goal_id))


@bp.get("/me/evidence")
def evidence_for_item() -> Response:
    """The evidence counted toward one item, newest first."""
    owner = current_owner()
    params = _params("item", "limit")
    limit = int_param("limit", default=100, minimum=1, maximum=1000)
    item = required(params, "item", "GET /api/me/evidence")
    return json_response(links.evidence_for_item(get_store(), owner.person.id, item, limit=limit))


@bp.get("/me/evidence/<statement_id>")
def evidence(statement_id: str) -> Response:
    owner = current_owner()
    _params()
    statement_id = parse_uuid(statement_id, "statement_id")
    return json_response(links.get_evidence(get_store(), owner.person.id, statement_id))


@bp.post("/me/evidence/<statement_id>/links")
def link_evidence(statement_id: str) -> Response:
    owner = current_owner()
    body = load_body(EvidenceLinkRequestSchema)
    statement_id = parse_uuid(statement_id, "statement_id")
    return json_response(
        links.link(get_store(), owner, statement_id, body["item"], body["rationale"]), status=201
    )


@bp.post("/me/evidence/<statement_id>/unlinks")
def unlink_evidence(statement_id: str) -> Response:
    owner = current_owner()
    body = load_body(EvidenceLinkRequestSchema)
    statement_id = parse_uuid(statement_id, "statement_id")
    return json_response(
        links.unlink(get_store(), owner, statement_id, body["item"], body["rationale"]),
        status=201,
    )


@bp.get("/me/reflections")
def reflections() -> Response:
    owner = current_owner()
    _params()
    return json_response(links.list_reflections(get_store(), owner.person.id))


@bp.post("/me/reflections")
def reflect() -> Response:
    owner = current_owner()
    body: dict[str, Any] = load_body(ReflectionCreateSchema)
    about = body["about"]
    if "statement" in about:
        about["statement"] = str(about["statement"])
    return json_response(links.reflect(get_store(), owner, body), status=201)
