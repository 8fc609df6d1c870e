"""Goals, evidence mapped to the Standard, reflections and coverage over HTTP (issue 4,
items 4, 5 and 6)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from flask import Flask

from portfolio.errors import InvalidInput
from portfolio.evidence.rules import parse_rule, save_rule
from portfolio.standards.catalogue import import_package, shipped_packages
from portfolio.storage.base import Store
from tests.conftest import LiveServer, Xapi
from tests.http.test_people_and_record import Api, create_person, login
from tests.support import VOIDED, make_statement, voiding

STANDARD = "https://cpdfolio.org/frameworks/vsc-cymru-standard"
KS1 = f"{STANDARD}/items/KS.1"
KS2 = f"{STANDARD}/items/KS.2"
PC1 = f"{STANDARD}/items/PC.1"
COURSE = "https://learning.example.gov.uk/course/strategic-leadership"
MENTORING = "https://learning.example.gov.uk/activities/mentoring-session"


@pytest.fixture
def store(app: Flask) -> Store:
    store: Store = app.extensions["cpdfolio.store"]
    from portfolio.standards.catalogue import install_shipped

    install_shipped(store.frameworks)
    save_rule(
        store,
        parse_rule(
            {
                "id": "strategic-leadership",
                "framework": STANDARD,
                "match": {"activity": COURSE, "verb": "http://adlnet.gov/expapi/verbs/completed"},
                "items": [KS1, KS2],
                "hours": 6,
            }
        ),
    )
    save_rule(
        store,
        parse_rule(
            {
                "id": "mentoring",
                "framework": STANDARD,
                "council": "example.org",
                "match": {"activity_type": "http://id.tincanapi.com/activitytype/meeting"},
                "items": [PC1],
            }
        ),
    )
    return store


@pytest.fixture
def owner(app: Flask, live_server: LiveServer, store: Store) -> Api:
    create_person(app)
    return login(live_server)


def completed_course(**extra: Any) -> dict[str, Any]:
    return make_statement(actor="ann", activity=COURSE, **extra)


def mentoring(duration: str = "PT1H30M") -> dict[str, Any]:
    statement = make_statement(actor="ann", activity=MENTORING, result={"duration": duration})
    statement["object"]["definition"]["type"] = "http://id.tincanapi.com/activitytype/meeting"
    return statement


def coverage(owner: Api) -> dict[str, dict[str, Any]]:
    response = owner.get("/me/dashboard", params={"framework": STANDARD})
    assert response.status_code == 200, response.text
    return {item["item"]: item for item in response.json()["items"]}


def test_mapping_rules_attach_evidence_and_coverage_follows(owner: Api, xapi: Xapi) -> None:
    assert xapi.post("/statements", json=[completed_course(), mentoring()]).status_code == 200
    items = coverage(owner)
    assert (items[KS1]["count"], items[KS1]["hours"]) == (1, 6.0)
    assert (items[KS2]["count"], items[KS2]["hours"]) == (1, 6.0)
    # No hours in the rule: the statement's result.duration (PT1H30M) counts.
    assert (items[PC1]["count"], items[PC1]["hours"]) == (1, 1.5)
    assert items[f"{STANDARD}/items/PQ.1"]["count"] == 0
    dashboard = owner.get("/me/dashboard", params={"framework": STANDARD}).json()
    assert dashboard["totals"]["evidence"] == 2
    assert dashboard["totals"]["items_with_evidence"] == 3
    # The witness entry records the mapping, signed by the instance.
    entries = owner.get("/me/record").json()["entries"]
    witnessed = [e["entry"] for e in entries if e["entry"]["kind"] == "statement-witnessed"]
    assert witnessed[0]["body"]["evidence"] == [
        {"item": KS1, "rules": ["strategic-leadership"], "hours": 6.0},
        {"item": KS2, "rules": ["strategic-leadership"], "hours": 6.0},
    ]


def test_a_statement_the_rules_do_not_match_is_evidence_for_no_item(owner: Api, xapi: Xapi) -> None:
    other = make_statement(actor="ann", activity="https://elsewhere.example/course/1")
    xapi.post("/statements", json=other)
    assert all(item["count"] == 0 for item in coverage(owner).values())
    evidence = owner.get(f"/me/evidence/{other['id']}").json()
    assert evidence["items"] == {}


def test_an_items_coverage_changes_when_a_statement_is_voided(owner: Api, xapi: Xapi) -> None:
    """Issue 4 acceptance; Data 2.3.2: voided statements no longer count."""
    first, second = completed_course(), completed_course()
    xapi.post("/statements", json=[first, second])
    assert coverage(owner)[KS1]["count"] == 2
    voiding = {
        "actor": {"mbox": "mailto:lms-admin@example.org"},
        "verb": {"id": VOIDED, "display": {"en": "voided"}},
        "object": {"objectType": "StatementRef", "id": second["id"]},
    }
    assert xapi.post("/statements", json=voiding).status_code == 200
    items = coverage(owner)
    assert (items[KS1]["count"], items[KS1]["hours"]) == (1, 6.0)
    assert owner.get(f"/me/evidence/{second['id']}").json()["voided"] is True
    kinds = [e["entry"]["kind"] for e in owner.get("/me/record").json()["entries"]]
    assert kinds[-1] == "statement-voided"
    assert owner.get("/me/record/verification").status_code == 200


def test_the_owner_links_and_unlinks_evidence_by_hand_with_a_rationale(
    owner: Api, xapi: Xapi
) -> None:
    statement = completed_course()
    xapi.post("/statements", json=statement)
    linked = owner.post(
        f"/me/evidence/{statement['id']}/links",
        json={"item": PC1, "rationale": "I led the partnership work in the course project"},
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["items"][PC1]["source"] == "owner"
    again = owner.post(
        f"/me/evidence/{statement['id']}/links", json={"item": PC1, "rationale": "x"}
    )
    assert again.status_code == 409
    unlinked = owner.post(
        f"/me/evidence/{statement['id']}/unlinks",
        json={"item": KS2, "rationale": "the course did not cover leadership principles"},
    )
    assert unlinked.status_code == 201
    assert unlinked.json()["unlinked"] == {KS2: "the course did not cover leadership principles"}
    items = coverage(owner)
    assert (items[KS1]["count"], items[KS2]["count"], items[PC1]["count"]) == (1, 0, 1)
    kinds = [e["entry"] for e in owner.get("/me/record").json()["entries"]][-2:]
    assert [(k["kind"], k["signer"]["role"]) for k in kinds] == [
        ("evidence-linked", "owner"),
        ("evidence-unlinked", "owner"),
    ]
    listed = owner.get("/me/evidence", params={"item": PC1}).json()
    assert [e["statement"] for e in listed] == [statement["id"]]


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        ({"item": f"{STANDARD}/items/NOPE", "rationale": "x"}, 400, "item"),
        ({"item": PC1}, 400, "rationale"),
        ({"item": PC1, "rationale": "x", "weight": 2}, 400, "weight"),
    ],
)
def test_bad_links_are_refused(
    owner: Api, xapi: Xapi, body: dict[str, Any], status: int, path: str
) -> None:
    statement = completed_course()
    xapi.post("/statements", json=statement)
    response = owner.post(f"/me/evidence/{statement['id']}/links", json=body)
    assert response.status_code == status
    assert response.json()["path"] == path


def test_a_statement_that_is_not_my_evidence_is_404(owner: Api, xapi: Xapi) -> None:
    someone_elses = make_statement(actor="bob", activity=COURSE)
    xapi.post("/statements", json=someone_elses)
    for response in (
        owner.get(f"/me/evidence/{someone_elses['id']}"),
        owner.post(
            f"/me/evidence/{someone_elses['id']}/links", json={"item": PC1, "rationale": "x"}
        ),
    ):
        assert response.status_code == 404
    assert owner.get("/me/evidence/not-a-uuid").status_code == 400


def test_goals_progress_comes_from_evidence_since_the_goal_was_set(owner: Api, xapi: Xapi) -> None:
    xapi.post("/statements", json=completed_course())  # before the goal: does not count
    created = owner.post(
        "/me/goals",
        json={
            "title": "Lead the service through its restructure",
            "items": [KS1, PC1],
            "target_date": "2027-06-30",
            "actions": [
                {"type": "course", "description": "Becoming a Strategic Leader module"},
                {"type": "mentoring", "description": "Monthly sessions with a director"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    goal = created.json()
    assert goal["summary"] == {"items": 2, "items_with_evidence": 0, "evidence": 0, "hours": 0.0}
    xapi.post("/statements", json=[completed_course(), mentoring("PT2H")])
    goal = owner.get(f"/me/goals/{goal['id']}").json()
    assert goal["summary"] == {"items": 2, "items_with_evidence": 2, "evidence": 2, "hours": 8.0}
    changed = owner.request("PATCH", f"/me/goals/{goal['id']}", json={"status": "achieved"})
    assert changed.status_code == 200
    assert changed.json()["status"] == "achieved"
    # Progress is never typed in.
    typed = owner.request("PATCH", f"/me/goals/{goal['id']}", json={"progress": {}})
    assert typed.status_code == 400
    assert typed.json()["path"] == "progress"
    assert [
        g["id"] for g in owner.get("/me/dashboard", params={"framework": STANDARD}).json()["goals"]
    ] == [goal["id"]]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"items": [KS1]}, "title"),
        ({"title": "x", "items": []}, "items"),
        ({"title": "x", "items": [f"{STANDARD}/items/ZZ"]}, "items[0]"),
        ({"title": "x", "items": [KS1], "target_date": "next June"}, "target_date"),
        (
            {"title": "x", "items": [KS1], "actions": [{"type": "golf", "description": "x"}]},
            "actions[0].type",
        ),
    ],
)
def test_bad_goals_are_400_naming_the_field(owner: Api, body: dict[str, Any], path: str) -> None:
    response = owner.post("/me/goals", json=body)
    assert response.status_code == 400
    assert response.json()["path"] == path
    assert owner.get("/me/goals").json() == []


def test_reflections_on_evidence_and_goals_count_in_coverage(owner: Api, xapi: Xapi) -> None:
    statement = completed_course()
    xapi.post("/statements", json=statement)
    reflection = {
        "about": {"statement": statement["id"]},
        "what_happened": "Two days on strategy with other heads of service.",
        "what_i_learnt": "To start from outcomes for children, not from structures.",
        "how_it_changes_my_practice": "Our service plan now opens with outcomes.",
    }
    response = owner.post("/me/reflections", json=reflection)
    assert response.status_code == 201, response.text
    goal = owner.post("/me/goals", json={"title": "Partnerships", "items": [PC1]}).json()
    on_goal = {**reflection, "about": {"goal": goal["id"]}}
    assert owner.post("/me/reflections", json=on_goal).status_code == 201
    items = coverage(owner)
    assert (items[KS1]["reflections"], items[KS2]["reflections"], items[PC1]["reflections"]) == (
        1,
        1,
        1,
    )
    assert len(owner.get("/me/reflections").json()) == 2
    both = {**reflection, "about": {"statement": statement["id"], "goal": goal["id"]}}
    assert owner.post("/me/reflections", json=both).json()["path"] == "about._schema"
    missing = {**reflection, "about": {"goal": "nope"}}
    assert owner.post("/me/reflections", json=missing).status_code == 404


def test_one_owner_cannot_reach_anothers_portfolio_through_any_route(
    app: Flask, owner: Api, live_server: LiveServer, xapi: Xapi
) -> None:
    """Issue 4 acceptance: a test walks every route."""
    statement = completed_course()
    xapi.post("/statements", json=statement)
    goal = owner.post("/me/goals", json={"title": "Mine", "items": [KS1]}).json()
    create_person(app, "bob@example.org", "Bob Evans")
    bob = login(live_server, "bob@example.org")
    values = {"goal_id": goal["id"], "statement_id": statement["id"], "token_id": "x"}
    seen: list[str] = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/me"):
            continue
        path = re.sub(r"<([^>]+)>", lambda m: values.get(m.group(1), "x"), rule.rule)
        path = path.removeprefix("/api")
        params = {"framework": STANDARD} if path.endswith("/dashboard") else {}
        if path == "/me/evidence":
            params = {"item": KS1}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            body = {"item": KS1, "rationale": "x", "title": "x", "items": [KS1]}
            response = bob.request(
                method, path, params=params, json=body if method in ("POST", "PATCH") else None
            )
            seen.append(f"{method} {path}")
            text = response.text
            if "<" in rule.rule:  # names Ann's goal or statement: not found for Bob
                assert response.status_code in (400, 404), (method, path, text)
            else:
                assert goal["id"] not in text and statement["id"] not in text, (method, path)
            for secret in ("Mine", "Ann Jones", "ann@example.org"):
                assert secret not in text, (method, path, secret)
    assert len(seen) >= 15
    # And Ann's portfolio is as it was.
    assert owner.get(f"/me/goals/{goal['id']}").json()["title"] == "Mine"
    assert owner.get(f"/me/evidence/{statement['id']}").json()["items"][KS1]["source"] == "rule"


def test_frameworks_can_be_read_by_owners(owner: Api, live_server: LiveServer) -> None:
    listed = owner.get("/frameworks").json()
    assert STANDARD in {f["uri"] for f in listed}
    items = owner.get("/frameworks/items", params={"framework": STANDARD}).json()["items"]
    assert items[0]["code"] == "KS" and items[0]["depth"] == 0
    assert (
        owner.get("/frameworks/items", params={"framework": "https://x.example"}).status_code == 404
    )
    assert requests.get(live_server.url + "/api/frameworks", timeout=10).status_code == 401


# ------------------------------------------------ naming items of the current version


def publish_standard_without(store: Store, item: str, version: str = "2026.1") -> None:
    """Publish a new version of the Standard that no longer has `item` (retired)."""
    package = json.loads(dict(shipped_packages())["vsc-cymru-standard.json"])
    package["CFDocument"]["version"] = version
    package["CFItems"] = [i for i in package["CFItems"] if i["uri"] != item]
    package["CFAssociations"] = [
        a for a in package["CFAssociations"] if a["originNodeURI"]["uri"] != item
    ]
    import_package(store.frameworks, json.dumps(package).encode())


CURRENT_RULE = "must be an item of the framework's current version (2026.1), not a heading"


def test_links_goals_and_rules_name_only_items_of_the_current_version(
    owner: Api, xapi: Xapi, store: Store
) -> None:
    before = completed_course()  # mapped to KS.1 and KS.2 while KS.1 was an item
    xapi.post("/statements", json=before)
    kept = owner.post("/me/goals", json={"title": "Know the service", "items": [KS1]}).json()
    publish_standard_without(store, KS1)
    other = make_statement(actor="ann", activity="https://elsewhere.example/course/2")
    xapi.post("/statements", json=other)
    heading = f"{STANDARD}/items/KS"
    for item in (KS1, heading):
        linked = owner.post(
            f"/me/evidence/{other['id']}/links", json={"item": item, "rationale": "r"}
        )
        assert linked.status_code == 400, linked.text
        assert (linked.json()["path"], linked.json()["rule"]) == ("item", CURRENT_RULE)
        goal = owner.post("/me/goals", json={"title": "t", "items": [PC1, item]})
        assert goal.status_code == 400, goal.text
        assert (goal.json()["path"], goal.json()["rule"]) == ("items[1]", CURRENT_RULE)
        rule = {"id": "r", "framework": STANDARD, "match": {"activity": COURSE}, "items": [item]}
        with pytest.raises(InvalidInput) as refused:
            save_rule(store, parse_rule(rule))
        assert (refused.value.path, refused.value.rule) == ("items[0]", CURRENT_RULE)
    assert owner.get(f"/me/evidence/{other['id']}").json()["items"] == {}
    assert [g["id"] for g in owner.get("/me/goals").json()] == [kept["id"]]
    # A current item is still linked as before, and what was held on KS.1 stays.
    assert (
        owner.post(
            f"/me/evidence/{other['id']}/links", json={"item": PC1, "rationale": "r"}
        ).status_code
        == 201
    )
    assert set(owner.get(f"/me/evidence/{before['id']}").json()["items"]) == {KS1, KS2}
    assert owner.get(f"/me/goals/{kept['id']}").json()["items"] == [KS1]
    # And the owner may still unlink it from the retired item.
    unlinked = owner.post(
        f"/me/evidence/{before['id']}/unlinks", json={"item": KS1, "rationale": "retired"}
    )
    assert unlinked.status_code == 201, unlinked.text


# ------------------------------------------------------------- the evidence total


def totals(owner: Api) -> dict[str, Any]:
    dashboard = owner.get("/me/dashboard", params={"framework": STANDARD}).json()
    found: dict[str, Any] = dashboard["totals"]
    return found


def test_a_voided_statement_leaves_the_evidence_total(owner: Api, xapi: Xapi) -> None:
    first, second = completed_course(), completed_course()
    xapi.post("/statements", json=[first, second])
    assert totals(owner)["evidence"] == 2
    assert xapi.post("/statements", json=voiding(second["id"], actor="admin")).status_code == 200
    assert totals(owner)["evidence"] == 1
    assert coverage(owner)[KS1]["count"] == 1


def test_a_statement_voided_before_it_arrives_is_not_counted(owner: Api, xapi: Xapi) -> None:
    statement = completed_course()
    assert xapi.post("/statements", json=voiding(statement["id"], actor="admin")).status_code == 200
    assert xapi.post("/statements", json=statement).status_code == 200
    assert owner.get(f"/me/evidence/{statement['id']}").json()["voided"] is True
    assert totals(owner)["evidence"] == 0
    assert coverage(owner)[KS1]["count"] == 0
