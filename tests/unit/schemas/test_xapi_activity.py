"""Verbs, Activities and interaction definitions (xAPI-Data.md 2.4.3, 2.4.4.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.errors import SchemaViolation
from schemas.xapi import validate_statement
from schemas.xapi.activity import COMPONENT_LISTS, INTERACTION_TYPES

Violation = Callable[..., SchemaViolation]


def test_a_verb_needs_an_iri_id(statement: dict[str, Any], violation: Violation) -> None:
    """Data 2.4.3.s3: id is required, display is recommended."""
    statement["verb"] = {"id": "http://example.com/xapi/verbs#defenestrated"}
    validate_statement(statement)
    statement["verb"] = {"display": {"en-US": "defenestrated"}}
    error = violation(statement)
    assert (error.path, error.rule) == ("verb.id", "is required")


def test_verb_display_is_a_language_map(statement: dict[str, Any], violation: Violation) -> None:
    """Data 2.4.3 and 4.2: the Verb example with en-US and es."""
    statement["verb"]["display"] = {"en-US": "defenestrated", "es": "defenestrado"}
    validate_statement(statement)
    statement["verb"]["display"] = {"en-US": "defenestrated", "not a tag": "x"}
    error = violation(statement)
    assert error.path == "verb.display"
    assert "'not a tag'" in error.rule


def test_activity_object_type_is_optional(statement: dict[str, Any]) -> None:
    """Data 2.4.4.s2: the objectType is assumed to be Activity."""
    del statement["object"]["objectType"]
    validate_statement(statement)


@pytest.mark.parametrize(
    ("definition", "path", "rule"),
    [
        ({"type": "meeting"}, "object.definition.type", "must be an absolute IRI"),
        ({"moreInfo": "http:"}, "object.definition.moreInfo", "IRL"),
        ({"name": "meeting"}, "object.definition.name", "must be a language map"),
        ({"description": {}}, "object.definition.description", "must not be empty"),
        ({"extensions": []}, "object.definition.extensions", "must be an object"),
        ({"extensions": {"room": 1}}, "object.definition.extensions", "'room'"),
        ({"Name": {"en": "x"}}, "object.definition.Name", "is not allowed (unknown property)"),
        ({"interactionType": "Choice"}, "object.definition.interactionType", "must be one of"),
        ({"interactionType": 1}, "object.definition.interactionType", "must be one of"),
        (
            {"interactionType": "numeric", "correctResponsesPattern": "4[:]"},
            "object.definition.correctResponsesPattern",
            "must be an array",
        ),
        ({"choices": []}, "object.definition.interactionType", "is required with"),
        (
            {"interactionType": "choice", "choices": [{"id": 1}]},
            "object.definition.choices[0].id",
            "must be a string",
        ),
        (
            {"interactionType": "choice", "choices": [{"id": "a", "name": {"en": "A"}}]},
            "object.definition.choices[0].name",
            "is not allowed (unknown property)",
        ),
        (
            {
                "interactionType": "matching",
                "source": [{"id": "a"}],
                "target": [{"id": "a"}, {"id": "b"}, {"id": "b"}],
            },
            "object.definition.target[2].id",
            "must be unique within target",
        ),
    ],
)
def test_malformed_definitions_are_rejected_at_their_path(
    statement: dict[str, Any],
    violation: Violation,
    definition: dict[str, Any],
    path: str,
    rule: str,
) -> None:
    """Data 2.4.4.1.s2, s8, s15, s16."""
    statement["object"]["definition"] = definition
    error = violation(statement)
    assert error.path == path
    assert rule in error.rule


@pytest.mark.parametrize("interaction_type", INTERACTION_TYPES)
@pytest.mark.parametrize("component_list", ["choices", "scale", "source", "target", "steps"])
def test_component_lists_are_allowed_only_with_their_interaction_types(
    statement: dict[str, Any], violation: Violation, interaction_type: str, component_list: str
) -> None:
    """Data 2.4.4.1.s15 table 2: the supported interaction component lists."""
    statement["object"]["definition"] = {
        "interactionType": interaction_type,
        component_list: [{"id": "a", "description": {"en-US": "A"}}, {"id": "b"}],
    }
    if component_list in COMPONENT_LISTS.get(interaction_type, ()):
        validate_statement(statement)
    else:
        error = violation(statement)
        assert error.path == f"object.definition.{component_list}"
        assert error.rule == f"is not allowed with interactionType '{interaction_type}'"


def test_an_empty_correct_responses_pattern_means_no_answer_is_correct(
    statement: dict[str, Any],
) -> None:
    """Data 2.4.4.1.s11: an empty array is meaningful."""
    statement["object"]["definition"] = {"interactionType": "other", "correctResponsesPattern": []}
    validate_statement(statement)


def test_component_ids_need_only_be_unique_within_one_list(statement: dict[str, Any]) -> None:
    """Data 2.4.4.1.s16.b1: ids are distinct "within an array of interaction components"."""
    statement["object"]["definition"] = {
        "interactionType": "matching",
        "source": [{"id": "1"}, {"id": "2"}],
        "target": [{"id": "1"}, {"id": "2"}],
    }
    validate_statement(statement)


def test_extension_values_may_be_anything_including_null(statement: dict[str, Any]) -> None:
    """Data 4.1.s3.b2; the ADL conformance suite also sends empty extensions."""
    statement["object"]["definition"]["extensions"] = {
        "http://example.com/null": None,
        "http://example.com/object": {"anything": [1, "two", None, {"deep": True}]},
        "http://example.com/bool": False,
    }
    validate_statement(statement)
    statement["object"]["definition"]["extensions"] = {}
    validate_statement(statement)
