"""xAPI 2.0.0 beside 1.0.3, chosen per request by X-Experience-API-Version
(../shared/XAPI-2.0-NOTES.md)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import LiveServer, Xapi
from tests.support import agent, make_statement

V2 = {"X-Experience-API-Version": "2.0.0"}
CONTEXT_AGENTS = [
    {
        "objectType": "contextAgent",
        "agent": agent("mentor"),
        "relevantTypes": ["https://w3id.org/xapi/cpdfolio/roles/mentor"],
    }
]
CONTEXT_GROUPS = [
    {
        "objectType": "contextGroup",
        "group": {"objectType": "Group", "mbox": "mailto:set4@example.org"},
    }
]


def v2_statement(**extra: object) -> dict:  # type: ignore[type-arg]
    return make_statement(
        context={"contextAgents": CONTEXT_AGENTS, "contextGroups": CONTEXT_GROUPS}, **extra
    )


def test_responses_name_the_version_served(xapi: Xapi) -> None:
    """Notes item 2: any 2.0.x is served as 2.0.0."""
    for asked, served in (("2.0.0", "2.0.0"), ("2.0.7", "2.0.0"), ("1.0.1", "1.0.3")):
        response = xapi.get("/statements", headers={"X-Experience-API-Version": asked})
        assert response.status_code == 200
        assert response.headers["X-Experience-API-Version"] == served


def test_context_agents_and_groups_are_accepted_and_returned_under_2_0(xapi: Xapi) -> None:
    """Notes item 1."""
    statement = v2_statement()
    assert xapi.post("/statements", json=statement, headers=V2).status_code == 200
    got = xapi.get("/statements", params={"statementId": statement["id"]}, headers=V2).json()
    assert got["context"]["contextAgents"] == CONTEXT_AGENTS
    assert got["context"]["contextGroups"] == CONTEXT_GROUPS
    assert got["version"] == "2.0.0"


def test_a_1_0_3_reader_never_receives_what_1_0_3_does_not_define(xapi: Xapi) -> None:
    """Notes item 2: a 1.0.3 reader must not receive properties 1.0.3 does not define."""
    statement = v2_statement()
    xapi.post("/statements", json=statement, headers=V2)
    for fmt in ("exact", "ids", "canonical"):
        got = xapi.get("/statements", params={"statementId": statement["id"], "format": fmt}).json()
        assert "contextAgents" not in got["context"]
        assert "contextGroups" not in got["context"]
    listed = xapi.get("/statements").json()["statements"][0]
    assert "contextAgents" not in listed["context"]


def test_context_agents_are_an_unknown_property_under_1_0_3(xapi: Xapi) -> None:
    response = xapi.post("/statements", json=v2_statement())
    assert response.status_code == 400
    assert response.json()["path"] == "context.contextAgents"


def test_related_agents_include_context_agents(xapi: Xapi) -> None:
    statement = v2_statement()
    xapi.post("/statements", json=statement, headers=V2)
    mentor = json.dumps({"mbox": "mailto:mentor@example.org"})
    found = xapi.get("/statements", params={"agent": mentor, "related_agents": "true"}, headers=V2)
    assert [s["id"] for s in found.json()["statements"]] == [statement["id"]]


def test_timestamps_with_offsets_are_converted_to_utc(xapi: Xapi) -> None:
    """Notes item 3."""
    statement = make_statement(timestamp="2026-06-01T09:30:00.25-04:00")
    xapi.post("/statements", json=statement, headers=V2)
    got = xapi.get("/statements", params={"statementId": statement["id"]}, headers=V2).json()
    assert got["timestamp"] == "2026-06-01T13:30:00.25Z"


def test_2_0_timestamps_must_follow_rfc_3339(xapi: Xapi) -> None:
    """Notes item 3: RFC 3339 needs seconds and an offset; 1.0.3 (ISO 8601) does not."""
    loose = make_statement(timestamp="2026-06-01T09:30")
    assert xapi.post("/statements", json=loose, headers=V2).status_code == 400
    assert (
        xapi.post("/statements", json=make_statement(timestamp="2026-06-01T09:30")).status_code
        == 200
    )


def test_statements_stored_under_1_0_3_are_served_to_2_0_readers(xapi: Xapi) -> None:
    statement = make_statement(timestamp="2026-06-01T09:30:00")
    xapi.post("/statements", json=statement)
    got = xapi.get("/statements", params={"statementId": statement["id"]}, headers=V2).json()
    assert got["version"] == "1.0.0"
    assert got["timestamp"] == "2026-06-01T09:30:00Z"


def test_last_modified_is_sent_on_statement_responses(xapi: Xapi) -> None:
    """Notes item 5."""
    statement = make_statement()
    xapi.post("/statements", json=statement, headers=V2)
    single = xapi.get("/statements", params={"statementId": statement["id"]}, headers=V2)
    listed = xapi.get("/statements", headers=V2)
    assert single.headers["Last-Modified"] and listed.headers["Last-Modified"]


def test_the_alternate_request_syntax_is_refused_under_2_0(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    """Notes item 4."""
    from base64 import b64encode

    token = "Basic " + b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    response = requests.post(
        live_server.url + "/xapi/statements",
        params={"method": "GET"},
        data={"Authorization": token, "X-Experience-API-Version": "2.0.0"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["path"] == "method"


@pytest.mark.parametrize("where", ["top", "actor", "result"])
def test_extra_properties_are_rejected_under_2_0(xapi: Xapi, where: str) -> None:
    """Notes item 7."""
    statement = make_statement()
    target = statement if where == "top" else statement.setdefault(where, {"success": True})
    target["madeUp"] = 1
    assert xapi.post("/statements", json=statement, headers=V2).status_code == 400


def test_about_lists_both_versions(live_server: LiveServer) -> None:
    about = requests.get(live_server.url + "/xapi/about", timeout=10).json()
    assert about["version"] == ["1.0.3", "2.0.0"]
