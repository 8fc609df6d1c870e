"""The frameworks the product ships (portfolio/standards/data/), as the seed documents give them.

The expected items are the seeds' own wording: seed 004 (the CPD strategy's Standard),
seed 003 (the LRIP competency diagram) and seeds 000-002 (member and officer development).
"""

from __future__ import annotations

import uuid

import orjson
import pytest

from portfolio.standards import SHIPPED, Framework, export_package, parse_package
from portfolio.standards import shipped_packages as _shipped

SITE = "https://cpdfolio.org/frameworks/"


def shipped() -> dict[str, Framework]:
    return {name: parse_package(data) for name, data in _shipped()}


def outline(framework: Framework) -> dict[str, list[str]]:
    """Each top-level item's statement, with its children's statements."""
    return {
        top.statement: [child.statement for child in framework.children(top.uri)]
        for top in framework.children()
    }


def test_three_frameworks_ship_and_each_file_is_canonical() -> None:
    packages = dict(_shipped())
    assert list(packages) == list(SHIPPED)
    for data in packages.values():
        assert export_package(parse_package(data)) == data


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_uris_are_stable_and_identifiers_derive_from_them(name: str) -> None:
    framework = shipped()[name]
    slug = name.removesuffix(".json")
    assert framework.uri == SITE + slug
    assert framework.version == "1.0"
    package = orjson.loads(framework.package)
    nodes = [package["CFDocument"], *package["CFItems"], *package["CFAssociations"]]
    for node in nodes:
        assert node["identifier"] == str(uuid.uuid5(uuid.NAMESPACE_URL, node["uri"]))
    for item in framework.items:
        assert item.uri == f"{SITE}{slug}/items/{item.code}"


@pytest.mark.parametrize(
    ("name", "seed"),
    [
        ("vsc-cymru-standard.json", "From seed 004: 'A National Continuing Professional"),
        ("lrip-management-competency-framework.json", "From seed 003: the LRIP Management"),
        ("member-officer-development.json", "Compiled by cpdfolio from seeds 000-002"),
    ],
)
def test_each_framework_names_its_source(name: str, seed: str) -> None:
    description = shipped()[name].description
    assert description is not None
    assert description.startswith(seed)


def test_the_standard_has_its_three_elements_and_their_items() -> None:
    framework = shipped()["vsc-cymru-standard.json"]
    assert outline(framework) == {
        "Knowledge & Skills": [
            "The Professional Role of the Manager",
            "Leadership and Management Principles",
            "Self Evaluation and Improvement",
        ],
        "Personal Qualities and Values": [
            "Commitment",
            "Perseverance",
            "Honesty",
            "Inspiration",
            "Creativity",
            "Respect",
            "Confidence",
            "Problem Solving",
            "Humour",
            "Integrity",
            "Empathy",
            "Self Awareness",
            "Consistency",
            "Reliability",
            "Impartiality",
            "Motivation",
            "Flexibility",
            "Value for Others",
            "Courage",
            "Resilience",
        ],
        "Professional Characteristics": [
            "apply and understand frameworks of accountability",
            "celebrate diversity and promote social inclusion and equal opportunities",
            "challenge and support",
            "communicate clear purpose and direction",
            "deal with ambiguity and change",
            "develop self and others",
            "value teams and work collaboratively",
        ],
    }
    codes = [item.code for item in framework.items]
    assert codes[:5] == ["KS", "KS.1", "KS.2", "KS.3", "PQ"]
    assert "PQ.20" in codes and "PC.7" in codes


def test_lrip_has_thirteen_competencies_in_three_focuses() -> None:
    framework = shipped()["lrip-management-competency-framework.json"]
    assert outline(framework) == {
        "Individual Focus": [
            "Is strategically focused",
            "Communicates",
            "Manages the job",
            "Provides leadership",
        ],
        "Team Focus": [
            "Develops talent",
            "Manages diversity in practice",
            "Manages change",
            "Manages performance",
            "Manages within teams",
        ],
        "External Focus": [
            "Collaborates & works with partners",
            "Engages with the community & other stakeholders",
            "Delivers customer focused services",
            "Is politically sensitive",
        ],
    }
    competencies = [item for item in framework.items if item.depth == 1]
    assert len(competencies) == 13
    assert {item.code for item in competencies} >= {"I.1", "T.5", "E.4"}


def test_member_and_officer_development_starts_from_political_awareness() -> None:
    framework = shipped()["member-officer-development.json"]
    tops = framework.children()
    assert [top.code for top in tops] == ["PA", "SK", "MD", "SC"]
    assert tops[0].statement == "Political awareness"
    assert outline(framework)["Skills and knowledge for the role"] == [
        "Effective Personal Development Planning",
        "Minute Writing",
        "Negotiation Skills",
        "Customer Service Skills",
        "Local Government Act 2000",
    ]
    package = orjson.loads(framework.package)
    notes = {item["uri"]: item.get("notes", "") for item in package["CFItems"]}
    # Every item says which seed it comes from, itself or through its group.
    for item in framework.items:
        group = item if item.parent is None else framework.item(item.parent)
        assert group is not None
        assert "Seed 00" in notes[item.uri] or "Seed 00" in notes[group.uri], item.code
