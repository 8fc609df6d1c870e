"""multipart/mixed requests and responses for statements with attachments
(Communication 1.5.2): the statement JSON first, then one part per attachment, each with
X-Experience-API-Hash and Content-Transfer-Encoding: binary.

Parsing uses the standard library's MIME parser (email, HTTP policy), which keeps binary
parts byte for byte and reports malformed structure as defects; any defect is a 400.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from email import policy
from email.message import Message
from email.parser import BytesParser

from flask import Response

from portfolio.errors import InvalidStatement
from portfolio.lrs.attachments import AttachmentPart
from portfolio.storage.base import AttachmentData

_PARSER = BytesParser(policy=policy.HTTP)


def parse_multipart(body: bytes, content_type: str) -> tuple[bytes, list[AttachmentPart]]:
    """The statements part and the attachment parts; raises InvalidStatement (400)."""
    if "boundary=" not in content_type:
        raise _malformed("the Content-Type has no boundary parameter")
    message = _PARSER.parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise _malformed("the body is not a multipart document")
    parts = message.get_payload()
    defects = list(message.defects) + [d for p in parts for d in p.defects]
    if defects:
        raise _malformed(f"the multipart body is malformed ({type(defects[0]).__name__})")
    if not parts:
        raise _malformed("the multipart body has no parts")
    first = parts[0]
    if first.get_content_type() != "application/json":
        raise InvalidStatement(
            "the first part of a multipart request must hold the statements as application/json",
            path="part 0.Content-Type",
            rule="must be application/json",
        )
    return _payload(first), [
        AttachmentPart(
            number=number,
            sha2=part.get("X-Experience-API-Hash"),
            content_type=part.get_content_type() if part.get("Content-Type") else None,
            data=_payload(part),
        )
        for number, part in enumerate(parts[1:], start=1)
    ]


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _malformed(message: str) -> InvalidStatement:
    return InvalidStatement(message, path="", rule="must be a multipart/mixed document (RFC 2046)")


def multipart_response(json_part: bytes, attachments: Sequence[AttachmentData] = ()) -> Response:
    """The statement (or StatementResult) JSON first, then each attachment once."""
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
    return Response(b"".join(chunks), content_type=f'multipart/mixed; boundary="{boundary}"')
