"""CASE package validation (schemas.case): strict objects, and the rules across objects.

Each violation names the path of the offending value and the rule, like the xAPI schemas.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from marshmallow import ValidationError

from schemas.case import (
    ASSOCIATION_TYPE_RULE,
    IDENTIFIER_RULE,
    TARGET_TYPE_RULE,
    CFPackageSchema,
    validate_package,
)
from schemas.errors import SchemaViolation
from tests.unit.standards.packages import association, child_of, document, example, item


def violation(data: object) -> SchemaViolation:
    with pytest.raises(SchemaViolation) as info:
        validate_package(data)
    return info.value


@pytest.fixture
def package() -> dict[str, Any]:
    return example()


def test_a_valid_package_passes_and_is_not_modified(package: dict[str, Any]) -> None:
    before = copy.deepcopy(package)
    validate_package(package)
    assert package == before


def test_a_package_with_only_a_document_is_valid() -> None:
    validate_package({"CFDocument": document()})


def test_the_schema_load_applies_the_same_rules(package: dict[str, Any]) -> None:
    package["CFItems"][0]["uri"] = "not a uri"
    with pytest.raises(ValidationError) as info:
        CFPackageSchema().load(package)
    assert info.value.messages == {"CFItems": {0: {"uri": ["must be an absolute IRI"]}}}


@pytest.mark.parametrize(
    ("data", "path", "rule"),
    [
        ([], "", "must be a JSON object (a CASE CFPackage)"),
        ({}, "CFDocument", "is required"),
        ({"CFDocument": []}, "CFDocument", "must be an object"),
    ],
)
def test_the_package_itself_must_be_an_object_with_a_document(
    data: object, path: str, rule: str
) -> None:
    found = violation(data)
    assert (found.path, found.rule) == (path, rule)


DELETE = object()
Where = tuple[str | int, ...]

# (where, new value or DELETE, rule): the violation is reported at `where`.
STRICT_CASES: list[tuple[Where, Any, str]] = [
    (("CFItems", 3, "uri"), "items/A", "must be an absolute IRI"),
    (("CFItems", 1, "identifier"), "A.2", IDENTIFIER_RULE),
    (("CFItems", 2, "colour"), "red", "is not allowed (unknown property)"),
    (("CFItems", 0, "notes"), None, "must not be null"),
    (("CFItems", 0, "notes"), 7, "must be a string"),
    (("CFItems", 0, "fullStatement"), DELETE, "is required"),
    (("CFItems", 0, "fullStatement"), "  ", "must not be blank"),
    (("CFItems", 0, "conceptKeywords"), "a, b", "must be an array"),
    (("CFItems", 0, "statusStartDate"), "2026-02-30", "must be a date (YYYY-MM-DD)"),
    (("CFItems", 0, "language"), "english!", "must be an RFC 5646 language tag"),
    (("CFItems", 0, "lastChangeDateTime"), "yesterday", "must be an ISO 8601 timestamp"),
    (("CFItems", 0, "CFItemTypeURI"), {"title": "T", "uri": "https://x.org/t"}, None),
    (("CFDocument", "version"), DELETE, "is required"),
    (("CFDocument", "version"), " ", "must not be blank"),
    (("CFDocument", "version"), 1.0, "must be a string"),
    (("CFDocument", "title"), "", "must not be blank"),
    (("CFDocument", "caseVersion"), "1.0", "must be '1.1' when present"),
    (("CFDocument", "CFPackageURI"), {}, "is not allowed (unknown property)"),
    (("CFAssociations", 2, "associationType"), "isParentOf", ASSOCIATION_TYPE_RULE),
    (("CFAssociations", 2, "sequenceNumber"), True, "must be a 32-bit integer"),
    (("CFAssociations", 2, "sequenceNumber"), 2**31, "must be a 32-bit integer"),
    (("CFAssociations", 2, "originNodeURI", "uri"), DELETE, "is required"),
    (("CFAssociations", 2, "originNodeURI", "targetType"), "html", TARGET_TYPE_RULE),
    (("CFItems",), {}, "must be an array"),
    (("CFItems", 0), None, "must not be null"),
    (("CFRubric",), [], "is not allowed (unknown property)"),
]


def _path(where: Where) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@pytest.mark.parametrize(
    ("where", "value", "rule"),
    STRICT_CASES,
    ids=[f"{_path(w)}={'(deleted)' if v is DELETE else repr(v)}" for w, v, _ in STRICT_CASES],
)
def test_each_object_is_strict_and_the_violation_names_its_path(
    package: dict[str, Any], where: Where, value: Any, rule: str | None
) -> None:
    parent: Any = package
    for part in where[:-1]:
        parent = parent[part]
    if value is DELETE:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    found = violation(package)
    if rule is None:  # a nested object missing its required identifier
        assert (found.path, found.rule) == (_path(where) + ".identifier", "is required")
    else:
        assert (found.path, found.rule) == (_path(where), rule)


def test_extensions_hold_anything_and_case_1_1_additions_are_accepted(
    package: dict[str, Any],
) -> None:
    package["extensions"] = {"https://x.org/a.b": None, "$weird": [1, {"nested": None}]}
    package["CFDocument"].update(caseVersion="1.1", frameworkType="Competencies")
    package["CFItems"][0].update(subject=["Management"], extensions={"k": None})
    package["CFAssociations"][0].update(notes="why", extensions={})
    package["CFAssociations"][0]["originNodeURI"]["targetType"] = "CASE"
    first, second = package["CFItems"][3], package["CFItems"][4]
    package["CFAssociations"].append(association(first, second, "ext:supports"))
    package["CFAssociations"].append(association(first, second, "isTranslationOf"))
    validate_package(package)


def test_definitions_and_rubrics_are_checked_too(package: dict[str, Any]) -> None:
    package["CFDefinitions"] = {
        "CFItemTypes": [
            {
                "identifier": "2a0e5e3c-3c1e-4b8e-9a55-3a1f0d3b9c11",
                "uri": "https://x.org/types/element",
                "title": "Element",
                "description": "A part of the Standard",
                "hierarchyCode": "1",
                "lastChangeDateTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    package["CFRubrics"] = [
        {
            "identifier": "7a0e5e3c-3c1e-4b8e-9a55-3a1f0d3b9c12",
            "uri": "https://x.org/rubrics/1",
            "lastChangeDateTime": "2026-01-01T00:00:00Z",
            "CFRubricCriteria": [
                {
                    "identifier": "7a0e5e3c-3c1e-4b8e-9a55-3a1f0d3b9c13",
                    "uri": "https://x.org/rubrics/1/c/1",
                    "lastChangeDateTime": "2026-01-01T00:00:00Z",
                    "weight": 0.5,
                    "CFRubricCriterionLevels": [
                        {
                            "identifier": "7a0e5e3c-3c1e-4b8e-9a55-3a1f0d3b9c14",
                            "uri": "https://x.org/rubrics/1/c/1/l/1",
                            "lastChangeDateTime": "2026-01-01T00:00:00Z",
                            "score": "high",
                        }
                    ],
                }
            ],
        }
    ]
    found = violation(package)
    assert found.path == "CFRubrics[0].CFRubricCriteria[0].CFRubricCriterionLevels[0].score"
    assert found.rule == "must be a number"
    package["CFRubrics"][0]["CFRubricCriteria"][0]["CFRubricCriterionLevels"][0]["score"] = 3
    validate_package(package)
    del package["CFDefinitions"]["CFItemTypes"][0]["description"]
    assert violation(package).path == "CFDefinitions.CFItemTypes[0].description"


# ------------------------------------------------------------- rules across objects


def test_identifiers_are_unique_across_the_package(package: dict[str, Any]) -> None:
    package["CFAssociations"][1]["identifier"] = package["CFItems"][2]["identifier"].upper()
    found = violation(package)
    assert found.path == "CFAssociations[1].identifier"
    assert found.rule == "duplicates the identifier of CFItems[2]"


def test_uris_are_unique_across_the_package(package: dict[str, Any]) -> None:
    package["CFItems"][4]["uri"] = package["CFDocument"]["uri"]
    found = violation(package)
    assert (found.path, found.rule) == ("CFItems[4].uri", "duplicates the uri of CFDocument")


def test_an_association_end_must_be_the_document_or_an_item_of_the_package(
    package: dict[str, Any],
) -> None:
    package["CFAssociations"][3]["destinationNodeURI"]["identifier"] = (
        "0b0e5e3c-3c1e-4b8e-9a55-3a1f0d3b9c11"
    )
    found = violation(package)
    assert found.path == "CFAssociations[3].destinationNodeURI.identifier"
    assert found.rule == "must be the identifier of the CFDocument or of an item in CFItems"


def test_an_association_end_must_carry_the_uri_of_the_node_it_names(
    package: dict[str, Any],
) -> None:
    package["CFAssociations"][0]["originNodeURI"]["uri"] = "https://elsewhere.org/A.1"
    found = violation(package)
    assert found.path == "CFAssociations[0].originNodeURI.uri"
    assert found.rule == f"must be the uri of CFItems[4] ({package['CFItems'][4]['uri']})"


def test_the_document_cannot_be_a_child(package: dict[str, Any]) -> None:
    doc, a = package["CFDocument"], package["CFItems"][3]
    package["CFAssociations"].append(child_of(doc, a))
    found = violation(package)
    assert found.path == "CFAssociations[5].originNodeURI"
    assert found.rule == "must be an item: the CFDocument is the root of the isChildOf tree"


def test_an_item_has_one_parent(package: dict[str, Any]) -> None:
    a1, b = package["CFItems"][4], package["CFItems"][2]
    package["CFAssociations"].append(child_of(a1, b))
    found = violation(package)
    assert found.path == "CFAssociations[5]"
    assert found.rule == (
        "gives CFItems[4] a second parent (the first is in CFAssociations[0]): isChildOf "
        "associations must form a tree"
    )


def test_an_item_cannot_be_its_own_parent() -> None:
    x = item("X")
    found = violation(
        {"CFDocument": document(), "CFItems": [x], "CFAssociations": [child_of(x, x)]}
    )
    assert found.path == "CFAssociations[0]"
    assert found.rule.startswith("closes a cycle of isChildOf (X → X)")


def test_a_cycle_of_is_child_of_is_refused_and_named() -> None:
    x, y, z = item("X"), item("Y"), item("Z")
    package = {
        "CFDocument": document(),
        "CFItems": [x, y, z],
        "CFAssociations": [child_of(x, document()), child_of(y, z), child_of(z, y)],
    }
    found = violation(package)
    assert found.path == "CFAssociations[1]"
    assert found.rule == (
        "closes a cycle of isChildOf (Y → Z → Y): isChildOf associations must form a tree"
    )


def test_other_association_types_may_link_any_two_nodes_in_any_direction(
    package: dict[str, Any],
) -> None:
    a, a1 = package["CFItems"][3], package["CFItems"][4]
    package["CFAssociations"] += [
        association(a, a1, "isRelatedTo"),
        association(a1, a, "isRelatedTo"),
        association(package["CFDocument"], a, "exemplar"),
    ]
    validate_package(package)
