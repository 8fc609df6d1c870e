"""DELETE /api/me: the owner erases their portfolio over HTTP (issue 5, item 5)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from portfolio.storage.base import ERASURES, INSTANCE_DOCS
from tests.conftest import LiveServer, Xapi
from tests.http.test_people_and_record import PASSWORD, Api, create_person, login, store_of
from tests.support import attachment_object, make_statement, multipart_body

ANN = "ann@example.org"
BOB = "bob@example.org"
CERTIFICATE = b"Ann's certificate of completion, nobody else's"


def delete_me(api: Api, **kwargs: Any) -> requests.Response:
    return api.request("DELETE", "/me", **kwargs)


@pytest.fixture
def owner(app: Flask, live_server: LiveServer) -> Api:
    create_person(app, ANN, "Ann Jones")
    return login(live_server, ANN)


@pytest.mark.parametrize(
    ("kwargs", "path", "rule"),
    [
        ({}, "confirm", "is required"),
        ({"json": {}}, "confirm", "is required"),
        ({"json": {"confirm": BOB, "password": PASSWORD}}, "confirm", "must be your login e-mail"),
        ({"json": {"confirm": "", "password": PASSWORD}}, "confirm", "must be your login e-mail"),
        ({"json": {"confirm": ANN}}, "password", "is required"),
        ({"json": {"confirm": ANN, "password": "a guess"}}, "password", "must be your password"),
    ],
    ids=[
        "no body",
        "no confirm",
        "someone else's e-mail",
        "empty",
        "no password",
        "wrong password",
    ],
)
def test_erasing_needs_the_login_email_and_the_password_and_offers_the_export_first(
    owner: Api, kwargs: dict[str, Any], path: str, rule: str
) -> None:
    """A session alone does not erase a portfolio: the e-mail confirms the intent, the
    password that it is the owner at the keyboard."""
    response = delete_me(owner, **kwargs)
    assert response.status_code == 400
    body = response.json()
    assert (body["path"], body["rule"]) == (path, rule)
    assert body["export"] == "/api/me/bundle"
    if path == "confirm":
        assert "export" in body["message"]
    assert owner.get("/me").status_code == 200  # nothing erased


def test_erasing_needs_the_owners_token(live_server: LiveServer) -> None:
    response = requests.delete(live_server.url + "/api/me", json={"confirm": ANN}, timeout=30)
    assert response.status_code == 401
    assert "export" not in response.json()


def test_the_owner_erases_their_portfolio_and_their_token_stops_working(
    app: Flask, owner: Api, xapi: Xapi, live_server: LiveServer, settings: dict[str, Any]
) -> None:
    create_person(app, BOB, "Bob Smith")
    bob = login(live_server, BOB)
    alone = make_statement(actor="ann", attachments=[attachment_object(CERTIFICATE)])
    body, content_type = multipart_body(alone, [(CERTIFICATE, {})])
    assert xapi.post("/statements", data=body, headers={"Content-Type": content_type}).ok
    together = make_statement(actor="bob", context={"instructor": {"mbox": f"mailto:{ANN}"}})
    both = make_statement(
        actor="ann", object={"objectType": "Agent", "mbox": f"mailto:{BOB}", "name": "Bob"}
    )
    bobs = make_statement(actor="bob")
    assert xapi.post("/statements", json=[together, both, bobs]).status_code == 200
    state = {"activityId": "https://lms.example.org/x", "agent": f'{{"mbox": "mailto:{ANN}"}}'}
    assert xapi.put("/activities/state", params={**state, "stateId": "s"}, data=b"x").ok

    response = delete_me(owner, json={"confirm": " Ann@Example.org ", "password": PASSWORD})
    assert response.status_code == 200, response.text
    erasure = response.json()
    assert erasure["requested_by"] == {"role": "owner"}
    counts = erasure["counts"]
    assert (counts["statements"], counts["attachments"], counts["documents"]) == (3, 1, 1)
    assert counts["other_records"] == 1

    assert owner.get("/me").status_code == 401  # every session and token went with it
    relogin = requests.post(
        live_server.url + "/api/session", json={"email": ANN, "password": "x" * 12}, timeout=30
    )
    assert relogin.status_code == 401
    for statement in (alone, together, both):
        found = xapi.get("/statements", params={"statementId": statement["id"]})
        assert found.status_code == 404
    assert xapi.get("/statements", params={"statementId": bobs["id"]}).status_code == 200
    # Bob's record still verifies, and says which statements about both of them went.
    verified = bob.get("/me/record/verification")
    assert verified.status_code == 200, verified.text
    assert verified.json()["kinds"]["statement-erased"] == 2
    entries = bob.get("/me/record", params={"limit": 1000}).json()["entries"]
    erased = [e["entry"]["body"] for e in entries if e["entry"]["kind"] == "statement-erased"]
    assert sorted(e["statement"] for e in erased) == sorted([both["id"], together["id"]])

    store = store_of(app)
    [tombstone] = store.portfolio.list_docs(INSTANCE_DOCS, ERASURES)
    assert tombstone.key == erasure["id"]
    database = Path(settings["database_url"].removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    for trace in (ANN.encode(), b"Ann Jones", CERTIFICATE, alone["id"].encode()):
        assert trace not in raw, trace
    assert hashlib.sha256(CERTIFICATE).hexdigest().encode() not in raw
