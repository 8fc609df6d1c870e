"""The portfolio JSON API under /api: sessions, the owner's identities and record.

Everything but logging in needs the owner's Bearer token, and every route is about the
owner's own portfolio (`/api/me/...`): there is no route by which one owner could name
another's portfolio, so authorisation holds by construction.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request

from portfolio.errors import InvalidInput, LimitExceeded
from portfolio.lrs.limits import JsonLimits, check_json_limits
from portfolio.lrs.params import require_only
from portfolio.people.accounts import IssuedToken, Owner
from portfolio.record.chain import verify_portfolio_record
from portfolio.storage.base import IdentityLink, SessionRecord
from schemas.errors import SchemaViolation
from schemas.portfolio import (
    IdentityConfirmSchema,
    IdentityStartSchema,
    LoginSchema,
    TokenCreateSchema,
    load,
)
from service.config import Settings
from service.json import json_response
from service.people import current_owner, services
from service.store import get_store

bp = Blueprint("api", __name__, url_prefix="/api")

RECORD_PAGE_MAX = 1000
#: The largest whole-number query parameter: a signed 64-bit integer, what the stores hold.
INT_PARAM_MAX = 2**63 - 1


def json_body() -> Any:
    """The request's JSON body; None when it is not sent as JSON or is not valid JSON.

    Parsed with orjson, not Flask's get_json: the stdlib parser recurses once per level
    and a body nested ~100,000 deep ends in RecursionError (a 500). orjson stops at 1024
    levels; check_json_limits then holds /api bodies to the same depth as statements
    (max_json_depth), so bad nesting is a 400 naming the rule either way.
    """
    if not request.is_json:
        return None
    settings: Settings = current_app.config["CPDFOLIO"]
    try:
        data = orjson.loads(request.get_data(cache=True))
    except orjson.JSONDecodeError as exc:
        if "depth" in exc.msg:  # orjson's "depth limit exceeded"
            raise _too_deep(settings.max_json_depth) from None
        return None
    check_json_limits(
        data,
        JsonLimits(max_depth=settings.max_json_depth, max_string_length=settings.max_string_length),
    )
    return data


def _too_deep(max_depth: int) -> LimitExceeded:
    # The same rule check_json_limits names; the path is the body, as no place was found.
    return LimitExceeded(
        f"the body nests deeper than {max_depth} levels",
        path="",
        rule=f"must not nest deeper than {max_depth} levels (max_json_depth)",
    )


def load_body(schema: type[Any]) -> dict[str, Any]:
    data = json_body()
    if data is None:
        raise InvalidInput(
            "the body must be a JSON object (Content-Type: application/json)",
            path="",
            rule="must be a JSON object",
        )
    try:
        return load(schema, data)
    except SchemaViolation as exc:
        raise InvalidInput(
            f"{exc.path or 'body'} {exc.rule}", path=exc.path, rule=exc.rule
        ) from exc


def _identity(link: IdentityLink) -> dict[str, str]:
    return {"identity": link.identity, "linked": link.linked, "proof": link.proof}


def _issued(issued: IssuedToken) -> dict[str, Any]:
    return {"token": issued.token, "id": issued.session.id, "expires": issued.session.expires}


def _session(session: SessionRecord) -> dict[str, Any]:
    return {
        "id": session.id,
        "kind": session.kind,
        "name": session.name,
        "created": session.created,
        "expires": session.expires,
    }


def _me(owner: Owner) -> dict[str, Any]:
    person = owner.person
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "created": person.created,
        "identities": [_identity(i) for i in get_store().people.identities(person.id)],
    }


@bp.post("/session")
def login() -> Response:
    body = load_body(LoginSchema)
    issued = services().accounts.login(body["email"], body["password"])
    return json_response(_issued(issued), status=201)


@bp.delete("/session")
def logout() -> Response:
    owner = current_owner()
    services().accounts.revoke(owner, owner.session_id)
    return Response(status=204)


@bp.get("/me")
def me() -> Response:
    return json_response(_me(current_owner()))


@bp.get("/me/tokens")
def tokens() -> Response:
    owner = current_owner()
    return json_response([_session(s) for s in get_store().people.sessions(owner.person.id)])


@bp.post("/me/tokens")
def create_token() -> Response:
    owner = current_owner()
    body = load_body(TokenCreateSchema)
    issued = services().accounts.create_token(owner, name=body["name"], password=body["password"])
    return json_response(_issued(issued), status=201)


@bp.delete("/me/tokens/<token_id>")
def revoke_token(token_id: str) -> Response:
    services().accounts.revoke(current_owner(), token_id)
    return Response(status=204)


@bp.get("/me/identities")
def identities() -> Response:
    owner = current_owner()
    return json_response([_identity(i) for i in services().identities.list(owner)])


@bp.post("/me/identities")
def start_link() -> Response:
    """Send a one-time code to a work mailbox; confirm it at /me/identities/confirm."""
    owner = current_owner()
    body = load_body(IdentityStartSchema)
    challenge = services().identities.start(owner, f"mbox:mailto:{body['email']}")
    return json_response(
        {
            "challenge": challenge.id,
            "identity": challenge.identity,
            "expires": challenge.expires,
        },
        status=202,
    )


@bp.post("/me/identities/confirm")
def confirm_link() -> Response:
    owner = current_owner()
    body = load_body(IdentityConfirmSchema)
    result = services().identities.confirm(owner, body["challenge"], body["code"])
    return json_response(
        {"identity": _identity(result.link), "witnessed": result.witnessed}, status=201
    )


@bp.get("/me/record")
def record() -> Response:
    """The owner's record, a page at a time: entries after `after`, at most `limit`."""
    owner = current_owner()
    require_only(request.args.to_dict(), ("after", "limit"), "GET /api/me/record")
    after = int_param("after", default=0, minimum=0)
    limit = int_param("limit", default=100, minimum=1, maximum=RECORD_PAGE_MAX)
    entries = get_store().records.entries(owner.person.id, after=after, limit=limit)
    return json_response(
        {
            "entries": [
                {"seq": e.seq, "hash": e.hash, "signature": e.signature, "entry": e.parsed()}
                for e in entries
            ],
            "next": entries[-1].seq if len(entries) == limit else None,
        }
    )


@bp.get("/me/record/verification")
def verification() -> Response:
    """Verify the owner's whole record now; 200 with a summary, or the first failure."""
    owner = current_owner()
    summary = verify_portfolio_record(get_store(), owner.person.id)
    return json_response(
        {
            "person": summary.person,
            "entries": summary.entries,
            "head": summary.head,
            "first_at": summary.first_at,
            "last_at": summary.last_at,
            "kinds": summary.kinds,
            "owner_keys": summary.owner_keys,
            "statements": len(summary.statements),
        }
    )


def int_param(name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
    """The whole-number query parameter `name` (`default` when absent); InvalidInput when
    it is not a whole number within the bounds."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit():
        raise InvalidInput(f"{name} must be a whole number", path=name, rule="must be an integer")
    # Without a maximum, the largest the store takes (SQLite raises OverflowError past a
    # 64-bit integer). Digits are counted before int() is called: Python refuses to convert
    # more than 4300 of them (ValueError), and no bound here has more than 19.
    upper = INT_PARAM_MAX if maximum is None else maximum
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(upper)) or not minimum <= int(digits) <= upper:
        bound = f"between {minimum} and {upper}"
        raise InvalidInput(f"{name} must be {bound}", path=name, rule=f"must be {bound}")
    return int(digits)
