"""multipart/mixed responses for statements with attachments (Communication 1.5.2): the
statement JSON first, then one part per attachment, each with X-Experience-API-Hash and
Content-Transfer-Encoding: binary. Parsing requests is portfolio.lrs.multipart."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response

from portfolio.lrs.multipart import multipart_body, parse_multipart
from portfolio.storage.base import AttachmentData

__all__ = ["multipart_response", "parse_multipart"]


def multipart_response(json_part: bytes, attachments: Sequence[AttachmentData] = ()) -> Response:
    """The statement (or StatementResult) JSON first, then each attachment once."""
    body, content_type = multipart_body(json_part, attachments)
    return Response(body, content_type=content_type)
