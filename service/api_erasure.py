"""DELETE /api/me: the owner erases their own portfolio (portfolio.erasure).

The owner confirms by sending their login e-mail, `{"confirm": "<e-mail>"}`. Erasure
cannot be undone, so every refusal (no confirmation, or the wrong one) is a 400 naming
`confirm` that also offers the export first: `"export": "/api/me/bundle"`, the bundle
being how a portfolio leaves with its owner. Once erased, the token that asked for it
no longer works: every session and token of the owner went with the portfolio.
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Response

from portfolio.erasure import RequestedBy, check_confirmation, erase_person
from portfolio.errors import InvalidInput
from schemas.erasure import ErasureConfirmSchema
from service.api import json_body, load_body
from service.json import JSON_TYPE, dumps, json_response
from service.people import current_owner, services
from service.store import get_store

bp = Blueprint("api_erasure", __name__)

#: Where the owner exports their portfolio (the bundle) before erasing it.
EXPORT = "/api/me/bundle"


@bp.delete("/api/me")
def erase_me() -> Response:
    owner = current_owner()
    sent = json_body()
    if not isinstance(sent, dict) or "confirm" not in sent:
        raise InvalidInput(
            'confirm is required: send {"confirm": "<your login e-mail>", "password": "..."}'
            " to erase your portfolio; erasure cannot be undone, so export it first if you"
            " want to keep it",
            path="confirm",
            rule="is required",
        )
    body = load_body(ErasureConfirmSchema)
    check_confirmation(owner.person, body["confirm"])
    services().accounts.confirm_password(owner.person, body["password"])
    erasure = erase_person(
        get_store(),
        services().accounts.instance_key,
        owner.person.id,
        requested_by=RequestedBy.owner(),
    )
    return json_response(erasure.to_json())


@bp.after_request
def _offer_export(response: Response) -> Response:
    """A refused erasure offers the export: the error body is made in service.errors like
    any other, and only gains the link here."""
    if response.status_code == 400 and response.mimetype == JSON_TYPE:
        body = orjson.loads(response.get_data())
        if isinstance(body, dict):
            body["export"] = EXPORT
            response.set_data(dumps(body))
    return response
