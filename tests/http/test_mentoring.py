"""Mentoring sessions over HTTP (issue 4, item 5): logged by one party, confirmed by the
other, then statements about both, witnessed and counted as evidence."""

from __future__ import annotations

import email
import re
from pathlib import Path

import pytest
import requests
from flask import Flask

from portfolio.mentoring import LINKS
from portfolio.storage.base import INSTANCE_DOCS, Store
from schemas.portfolio import DATE_RULE
from service.people import outbox_dir
from tests.conftest import LiveServer, Xapi
from tests.http.test_people_and_record import Api, create_person, login
from tests.http.test_portfolio_evidence import PC1, coverage
from tests.http.test_portfolio_evidence import store as store

SESSION = {
    "role": "mentee",
    "other_email": "dewi@example.org",
    "other_name": "Dewi Morgan",
    "date": "2026-11-20",
    "minutes": 90,
    "topics": "Preparing for the inspection; managing a difficult partnership.",
}


def link_to(app: Flask, to: str) -> str:
    directory = Path(outbox_dir(app.config["CPDFOLIO"]))
    for path in sorted(directory.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == to:
            found = re.search(r"/mentoring/(\S+)", message.get_payload())
            assert found
            return found.group(1)
    raise AssertionError(f"no message to {to}")


@pytest.fixture
def ann(app: Flask, live_server: LiveServer, store: Store) -> Api:
    create_person(app)
    return login(live_server)


def test_a_session_confirmed_by_link_becomes_statements_about_both(
    app: Flask, ann: Api, live_server: LiveServer, xapi: Xapi
) -> None:
    logged = ann.post("/me/mentoring", json=SESSION)
    assert logged.status_code == 201, logged.text
    session = logged.json()
    assert session["status"] == "awaiting confirmation"
    token = link_to(app, "dewi@example.org")
    shown = requests.get(f"{live_server.url}/mentoring/{token}", timeout=10).json()
    assert (shown["mentee"], shown["mentor"], shown["minutes"]) == ("Ann Jones", "Dewi Morgan", 90)
    confirmed = requests.post(f"{live_server.url}/mentoring/{token}", timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    again = requests.post(f"{live_server.url}/mentoring/{token}", timeout=30)
    assert again.status_code == 404  # the link is spent
    # Two statements, one about each party.
    mine = ann.get("/me/mentoring").json()[0]
    assert mine["status"] == "confirmed"
    for statement_id, actor in zip(mine["statements"], ("ann", "dewi"), strict=True):
        stored = xapi.get("/statements", params={"statementId": statement_id}).json()
        assert stored["actor"]["mbox"] == f"mailto:{actor}@example.org"
    # The confirmation is signed by the instance for Dewi, naming how he was identified.
    entries = [e["entry"] for e in ann.get("/me/record").json()["entries"]]
    confirmation = next(e for e in entries if e["kind"] == "mentoring-confirmed")
    assert confirmation["signer"]["role"] == "instance"
    assert confirmation["signer"]["on_behalf_of"] == {
        "name": "Dewi Morgan",
        "identified_by": "one-time link sent to mailto:dewi@example.org",
    }
    # Ann's statement is evidence: the meeting rule maps it to PC.1 with its 90 minutes.
    assert (coverage(ann)[PC1]["count"], coverage(ann)[PC1]["hours"]) == (1, 1.5)
    assert ann.get("/me/record/verification").status_code == 200


def test_a_mentor_with_a_portfolio_confirms_from_it_and_signs(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    create_person(app, "dewi@example.org", "Dewi Morgan")
    dewi = login(live_server, "dewi@example.org")
    session = ann.post("/me/mentoring", json=SESSION).json()
    assert [s["id"] for s in dewi.get("/me/mentoring").json()] == [session["id"]]
    # Ann cannot confirm her own session.
    assert ann.post(f"/me/mentoring/{session['id']}/confirm").status_code == 404
    confirmed = dewi.post(f"/me/mentoring/{session['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert dewi.post(f"/me/mentoring/{session['id']}/confirm").status_code == 409
    entries = [e["entry"] for e in ann.get("/me/record").json()["entries"]]
    confirmation = next(e for e in entries if e["kind"] == "mentoring-confirmed")
    assert confirmation["signer"]["role"] == "owner"
    dewi_key = dewi.get("/me/record").json()["entries"][0]["entry"]["body"]["owner_key"]["id"]
    assert confirmation["signer"]["key"] == dewi_key
    # The mentor's statement is witnessed in his own record.
    dewi_kinds = [e["entry"]["kind"] for e in dewi.get("/me/record").json()["entries"]]
    assert "statement-witnessed" in dewi_kinds


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"role": "coach"}, "role"),
        ({"minutes": 0}, "minutes"),
        ({"date": "20 Nov"}, "date"),
        ({"other_email": "ann@example.org"}, "other_email"),
        ({"other_email": "not an address"}, "other_email"),
    ],
)
def test_bad_sessions_are_400(ann: Api, change: dict[str, object], path: str) -> None:
    response = ann.post("/me/mentoring", json={**SESSION, **change})
    assert response.status_code == 400
    assert response.json()["path"] == path
    assert ann.get("/me/mentoring").json() == []


def test_an_unknown_link_is_404(live_server: LiveServer) -> None:
    response = requests.get(f"{live_server.url}/mentoring/nonsense", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"] == "not found"


def test_confirming_from_a_portfolio_spends_the_link_too(
    app: Flask, ann: Api, live_server: LiveServer, store: Store
) -> None:
    create_person(app, "dewi@example.org", "Dewi Morgan")
    dewi = login(live_server, "dewi@example.org")
    session = ann.post("/me/mentoring", json=SESSION).json()
    token = link_to(app, "dewi@example.org")
    assert requests.get(f"{live_server.url}/mentoring/{token}", timeout=10).status_code == 200
    assert dewi.post(f"/me/mentoring/{session['id']}/confirm").status_code == 200
    # The link no longer shows the topics and the names, nor confirms a second time.
    shown = requests.get(f"{live_server.url}/mentoring/{token}", timeout=10)
    assert shown.status_code == 404
    assert "Dewi" not in shown.text and "inspection" not in shown.text
    assert requests.post(f"{live_server.url}/mentoring/{token}", timeout=30).status_code == 404
    assert store.portfolio.list_docs(INSTANCE_DOCS, LINKS) == []


def test_confirming_one_session_leaves_the_link_of_another(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    create_person(app, "dewi@example.org", "Dewi Morgan")
    dewi = login(live_server, "dewi@example.org")
    first = ann.post("/me/mentoring", json=SESSION).json()
    ann.post("/me/mentoring", json={**SESSION, "date": "2026-11-27"})
    second_token = link_to(app, "dewi@example.org")  # the newest message
    assert dewi.post(f"/me/mentoring/{first['id']}/confirm").status_code == 200
    shown = requests.get(f"{live_server.url}/mentoring/{second_token}", timeout=10)
    assert (shown.status_code, shown.json()["date"]) == (200, "2026-11-27")


@pytest.mark.parametrize("day", ["2025-13-45", "2026-02-29", "2026-11-31", "2026-1-5"])
def test_an_impossible_session_date_is_400_and_nothing_is_signed(ann: Api, day: str) -> None:
    response = ann.post("/me/mentoring", json={**SESSION, "date": day})
    assert response.status_code == 400, response.text
    assert (response.json()["path"], response.json()["rule"]) == ("date", DATE_RULE)
    assert ann.get("/me/mentoring").json() == []
    kinds = [e["entry"]["kind"] for e in ann.get("/me/record").json()["entries"]]
    assert "mentoring-logged" not in kinds
