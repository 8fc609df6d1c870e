"""Results and Scores (xAPI-Data.md 2.4.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.errors import SchemaViolation
from schemas.xapi import validate_statement

Violation = Callable[..., SchemaViolation]


@pytest.mark.parametrize(
    "result",
    [
        {"score": {"scaled": -1, "raw": 0, "min": 0, "max": 100}},
        {"score": {"scaled": 1.0, "raw": 100, "min": 0, "max": 100}},
        {"score": {"raw": -5.5}},
        {"score": {}},
        {"success": False, "completion": True, "response": "", "duration": "PT0S"},
        {"extensions": {"http://example.com/minutes": 3}},
        {},
    ],
)
def test_valid_results_pass(statement: dict[str, Any], result: dict[str, Any]) -> None:
    statement["result"] = result
    validate_statement(statement)


@pytest.mark.parametrize(
    ("result", "path", "rule"),
    [
        ({"score": {"scaled": 1.5}}, "result.score.scaled", "must be between -1 and 1"),
        ({"score": {"scaled": -1.0001}}, "result.score.scaled", "must be between -1 and 1"),
        ({"score": {"scaled": "0.5"}}, "result.score.scaled", "must be a number"),
        ({"score": {"raw": False}}, "result.score.raw", "must be a number"),
        ({"score": {"min": [0]}}, "result.score.min", "must be a number"),
        ({"score": {"raw": 5, "min": 10}}, "result.score.raw", "greater than or equal to min"),
        ({"score": {"raw": 500, "max": 100}}, "result.score.raw", "less than or equal to max"),
        ({"score": {"min": 100, "max": 0}}, "result.score.min", "must be less than max"),
        ({"score": {"max": "one hundred"}}, "result.score.max", "must be a number"),
        ({"score": {"Scaled": 0.5}}, "result.score.Scaled", "is not allowed (unknown property)"),
        ({"score": 0.5}, "result.score", "must be an object"),
        ({"success": "true"}, "result.success", "must be a boolean"),
        ({"success": 1}, "result.success", "must be a boolean"),
        ({"completion": "false"}, "result.completion", "must be a boolean"),
        ({"response": True}, "result.response", "must be a string"),
        ({"duration": "1 hour"}, "result.duration", "must be an ISO 8601 duration"),
        ({"duration": 3600}, "result.duration", "must be a string"),
        ({"extensions": {"minutes": 3}}, "result.extensions", "not an absolute IRI"),
        ({"extensions": None}, "result.extensions", "must not be null"),
    ],
)
def test_malformed_results_are_rejected_at_their_path(
    statement: dict[str, Any],
    violation: Violation,
    result: dict[str, Any],
    path: str,
    rule: str,
) -> None:
    """Data 2.4.5, 2.4.5.1 and 2.2.s4.b1.b2-b3 (no strings for numbers or booleans)."""
    statement["result"] = result
    error = violation(statement)
    assert error.path == path
    assert rule in error.rule
