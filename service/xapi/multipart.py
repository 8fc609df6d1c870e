"""multipart/mixed responses (Communication 1.5.2): the statement JSON first, then one part
per attachment, each with X-Experience-API-Hash and Content-Transfer-Encoding: binary."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Response


@dataclass(frozen=True)
class AttachmentPart:
    content_type: str
    sha2: str
    data: bytes


def multipart_response(json_part: bytes, attachments: Sequence[AttachmentPart] = ()) -> Response:
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
            part.data,
            b"\r\n",
        ]
    chunks += [delimiter, b"--\r\n"]
    return Response(b"".join(chunks), content_type=f'multipart/mixed; boundary="{boundary}"')
