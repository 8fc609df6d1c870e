"""The Professional Development Analysis over HTTP: the owner's routes under
/api/me/analyses, and the 360° reviewer's one-time link (/review/<token>, no account:
the token is the credential). Thin: the rules live in portfolio.assessment.

Every owner route looks the analysis up in the caller's own portfolio, so another
owner's analysis id is a 404, exactly like an id that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from portfolio.assessment import analysis, report, reviews
from portfolio.lrs.params import require_only
from schemas.assessment import (
    AnalysisCreateSchema,
    ReviewerInviteSchema,
    ReviewSubmitSchema,
    SelfRatingsSchema,
)
from service.api import load_body
from service.json import json_response
from service.people import current_owner, services
from service.store import get_store

bp = Blueprint("api_assessment", __name__)

ANALYSES = "/api/me/analyses"


def _no_params() -> None:
    require_only(request.args.to_dict(), (), f"{request.method} {request.path}")


@bp.get(ANALYSES)
def analyses() -> Response:
    owner = current_owner()
    _no_params()
    return json_response(report.analyses_view(get_store(), owner.person.id))


@bp.post(ANALYSES)
def start() -> Response:
    owner = current_owner()
    body = load_body(AnalysisCreateSchema)
    store = get_store()
    analysis_id = analysis.start_analysis(
        store,
        owner,
        framework=body["framework"],
        version=body.get("version"),
        title=body.get("title"),
    )
    return json_response(report.analysis_view(store, owner.person.id, analysis_id), status=201)


@bp.get(f"{ANALYSES}/<analysis_id>")
def one(analysis_id: str) -> Response:
    owner = current_owner()
    _no_params()
    return json_response(report.analysis_view(get_store(), owner.person.id, analysis_id))


@bp.post(f"{ANALYSES}/<analysis_id>/close")
def close(analysis_id: str) -> Response:
    owner = current_owner()
    store = get_store()
    analysis.close_analysis(store, owner, analysis_id)
    return json_response(report.analysis_view(store, owner.person.id, analysis_id))


@bp.put(f"{ANALYSES}/<analysis_id>/self-ratings")
def self_ratings(analysis_id: str) -> Response:
    owner = current_owner()
    body = load_body(SelfRatingsSchema)
    store = get_store()
    analysis.set_self_ratings(store, owner, analysis_id, body["ratings"])
    return json_response(report.analysis_view(store, owner.person.id, analysis_id))


@bp.post(f"{ANALYSES}/<analysis_id>/reviewers")
def invite(analysis_id: str) -> Response:
    owner = current_owner()
    body = load_body(ReviewerInviteSchema)
    store = get_store()
    people = services()
    reviewer_id = reviews.invite(
        store,
        owner,
        analysis_id,
        body,
        outbox=people.identities.outbox,
        instance_url=people.accounts.instance_url,
    )
    view = report.analysis_view(store, owner.person.id, analysis_id)
    return json_response(next(r for r in view["reviewers"] if r["id"] == reviewer_id), status=201)


@bp.get(f"{ANALYSES}/<analysis_id>/comparison")
def comparison(analysis_id: str) -> Response:
    owner = current_owner()
    _no_params()
    return json_response(report.comparison(get_store(), owner.person.id, analysis_id))


@bp.get(f"{ANALYSES}/<analysis_id>/needs")
def needs(analysis_id: str) -> Response:
    owner = current_owner()
    _no_params()
    return json_response(report.development_needs(get_store(), owner.person.id, analysis_id))


@bp.get(f"{ANALYSES}/<analysis_id>/grid")
def grid(analysis_id: str) -> Response:
    owner = current_owner()
    _no_params()
    return json_response(report.training_grid(get_store(), owner.person.id, analysis_id))


@bp.get("/review/<token>")
def review_form(token: str) -> Response:
    """What a reviewer is asked to rate. The link is the only credential."""
    _no_params()
    return json_response(reviews.review_form(get_store(), token))


@bp.post("/review/<token>")
def review(token: str) -> Response:
    """The reviewer's ratings; the link is spent."""
    store = get_store()
    reviews.open_link(store, token)  # the link is the credential: it is checked first
    body = load_body(ReviewSubmitSchema)
    received = reviews.submit(
        store, token, body["ratings"], instance_key=services().accounts.instance_key
    )
    return json_response(received, status=201)
