"""CORS for content launched in browsers (e-learning packages post from their own origin).

xAPI 1.0.3 names no CORS rules; browser content needs them, so every /xapi response allows
the calling origin and exposes the xAPI headers, and preflights are answered without
credentials (a preflight never carries them).
"""

from __future__ import annotations

from flask import Response, request

ALLOW_METHODS = "GET, HEAD, PUT, POST, DELETE, OPTIONS"
ALLOW_HEADERS = (
    "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match, "
    "Accept-Language, X-Experience-API-Hash, Content-Transfer-Encoding"
)
EXPOSE_HEADERS = (
    "ETag, Last-Modified, Content-Type, X-Experience-API-Version, "
    "X-Experience-API-Consistent-Through"
)


def preflight_response() -> Response:
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
    requested = request.headers.get("Access-Control-Request-Headers")
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    if requested:
        # Content from authoring tools sometimes adds headers of its own; allowing what was
        # asked for (on top of the xAPI set) keeps those packages working.
        response.headers["Access-Control-Allow-Headers"] = f"{ALLOW_HEADERS}, {requested}"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


def add_cors_headers(response: Response) -> None:
    origin = request.headers.get("Origin")
    response.headers["Access-Control-Allow-Origin"] = origin or "*"
    if origin:
        response.vary.add("Origin")
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
