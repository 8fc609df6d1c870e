"""The Professional Development Analysis over HTTP (issue 4, deliverable 3; the 360°
signatures of deliverable 7): self-assessment against the Standard, 360° reviewers by
one-time link without an account, self against others, development needs and the
training-needs grid of seed 000, all computed here by hand."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from portfolio.assessment import reviews
from portfolio.clock import now_us
from portfolio.evidence.rules import parse_rule, save_rule
from portfolio.standards.catalogue import install_shipped
from portfolio.storage.base import Store
from service.people import outbox_dir, services
from tests.conftest import LiveServer, Xapi
from tests.http.test_mentoring import ANNS_OTHER_MAILBOX, link_mailbox
from tests.http.test_people_and_record import Api, create_person, login
from tests.support import make_statement

STANDARD = "https://cpdfolio.org/frameworks/vsc-cymru-standard"
LRIP = "https://cpdfolio.org/frameworks/lrip-management-competency-framework"


def item(code: str) -> str:
    return f"{STANDARD}/items/{code}"


KS1, KS2, KS3 = item("KS.1"), item("KS.2"), item("KS.3")
PQ7, PC1, PC3, PC6 = item("PQ.7"), item("PC.1"), item("PC.3"), item("PC.6")

COURSE = "https://learning.example.gov.uk/course/strategic-leadership"
ELEARNING = "https://learning.example.gov.uk/elearning/leading-change"
SUMMER = "https://vsc.example.gov.uk/summer-school"
MENTORING = "https://vsc.example.gov.uk/mentoring-scheme"
ELSEWHERE = "https://elsewhere.gov.uk/course/accountability"

SELF = [
    {"item": KS1, "rating": 2, "comment": "New to the role"},
    {"item": KS2, "rating": 4},
    {"item": KS3, "rating": 3},
    {"item": PQ7, "rating": 1},
    {"item": PC1, "rating": 1},
    {"item": PC3, "rating": 4},
]
DEWI = {"name": "Dewi Morgan", "email": "dewi@example.org", "relationship": "manager"}
SIAN = {"name": "Siân Evans", "email": "Sian@Example.org", "relationship": "peer"}
DEWI_RATES = [
    {"item": KS1, "rating": 3},
    {"item": KS2, "rating": 2},
    {"item": KS3, "rating": 3},
    {"item": PQ7, "rating": 4},
    {"item": PC1, "rating": 2},
    {"item": PC3, "rating": 2},
    {"item": PC6, "rating": 1},
]
SIAN_RATES = [
    {"item": PC3, "rating": 2, "comment": "Challenges well; could support more"},
    {"item": KS1, "rating": 2},
    {"item": KS2, "rating": 3},
    {"item": KS3, "rating": 4},
    {"item": PQ7, "rating": 4},
    {"item": PC1, "rating": 1},
]
SELF_LOW = "self rating 2 or below"
OTHERS_LOW = "others' mean rating 2 or below"
ABOVE = "self rating 1.5 or more above others' mean"
BELOW = "self rating 1.5 or more below others' mean"


def rule(rule_id: str, items: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "framework": STANDARD, "items": items, **extra}


@pytest.fixture
def store(app: Flask) -> Store:
    """The shipped frameworks, and the activities on offer (mapping rules by activity)."""
    store: Store = app.extensions["cpdfolio.store"]
    install_shipped(store.frameworks)
    for data in (
        rule("strategic-leadership", [KS1, KS2], match={"activity": COURSE}, title="Leadership"),
        rule("strategic-leadership-passed", [KS1], match={"activity": COURSE, "verb": "x:passed"}),
        rule("leading-change", [KS2, PC1], match={"activity": ELEARNING}),
        rule("summer-school", [KS2, PC1], match={"activity": SUMMER}, title="Summer school"),
        # Provision of Ann's own council (her mailbox is at example.org) ...
        rule("mentoring", [PC3], match={"activity": MENTORING}, council="example.org"),
        # ... but not another council's, nor a rule that names no activity.
        rule("elsewhere", [PC6], match={"activity": ELSEWHERE}, council="elsewhere.gov.uk"),
        rule("meetings", [PC6], match={"activity_type": "http://example.org/meeting"}),
    ):
        save_rule(store, parse_rule(data))
    return store


@pytest.fixture
def ann(app: Flask, live_server: LiveServer, store: Store) -> Api:
    create_person(app)
    return login(live_server)


@pytest.fixture
def bob(app: Flask, live_server: LiveServer, store: Store) -> Api:
    create_person(app, "bob@example.org", "Bob Price")
    return login(live_server, "bob@example.org")


def links(app: Flask) -> list[tuple[str, str]]:
    """(to, token) of every review link the file outbox wrote, newest first."""
    directory = Path(outbox_dir(app.config["CPDFOLIO"]))
    found = []
    for path in sorted(directory.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        token = re.search(r"/review/(\S+)", message.get_content())
        assert token
        found.append((str(message["To"]), token.group(1)))
    return found


def link_to(app: Flask, to: str) -> str:
    """The token of the newest review link sent to `to`."""
    return next(token for address, token in links(app) if address == to)


def start(owner: Api) -> dict[str, Any]:
    response = owner.post("/me/analyses", json={"framework": STANDARD, "title": "Review 2026"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def put(owner: Api, path: str, body: object) -> requests.Response:
    return owner.request("PUT", path, json=body)


def review(live_server: LiveServer, token: str, ratings: object = None) -> requests.Response:
    if ratings is None:
        return requests.get(f"{live_server.url}/review/{token}", timeout=30)
    return requests.post(f"{live_server.url}/review/{token}", json=ratings, timeout=30)


def invite(owner: Api, analysis: str, reviewer: dict[str, str]) -> dict[str, Any]:
    response = owner.post(f"/me/analyses/{analysis}/reviewers", json=reviewer)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def stats(values: list[int]) -> dict[str, Any]:
    return {
        "count": len(values),
        "mean": round(sum(values) / len(values), 2),
        "min": min(values),
        "max": max(values),
    }


@pytest.fixture
def analysed(app: Flask, ann: Api, live_server: LiveServer, xapi: Xapi) -> str:
    """Ann's analysis, self-assessed and reviewed by Dewi (manager) and Siân (peer)."""
    # The e-learning's name comes from the LRS' canonical definition of it.
    statement = make_statement(actor="carys", activity=ELEARNING)
    statement["object"]["definition"]["name"] = {"en-GB": "Leading change (e-learning)"}
    assert xapi.post("/statements", json=statement).status_code == 200
    analysis = start(ann)["id"]
    assert put(ann, f"/me/analyses/{analysis}/self-ratings", {"ratings": SELF}).status_code == 200
    invite(ann, analysis, DEWI)
    invite(ann, analysis, SIAN)
    for to, ratings in (("dewi@example.org", DEWI_RATES), ("sian@example.org", SIAN_RATES)):
        submitted = review(live_server, link_to(app, to), {"ratings": ratings})
        assert submitted.status_code == 201, submitted.text
        assert submitted.json()["received"] == len(ratings)
    return analysis


