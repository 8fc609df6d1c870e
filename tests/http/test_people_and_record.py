"""People, identities and the signed record over HTTP (issue 4, items 1, 7 and 8)."""

from __future__ import annotations

import email
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from portfolio.record.chain import verify_stored_record
from portfolio.storage.base import Store
from service.people import outbox_dir, services
from tests.conftest import LiveServer, Xapi
from tests.support import make_statement

PASSWORD = "correct horse battery"


class Api:
    """A small client of /api with an owner's token."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


def create_person(app: Flask, email_: str = "ann@example.org", name: str = "Ann Jones") -> None:
    with app.app_context():
        services().accounts.create(email=email_, name=name, password=PASSWORD)


def login(live_server: LiveServer, email_: str = "ann@example.org") -> Api:
    response = requests.post(
        live_server.url + "/api/session",
        json={"email": email_, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return Api(live_server.url + "/api", response.json()["token"])


def store_of(app: Flask) -> Store:
    store: Store = app.extensions["cpdfolio.store"]
    return store


def last_code(app: Flask, to: str) -> str:
    """The code in the newest message the file outbox wrote to `to`."""
    directory = outbox_dir(app.config["CPDFOLIO"])
    for path in sorted(Path(directory).glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == to:
            found = re.search(r"The code is (\d{8})", message.get_payload())
            assert found
            return found.group(1)
    raise AssertionError(f"no message to {to}")


@pytest.fixture
def owner(app: Flask, live_server: LiveServer) -> Api:
    create_person(app)
    return login(live_server)


def test_login_gives_a_token_that_shows_the_owners_portfolio(owner: Api) -> None:
    me = owner.get("/me")
    assert me.status_code == 200
    body = me.json()
    assert (body["name"], body["email"]) == ("Ann Jones", "ann@example.org")
    assert body["identities"] == [
        {
            "identity": "mbox:mailto:ann@example.org",
            "linked": body["created"],
            "proof": "first identity",
        }
    ]


@pytest.mark.parametrize(
    ("email_", "password"),
    [("ann@example.org", "wrong password!"), ("nobody@example.org", PASSWORD)],
)
def test_a_wrong_password_or_unknown_email_is_401_with_the_same_message(
    owner: Api, live_server: LiveServer, email_: str, password: str
) -> None:
    response = requests.post(
        live_server.url + "/api/session", json={"email": email_, "password": password}, timeout=30
    )
    assert response.status_code == 401
    assert response.json()["message"] == "wrong email or password"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("body", "path", "rule"),
    [
        ({"email": "ann@example.org"}, "password", "is required"),
        (
            {"email": "ann@example.org", "password": "x", "extra": 1},
            "extra",
            "is not a known field",
        ),
        ([1, 2], "", "must be a JSON object"),
    ],
)
def test_a_malformed_login_is_400_naming_the_field(
    live_server: LiveServer, body: object, path: str, rule: str
) -> None:
    response = requests.post(live_server.url + "/api/session", json=body, timeout=30)
    assert response.status_code == 400
    assert (response.json()["path"], response.json()["rule"]) == (path, rule)


def test_every_api_route_but_login_needs_a_token(app: Flask, live_server: LiveServer) -> None:
    anonymous = Api(live_server.url + "/api")
    bad = Api(live_server.url + "/api", "0123.not-a-token")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<[^>]+>", "x", rule.rule).removeprefix("/api")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            # Logging in, and arriving with a bundle (its password opens the key sealed
            # in it: the arriving owner has no account here yet), take no token.
            if (method, path) in {("POST", "/session"), ("POST", "/arrivals")}:
                continue
            for client in (anonymous, bad):
                response = client.request(method, path, json={})
                assert response.status_code == 401, (method, path, response.text)


def test_logout_ends_the_session(owner: Api) -> None:
    assert owner.request("DELETE", "/session").status_code == 204
    assert owner.get("/me").status_code == 401


def test_personal_tokens_are_listed_and_revocable(owner: Api, live_server: LiveServer) -> None:
    # A token outlives the session that asks for it: the password is asked again.
    for body, path, rule in [
        ({"name": "laptop CLI"}, "password", "is required"),
        ({"name": "laptop CLI", "password": "a guess"}, "password", "must be your password"),
    ]:
        refused = owner.post("/me/tokens", json=body)
        assert refused.status_code == 400
        assert (refused.json()["path"], refused.json()["rule"]) == (path, rule)
    created = owner.post("/me/tokens", json={"name": "laptop CLI", "password": PASSWORD})
    assert created.status_code == 201
    token = Api(live_server.url + "/api", created.json()["token"])
    assert token.get("/me").status_code == 200
    listed = owner.get("/me/tokens").json()
    assert {(t["kind"], t["name"]) for t in listed} == {
        ("session", "login"),
        ("token", "laptop CLI"),
    }
    assert owner.request("DELETE", f"/me/tokens/{created.json()['id']}").status_code == 204
    assert token.get("/me").status_code == 401


def test_the_record_opens_with_the_owners_key_and_first_identity_and_verifies(owner: Api) -> None:
    page = owner.get("/me/record").json()
    kinds = [e["entry"]["kind"] for e in page["entries"]]
    assert kinds == ["opened", "identity-linked"]
    opened = page["entries"][0]["entry"]
    assert opened["signer"]["role"] == "owner"
    assert opened["signer"]["key"] == opened["body"]["owner_key"]["id"]
    assert page["entries"][1]["entry"]["prev"] == page["entries"][0]["hash"]
    verified = owner.get("/me/record/verification").json()
    assert verified["entries"] == 2
    assert verified["head"] == page["entries"][1]["hash"]


def test_statements_about_the_owner_are_witnessed_by_the_instance(owner: Api, xapi: Xapi) -> None:
    statements = [make_statement(actor="ann"), make_statement(actor="bob")]
    assert xapi.post("/statements", json=statements).status_code == 200
    entries = owner.get("/me/record").json()["entries"]
    witnessed = [e["entry"] for e in entries if e["entry"]["kind"] == "statement-witnessed"]
    assert [w["body"]["statement"] for w in witnessed] == [statements[0]["id"]]
    assert witnessed[0]["signer"]["role"] == "instance"
    stored = xapi.get("/statements", params={"statementId": statements[0]["id"]})
    # The witness holds the SHA-256 of the statement exactly as the LRS keeps it.
    import hashlib

    assert witnessed[0]["body"]["sha256"] == hashlib.sha256(stored.content).hexdigest()
    assert owner.get("/me/record/verification").json()["statements"] == 1


def test_a_statement_posted_before_its_identity_was_linked_shows_up_after_linking(
    app: Flask, owner: Api, xapi: Xapi
) -> None:
    """Issue 4 acceptance: "whenever they arrived"."""
    early = make_statement(actor="ann.jones")  # mailto:ann.jones@example.org
    assert xapi.post("/statements", json=early).status_code == 200
    started = owner.post("/me/identities", json={"email": "ann.jones@example.org"})
    assert started.status_code == 202
    challenge = started.json()["challenge"]
    code = last_code(app, "ann.jones@example.org")
    confirmed = owner.post("/me/identities/confirm", json={"challenge": challenge, "code": code})
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["witnessed"] == 1
    assert confirmed.json()["identity"]["proof"] == "one-time code"
    entries = owner.get("/me/record").json()["entries"]
    assert [e["entry"]["kind"] for e in entries][-2:] == ["identity-linked", "statement-witnessed"]
    assert entries[-1]["entry"]["body"]["statement"] == early["id"]
    # And later statements about it are witnessed as they arrive.
    late = make_statement(actor="ann.jones")
    assert xapi.post("/statements", json=late).status_code == 200
    assert owner.get("/me/record/verification").json()["statements"] == 2


def test_a_wrong_code_is_400_and_five_wrong_codes_spend_the_challenge(
    app: Flask, owner: Api
) -> None:
    challenge = owner.post("/me/identities", json={"email": "ann.jones@example.org"}).json()[
        "challenge"
    ]
    code = last_code(app, "ann.jones@example.org")
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(5):
        response = owner.post(
            "/me/identities/confirm", json={"challenge": challenge, "code": wrong}
        )
        assert response.status_code == 400
        assert response.json()["path"] == "code"
    spent = owner.post("/me/identities/confirm", json={"challenge": challenge, "code": code})
    assert spent.status_code == 404
    assert [i["identity"] for i in owner.get("/me/identities").json()] == [
        "mbox:mailto:ann@example.org"
    ]


def test_another_owner_cannot_use_my_challenge(
    app: Flask, owner: Api, live_server: LiveServer
) -> None:
    challenge = owner.post("/me/identities", json={"email": "ann.jones@example.org"}).json()[
        "challenge"
    ]
    code = last_code(app, "ann.jones@example.org")
    create_person(app, "bob@example.org", "Bob Evans")
    bob = login(live_server, "bob@example.org")
    stolen = bob.post("/me/identities/confirm", json={"challenge": challenge, "code": code})
    assert stolen.status_code == 404
    assert len(bob.get("/me/identities").json()) == 1


def test_asking_for_an_identity_linked_to_someone_tells_only_its_mailbox(
    app: Flask, owner: Api, live_server: LiveServer
) -> None:
    """The answer is the one a free address gets, so it does not tell who has a portfolio
    here; the mailbox is told it is in use and given no code, so it never links."""
    create_person(app, "bob@example.org", "Bob Evans")
    taken = owner.post("/me/identities", json={"email": "bob@example.org"})
    free = owner.post("/me/identities", json={"email": "ann.jones@example.org"})
    assert taken.status_code == free.status_code == 202
    assert set(taken.json()) == set(free.json())
    directory = outbox_dir(app.config["CPDFOLIO"])
    [to_bob] = [
        message
        for path in Path(directory).glob("*.eml")
        if (message := email.message_from_bytes(path.read_bytes()))["To"] == "bob@example.org"
    ]
    assert "linked to a portfolio on this instance already" in to_bob.get_payload()
    assert not re.search(r"\d{8}", to_bob.get_payload())
    for code in ("00000000", "12345678"):
        answer = owner.post(
            "/me/identities/confirm", json={"challenge": taken.json()["challenge"], "code": code}
        )
        assert answer.status_code == 400
    assert "mbox:mailto:bob@example.org" not in {
        i["identity"] for i in owner.get("/me/identities").json()
    }
    # The owner's own identity is theirs to know about.
    assert owner.post("/me/identities", json={"email": "ann@example.org"}).status_code == 409


def test_an_owner_sees_only_their_own_record(
    app: Flask, owner: Api, live_server: LiveServer, xapi: Xapi
) -> None:
    create_person(app, "bob@example.org", "Bob Evans")
    bob = login(live_server, "bob@example.org")
    xapi.post("/statements", json=[make_statement(actor="ann"), make_statement(actor="bob")])
    for api, name in ((owner, "Ann Jones"), (bob, "Bob Evans")):
        entries = api.get("/me/record").json()["entries"]
        assert entries[0]["entry"]["body"]["name"] == name
        assert {e["entry"]["person"] for e in entries} == {api.get("/me").json()["id"]}


def test_record_paging_and_bad_parameters(owner: Api) -> None:
    first = owner.get("/me/record", params={"limit": 1}).json()
    assert [e["seq"] for e in first["entries"]] == [1]
    assert first["next"] == 1
    rest = owner.get("/me/record", params={"after": first["next"]}).json()
    assert [e["seq"] for e in rest["entries"]] == [2]
    assert rest["next"] is None
    for params, path in (({"limit": "0"}, "limit"), ({"after": "x"}, "after"), ({"q": "1"}, "q")):
        response = owner.get("/me/record", params=params)
        assert response.status_code == 400
        assert response.json()["path"] == path


def test_a_password_reset_rotates_the_key_visibly_and_ends_sessions(
    app: Flask, owner: Api, live_server: LiveServer
) -> None:
    with app.app_context():
        services().accounts.reset_password(
            "ann@example.org", "a brand new password", administrator="Carys (HR)"
        )
    assert owner.get("/me").status_code == 401
    response = requests.post(
        live_server.url + "/api/session",
        json={"email": "ann@example.org", "password": "a brand new password"},
        timeout=30,
    )
    again = Api(live_server.url + "/api", response.json()["token"])
    rotated = again.get("/me/record").json()["entries"][-1]["entry"]
    assert rotated["kind"] == "key-rotated"
    assert rotated["signer"]["role"] == "instance"
    assert rotated["signer"]["on_behalf_of"]["name"] == "Carys (HR)"
    # Entries the owner signs now use the new key, and the whole record still verifies.
    challenge = again.post("/me/identities", json={"email": "ann.jones@example.org"}).json()
    code = last_code(app, "ann.jones@example.org")
    again.post("/me/identities/confirm", json={"challenge": challenge["challenge"], "code": code})
    summary = verify_stored_record(store_of(app).records, again.get("/me").json()["id"])
    assert len(summary.owner_keys) == 2
    assert summary.kinds["key-rotated"] == 1


def test_the_agents_resource_combines_the_identities_linked_to_one_person(
    app: Flask, owner: Api, xapi: Xapi, xapi_as: Any
) -> None:
    """Communication 2.4: a Person object combines the identifiers of one person."""
    with app.app_context():
        services().identities.confirm_by_administrator(
            "ann@example.org",
            "account:https://lms.council.example|ajones",
            administrator="Carys",
        )
    response = xapi.get("/agents", params={"agent": '{"mbox": "mailto:ann@example.org"}'})
    person = response.json()
    assert person["mbox"] == ["mailto:ann@example.org"]
    assert person["account"] == [{"homePage": "https://lms.council.example", "name": "ajones"}]
    by_account = xapi.get(
        "/agents",
        params={
            "agent": '{"account": {"homePage": "https://lms.council.example", "name": "ajones"}}'
        },
    ).json()
    assert by_account["mbox"] == ["mailto:ann@example.org"]
    # A client that may read only its own statements learns nothing of the links.
    mine = xapi_as("statements/read/mine").get(
        "/agents", params={"agent": '{"mbox": "mailto:ann@example.org"}'}
    )
    assert "account" not in mine.json()


def test_a_record_that_no_longer_verifies_is_a_409_naming_the_entry(app: Flask, owner: Api) -> None:
    """Someone with the database changed a signed entry: verification says where, and the
    answer is the record's state, not a server error."""
    person_id = owner.get("/me").json()["id"]
    database = app.config["CPDFOLIO"].database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as con:
        (canonical,) = con.execute(
            "SELECT canonical FROM record_entries WHERE person_id = ? AND seq = 2", (person_id,)
        ).fetchone()
        con.execute(
            "UPDATE record_entries SET canonical = ? WHERE person_id = ? AND seq = 2",
            (bytes(canonical).replace(b"ann@example.org", b"eve@example.org"), person_id),
        )
    response = owner.get("/me/record/verification")
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "verification failed"
    assert "entry 2" in response.json()["message"]
