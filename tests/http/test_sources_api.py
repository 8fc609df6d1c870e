"""/api/me/sources: an owner connects a remote LRS holding their learning and pulls from
it (issue 6, item 4). The remote is a second cpdfolio app with its own store, served over
real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from portfolio.storage import open_store
from service import create_app
from tests.conftest import LiveServer, Xapi, make_client
from tests.http.test_people_and_record import Api, create_person, login, store_of
from tests.support import agent, make_statement

ANN = "ann@example.org"
BOB = "bob@example.org"


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The remote LRS here is on loopback, which owners' sources may reach only when the
    administrator allows it (lrs_adapters.network)."""
    return {**settings, "owner_source_hosts": "127.0.0.1"}


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[LiveServer, str, str]]:
    """Another LRS: a cpdfolio app of its own, with Ann's and Bob's learning in it."""
    url = f"sqlite:///{tmp_path / 'remote' / 'remote.db'}"
    store = open_store(url)
    store.migrate()
    app = create_app({"database_url": url, "secret_key": "remote-secret"}, store_=store)
    server = LiveServer(app)
    server.start()
    key, secret = make_client(app, "all", name="Council LMS")
    xapi = Xapi(server.url + "/xapi", (key, secret))
    mine = [make_statement(actor="ann") for _ in range(3)]
    theirs = [make_statement(actor="bob") for _ in range(2)]
    assert xapi.post("/statements", json=mine + theirs).status_code == 200
    yield server, key, secret
    server.stop()
    store.close()


@pytest.fixture
def ann(app: Flask, live_server: LiveServer) -> Api:
    create_person(app, ANN, "Ann Jones")
    return login(live_server, ANN)


@pytest.fixture
def bob(app: Flask, live_server: LiveServer) -> Api:
    create_person(app, BOB, "Bob Smith")
    return login(live_server, BOB)


def connection(remote: tuple[LiveServer, str, str], **changes: Any) -> dict[str, Any]:
    server, key, secret = remote
    return {
        "name": "council-lms",
        "endpoint": server.url + "/xapi/",
        "key": key,
        "secret": secret,
        **changes,
    }


def test_sources_need_the_owners_token(live_server: LiveServer) -> None:
    for method, path in [("GET", ""), ("POST", ""), ("POST", "/x/sync"), ("DELETE", "/x")]:
        response = requests.request(method, f"{live_server.url}/api/me/sources{path}", timeout=30)
        assert response.status_code == 401, (method, path)


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"endpoint": "ftp://lrs.example/xapi/"}, "endpoint"),
        ({"name": "Not A Name!"}, "name"),
        ({"secret": ""}, "secret"),
        ({"xapi_version": "0.95"}, "xapi_version"),
        ({"since_field": "when"}, "since_field"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    ann: Api, app: Flask, remote: Any, changes: dict[str, Any], path: str
) -> None:
    response = ann.post("/me/sources", json=connection(remote, **changes))
    assert response.status_code == 400
    assert response.json()["path"] == path
    assert store_of(app).sources.list() == []


def test_credentials_the_remote_refuses_are_a_400_at_once(
    ann: Api, app: Flask, remote: Any
) -> None:
    response = ann.post("/me/sources", json=connection(remote, secret="wrong"))
    assert response.status_code == 400
    assert response.json()["path"] == "endpoint"
    assert "refused the credentials" in response.json()["message"]
    assert store_of(app).sources.list() == []


def test_an_owner_connects_pulls_only_their_own_learning_and_disconnects(
    ann: Api, bob: Api, app: Flask, remote: Any
) -> None:
    created = ann.post("/me/sources", json=connection(remote))
    assert created.status_code == 201, created.text
    assert "secret" not in created.json()
    assert created.json()["since"] == {
        '{"objectType":"Agent","mbox":"mailto:ann@example.org"}': None
    }
    assert [s["name"] for s in ann.get("/me/sources").json()] == ["council-lms"]
    assert ann.post("/me/sources", json=connection(remote)).status_code == 409

    # Bob neither sees nor can use nor remove it.
    assert bob.get("/me/sources").json() == []
    assert bob.post("/me/sources/council-lms/sync").status_code == 404
    assert bob.request("DELETE", "/me/sources/council-lms").status_code == 404

    synced = ann.post("/me/sources/council-lms/sync")
    assert synced.status_code == 200, synced.text
    summary = synced.json()
    assert (summary["status"], summary["fetched"], summary["new"]) == ("ok", 3, 3)
    assert store_of(app).statements.count() == 3
    # They are witnessed in Ann's record: evidence she can use.
    record = ann.get("/me/record").json()
    assert sum(1 for e in record["entries"] if e["entry"]["kind"] == "statement-witnessed") == 3

    again = ann.post("/me/sources/council-lms/sync").json()
    assert (again["new"], again["duplicate"]) == (0, 3)
    listed = ann.get("/me/sources").json()[0]
    assert listed["last_run"]["status"] == "ok"

    assert ann.request("DELETE", "/me/sources/council-lms").status_code == 204
    assert ann.get("/me/sources").json() == []
    assert store_of(app).statements.count() == 3  # what was pulled stays


