"""HTTP Basic authentication of LRS clients (Communication 4)."""

from __future__ import annotations

from flask import g, request

from portfolio.clients import authenticate
from portfolio.errors import AuthenticationRequired
from portfolio.storage.base import ClientRecord
from service.store import get_store


def current_client() -> ClientRecord:
    """The client whose credentials came with this request; raises AuthenticationRequired."""
    client: ClientRecord | None = g.get("client")
    if client is not None:
        return client
    auth = request.authorization
    if auth is None or auth.type != "basic":
        raise AuthenticationRequired("this resource needs HTTP Basic credentials of an LRS client")
    client = authenticate(get_store().clients, key=auth.username or "", secret=auth.password or "")
    g.client = client
    return client
