"""Fixtures for the xAPI schema tests: a fresh valid statement and a violation catcher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.errors import SchemaViolation
from schemas.xapi import validate_statement

Violation = Callable[..., SchemaViolation]


@pytest.fixture
def statement() -> dict[str, Any]:
    """A small valid statement, new for each test so tests may change it."""
    return {
        "id": "3c3d5b1e-2f4a-4b6c-8d9e-0f1a2b3c4d5e",
        "actor": {"objectType": "Agent", "name": "Ada Lovelace", "mbox": "mailto:ada@example.org"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-GB": "completed"},
        },
        "object": {
            "objectType": "Activity",
            "id": "https://cpd.example.org/activities/safeguarding",
            "definition": {"name": {"en-GB": "Safeguarding adults"}},
        },
        "timestamp": "2024-05-18T05:32:34.804Z",
    }


@pytest.fixture
def violation() -> Violation:
    """Validate a statement that must be invalid and return the violation it raised."""

    def _violation(data: object, *, version: str = "1.0.3") -> SchemaViolation:
        with pytest.raises(SchemaViolation) as info:
            validate_statement(data, version=version)
        return info.value

    return _violation
