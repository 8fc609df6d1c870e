"""Mentoring sessions: the owner's routes under /api/me/mentoring, and the one-time link
the other party confirms by (/mentoring/<token>, no account needed)."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.portfolio import MentoringLogSchema
from service.api import load_body
from service.json import json_response
from service.people import current_owner, services

bp = Blueprint("api_mentoring", __name__)


@bp.get("/api/me/mentoring")
def sessions() -> Response:
    return json_response(services().mentoring.mine(current_owner()))


@bp.post("/api/me/mentoring")
def log_session() -> Response:
    owner = current_owner()
    session = services().mentoring.log(owner, load_body(MentoringLogSchema))
    return json_response(session, status=201)


@bp.post("/api/me/mentoring/<session_id>/confirm")
def confirm(session_id: str) -> Response:
    owner = current_owner()
    return json_response(services().mentoring.confirm_by_owner(owner, session_id))


@bp.get("/mentoring/<token>")
def by_link(token: str) -> Response:
    """What the other party is asked to confirm (the session, without the link)."""
    session = services().mentoring.by_link(token)
    return json_response(
        {key: session[key] for key in ("id", "date", "minutes", "topics", "status", "logger_role")}
        | {"mentee": session["mentee"]["name"], "mentor": session["mentor"]["name"]}
    )


@bp.post("/mentoring/<token>")
def confirm_by_link(token: str) -> Response:
    session = services().mentoring.confirm_by_link(token)
    return json_response({"id": session["id"], "status": session["status"]})
