"""Every error becomes a JSON response here, and only here.

Body: {"error": slug, "message": text, "path": field path, "rule": rule} (path and rule
where they apply). 5xx bodies are generic; the cause is logged, never sent.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from portfolio import errors as domain
from portfolio.record.verify import RecordVerificationFailed
from service.json import json_response

log = logging.getLogger(__name__)

#: The routes whose path carries a secret: the one-time links of a 360° review and of a
#: mentoring confirmation, each the only credential its holder needs (for 14 days).
#: Everything else in the URL map names a resource by an id that grants nothing.
SECRET_ROUTES = ("review", "mentoring")
# Anchored at the start of the path, so /api/me/mentoring/<session_id> keeps its id.
# Repeated slashes are allowed: //review/<token> reaches the app too (as a redirect).
_SECRET_SEGMENT = re.compile(rf"^(/+(?:{'|'.join(SECRET_ROUTES)})/+)[^/]+")


def redact_path(path: str) -> str:
    """`path` fit to log: the token of a one-time link becomes `<token>`.

    Logs are kept, copied and read by more people than the link was sent to; a token in
    them would let any of those readers rate or confirm in someone else's name.
    """
    return _SECRET_SEGMENT.sub(r"\1<token>", path)


# Order matters: the first class that matches an error decides its status.
STATUS: tuple[tuple[type[domain.CpdfolioError], int], ...] = (
    (domain.PayloadTooLarge, 413),
    (domain.InvalidInput, 400),
    (domain.AuthenticationRequired, 401),
    (domain.Forbidden, 403),
    (domain.NotFound, 404),
    (domain.Conflict, 409),
    (domain.PreconditionFailed, 412),
    (domain.StorageUnavailable, 503),
    # The stored record is not what its signatures say: the request was fine, the
    # record is in a state that refuses it (the failure names the entry).
    (RecordVerificationFailed, 409),
)


def status_of(exc: domain.CpdfolioError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_response(
    status: int, slug: str, message: str, *, path: str | None = None, rule: str | None = None
) -> Response:
    body: dict[str, str] = {"error": slug, "message": message}
    if path is not None:
        body["path"] = path
    if rule is not None:
        body["rule"] = rule
    response = json_response(body, status=status)
    if status == 401:
        # The portfolio API takes Bearer tokens; the xAPI resources HTTP Basic (clients).
        scheme = "Bearer" if request.path.startswith("/api/") else "Basic"
        response.headers["WWW-Authenticate"] = f'{scheme} realm="cpdfolio", charset="UTF-8"'
    return response


def _domain_error(exc: domain.CpdfolioError) -> Response:
    status = status_of(exc)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, redact_path(request.path), exc)
        return error_response(status, exc.slug, "the service cannot handle this right now")
    if isinstance(exc, domain.InvalidInput):
        return error_response(status, exc.slug, exc.message, path=exc.path, rule=exc.rule)
    return error_response(status, exc.slug, exc.message)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if isinstance(exc, RequestEntityTooLarge):
        return error_response(
            413,
            "payload too large",
            "the request body is larger than this server accepts",
            rule="max_body_bytes",
        )
    slug = (exc.name or "error").lower()
    response = error_response(status, slug, exc.description or slug)
    if status == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, redact_path(request.path))
    return error_response(500, "internal error", "the service met an unexpected error")


def init_app(app: Flask) -> None:
    app.register_error_handler(domain.CpdfolioError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
