"""The statement files in tests/assets/statements: valid ones pass, invalid ones fail where
their name says. Files whose name starts with ``v2-`` use the 2.0.0 grammar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.errors import SchemaViolation
from schemas.xapi import validate_statement

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "statements"
VALID = sorted((ASSETS / "valid").glob("*.json"))
INVALID = sorted(p for p in (ASSETS / "invalid").glob("*.json") if p.name != "expected.json")
EXPECTED: dict[str, dict[str, str]] = json.loads(
    (ASSETS / "invalid" / "expected.json").read_text(encoding="utf-8")
)


def _version(path: Path) -> str:
    return "2.0.0" if path.name.startswith("v2-") else "1.0.3"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_invalid_file_has_an_expectation_and_every_expectation_a_file() -> None:
    assert {p.name for p in INVALID} == set(EXPECTED)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_statement_file_passes(path: Path) -> None:
    """Includes the example statements of xAPI-Data.md 2.3.2, 2.4, Appendices A-D."""
    validate_statement(_load(path), version=_version(path))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_statement_file_fails_at_the_expected_path(path: Path) -> None:
    expected = EXPECTED[path.name]
    with pytest.raises(SchemaViolation) as info:
        validate_statement(_load(path), version=_version(path))
    assert info.value.path == expected["path"]
    assert expected["rule"] in info.value.rule