# ------------------------------------------------------------------ the analysis


def test_an_analysis_is_started_against_the_latest_standard_with_its_scale(ann: Api) -> None:
    body = start(ann)
    assert body["framework"] == {
        "uri": STANDARD,
        "version": "1.0",
        "title": "The Standard for education and children's services managers in Wales",
    }
    assert (body["title"], body["status"], body["closed"]) == ("Review 2026", "open", None)
    # The three elements are headings: their 3 + 20 + 7 items are rated.
    assert (body["items"], body["self_rated"], body["reviews"]) == (
        30,
        0,
        {"invited": 0, "rated": 0},
    )
    assert [p["rating"] for p in body["scale"]] == [1, 2, 3, 4]
    assert body["scale"][3]["label"] == "Expert"
    detail = ("scale", "self_assessed", "self_ratings", "reviewers")
    listed = ann.get("/me/analyses").json()
    assert listed == [{k: v for k, v in body.items() if k not in detail}]


def test_self_ratings_replace_the_self_assessment_and_are_signed_by_the_owner(ann: Api) -> None:
    analysis = start(ann)["id"]
    first = put(ann, f"/me/analyses/{analysis}/self-ratings", {"ratings": SELF})
    assert first.status_code == 200, first.text
    # Kept in hierarchy order (PQ before PC), the comment where one was given.
    assert [(r["item"], r["rating"]) for r in first.json()["self_ratings"]] == [
        (KS1, 2),
        (KS2, 4),
        (KS3, 3),
        (PQ7, 1),
        (PC1, 1),
        (PC3, 4),
    ]
    assert first.json()["self_ratings"][0]["comment"] == "New to the role"
    # The same again signs nothing; a new one replaces it whole.
    assert put(ann, f"/me/analyses/{analysis}/self-ratings", {"ratings": SELF}).status_code == 200
    again = put(ann, f"/me/analyses/{analysis}/self-ratings", {"ratings": [SELF[1]]})
    assert [r["item"] for r in again.json()["self_ratings"]] == [KS2]
    entries = [e["entry"] for e in ann.get("/me/record").json()["entries"]]
    assessed = [e for e in entries if e["kind"] == "self-assessed"]
    assert [len(e["body"]["ratings"]) for e in assessed] == [6, 1]
    assert all(e["signer"]["role"] == "owner" for e in assessed)
    started = next(e for e in entries if e["kind"] == "analysis-started")
    assert started["body"] == {
        "id": analysis,
        "framework": STANDARD,
        "version": "1.0",
        "title": "Review 2026",
    }


