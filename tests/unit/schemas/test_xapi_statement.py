"""Statements and their objects (xAPI-Data.md 2.2, 2.4), versions, and the module contract."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import marshmallow
import pytest

from schemas.errors import SchemaViolation
from schemas.xapi import (
    AgentSchema,
    StatementSchema,
    StatementSchemaV2,
    grammar_of,
    validate_statement,
    validate_statements,
)

Violation = Callable[..., SchemaViolation]

SUBSTATEMENT = {
    "objectType": "SubStatement",
    "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
    "verb": {"id": "http://example.com/visited", "display": {"en-US": "will visit"}},
    "object": {"objectType": "Activity", "id": "http://example.com/website"},
}


@pytest.mark.parametrize("required", ["actor", "verb", "object"])
def test_actor_verb_and_object_are_required(
    statement: dict[str, Any], violation: Violation, required: str
) -> None:
    """Data 2.2.s2.b3 (ADL conformance XAPI-00003 to 00005)."""
    del statement[required]
    error = violation(statement)
    assert (error.path, error.rule) == (required, "is required")


@pytest.mark.parametrize(
    "key", ["iD", "Actor", "veRb", "oBject", "RESULT", "conText", "timeStamp", "Version"]
)
def test_keys_in_the_wrong_case_are_unknown_properties(
    statement: dict[str, Any], violation: Violation, key: str
) -> None:
    """Data 2.2.s4.b1.b5 (ADL conformance XAPI-00008)."""
    statement[key] = statement.pop(key.lower(), "x")
    error = violation(statement)
    assert (error.path, error.rule) == (key, "is not allowed (unknown property)")


@pytest.mark.parametrize(
    "key", ["id", "result", "context", "timestamp", "stored", "authority", "version", "attachments"]
)
def test_null_values_are_rejected(
    statement: dict[str, Any], violation: Violation, key: str
) -> None:
    """Data 2.2.s4.b1.b1: the LRS MUST reject statements with any null values."""
    statement[key] = None
    error = violation(statement)
    assert (error.path, error.rule) == (key, "must not be null")


@pytest.mark.parametrize("root", [None, [], "statement", 1, True])
def test_a_statement_is_an_object(violation: Violation, root: object) -> None:
    error = violation(root)
    assert error.path == ""
    assert error.rule in {"must be an object", "must not be null"}


def test_violations_report_the_first_property_in_document_order(
    statement: dict[str, Any], violation: Violation
) -> None:
    statement["actor"]["mbox"] = "not an email"
    statement["verb"]["id"] = "not an IRI"
    assert violation(statement).path == "actor.mbox"


@pytest.mark.parametrize(
    ("statement_object", "path", "rule"),
    [
        ({"objectType": "activity", "id": "http://e.org/a"}, "object.objectType", "must be one of"),
        ({"objectType": None, "id": "http://e.org/a"}, "object.objectType", "must not be null"),
        ({"objectType": 5}, "object.objectType", "must be one of"),
        ({"mbox": "mailto:a@example.org"}, "object.mbox", "unknown property"),
        ({"objectType": "Agent", "name": "Ann"}, "object", "exactly one inverse functional"),
        ({"objectType": "Group"}, "object.member", "anonymous Group"),
        ({"objectType": "StatementRef"}, "object.id", "is required"),
        ({"objectType": "StatementRef", "id": "x"}, "object.id", "UUID"),
        ("http://e.org/a", "object", "must be an object"),
        ({"definition": {}}, "object.id", "is required"),
    ],
)
def test_the_object_is_checked_by_its_object_type(
    statement: dict[str, Any],
    violation: Violation,
    statement_object: object,
    path: str,
    rule: str,
) -> None:
    """Data 2.4.4.s2: Activity when absent; objectType values match exactly (2.2.s4.b1.b6)."""
    statement["object"] = statement_object
    error = violation(statement)
    assert error.path == path
    assert rule in error.rule


def test_an_agent_object_needs_its_object_type(
    statement: dict[str, Any], violation: Violation
) -> None:
    """Data 2.4.4.2.s1.b1."""
    statement["object"] = {"objectType": "Agent", "mbox": "mailto:a@example.org"}
    validate_statement(statement)
    del statement["object"]["objectType"]
    assert violation(statement).path == "object.mbox"


@pytest.mark.parametrize("key", ["id", "stored", "version", "authority"])
def test_a_substatement_has_no_id_stored_version_or_authority(
    statement: dict[str, Any], violation: Violation, key: str
) -> None:
    """Data 2.4.4.3.s8.b3."""
    values = {
        "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0",
        "stored": "2024-05-18T05:32:34Z",
        "version": "1.0.0",
        "authority": {"mbox": "mailto:lrs@example.org"},
    }
    statement["object"] = {**SUBSTATEMENT, key: values[key]}
    error = violation(statement)
    assert (error.path, error.rule) == (f"object.{key}", "is not allowed in a SubStatement")


def test_a_substatement_cannot_contain_a_substatement(
    statement: dict[str, Any], violation: Violation
) -> None:
    """Data 2.4.4.3.s8.b4."""
    statement["object"] = {**SUBSTATEMENT, "object": copy.deepcopy(SUBSTATEMENT)}
    error = violation(statement)
    assert (error.path, error.rule) == (
        "object.object.objectType",
        "must not be SubStatement inside a SubStatement",
    )


def test_a_substatement_is_validated_as_a_statement(
    statement: dict[str, Any], violation: Violation
) -> None:
    """Data 2.4.4.3.s8.b2; a future timestamp is fine (2.4.7.s3.b5)."""
    statement["object"] = {
        **SUBSTATEMENT,
        "result": {"completion": True},
        "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"},
        "timestamp": "2999-01-01T00:00:00Z",
    }
    validate_statement(statement)
    statement["object"]["result"]["completion"] = "yes"
    assert violation(statement).path == "object.result.completion"
    statement["object"] = {k: v for k, v in SUBSTATEMENT.items() if k != "verb"}
    assert (violation(statement).path, violation(statement).rule) == ("object.verb", "is required")


def test_timestamps_follow_the_grammar_of_the_version(
    statement: dict[str, Any], violation: Violation
) -> None:
    """1.0.3: ISO 8601 (Data 4.5); 2.0.0: RFC 3339, which requires an offset."""
    statement["timestamp"] = "2024-05-18T05:32:34.804"
    validate_statement(statement, version="1.0.3")
    error = violation(statement, version="2.0.0")
    assert (error.path, error.rule) == ("timestamp", "must be an RFC 3339 timestamp")


def test_statement_version_2_0_0_needs_the_2_0_grammar(
    statement: dict[str, Any], violation: Violation
) -> None:
    """Data 2.4.10.s3.b2: a 1.0.x LRS rejects versions not starting with 1.0."""
    statement["version"] = "2.0.0"
    validate_statement(statement, version="2.0.0")
    assert violation(statement, version="1.0.3").path == "version"
    statement["version"] = "1.0.0"
    validate_statement(statement, version="2.0.0")


@pytest.mark.parametrize(
    ("version", "grammar"),
    [
        ("1.0", "1.0.3"),
        ("1.0.0", "1.0.3"),
        ("1.0.3", "1.0.3"),
        ("1.0.9", "1.0.3"),
        ("2.0.0", "2.0.0"),
        ("2.0.7", "2.0.0"),
    ],
)
def test_request_versions_select_a_grammar(version: str, grammar: str) -> None:
    """Communication 3.3.s3.b3, b5."""
    assert grammar_of(version) == grammar


@pytest.mark.parametrize("version", ["", "0.95", "1.1.0", "1.0.x", "2.0", "3.0.0", "1.0.3 "])
def test_unsupported_versions_are_a_value_error(statement: dict[str, Any], version: str) -> None:
    with pytest.raises(ValueError, match="unsupported xAPI version"):
        validate_statement(statement, version=version)


def test_validate_statements_accepts_one_statement_or_a_list(statement: dict[str, Any]) -> None:
    validate_statements(statement)
    validate_statements([statement, copy.deepcopy(statement)])
    validate_statements([])


def test_validate_statements_prefixes_paths_with_the_list_index(
    statement: dict[str, Any],
) -> None:
    bad = copy.deepcopy(statement)
    bad["verb"]["id"] = "completed"
    with pytest.raises(SchemaViolation) as info:
        validate_statements([statement, statement, bad])
    assert (info.value.path, info.value.rule) == ("[2].verb.id", "must be an absolute IRI")
    with pytest.raises(SchemaViolation) as info:
        validate_statements([statement, "x"])
    assert (info.value.path, info.value.rule) == ("[1]", "must be an object")
    with pytest.raises(SchemaViolation) as info:
        validate_statements("x")
    assert info.value.path == ""
    with pytest.raises(SchemaViolation) as info:
        validate_statements(bad)
    assert info.value.path == "verb.id"


def test_validation_does_not_modify_the_statement(statement: dict[str, Any]) -> None:
    statement["context"] = {"contextActivities": {"parent": {"id": "http://e.org/p"}}}
    before = copy.deepcopy(statement)
    validate_statement(statement)
    assert statement == before


def test_schema_violation_carries_path_and_rule() -> None:
    error = SchemaViolation("actor.mbox", "must be a mailto: IRI")
    assert (error.path, error.rule) == ("actor.mbox", "must be a mailto: IRI")
    assert str(error) == "actor.mbox must be a mailto: IRI"
    assert str(SchemaViolation("", "must be an object")) == "(root) must be an object"


def test_marshmallow_load_applies_the_same_rules(statement: dict[str, Any]) -> None:
    """The schemas stay usable through marshmallow's public API (and so by apispec)."""
    assert StatementSchema().load(statement) is statement
    assert StatementSchemaV2().validate(statement) == {}
    statement["actor"]["mbox"] = "ada@example.org"
    with pytest.raises(marshmallow.ValidationError) as info:
        StatementSchema().load(statement)
    assert info.value.messages == {"actor": {"mbox": ["must be a mailto: IRI"]}}
    assert AgentSchema(many=True).validate([{"mbox": "mailto:a@b.org"}, {}]) == {
        1: {
            "_schema": [
                "must have exactly one inverse functional identifier (mbox, mbox_sha1sum, openid or"
                " account)"
            ]
        }
    }


def test_schemas_declare_the_json_property_names() -> None:
    """apispec documents ``data_key``: the camelCase names of the specification."""
    names = {field.data_key or name for name, field in StatementSchema().fields.items()}
    assert names == {
        "id",
        "actor",
        "verb",
        "object",
        "result",
        "context",
        "timestamp",
        "stored",
        "authority",
        "version",
        "attachments",
    }


def test_schemas_import_nothing_from_the_rest_of_the_application() -> None:
    """schemas/ depends only on marshmallow and the standard library."""
    root = Path(__file__).resolve().parents[3] / "schemas"
    forbidden = {"portfolio", "service", "lrs_adapters", "flask"}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in forbidden, f"{path} imports {module}"
