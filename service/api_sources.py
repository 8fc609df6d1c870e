"""The owner's sources: a portfolio owner connects a remote LRS that holds their
learning, and pulls from it. Only statements about the owner's identities come in
(lrs_adapters.sources). Thin: the rules live in lrs_adapters."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from lrs_adapters.pull import SyncFailed
from lrs_adapters.sources import add_source, describe, remove_source
from portfolio.errors import NotFound
from schemas.exchange import SourceInputSchema
from service.api import load_body
from service.config import Settings
from service.exchange import connection, puller
from service.json import json_response
from service.people import current_owner, services
from service.store import get_store

bp = Blueprint("api_sources", __name__, url_prefix="/api/me/sources")


def _settings() -> Settings:
    settings: Settings = current_app.config["CPDFOLIO"]
    return settings


def _owned(name: str, person_id: str) -> None:
    source = get_store().sources.get(name)
    if source is None or source.owner != person_id:
        raise NotFound(f"you have no source named {name!r}")


@bp.get("")
def list_sources() -> Response:
    owner = current_owner()
    store = get_store()
    return json_response([describe(store, s) for s in store.sources.list(owner=owner.person.id)])


@bp.post("")
def connect() -> Response:
    """Connect a remote LRS: it is signed in to first, so a wrong endpoint or secret is
    a 400 now rather than a failed sync later."""
    owner = current_owner()
    body = load_body(SourceInputSchema)
    source = add_source(
        get_store(),
        connection(_settings(), current_app.config["CPDFOLIO_SECRET"]),
        name=body["name"],
        endpoint=body["endpoint"],
        key=body["key"],
        secret=body["secret"],
        xapi_version=body["xapi_version"],
        since_field=body["since_field"],
        owner=owner.person.id,
    )
    return json_response(describe(get_store(), source), status=201)


@bp.delete("/<name>")
def disconnect(name: str) -> Response:
    owner = current_owner()
    remove_source(get_store(), name, owner=owner.person.id)
    return Response(status=204)


@bp.post("/<name>/sync")
def sync(name: str) -> Response:
    """One run, answered when it ends: its summary (200), or 502 with what was pulled
    before the remote failed (that much is kept; the next run continues from there).
    The summary lists the first 100 conflicts and rejections, with their exact counts
    (`conflicts_total`, `rejected_total`) and whether the lists stop short (`*_truncated`)."""
    owner = current_owner()
    _owned(name, owner.person.id)
    store = get_store()
    pull = puller(
        store,
        _settings(),
        current_app.config["CPDFOLIO_SECRET"],
        services().accounts.instance_key,
    )
    try:
        totals = pull.sync(name)
    except SyncFailed as exc:
        return json_response(
            {**exc.progress.to_json(), "status": "failed", "error": str(exc)}, status=502
        )
    return json_response({**totals.to_json(), "status": "ok", "error": None})
