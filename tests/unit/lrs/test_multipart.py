"""Parsing multipart/mixed statement requests (Communication 1.5.2, RFC 2046 5.1.1)."""

from __future__ import annotations

import pytest

from portfolio.errors import InvalidStatement
from portfolio.lrs.multipart import parse_multipart

CONTENT_TYPE = "multipart/mixed; boundary=simpleboundary"
STATEMENTS = b'{"actor":{"mbox":"mailto:a@example.org"}}'
ATTACHMENT = b"certificate bytes\r\n--not-the-boundary\r\n"
PARTS = (
    b"--simpleboundary\r\nContent-Type: application/json\r\n\r\n"
    + STATEMENTS
    + b"\r\n--simpleboundary\r\nContent-Type: text/plain\r\nX-Experience-API-Hash: abc\r\n\r\n"
    + ATTACHMENT
    + b"\r\n--simpleboundary--"
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"", b""),
        (b"", b"\r\n"),
        (b"\r\n", b"\r\n"),
        (b"This is a preamble; it carries no part.\r\n", b""),
        (b"preamble --simpleboundary mentioned mid-line\r\n", b"\r\n"),
        (b"", b"\r\nThis is the epilogue.\r\n--simpleboundary\r\nignored too\r\n"),
        (b"preamble\r\n", b"\r\nepilogue\r\n"),
    ],
)
def test_a_preamble_and_an_epilogue_are_ignored(before: bytes, after: bytes) -> None:
    """RFC 2046 5.1.1: text before the first delimiter and after the close delimiter."""
    statements, parts = parse_multipart(before + PARTS + after, CONTENT_TYPE)
    assert statements == STATEMENTS
    assert [(p.number, p.sha2, p.content_type, p.data) for p in parts] == [
        (1, "abc", "text/plain", ATTACHMENT)
    ]


@pytest.mark.parametrize(
    "body",
    [
        PARTS.removesuffix(b"--simpleboundary--"),  # no close delimiter
        b"no delimiter at all",
        PARTS.replace(b"\r\n", b"\n"),  # delimiters must start CRLF lines
    ],
)
def test_a_body_without_its_delimiters_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidStatement) as refused:
        parse_multipart(body, CONTENT_TYPE)
    assert refused.value.rule == "must be a multipart/mixed document (RFC 2046)"


def test_a_delimiter_not_starting_a_line_is_part_of_the_preamble() -> None:
    """RFC 2046 5.1.1: here the statements part is preamble, so the first part found
    holds the attachment, which is not the statements."""
    with pytest.raises(InvalidStatement) as refused:
        parse_multipart(b"preamble" + PARTS, CONTENT_TYPE)
    assert refused.value.path == "part 0.Content-Type"
