"""The Activities and Agents resources (Communication 2.4, 2.5). Read-only."""

from __future__ import annotations

from flask import Response, g, request

from portfolio.clients import statement_read_scope
from portfolio.lrs.activities import activity_object
from portfolio.lrs.params import parse_agent, parse_iri, require_only, required, single_values
from portfolio.lrs.persons import person_for
from service.auth import current_client
from service.json import json_response
from service.store import get_store
from service.xapi import bp


@bp.get("/activities")
def activities() -> Response:
    """The canonical Activity object; an Activity with just its id when nothing more is
    known (Communication 2.5.s2.b1). Definitions are not personal data: any client may ask."""
    current_client()
    params = single_values(request.args.to_dict(flat=False))
    require_only(params, ("activityId",), "GET /activities")
    activity_id = parse_iri(required(params, "activityId", "GET /activities"), "activityId")
    definitions = get_store().statements.get_definitions([activity_id])
    return json_response(activity_object(activity_id, definitions.get(activity_id)))


@bp.get("/agents")
def agents() -> Response:
    """A Person object. Names are personal data, so this needs a statement read scope,
    and a client limited to statements/read/mine learns only what its own statements say."""
    client = current_client()
    mine_only = statement_read_scope(client)
    params = single_values(request.args.to_dict(flat=False))
    require_only(params, ("agent",), "GET /agents")
    # Communication 2.4: the parameter is an Agent; a Person object describes no Group.
    agent, key = parse_agent(
        required(params, "agent", "GET /agents"), version=g.xapi_version, groups=False
    )
    store = get_store()
    linked: list[str] = []
    if not mine_only:
        # The identities proven to be the same person's (portfolio.people): only for a
        # client that may read every statement, which could tell as much from them.
        owner = store.people.owners([key]).get(key)
        if owner is not None:
            linked = [link.identity for link in store.people.identities(owner)]
    person = person_for(
        store.statements, agent, authority_client=client.key if mine_only else None, linked=linked
    )
    return json_response(person)