def test_a_remote_that_goes_away_is_a_502_with_the_progress(
    ann: Api, app: Flask, remote: Any
) -> None:
    assert ann.post("/me/sources", json=connection(remote)).status_code == 201
    server, _key, _secret = remote
    server.stop()
    _with_settings(app, remote_attempts=1)
    response = ann.post("/me/sources/council-lms/sync")
    assert response.status_code == 502
    body = response.json()
    assert body["status"] == "failed"
    assert "cannot be reached" in body["error"]
    assert body["new"] == 0


def _with_settings(app: Flask, **changes: Any) -> None:
    current = app.config["CPDFOLIO"]
    app.config["CPDFOLIO"] = type(current).from_mapping({**current.__dict__, **changes})


@pytest.mark.parametrize(
    "endpoint",
    [
        "{remote}/xapi/",  # the remote itself, on loopback, once the administrator's leave goes
        "http://localhost:{port}/xapi/",
        "http://[::1]:{port}/xapi/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/xapi/",
    ],
)
def test_an_owner_may_not_point_a_source_inside_the_network(
    ann: Api, app: Flask, remote: Any, endpoint: str
) -> None:
    """Server-side request forgery: an owner's source must be on the public internet or
    on a host the administrator allows; the refusal names the field and the setting."""
    _with_settings(app, owner_source_hosts="")
    server, _key, _secret = remote
    port = server.url.rsplit(":", 1)[1]
    body = connection(remote, endpoint=endpoint.format(remote=server.url, port=port))
    response = ann.post("/me/sources", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["path"] == "endpoint"
    assert "CPDFOLIO_OWNER_SOURCE_HOSTS" in error["rule"]
    assert "private, loopback or reserved" in error["message"]
    assert store_of(app).sources.list() == []


def test_a_source_whose_host_is_no_longer_allowed_fails_its_sync_with_a_502(
    ann: Api, app: Flask, remote: Any
) -> None:
    assert ann.post("/me/sources", json=connection(remote)).status_code == 201
    _with_settings(app, owner_source_hosts="")
    response = ann.post("/me/sources/council-lms/sync")
    assert response.status_code == 502
    body = response.json()
    assert (body["status"], body["fetched"]) == ("failed", 0)
    assert "may not reach" in body["error"]


def _witnessed(owner: Api) -> set[str]:
    """The statements witnessed in the owner's record."""
    entries = owner.get("/me/record").json()["entries"]
    return {
        e["entry"]["body"]["statement"]
        for e in entries
        if e["entry"]["kind"] == "statement-witnessed"
    }


def test_an_owners_source_cannot_put_statements_in_other_peoples_records(
    ann: Api, bob: Api, app: Flask, remote: Any
) -> None:
    """Ann chooses the remote (she may run it): what it says of Bob is only her word.
    Only statements by Ann about herself or an Activity come in (not one whose object is
    Bob, which would reach his record when he links that mailbox), and they are
    witnessed in her record alone, whoever else they name (an instructor); on a later
    run too (duplicates are witnessed again)."""
    server, key, secret = remote
    about_bob = make_statement(actor="ann", object=agent("bob"))
    taught_by_bob = make_statement(actor="ann", context={"instructor": agent("bob")})
    group = {"objectType": "Group", "member": [agent("ann"), agent("bob")]}
    as_a_group = {**make_statement(), "actor": group}
    by_bob = make_statement(actor="bob", object=agent("ann"))
    xapi = Xapi(server.url + "/xapi", (key, secret))
    sent = [about_bob, taught_by_bob, as_a_group, by_bob]
    assert xapi.post("/statements", json=sent).status_code == 200
    assert ann.post("/me/sources", json=connection(remote)).status_code == 201

    for _run in range(2):
        synced = ann.post("/me/sources/council-lms/sync")
        assert synced.status_code == 200, synced.text
        summary = synced.json()
        rejected = {r["id"]: r["path"] for r in summary["rejected"]}
        assert rejected == {
            about_bob["id"]: "object",
            as_a_group["id"]: "actor",
            by_bob["id"]: "actor",
        }
        assert {r["rule"] for r in summary["rejected"]} == {
            "must be the owner: an Agent that is one of their identities (an owner's source)"
        }
        assert _witnessed(bob) == set()
        assert taught_by_bob["id"] in _witnessed(ann)
    assert store_of(app).statements.count() == 4  # Ann's 3, and hers taught by Bob