@pytest.mark.parametrize(
    ("ratings", "path", "rule"),
    [
        ([{"item": KS1, "rating": 5}], "ratings[0].rating", "must be a whole number from 1 to 4"),
        ([{"item": KS1, "rating": 0}], "ratings[0].rating", "must be a whole number from 1 to 4"),
        (
            [{"item": KS1, "rating": True}],
            "ratings[0].rating",
            "must be a whole number from 1 to 4",
        ),
        ([{"item": KS1, "rating": 2.5}], "ratings[0].rating", "must be a whole number from 1 to 4"),
        (
            [{"item": KS1, "rating": 2}, {"item": f"{STANDARD}/items/KS.9", "rating": 2}],
            "ratings[1].item",
            "must be the uri of an item of the analysis's framework",
        ),
        (
            [{"item": f"{LRIP}/items/I.1", "rating": 2}],
            "ratings[0].item",
            "must be the uri of an item of the analysis's framework",
        ),
        (
            [{"item": item("KS"), "rating": 2}],
            "ratings[0].item",
            "must be an item without sub-items (headings are not rated)",
        ),
        (
            [{"item": KS1, "rating": 2}, {"item": KS1, "rating": 3}],
            "ratings[1].item",
            "must not repeat an item",
        ),
        ([{"item": KS1, "rating": 2, "extra": 1}], "ratings[0].extra", "is not a known field"),
        ([{"rating": 2}], "ratings[0].item", "is required"),
    ],
)
def test_bad_self_ratings_are_400_naming_the_path_and_rule_and_change_nothing(
    ann: Api, ratings: list[dict[str, Any]], path: str, rule: str
) -> None:
    analysis = start(ann)["id"]
    before = ann.get("/me/record/verification").json()["entries"]
    response = put(ann, f"/me/analyses/{analysis}/self-ratings", {"ratings": ratings})
    assert response.status_code == 400, response.text
    assert (response.json()["path"], response.json()["rule"]) == (path, rule)
    assert ann.get("/me/record/verification").json()["entries"] == before
    assert ann.get(f"/me/analyses/{analysis}").json()["self_ratings"] == []


