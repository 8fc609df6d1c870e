"""GET /xapi/agents (Communication 2.4): the `agent` parameter is an Agent."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Xapi


@pytest.mark.parametrize(
    "group",
    [
        {"objectType": "Group", "mbox": "mailto:team@example.org"},
        {"objectType": "Group", "mbox": "mailto:team@example.org", "member": []},
    ],
)
def test_a_group_as_agent_is_400_naming_the_object_type(xapi: Xapi, group: dict) -> None:  # type: ignore[type-arg]
    """Communication 2.4: "agent: Agent object (JSON)"; a Person describes no Group."""
    response = xapi.get("/agents", params={"agent": json.dumps(group)})
    assert response.status_code == 400, response.text
    assert response.json()["path"] == "agent.objectType"
    assert "not a Group" in response.json()["rule"]


@pytest.mark.parametrize(
    "agent",
    [
        {"mbox": "mailto:ann@example.org"},
        {"objectType": "Agent", "mbox": "mailto:ann@example.org"},
    ],
)
def test_an_agent_with_or_without_object_type_is_answered(xapi: Xapi, agent: dict) -> None:  # type: ignore[type-arg]
    response = xapi.get("/agents", params={"agent": json.dumps(agent)})
    assert response.status_code == 200, response.text
    assert response.json()["objectType"] == "Person"


def test_agents_with_the_agent_parameter_twice_is_400(xapi: Xapi) -> None:
    agent = json.dumps({"mbox": "mailto:ann@example.org"})
    response = xapi.get("/agents", params=[("agent", agent), ("agent", agent)])
    assert response.status_code == 400
    assert (response.json()["path"], response.json()["rule"]) == ("agent", "must be given once")
