"""Mentoring sessions over HTTP (issue 4, item 5): logged by one party, confirmed by the
other, then statements about both, witnessed and counted as evidence."""

from __future__ import annotations

import email
import hashlib
import re
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from portfolio import mentoring
from portfolio.clock import now_us
from portfolio.mentoring import LINKS
from portfolio.people.witness import witness_new_statements
from portfolio.storage.base import INSTANCE_DOCS, Store
from schemas.portfolio import DATE_RULE
from service.people import outbox_dir, services
from tests.conftest import LiveServer, Xapi
from tests.http.test_people_and_record import Api, create_person, last_code, login
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


def test_a_mentor_with_a_portfolio_confirms_from_it_and_the_record_still_verifies(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    """The confirmation goes in Ann's record, whose owner-role entries must be Ann's: the
    instance signs it on Dewi's behalf, naming how he was identified (signed in)."""
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
    assert confirmation["signer"]["role"] == "instance"
    dewi_id = dewi.get("/me").json()["id"]
    assert confirmation["signer"]["on_behalf_of"] == {
        "name": "Dewi Morgan",
        "identified_by": f"signed in to their cpdfolio portfolio ({dewi_id})",
    }
    verified = ann.get("/me/record/verification")
    assert verified.status_code == 200, verified.text
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


# ------------------------------------------------- the other party is someone else

ANNS_OTHER_MAILBOX = "ann.jones@example.org"


def link_mailbox(app: Flask, owner: Api, address: str = ANNS_OTHER_MAILBOX) -> None:
    """Link a second mailbox to the owner's portfolio, by the code sent to it."""
    challenge = owner.post("/me/identities", json={"email": address}).json()["challenge"]
    confirmed = owner.post(
        "/me/identities/confirm", json={"challenge": challenge, "code": last_code(app, address)}
    )
    assert confirmed.status_code in (200, 201), confirmed.text


def kinds(owner: Api) -> list[str]:
    return [e["entry"]["kind"] for e in owner.get("/me/record").json()["entries"]]


def test_a_mailbox_linked_to_my_portfolio_is_not_another_party(app: Flask, ann: Api) -> None:
    link_mailbox(app, ann)
    with app.app_context():  # and one known to the LRS only by its hash
        services().identities.confirm_by_administrator(
            "ann@example.org",
            "mbox_sha1sum:" + hashlib.sha1(b"mailto:a.jones@example.org").hexdigest(),
            administrator="Carys",
        )
    for address in (ANNS_OTHER_MAILBOX, "Ann.Jones@Example.org", "a.jones@example.org"):
        logged = ann.post(
            "/me/mentoring",
            json={**SESSION, "other_email": address, "other_name": "Dr Dewi Director"},
        )
        assert logged.status_code == 400, (address, logged.text)
        assert (logged.json()["path"], logged.json()["rule"]) == ("other_email", "must not be you")
    assert ann.get("/me/mentoring").json() == []
    assert "mentoring-logged" not in kinds(ann)


def test_a_mailbox_linked_after_logging_cannot_confirm_the_session(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    logged = ann.post(
        "/me/mentoring",
        json={**SESSION, "other_email": ANNS_OTHER_MAILBOX, "other_name": "Dr Dewi Director"},
    )
    assert logged.status_code == 201, logged.text
    token = link_to(app, ANNS_OTHER_MAILBOX)
    link_mailbox(app, ann)
    confirmed = requests.post(f"{live_server.url}/mentoring/{token}", timeout=30)
    assert confirmed.status_code == 400, confirmed.text
    assert confirmed.json()["path"] == "other_email"
    assert "mentoring-confirmed" not in kinds(ann)
    assert ann.get("/me/mentoring").json()[0]["status"] == "awaiting confirmation"
    assert coverage(ann)[PC1]["count"] == 0  # no statements were made


# ------------------------------------------------------ one confirmation, exactly


@pytest.fixture
def dewi(app: Flask, live_server: LiveServer, ann: Api) -> Api:
    create_person(app, "dewi@example.org", "Dewi Morgan")
    return login(live_server, "dewi@example.org")


def test_a_confirmation_racing_with_another_is_409_and_only_one_is_signed(
    app: Flask, ann: Api, dewi: Api, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interleaved: Dewi confirms from his portfolio and, after that confirmation has read
    the session but before it writes, the link is clicked and confirms it first."""
    session = ann.post("/me/mentoring", json=SESSION).json()
    token = link_to(app, "dewi@example.org")
    clicked = threading.Event()
    by_link: list[int] = []

    def witness_then_click(*args: Any, **kwargs: Any) -> int:
        appended = witness_new_statements(*args, **kwargs)
        if not clicked.is_set():  # the first confirmation, between its check and its write
            clicked.set()
            response = requests.post(f"{live_server.url}/mentoring/{token}", timeout=30)
            by_link.append(response.status_code)
        return appended

    monkeypatch.setattr(mentoring, "witness_new_statements", witness_then_click)
    from_portfolio = dewi.post(f"/me/mentoring/{session['id']}/confirm")
    assert by_link == [200]
    assert from_portfolio.status_code == 409, from_portfolio.text
    assert kinds(ann).count("mentoring-confirmed") == 1
    assert ann.get("/me/record/verification").status_code == 200
    assert (coverage(ann)[PC1]["count"], coverage(ann)[PC1]["hours"]) == (1, 1.5)


def test_of_confirmations_racing_in_threads_exactly_one_is_signed(
    app: Flask, ann: Api, dewi: Api, live_server: LiveServer
) -> None:
    session = ann.post("/me/mentoring", json=SESSION).json()
    token = link_to(app, "dewi@example.org")
    statuses: list[int] = []
    start = threading.Barrier(4)

    def by_link() -> None:
        start.wait()
        statuses.append(
            requests.post(f"{live_server.url}/mentoring/{token}", timeout=30).status_code
        )

    def from_portfolio() -> None:
        start.wait()
        statuses.append(dewi.post(f"/me/mentoring/{session['id']}/confirm").status_code)

    threads = [
        threading.Thread(target=f) for f in (by_link, by_link, from_portfolio, from_portfolio)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 404, 409}, statuses
    assert kinds(ann).count("mentoring-confirmed") == 1
    assert ann.get("/me/record/verification").status_code == 200  # whichever way won


def test_an_expired_session_cannot_be_confirmed_from_a_portfolio_either(
    ann: Api, dewi: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = ann.post("/me/mentoring", json=SESSION).json()
    later = now_us() + int(timedelta(days=14, seconds=1).total_seconds() * 1_000_000)
    monkeypatch.setattr(mentoring, "now_us", lambda: later)
    confirmed = dewi.post(f"/me/mentoring/{session['id']}/confirm")
    assert confirmed.status_code == 409, confirmed.text
    assert "mentoring-confirmed" not in kinds(ann)
    assert ann.get("/me/mentoring").json()[0]["status"] == "awaiting confirmation"
