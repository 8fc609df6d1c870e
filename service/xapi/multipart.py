"""multipart/mixed responses for statements with attachments (Communication 1.5.2): the
statement JSON first, then one part per attachment, each with X-Experience-API-Hash and
Content-Transfer-Encoding: binary. Parsing requests is portfolio.lrs.multipart."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from flask import Response

from portfolio.lrs.multipart import parse_multipart
from portfolio.storage.base import AttachmentData

__all__ = ["multipart_response", "parse_multipart"]


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
