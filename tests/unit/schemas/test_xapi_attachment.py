"""Attachment headers (xAPI-Data.md 2.4.11)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.errors import SchemaViolation
from schemas.xapi import validate_statement

Violation = Callable[..., SchemaViolation]


ATTACHMENT = {
    "usageType": "http://example.com/attachment-usage/test",
    "display": {"en-US": "A test attachment"},
    "description": {"en-US": "A test attachment (description)"},
    "contentType": "text/plain; charset=ascii",
    "length": 27,
    "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
    "fileUrl": "http://over.there.com/file.txt",
}


def test_a_complete_attachment_is_valid(statement: dict[str, Any]) -> None:
    """The attachment of the ADL conformance suite's templates."""
    statement["attachments"] = [ATTACHMENT, {**ATTACHMENT, "length": 0}]
    validate_statement(statement)


@pytest.mark.parametrize("required", ["usageType", "display", "contentType", "length", "sha2"])
def test_required_attachment_properties(
    statement: dict[str, Any], violation: Violation, required: str
) -> None:
    """Data 2.4.11.s2: sha2 "is always required, even if fileURL is also specified"."""
    statement["attachments"] = [{k: v for k, v in ATTACHMENT.items() if k != required}]
    error = violation(statement)
    assert (error.path, error.rule) == (f"attachments[0].{required}", "is required")


@pytest.mark.parametrize("optional", ["description", "fileUrl"])
def test_optional_attachment_properties(statement: dict[str, Any], optional: str) -> None:
    statement["attachments"] = [{k: v for k, v in ATTACHMENT.items() if k != optional}]
    validate_statement(statement)


@pytest.mark.parametrize(
    ("changes", "path", "rule"),
    [
        ({"usageType": "signature"}, "attachments[0].usageType", "must be an absolute IRI"),
        ({"display": {"de-419-DE": "x"}}, "attachments[0].display", "language tag"),
        ({"description": "text"}, "attachments[0].description", "language map"),
        ({"contentType": "text plain"}, "attachments[0].contentType", "media type"),
        ({"length": "27"}, "attachments[0].length", "must be an integer"),
        ({"length": True}, "attachments[0].length", "must be an integer"),
        ({"length": -1}, "attachments[0].length", "greater than or equal to 0"),
        ({"sha2": "not hex at all"}, "attachments[0].sha2", "SHA-2"),
        ({"fileUrl": "file.txt"}, "attachments[0].fileUrl", "IRL"),
        ({"fileURL": "http://x.org/f"}, "attachments[0].fileURL", "unknown property"),
    ],
)
def test_malformed_attachments_are_rejected_at_their_path(
    statement: dict[str, Any],
    violation: Violation,
    changes: dict[str, Any],
    path: str,
    rule: str,
) -> None:
    statement["attachments"] = [{**ATTACHMENT, **changes}]
    error = violation(statement)
    assert error.path == path
    assert rule in error.rule
