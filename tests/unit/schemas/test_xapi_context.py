"""Context (xAPI-Data.md 2.4.6) and the xAPI 2.0.0 context agents and groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.errors import SchemaViolation
from schemas.xapi import validate_statement

Violation = Callable[..., SchemaViolation]

AGENT = {"mbox": "mailto:tutor@example.org"}
GROUP = {"objectType": "Group", "member": [{"mbox": "mailto:peer@example.org"}]}
CONTEXT_AGENT = {
    "objectType": "contextAgent",
    "agent": AGENT,
    "relevantTypes": ["https://cpd.example.org/roles/tutor"],
}
CONTEXT_GROUP = {"objectType": "contextGroup", "group": GROUP}


def test_a_full_1_0_3_context_is_valid(statement: dict[str, Any]) -> None:
    """Data 2.4.6.s3: every property, with single and array contextActivities values."""
    statement["context"] = {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "instructor": {"objectType": "Group", "mbox": "mailto:tutors@example.org"},
        "team": {"objectType": "Group", "name": "Team PB", "mbox": "mailto:teampb@example.com"},
        "contextActivities": {
            "parent": {"id": "http://example.adlnet.gov/xapi/example/test1"},
            "grouping": [{"id": "http://example.adlnet.gov/xapi/example/Algebra1"}],
            "category": [],
            "other": [{"objectType": "Activity", "id": "http://example.com/a"}],
        },
        "revision": "1.2",
        "platform": "Example virtual meeting software",
        "language": "tlh",
        "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
        "extensions": {"http://example.com/altitude": 1200},
    }
    validate_statement(statement)


@pytest.mark.parametrize(
    ("context", "path", "rule"),
    [
        ({"registration": 1}, "context.registration", "must be a string"),
        ({"registration": "x"}, "context.registration", "UUID"),
        ({"instructor": {"name": "No IFI"}}, "context.instructor", "exactly one"),
        ({"team": AGENT}, "context.team.objectType", "is required"),
        ({"team": {**AGENT, "objectType": "Agent"}}, "context.team.objectType", "'Group'"),
        ({"contextActivities": []}, "context.contextActivities", "must be an object"),
        (
            {"contextActivities": {"Parent": []}},
            "context.contextActivities.Parent",
            "is not allowed (unknown property)",
        ),
        (
            {"contextActivities": {"other": [{"id": "http://e.org/1"}, "http://e.org/2"]}},
            "context.contextActivities.other[1]",
            "must be an object",
        ),
        (
            {"contextActivities": {"category": [{"id": "x"}]}},
            "context.contextActivities.category[0].id",
            "must be an absolute IRI",
        ),
        ({"revision": 2}, "context.revision", "must be a string"),
        ({"platform": None}, "context.platform", "must not be null"),
        ({"language": "en_GB"}, "context.language", "language tag"),
        (
            {"statement": {"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}},
            "context.statement.objectType",
            "is required",
        ),
        ({"extensions": {"altitude": 1}}, "context.extensions", "not an absolute IRI"),
        ({"contextAgents": [CONTEXT_AGENT]}, "context.contextAgents", "unknown property"),
        ({"contextGroups": [CONTEXT_GROUP]}, "context.contextGroups", "unknown property"),
    ],
)
def test_malformed_1_0_3_contexts_are_rejected_at_their_path(
    statement: dict[str, Any],
    violation: Violation,
    context: dict[str, Any],
    path: str,
    rule: str,
) -> None:
    """Data 2.4.6 and 2.4.6.2.s4; contextAgents and contextGroups do not exist in 1.0.3."""
    statement["context"] = context
    error = violation(statement)
    assert error.path == path
    assert rule in error.rule


@pytest.mark.parametrize("key", ["revision", "platform"])
@pytest.mark.parametrize(
    "statement_object",
    [
        {"objectType": "Agent", "mbox": "mailto:a@example.org"},
        {"objectType": "Group", "member": [{"mbox": "mailto:a@example.org"}]},
        {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"},
        {
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:a@example.org"},
            "verb": {"id": "http://example.com/visited"},
            "object": {"id": "http://example.com/website"},
        },
    ],
)
def test_revision_and_platform_need_an_activity_object(
    statement: dict[str, Any], violation: Violation, key: str, statement_object: dict[str, Any]
) -> None:
    """Data 2.4.6.s4.b1-b2: only used if the Statement's Object is an Activity."""
    statement["object"] = statement_object
    statement["context"] = {key: "x"}
    error = violation(statement)
    assert (error.path, error.rule) == (
        f"context.{key}",
        "is only allowed when the statement's object is an Activity",
    )


