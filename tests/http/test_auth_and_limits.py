"""Authentication, scopes (Communication 4) and configured limits (Communication 3.2), over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portfolio.clients import revoke_client
from portfolio.storage import open_store
from service import create_app
from tests.conftest import LiveServer, Xapi, make_client
from tests.support import make_statement

# ----------------------------------------------------------------- authentication


def test_missing_credentials_are_401_with_a_basic_challenge(live_server: LiveServer) -> None:
    response = Xapi(live_server.url + "/xapi", None).get("/statements")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("auth", [("unknown-key", "whatever"), (None, "wrong-secret")])
def test_wrong_credentials_are_401(
    live_server: LiveServer, credentials: tuple[str, str], auth: tuple
) -> None:  # type: ignore[type-arg]
    key = auth[0] or credentials[0]
    response = Xapi(live_server.url + "/xapi", (key, auth[1])).post(
        "/statements", json=make_statement()
    )
    assert response.status_code == 401


def test_revoked_client_is_401(app: Flask, xapi: Xapi, credentials: tuple[str, str]) -> None:
    assert xapi.get("/statements").status_code == 200
    revoke_client(app.extensions["cpdfolio.store"].clients, credentials[0])
    assert xapi.get("/statements").status_code == 401


def test_secrets_are_stored_only_as_hashes(app: Flask, credentials: tuple[str, str]) -> None:
    record = app.extensions["cpdfolio.store"].clients.get(credentials[0])
    assert credentials[1] not in repr(record)
    db_path = Path(app.config["CPDFOLIO"].database_url.removeprefix("sqlite:///"))
    assert credentials[1].encode() not in db_path.read_bytes()


# ------------------------------------------------------------------------- scopes


def test_read_only_client_cannot_write_statements(xapi_as) -> None:  # type: ignore[no-untyped-def]
    reader = xapi_as("statements/read")
    response = reader.post("/statements", json=make_statement())
    assert response.status_code == 403
    assert reader.get("/statements").status_code == 200


def test_write_only_client_cannot_read_statements(xapi_as) -> None:  # type: ignore[no-untyped-def]
    writer = xapi_as("statements/write")
    assert writer.post("/statements", json=make_statement()).status_code == 200
    assert writer.get("/statements").status_code == 403


@pytest.mark.parametrize("scope", ["all/read", "statements/read", "all"])
def test_read_scopes_see_every_statement(xapi: Xapi, xapi_as, scope: str) -> None:  # type: ignore[no-untyped-def]
    xapi.post("/statements", json=make_statement())
    assert len(xapi_as(scope).get("/statements").json()["statements"]) == 1


def test_read_mine_sees_only_statements_its_credentials_sent(xapi: Xapi, xapi_as) -> None:  # type: ignore[no-untyped-def]
    """Communication 4.2: statements/read/mine reads statements whose authority is "me"."""
    mine_client = xapi_as("statements/write", "statements/read/mine", name="Course provider")
    mine = make_statement()
    theirs = make_statement()
    assert mine_client.post("/statements", json=mine).status_code == 200
    assert xapi.post("/statements", json=theirs).status_code == 200
    listed = [s["id"] for s in mine_client.get("/statements").json()["statements"]]
    assert listed == [mine["id"]]
    assert mine_client.get("/statements", params={"statementId": theirs["id"]}).status_code == 404
    assert mine_client.get("/statements", params={"statementId": mine["id"]}).status_code == 200


def test_more_links_cannot_be_used_by_other_credentials(xapi: Xapi, xapi_as) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        xapi.post("/statements", json=make_statement())
    more = xapi.get("/statements", params={"limit": 1}).json()["more"]
    other = xapi_as("statements/read")
    response = other.get(more.removeprefix("/xapi"))
    assert response.status_code == 400
    assert response.json()["path"] == "more"


def test_a_forged_more_token_is_400(xapi: Xapi) -> None:
    response = xapi.get("/statements", params={"more": "eyJ2IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA"})
    assert response.status_code == 400
    assert response.json()["path"] == "more"


# ------------------------------------------------------------------------- limits


@pytest.fixture
def limited(tmp_path: Path) -> LiveServer:
    settings: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'limited.db'}",
        "secret_key": "k",
        "max_body_bytes": 20_000,
        "max_batch_statements": 3,
        "max_json_depth": 8,
        "max_string_length": 200,
        "max_query_limit": 2,
    }
    store = open_store(settings["database_url"])
    store.migrate()
    server = LiveServer(create_app(settings, store_=store))
    server.start()
    yield server  # type: ignore[misc]
    server.stop()


@pytest.fixture
def limited_xapi(limited: LiveServer) -> Xapi:
    return Xapi(limited.url + "/xapi", make_client(limited.app, "all"))


def test_body_larger_than_the_limit_is_413(limited_xapi: Xapi) -> None:
    statement = make_statement(
        result={"extensions": {f"http://x.org/{i}": "x" * 150 for i in range(200)}}
    )
    response = limited_xapi.post("/statements", json=statement)
    assert response.status_code == 413
    assert response.json()["rule"] == "max_body_bytes"


def test_batch_larger_than_the_limit_is_413(limited_xapi: Xapi) -> None:
    response = limited_xapi.post("/statements", json=[make_statement() for _ in range(4)])
    assert response.status_code == 413
    assert "max_batch_statements" in response.json()["rule"]


def test_json_nested_deeper_than_the_limit_is_400(limited_xapi: Xapi) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(10):
        deep = {"d": deep}
    statement = make_statement(result={"extensions": {"http://x.org/deep": deep}})
    response = limited_xapi.post("/statements", json=statement)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "limit exceeded"
    assert body["path"].startswith("result.extensions.http://x.org/deep.d.d")


def test_string_longer_than_the_limit_is_400(limited_xapi: Xapi) -> None:
    statement = make_statement()
    statement["actor"]["name"] = "n" * 201
    response = limited_xapi.post("/statements", json=statement)
    assert response.status_code == 400
    assert response.json()["path"] == "actor.name"
    assert "max_string_length" in response.json()["rule"]


def test_limit_parameter_is_capped_at_the_server_maximum(limited_xapi: Xapi) -> None:
    limited_xapi.post("/statements", json=[make_statement() for _ in range(3)])
    for limit in ("0", "50"):
        page = limited_xapi.get("/statements", params={"limit": limit}).json()
        assert len(page["statements"]) == 2
        assert page["more"]


def test_nothing_is_stored_when_a_limit_rejects_a_batch(limited_xapi: Xapi) -> None:
    batch = [make_statement(), make_statement()]
    batch[1]["actor"]["name"] = "n" * 500
    assert limited_xapi.post("/statements", json=batch).status_code == 400
    assert limited_xapi.get("/statements").json()["statements"] == []


def test_error_bodies_never_echo_credentials(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    response = Xapi(live_server.url + "/xapi", (credentials[0], "not-the-secret-x9")).get(
        "/statements"
    )
    assert credentials[1] not in response.text
    assert "not-the-secret-x9" not in response.text