def test_an_item_of_another_framework_is_named_as_such(ann: Api) -> None:
    analysis = start(ann)["id"]
    ratings = [{"item": f"{LRIP}/items/I.1", "rating": 2}]
    response = put(ann, f"/me/analyses/{analysis}/self-ratings", {"ratings": ratings})
    assert f"is an item of {LRIP}, not of {STANDARD}" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "path", "rule"),
    [
        (
            {"framework": "https://nowhere.example/framework"},
            "framework",
            "must be the uri of a framework stored here",
        ),
        (
            {"framework": STANDARD, "version": "9.9"},
            "version",
            "must be a stored version of the framework",
        ),
        ({}, "framework", "is required"),
        ({"framework": STANDARD, "owner": "bob"}, "owner", "is not a known field"),
    ],
)
def test_a_bad_analysis_is_400_naming_the_path_and_rule(
    ann: Api, body: dict[str, Any], path: str, rule: str
) -> None:
    response = ann.post("/me/analyses", json=body)
    assert response.status_code == 400, response.text
    assert (response.json()["path"], response.json()["rule"]) == (path, rule)
    assert ann.get("/me/analyses").json() == []


# ------------------------------------------------------------------ 360° review


def test_reviewers_rate_by_one_time_link_and_the_instance_signs_for_them(
    app: Flask, ann: Api, live_server: LiveServer, analysed: str
) -> None:
    view = ann.get(f"/me/analyses/{analysed}").json()
    assert view["reviews"] == {"invited": 2, "rated": 2}
    assert [(r["name"], r["email"], r["relationship"], r["status"]) for r in view["reviewers"]] == [
        ("Dewi Morgan", "dewi@example.org", "manager", "rated"),
        ("Siân Evans", "sian@example.org", "peer", "rated"),
    ]
    entries = [e["entry"] for e in ann.get("/me/record").json()["entries"]]
    invited = [e for e in entries if e["kind"] == "reviewer-invited"]
    assert [(e["signer"]["role"], e["body"]["email"]) for e in invited] == [
        ("owner", "mailto:dewi@example.org"),
        ("owner", "mailto:sian@example.org"),
    ]
    rated = [e for e in entries if e["kind"] == "reviewer-rated"]
    with app.app_context():
        instance = services().accounts.instance_key.public.id
    assert [e["signer"] for e in rated] == [
        {
            "role": "instance",
            "key": instance,
            "on_behalf_of": {
                "name": "Dewi Morgan",
                "identified_by": "one-time link sent to mailto:dewi@example.org",
            },
        },
        {
            "role": "instance",
            "key": instance,
            "on_behalf_of": {
                "name": "Siân Evans",
                "identified_by": "one-time link sent to mailto:sian@example.org",
            },
        },
    ]
    assert rated[0]["body"]["relationship"] == "manager"
    assert [r["item"] for r in rated[1]["body"]["ratings"]] == [KS1, KS2, KS3, PQ7, PC1, PC3]
    verified = ann.get("/me/record/verification")
    assert verified.status_code == 200, verified.text
    assert {
        k: verified.json()["kinds"][k]
        for k in ("analysis-started", "self-assessed", "reviewer-invited", "reviewer-rated")
    } == {"analysis-started": 1, "self-assessed": 1, "reviewer-invited": 2, "reviewer-rated": 2}
    # No link token is in the record.
    record = ann.get("/me/record").text
    assert len(links(app)) == 2
    assert not any(token in record for _, token in links(app))