def test_revision_and_platform_inside_a_substatement_follow_its_own_object(
    statement: dict[str, Any], violation: Violation
) -> None:
    """Data 2.4.4.3.s8.b2: a SubStatement is validated as a Statement."""
    statement["object"] = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:a@example.org"},
        "verb": {"id": "http://example.com/visited"},
        "object": {"id": "http://example.com/website"},
        "context": {"platform": "web", "revision": "3"},
    }
    validate_statement(statement)
    statement["object"]["object"] = {"objectType": "Agent", "mbox": "mailto:b@example.org"}
    error = violation(statement)
    assert error.path == "object.context.revision"


def test_context_agents_and_groups_are_valid_in_2_0_0(statement: dict[str, Any]) -> None:
    statement["context"] = {
        "contextAgents": [CONTEXT_AGENT, {"objectType": "contextAgent", "agent": AGENT}],
        "contextGroups": [CONTEXT_GROUP],
    }
    statement["timestamp"] = "2024-05-18T06:32:34.804+01:00"
    validate_statement(statement, version="2.0.0")
    validate_statement(statement, version="2.0.3")


@pytest.mark.parametrize(
    ("context", "path", "rule"),
    [
        ({"contextAgents": CONTEXT_AGENT}, "context.contextAgents", "must be an array"),
        (
            {"contextAgents": [{**CONTEXT_AGENT, "objectType": "Agent"}]},
            "context.contextAgents[0].objectType",
            "must be 'contextAgent'",
        ),
        (
            {"contextAgents": [{"objectType": "contextAgent"}]},
            "context.contextAgents[0].agent",
            "is required",
        ),
        (
            {"contextAgents": [{**CONTEXT_AGENT, "agent": GROUP}]},
            "context.contextAgents[0].agent.objectType",
            "must be 'Agent'",
        ),
        (
            {"contextAgents": [{**CONTEXT_AGENT, "relevantTypes": []}]},
            "context.contextAgents[0].relevantTypes",
            "must not be an empty array",
        ),
        (
            {"contextAgents": [{**CONTEXT_AGENT, "relevantTypes": "http://x.org/t"}]},
            "context.contextAgents[0].relevantTypes",
            "must be an array",
        ),
        (
            {"contextAgents": [{**CONTEXT_AGENT, "role": "tutor"}]},
            "context.contextAgents[0].role",
            "is not allowed (unknown property)",
        ),
        (
            {"contextGroups": [{"objectType": "contextGroup", "group": AGENT}]},
            "context.contextGroups[0].group.objectType",
            "is required",
        ),
        (
            {"contextGroups": [{**CONTEXT_GROUP, "relevantTypes": ["http://x.org/a", "b"]}]},
            "context.contextGroups[0].relevantTypes[1]",
            "must be an absolute IRI",
        ),
    ],
)
def test_malformed_context_agents_and_groups_are_rejected_in_2_0_0(
    statement: dict[str, Any],
    violation: Violation,
    context: dict[str, Any],
    path: str,
    rule: str,
) -> None:
    statement["context"] = context
    error = violation(statement, version="2.0.0")
    assert error.path == path
    assert rule in error.rule
