"""`more` tokens: a query's parameters and where its last page ended, signed.

The token is opaque to clients and tamper-evident (HMAC-SHA256 under the instance key),
so a client cannot edit a cursor to read past its own filters (statements/read/mine).
Pages are keyset-based on (stored, id), never offsets, so a page stays correct while
statements keep arriving (DESIGN.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from portfolio.errors import InvalidInput
from portfolio.storage.base import Cursor

_VERSION = 1


@dataclass(frozen=True)
class MoreToken:
    params: dict[str, str]
    cursor: Cursor
    # The client the token was issued to: another client cannot use it.
    client_key: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_more(token: MoreToken, *, key: bytes) -> str:
    payload = orjson.dumps(
        {
            "v": _VERSION,
            "p": token.params,
            "c": [token.cursor.stored, token.cursor.id],
            "k": token.client_key,
        }
    )
    body = _b64(payload)
    mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest()[:16])
    return f"{body}.{mac}"


def decode_more(text: str, *, key: bytes, client_key: str) -> MoreToken:
    """The token's contents; raises InvalidInput when it is malformed, forged or not ours."""
    body, dot, mac = text.partition(".")
    invalid = InvalidInput(
        "the more token is not one this server issued",
        path="more",
        rule="must be a token from a `more` link",
    )
    # Every token this server issues is base64url and a dot, so ASCII; anything else is
    # refused here, before hmac.compare_digest (which raises TypeError on non-ASCII str).
    if not dot or not text.isascii():
        raise invalid
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest()[:16])
    if not hmac.compare_digest(expected, mac):
        raise invalid
    try:
        data = orjson.loads(_unb64(body))
        params = data["p"]
        stored, ident = data["c"]
        issued_to = data["k"]
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid from exc
    if data.get("v") != _VERSION or not isinstance(params, Mapping):
        raise invalid
    if issued_to != client_key:
        raise InvalidInput(
            "this more token was issued to other credentials",
            path="more",
            rule="must be used with the credentials it was issued to",
        )
    return MoreToken(
        params={str(k): str(v) for k, v in params.items()},
        cursor=Cursor(stored=str(stored), id=str(ident)),
        client_key=str(issued_to),
    )