def test_the_review_form_shows_whom_the_scale_and_the_items_but_not_the_self_ratings(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    analysis = start(ann)["id"]
    put(ann, f"/me/analyses/{analysis}/self-ratings", {"ratings": SELF})
    invite(ann, analysis, DEWI)
    form = review(live_server, link_to(app, "dewi@example.org"))
    assert form.status_code == 200, form.text
    body = form.json()
    assert (body["owner"], body["reviewer"], body["relationship"]) == (
        "Ann Jones",
        "Dewi Morgan",
        "manager",
    )
    assert body["framework"]["uri"] == STANDARD
    assert len(body["items"]) == 30
    assert body["items"][0] == {
        "item": KS1,
        "code": "KS.1",
        "statement": "The Professional Role of the Manager",
        "parent": item("KS"),
    }
    assert [p["rating"] for p in body["scale"]] == [1, 2, 3, 4]
    # Not the owner's own ratings, which would anchor the reviewer's.
    assert set(body) == {
        "owner",
        "reviewer",
        "relationship",
        "framework",
        "scale",
        "items",
        "expires",
    }


def test_a_link_works_once_and_a_second_submission_is_409(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    analysis = start(ann)["id"]
    invite(ann, analysis, DEWI)
    token = link_to(app, "dewi@example.org")
    assert review(live_server, token, {"ratings": [DEWI_RATES[0]]}).status_code == 201
    for again in (
        review(live_server, token, {"ratings": [DEWI_RATES[1]]}),
        review(live_server, token),
    ):
        assert again.status_code == 409
        assert again.json()["error"] == "conflict"
        assert "used already" in again.json()["message"]
    # Nothing of the second submission was kept; Dewi cannot be invited again.
    entries = [e["entry"] for e in ann.get("/me/record").json()["entries"]]
    assert [e["kind"] for e in entries].count("reviewer-rated") == 1
    again = ann.post(f"/me/analyses/{analysis}/reviewers", json=DEWI)
    assert again.status_code == 409


def test_of_two_submissions_racing_with_one_link_exactly_one_is_taken(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    analysis = start(ann)["id"]
    invite(ann, analysis, DEWI)
    token = link_to(app, "dewi@example.org")
    with ThreadPoolExecutor(max_workers=4) as pool:
        sent = [pool.submit(review, live_server, token, {"ratings": DEWI_RATES}) for _ in range(4)]
        statuses = sorted(future.result().status_code for future in sent)
    assert statuses == [201, 409, 409, 409]
    kinds = [e["entry"]["kind"] for e in ann.get("/me/record").json()["entries"]]
    assert kinds.count("reviewer-rated") == 1
    assert ann.get("/me/record/verification").status_code == 200


def test_a_link_expires_after_14_days(
    app: Flask, ann: Api, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysis = start(ann)["id"]
    invite(ann, analysis, DEWI)
    token = link_to(app, "dewi@example.org")
    later = now_us() + int(timedelta(days=14, seconds=1).total_seconds() * 1_000_000)
    monkeypatch.setattr(reviews, "now_us", lambda: later)
    for response in (review(live_server, token), review(live_server, token, {"ratings": SELF})):
        assert response.status_code == 409
        assert "expired" in response.json()["message"]
    assert ann.get(f"/me/analyses/{analysis}").json()["reviewers"][0]["status"] == "expired"
    # The owner invites again: a fresh link for another 14 days, and the old one is no more.
    invite(ann, analysis, DEWI)
    assert review(live_server, token).status_code == 404
    assert review(live_server, link_to(app, "dewi@example.org")).status_code == 200


def test_inviting_again_sends_a_fresh_link_and_retires_the_old_one(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    analysis = start(ann)["id"]
    first = invite(ann, analysis, DEWI)
    old = link_to(app, "dewi@example.org")
    second = invite(ann, analysis, {**DEWI, "name": "Dewi ap Morgan"})
    new = link_to(app, "dewi@example.org")
    assert old != new and first["id"] == second["id"]
    assert review(live_server, old).status_code == 404
    assert review(live_server, new).json()["reviewer"] == "Dewi ap Morgan"
    assert ann.get(f"/me/analyses/{analysis}").json()["reviews"] == {"invited": 1, "rated": 0}


@pytest.mark.parametrize("token", ["x" * 43, "not-a-token", "A" * 200, "%20"])
def test_a_wrong_link_is_404_with_the_json_error_body(live_server: LiveServer, token: str) -> None:
    for response in (review(live_server, token), review(live_server, token, {"ratings": []})):
        assert response.status_code == 404
        assert response.json()["error"] == "not found"


def test_a_reviewer_with_bad_ratings_gets_400_and_keeps_the_link(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    analysis = start(ann)["id"]
    invite(ann, analysis, DEWI)
    token = link_to(app, "dewi@example.org")
    for ratings, path in (
        ([{"item": KS1, "rating": 5}], "ratings[0].rating"),
        ([{"item": f"{LRIP}/items/I.1", "rating": 2}], "ratings[0].item"),
        ([], "ratings"),
    ):
        response = review(live_server, token, {"ratings": ratings})
        assert response.status_code == 400, response.text
        assert response.json()["path"] == path
    assert review(live_server, token, {"ratings": [DEWI_RATES[0]]}).status_code == 201


@pytest.mark.parametrize(
    ("body", "path", "rule"),
    [
        (
            {**DEWI, "relationship": "friend"},
            "relationship",
            "Must be one of: manager, peer, direct report, other.",
        ),
        ({**DEWI, "email": "not an address"}, "email", "Not a valid email address."),
        ({**DEWI, "email": "Ann@example.org"}, "email", "must be someone else's address"),
        ({"name": "Dewi"}, "email", "is required"),
    ],
)
def test_a_bad_invitation_is_400_and_sends_nothing(
    app: Flask, ann: Api, body: dict[str, Any], path: str, rule: str
) -> None:
    analysis = start(ann)["id"]
    response = ann.post(f"/me/analyses/{analysis}/reviewers", json=body)
    assert response.status_code == 400, response.text
    assert (response.json()["path"], response.json()["rule"]) == (path, rule)
    assert not list(Path(outbox_dir(app.config["CPDFOLIO"])).glob("*.eml"))


def test_a_closed_analysis_takes_no_more_ratings(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    analysis = start(ann)["id"]
    invite(ann, analysis, DEWI)
    token = link_to(app, "dewi@example.org")
    closed = ann.post(f"/me/analyses/{analysis}/close")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["closed"]
    assert put(ann, f"/me/analyses/{analysis}/self-ratings", {"ratings": SELF}).status_code == 409
    assert ann.post(f"/me/analyses/{analysis}/reviewers", json=SIAN).status_code == 409
    assert review(live_server, token).status_code == 409
    assert review(live_server, token, {"ratings": DEWI_RATES}).status_code == 409
    # Closing again changes nothing.
    assert ann.post(f"/me/analyses/{analysis}/close").status_code == 200
    kinds = [e["entry"]["kind"] for e in ann.get("/me/record").json()["entries"]]
    assert kinds.count("analysis-closed") == 1


# ------------------------------------------------------- comparison, needs, grid


def test_the_comparison_sets_self_against_others_per_item(ann: Api, analysed: str) -> None:
    response = ann.get(f"/me/analyses/{analysed}/comparison")
    assert response.status_code == 200, response.text
    items = {i["item"]: i for i in response.json()["items"]}
    assert len(items) == 30
    pc3 = items[PC3]
    assert pc3["self"] == {"item": PC3, "rating": 4}
    assert pc3["others"] == {
        **stats([2, 2]),
        "by_relationship": {"manager": stats([2]), "peer": stats([2])},
        "comments": [{"relationship": "peer", "comment": "Challenges well; could support more"}],
    }
    assert pc3["gap"] == 2.0
    assert pc3["need"] == {"reasons": [OTHERS_LOW, ABOVE], "skill_need": 3}
    # Self 2 against 3 and 2: a need because of the self rating alone.
    assert items[KS1]["self"]["comment"] == "New to the role"
    assert (items[KS1]["others"]["mean"], items[KS1]["gap"]) == (2.5, -0.5)
    assert items[KS1]["need"] == {"reasons": [SELF_LOW], "skill_need": 3}
    # Self 4 against 2 and 3: only the gap of 1.5 makes it a need.
    assert items[KS2]["need"] == {"reasons": [ABOVE], "skill_need": 2}
    # Self 3 against 3 and 4: a strength.
    assert (items[KS3]["gap"], items[KS3]["need"]) == (-0.5, None)
    # Self 1 against 4 and 4: the owner under-rates themselves.
    assert items[PQ7]["need"] == {"reasons": [SELF_LOW, BELOW], "skill_need": 4}
    assert items[PC1]["need"] == {"reasons": [SELF_LOW, OTHERS_LOW], "skill_need": 4}
    # Rated by the manager only.
    assert items[PC6]["self"] is None
    assert items[PC6]["others"]["by_relationship"] == {"manager": stats([1])}
    assert (items[PC6]["gap"], items[PC6]["need"]) == (
        None,
        {"reasons": [OTHERS_LOW], "skill_need": 4},
    )
    # Nobody rated PQ.1.
    assert items[item("PQ.1")]["others"] == {
        "count": 0,
        "mean": None,
        "min": None,
        "max": None,
        "by_relationship": {},
        "comments": [],
    }
    assert items[item("PQ.1")]["need"] is None


def test_the_needs_are_the_items_the_rule_picks_highest_skill_need_first(
    ann: Api, analysed: str
) -> None:
    response = ann.get(f"/me/analyses/{analysed}/needs")
    assert response.status_code == 200, response.text
    body = response.json()
    assert "2 or below" in body["rule"] and "1.5 or more" in body["rule"]
    assert [(n["code"], n["self"], n["skill_need"]) for n in body["needs"]] == [
        ("PQ.7", 1, 4),
        ("PC.1", 1, 4),
        ("PC.6", None, 4),
        ("KS.1", 2, 3),
        ("PC.3", 4, 3),
        ("KS.2", 4, 2),
    ]
    assert body["needs"][5]["others"]["mean"] == 2.5
    assert body["needs"][5]["reasons"] == [ABOVE]


def test_the_grid_places_each_rated_item_by_skill_need_against_provision(
    ann: Api, analysed: str
) -> None:
    response = ann.get(f"/me/analyses/{analysed}/grid")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [len(body["axes"][axis]["levels"]) for axis in ("skill_need", "provision")] == [4, 4]
    cells = {(c["skill_need"], c["provision"]): c for c in body["cells"]}
    assert len(cells) == 16
    # The red area: skill need 3-4 with provision 1-2.
    assert {k for k, c in cells.items() if c["red"]} == {(3, 1), (4, 1), (3, 2), (4, 2)}
    placed = {k: [i["code"] for i in c["items"]] for k, c in cells.items() if c["items"]}
    assert placed == {
        (4, 1): ["PQ.7", "PC.6"],  # no provision; PC.6's only activity is another council's
        (3, 2): ["KS.1", "PC.3"],  # one activity each (KS.1's course under two rules)
        (4, 3): ["PC.1"],  # e-learning and the summer school
        (2, 4): ["KS.2"],  # the course, the e-learning and the summer school
        (1, 1): ["KS.3"],  # not a need
    }
    ks1 = cells[(3, 2)]["items"][0]
    assert (ks1["need"], ks1["reasons"]) == (True, [SELF_LOW])
    assert ks1["provision"] == [
        {
            "activity": COURSE,
            "rules": ["strategic-leadership", "strategic-leadership-passed"],
            "name": "Leadership",
        }
    ]
    assert cells[(3, 2)]["items"][1]["provision"][0]["rules"] == ["mentoring"]
    assert [(p["activity"], p["name"]) for p in cells[(4, 3)]["items"][0]["provision"]] == [
        (ELEARNING, "Leading change (e-learning)"),
        (SUMMER, "Summer school"),
    ]
    assert cells[(1, 1)]["items"][0]["need"] is False
    assert body["priorities"] == [PQ7, PC6, KS1, PC3, PC1, KS2]
    assert len(body["unrated"]) == 30 - 7 and item("PQ.1") in body["unrated"]


# ---------------------------------------------------------------- other owners


def test_every_owner_route_needs_a_token(app: Flask, ann: Api, live_server: LiveServer) -> None:
    analysis = start(ann)["id"]
    anonymous = Api(live_server.url + "/api")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/me/analyses"):
            continue
        path = rule.rule.removeprefix("/api").replace("<analysis_id>", analysis)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = anonymous.request(method, path, json={"ratings": SELF})
            assert response.status_code == 401, (method, path)
    assert ann.get(f"/me/analyses/{analysis}").json()["self_rated"] == 0


def test_another_owner_gets_404_for_my_analysis_on_every_route(
    ann: Api, bob: Api, analysed: str
) -> None:
    """Issue 4: one owner cannot read another's portfolio through any endpoint; a 404
    that is the same as for an id nobody has, never a 403 that says it exists."""
    nobody = uuid.uuid4().hex
    routes = [
        ("GET", "", None),
        ("POST", "/close", None),
        ("PUT", "/self-ratings", {"ratings": SELF}),
        ("POST", "/reviewers", SIAN),
        ("GET", "/comparison", None),
        ("GET", "/needs", None),
        ("GET", "/grid", None),
    ]
    for method, suffix, body in routes:
        mine = bob.request(method, f"/me/analyses/{analysed}{suffix}", json=body)
        theirs = bob.request(method, f"/me/analyses/{nobody}{suffix}", json=body)
        assert mine.status_code == 404, (method, suffix, mine.text)
        assert mine.json() == {
            **theirs.json(),
            "message": theirs.json()["message"].replace(nobody, analysed),
        }
    assert bob.get("/me/analyses").json() == []
    # Nothing Bob did reached Ann's analysis.
    view = ann.get(f"/me/analyses/{analysed}").json()
    assert (view["status"], view["self_rated"], view["reviews"]["invited"]) == ("open", 6, 2)


# ------------------------------------------------------ a reviewer is someone else


def review_link_to(app: Flask, to: str) -> str:
    """The newest review link sent to `to`, among other messages (one-time codes)."""
    for path in sorted(Path(outbox_dir(app.config["CPDFOLIO"])).glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        token = re.search(r"/review/(\S+)", message.get_content())
        if str(message["To"]) == to and token:
            return token.group(1)
    raise AssertionError(f"no review link to {to}")


def test_a_mailbox_linked_to_my_portfolio_cannot_be_invited(app: Flask, ann: Api) -> None:
    link_mailbox(app, ann)
    analysis = start(ann)["id"]
    for address in (ANNS_OTHER_MAILBOX, "Ann.Jones@example.org"):
        response = ann.post(f"/me/analyses/{analysis}/reviewers", json={**DEWI, "email": address})
        assert response.status_code == 400, response.text
        assert (response.json()["path"], response.json()["rule"]) == (
            "email",
            "must be someone else's address",
        )
    assert ann.get(f"/me/analyses/{analysis}").json()["reviewers"] == []
    assert "reviewer-invited" not in [
        e["entry"]["kind"] for e in ann.get("/me/record").json()["entries"]
    ]


def test_a_mailbox_linked_after_the_invitation_cannot_rate(
    app: Flask, ann: Api, live_server: LiveServer
) -> None:
    analysis = start(ann)["id"]
    invite(ann, analysis, {**DEWI, "email": ANNS_OTHER_MAILBOX})
    token = review_link_to(app, ANNS_OTHER_MAILBOX)
    link_mailbox(app, ann)
    response = review(live_server, token, {"ratings": DEWI_RATES})
    assert response.status_code == 400, response.text
    assert (response.json()["path"], response.json()["rule"]) == (
        "email",
        "must be someone else's address",
    )
    kinds = [e["entry"]["kind"] for e in ann.get("/me/record").json()["entries"]]
    assert "reviewer-rated" not in kinds
    assert ann.get(f"/me/analyses/{analysis}").json()["reviews"] == {"invited": 1, "rated": 0}
