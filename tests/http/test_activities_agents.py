"""The Activities and Agents resources, and canonical definitions (Communication 2.4, 2.5;
the `define` scope of 4.2; format=canonical of 2.1.3)."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import Xapi
from tests.support import agent, make_statement

COURSE = "https://lms.example.org/course/safeguarding"


def activity(xapi: Xapi, activity_id: str = COURSE) -> dict:  # type: ignore[type-arg]
    response = xapi.get("/activities", params={"activityId": activity_id})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_an_unknown_activity_is_still_an_activity_object(xapi: Xapi) -> None:
    """Communication 2.5.s2.b1."""
    assert activity(xapi, "https://lms.example.org/never") == {
        "objectType": "Activity",
        "id": "https://lms.example.org/never",
    }


def test_definitions_from_defining_clients_merge_into_the_canonical_one(xapi: Xapi) -> None:
    first = make_statement()
    first["object"]["definition"] = {"name": {"en-GB": "Safeguarding"}}
    second = make_statement()
    second["object"]["definition"] = {
        "name": {"cy": "Diogelu"},
        "description": {"en-GB": "Level 2"},
        "type": "http://adlnet.gov/expapi/activities/course",
    }
    xapi.post("/statements", json=[first, second])
    assert activity(xapi)["definition"] == {
        "name": {"en-GB": "Safeguarding", "cy": "Diogelu"},
        "description": {"en-GB": "Level 2"},
        "type": "http://adlnet.gov/expapi/activities/course",
    }


def test_context_activities_are_defined_too(xapi: Xapi) -> None:
    programme = "https://lms.example.org/programme/mdp"
    statement = make_statement(
        context={
            "contextActivities": {
                "parent": [{"id": programme, "definition": {"name": {"en": "MDP"}}}]
            }
        }
    )
    xapi.post("/statements", json=statement)
    assert activity(xapi, programme)["definition"] == {"name": {"en": "MDP"}}


def test_clients_without_define_do_not_change_canonical_definitions(xapi: Xapi, xapi_as) -> None:  # type: ignore[no-untyped-def]
    """Communication 4.2, define: without it the LRS SHOULD NOT update its canonical
    representation; the statement itself is stored as sent."""
    xapi.post("/statements", json=make_statement())  # `all` defines it
    before = activity(xapi)
    platform = xapi_as("statements/write", "statements/read")
    renamed = make_statement()
    renamed["object"]["definition"] = {"name": {"en-GB": "Renamed by someone else"}}
    assert platform.post("/statements", json=renamed).status_code == 200
    assert activity(xapi) == before
    definer = xapi_as("statements/write", "define")
    renamed["id"] = make_statement()["id"]
    assert definer.post("/statements", json=renamed).status_code == 200
    assert activity(xapi)["definition"]["name"]["en-GB"] == "Renamed by someone else"


def test_a_rejected_duplicate_changes_no_definition(xapi: Xapi) -> None:
    """Communication 2.1.1.s2.b2: a known id must not modify any other object."""
    statement = make_statement()
    xapi.post("/statements", json=statement)
    before = activity(xapi)
    changed = json.loads(json.dumps(statement))
    changed["object"]["definition"]["name"] = {"en-GB": "Changed"}
    assert xapi.post("/statements", json=changed).status_code == 200  # definitions do not count
    assert activity(xapi) == before


def test_format_canonical_uses_the_canonical_definition(xapi: Xapi) -> None:
    first = make_statement()
    first["object"]["definition"] = {"name": {"en-GB": "Old title"}}
    second = make_statement()
    second["object"]["definition"] = {"name": {"en-GB": "New title", "cy": "Teitl newydd"}}
    xapi.post("/statements", json=[first, second])
    got = xapi.get(
        "/statements",
        params={"statementId": first["id"], "format": "canonical"},
        headers={"Accept-Language": "cy"},
    ).json()
    assert got["object"]["definition"]["name"] == {"cy": "Teitl newydd"}
    exact = xapi.get("/statements", params={"statementId": first["id"]}).json()
    assert exact["object"]["definition"]["name"] == {"en-GB": "Old title"}


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({}, "activityId"),
        ({"activityId": "not an iri"}, "activityId"),
        ({"activityid": COURSE}, "activityid"),
    ],
)
def test_bad_activities_parameters_are_400(xapi: Xapi, params: dict[str, str], path: str) -> None:
    response = xapi.get("/activities", params=params)
    assert response.status_code == 400
    assert response.json()["path"] == path


def test_agents_returns_a_person_with_every_identifier_and_name_known(xapi: Xapi) -> None:
    """Communication 2.4: a Person object; mbox_sha1sum is the SHA-1 of the mailto IRI."""
    xapi.post("/statements", json=make_statement(actor="ann"))
    renamed = make_statement()
    renamed["actor"] = {**agent("ann"), "name": "Ann Jones"}
    xapi.post("/statements", json=renamed)
    response = xapi.get("/agents", params={"agent": json.dumps({"mbox": "mailto:ann@example.org"})})
    assert response.status_code == 200
    assert response.json() == {
        "objectType": "Person",
        "name": ["Ann Jones", "Ann"],
        "mbox": ["mailto:ann@example.org"],
        "mbox_sha1sum": [hashlib.sha1(b"mailto:ann@example.org").hexdigest()],
    }


def test_agents_for_an_agent_the_lrs_has_never_seen_is_still_a_person(xapi: Xapi) -> None:
    """Communication 2.4.s3.b3."""
    account = {"homePage": "https://lms.example.org", "name": "u123"}
    got = xapi.get("/agents", params={"agent": json.dumps({"account": account})}).json()
    assert got == {"objectType": "Person", "account": [account]}


def test_agents_needs_a_statement_read_scope_and_read_mine_sees_only_its_own(
    xapi: Xapi, xapi_as
) -> None:  # type: ignore[no-untyped-def]
    xapi.post("/statements", json=make_statement(actor="ann"))
    who = {"agent": json.dumps({"mbox": "mailto:ann@example.org"})}
    assert xapi_as("statements/write").get("/agents", params=who).status_code == 403
    mine = xapi_as("statements/write", "statements/read/mine")
    assert "name" not in mine.get("/agents", params=who).json()


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({}, "agent"),
        ({"agent": "{}"}, "agent"),
        ({"agent": json.dumps({"mbox": "ann@x"})}, "agent.mbox"),
    ],
)
def test_bad_agents_parameters_are_400(xapi: Xapi, params: dict[str, str], path: str) -> None:
    response = xapi.get("/agents", params=params)
    assert response.status_code == 400
    assert response.json()["path"] == path


def test_both_resources_need_credentials(live_server) -> None:  # type: ignore[no-untyped-def]
    anonymous = Xapi(live_server.url + "/xapi", None)
    assert anonymous.get("/activities", params={"activityId": COURSE}).status_code == 401
    assert anonymous.get("/agents", params={"agent": "{}"}).status_code == 401
