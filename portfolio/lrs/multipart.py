"""Parsing multipart/mixed statement documents (Communication 1.5.2): the statement JSON
first, then one part per attachment, each with X-Experience-API-Hash. Used for requests
the LRS receives and for responses from other LRSs (lrs_adapters).

Parsing uses requests-toolbelt's MultipartDecoder, which splits on the boundary with byte
operations and parses only the part headers: the standard library's MIME parser took
57 ms per MB, which capped attachment ingest near 18 MB/s (docs/benchmarks.md). The
decoder does not notice a missing closing delimiter, so that is checked here, and it
would take a preamble for a part, so the preamble and the epilogue are dropped first
(RFC 2046 5.1.1). Parts are taken as binary whatever they declare (Communication
1.5.2.s3.b6: the LRS SHOULD assume a Content-Transfer-Encoding of binary).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from email.message import Message

from requests_toolbelt.multipart.decoder import (
    ImproperBodyPartContentException,
    MultipartDecoder,
    NonMultipartContentTypeException,
)

from portfolio.errors import InvalidStatement
from portfolio.lrs.attachments import AttachmentPart
from portfolio.storage.base import AttachmentData


def parse_multipart(body: bytes, content_type: str) -> tuple[bytes, list[AttachmentPart]]:
    """The statements part and the attachment parts; raises InvalidStatement (400)."""
    header = Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise _malformed("the Content-Type has no boundary parameter")
    body = _between_delimiters(body, b"--" + boundary.encode("latin-1"))
    try:
        parts = MultipartDecoder(body, content_type).parts
    except (ImproperBodyPartContentException, NonMultipartContentTypeException, ValueError) as exc:
        raise _malformed(f"the multipart body is malformed ({exc})") from None
    if not parts:
        raise _malformed("the multipart body has no parts")
    first_type = _header(parts[0].headers, b"Content-Type")
    if first_type is None or _media_type(first_type) != "application/json":
        raise InvalidStatement(
            "the first part of a multipart request must hold the statements as application/json",
            path="part 0.Content-Type",
            rule="must be application/json",
        )
    return parts[0].content, [
        AttachmentPart(
            number=number,
            sha2=_header(part.headers, b"X-Experience-API-Hash"),
            content_type=_header(part.headers, b"Content-Type"),
            data=part.content,
        )
        for number, part in enumerate(parts[1:], start=1)
    ]


def _between_delimiters(body: bytes, dash_boundary: bytes) -> bytes:
    """The body from its first delimiter to its close delimiter.

    RFC 2046 5.1.1: a preamble before the first delimiter and an epilogue after the close
    delimiter carry no part and are to be ignored; the decoder would take a preamble for
    a part. A delimiter starts a line, so after the start of the body it follows a CRLF.
    """
    if body.startswith(dash_boundary):
        start = 0
    else:
        first = body.find(b"\r\n" + dash_boundary)
        if first < 0:
            raise _malformed("the multipart body has no boundary delimiter")
        start = first + 2
    close = body.find(b"\r\n" + dash_boundary + b"--", start)
    if close < 0:
        if dash_boundary + b"--" in body[start:]:
            raise _malformed("the close delimiter must start a line (after a CRLF)")
        raise _malformed("the multipart body has no closing boundary")
    end = close + 2 + len(dash_boundary) + 2
    return body if (start, end) == (0, len(body)) else body[start:end]


def _header(headers: Mapping[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1").strip()


def _media_type(value: str) -> str:
    return value.split(";")[0].strip().lower()


def _malformed(message: str) -> InvalidStatement:
    return InvalidStatement(message, path="", rule="must be a multipart/mixed document (RFC 2046)")


def multipart_body(
    json_part: bytes, attachments: Sequence[AttachmentData] = ()
) -> tuple[bytes, str]:
    """A multipart/mixed document and its Content-Type: the statement (or statements, or
    StatementResult) JSON first, then each attachment once, binary."""
    boundary = secrets.token_hex(16)
    delimiter = b"--" + boundary.encode()
    chunks = [delimiter, b"\r\nContent-Type: application/json\r\n\r\n", json_part, b"\r\n"]
    for part in attachments:
        chunks += [
            delimiter,
            b"\r\nContent-Type: " + part.content_type.encode(),
            b"\r\nContent-Transfer-Encoding: binary",
            b"\r\nX-Experience-API-Hash: " + part.sha2.encode(),
            b"\r\n\r\n",
            part.content,
            b"\r\n",
        ]
    chunks += [delimiter, b"--\r\n"]
    return b"".join(chunks), f'multipart/mixed; boundary="{boundary}"'
