"""Agents and Groups (xAPI-Data.md 2.4.2), in statements and through validate_agent."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.errors import SchemaViolation
from schemas.xapi import validate_agent

IFIS: dict[str, Any] = {
    "mbox": "mailto:ada@example.org",
    "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
    "openid": "http://ada.openid.example.org/",
    "account": {"homePage": "http://www.example.com", "name": "1625378"},
}


def _violation(data: object) -> SchemaViolation:
    with pytest.raises(SchemaViolation) as info:
        validate_agent(data)
    return info.value


@pytest.mark.parametrize("ifi", IFIS)
def test_an_agent_identified_by_any_one_ifi_is_valid(ifi: str) -> None:
    """Data 2.4.2.1.s2.b1: one of the four Inverse Functional Identifiers."""
    validate_agent({ifi: IFIS[ifi]})
    validate_agent({"objectType": "Agent", "name": "Ada", ifi: IFIS[ifi]})


@pytest.mark.parametrize(("first", "second"), [("mbox", "openid"), ("account", "mbox_sha1sum")])
def test_an_agent_with_two_ifis_is_rejected(first: str, second: str) -> None:
    """Data 2.4.2.1.s2.b2: an Agent MUST NOT include more than one IFI."""
    error = _violation({first: IFIS[first], second: IFIS[second]})
    assert error.path == ""
    assert "exactly one inverse functional identifier" in error.rule


def test_an_agent_without_ifi_is_rejected() -> None:
    """Data 2.4.2.1.s2.b1."""
    error = _violation({"objectType": "Agent", "name": "Ada"})
    assert (error.path, "exactly one" in error.rule) == ("", True)


@pytest.mark.parametrize(
    ("agent", "path", "rule"),
    [
        ({"mbox": "ada@example.org"}, "mbox", "must be a mailto: IRI"),
        ({"mbox": ""}, "mbox", "must be a mailto: IRI"),
        ({"mbox_sha1sum": "xyz"}, "mbox_sha1sum", "40 hexadecimal digits"),
        ({"openid": "toby"}, "openid", "must be an absolute URI"),
        ({"account": {"name": "1625378"}}, "account.homePage", "is required"),
        ({"account": {"homePage": "http://x.org"}}, "account.name", "is required"),
        ({"account": {"homePage": "x.org", "name": "1"}}, "account.homePage", "IRL"),
        ({"account": {"homePage": "http://x.org", "name": 1}}, "account.name", "must be a string"),
        (
            {"account": {"homePage": "http://x.org", "name": "1", "id": 2}},
            "account.id",
            "is not allowed (unknown property)",
        ),
        ({"mbox": "mailto:a@b.org", "name": ["Ada"]}, "name", "must be a string"),
        ({"mbox": "mailto:a@b.org", "name": None}, "name", "must not be null"),
        (
            {"mbox": "mailto:a@b.org", "objectType": "Person"},
            "objectType",
            "must be 'Agent' or 'Group'",
        ),
        ({"mbox": "mailto:a@b.org", "objectType": None}, "objectType", "must not be null"),
        (
            {"mbox": "mailto:a@b.org", "Mbox": "mailto:a@b.org"},
            "Mbox",
            "is not allowed (unknown property)",
        ),
        ("mailto:a@b.org", "", "must be an object"),
    ],
)
def test_malformed_agent_properties_are_rejected_at_their_path(
    agent: object, path: str, rule: str
) -> None:
    """Data 2.4.2.3, 2.4.2.4 and 2.2.s4.b1 (null, wrong types, key case)."""
    error = _violation(agent)
    assert error.path == path
    assert rule in error.rule


def test_an_identified_group_may_list_members() -> None:
    """Data 2.4.2.2.s5.b4; Appendix B example Group."""
    validate_agent(
        {
            "objectType": "Group",
            "account": {"homePage": "http://example.com/homePage", "name": "GroupAccount"},
            "member": [{"mbox": "mailto:andrew@example.com"}],
        }
    )
    validate_agent({"objectType": "Group", "mbox": "mailto:team@example.org", "member": []})


def test_an_anonymous_group_lists_its_members() -> None:
    validate_agent({"objectType": "Group", "name": "Team", "member": [{"mbox": "mailto:a@b.org"}]})


@pytest.mark.parametrize(
    ("group", "path", "rule"),
    [
        ({"objectType": "Group"}, "member", "is required for an anonymous Group"),
        ({"objectType": "Group", "member": []}, "member", "at least one Agent"),
        (
            {"objectType": "Group", "member": {"mbox": "mailto:a@b.org"}},
            "member",
            "must be an array",
        ),
        (
            {"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:t@b.org"}]},
            "member[0].objectType",
            "must be 'Agent'",
        ),
        (
            {"objectType": "Group", "member": [{"mbox": "mailto:a@b.org"}, {"name": "No IFI"}]},
            "member[1]",
            "exactly one inverse functional identifier",
        ),
        (
            {"objectType": "Group", "mbox": "mailto:t@b.org", "openid": "http://t.example.org/"},
            "",
            "exactly one inverse functional identifier",
        ),
    ],
)
def test_group_rules_are_enforced(group: dict[str, Any], path: str, rule: str) -> None:
    """Data 2.4.2.2.s4 (anonymous) and s5 (identified): members are Agents only."""
    error = _violation(group)
    assert error.path == path
    assert rule in error.rule


def test_a_group_without_object_type_is_an_agent_with_an_unknown_member_property() -> None:
    """Data 2.4.2.2: objectType Group is required for a Group."""
    error = _violation({"member": [{"mbox": "mailto:a@b.org"}], "mbox": "mailto:t@b.org"})
    assert (error.path, error.rule) == ("member", "is not allowed (unknown property)")


def test_validate_agent_checks_the_version() -> None:
    with pytest.raises(ValueError, match="unsupported xAPI version"):
        validate_agent({"mbox": "mailto:a@b.org"}, version="0.95")


def test_authority_may_be_a_group_of_two_agents(statement: dict[str, Any]) -> None:
    """Data 2.4.9.s3.b1 and the OAuth example of 2.4.9.s8."""
    from schemas.xapi import validate_statement

    statement["authority"] = {
        "objectType": "Group",
        "member": [
            {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_x75db"}},
            {"mbox": "mailto:bob@example.com"},
        ],
    }
    validate_statement(statement)
