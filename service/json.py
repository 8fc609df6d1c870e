"""JSON in and out with orjson (several times faster than the stdlib on the ingest path)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response

JSON_TYPE = "application/json"


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def json_response(value: Any, *, status: int = 200) -> Response:
    return Response(dumps(value), status=status, mimetype=JSON_TYPE)


def raw_json_response(body: bytes, *, status: int = 200) -> Response:
    """A response from JSON bytes already serialised (statements are kept as bytes)."""
    return Response(body, status=status, mimetype=JSON_TYPE)
