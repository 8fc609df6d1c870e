"""The xAPI blueprint: everything under /xapi, and the rules every xAPI request shares.

Before each request: CORS preflights are answered, a malformed alternate request is
refused, the version header is checked (not for /about, Communication 2.8.s5.b4).
After each: the version header (Communication 3.3.s3.b1), CORS headers, and on the
Statement resource X-Experience-API-Consistent-Through, errors included
(Communication 2.1.3.s2.b5).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, g, request

from portfolio.errors import CpdfolioError, InvalidInput, PayloadTooLarge
from service.store import get_store
from service.xapi import alternate, cors, versions

log = logging.getLogger(__name__)

PREFIX = "/xapi"
bp = Blueprint("xapi", __name__, url_prefix=PREFIX)


def _is_xapi_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def _before() -> Response | None:
    if not _is_xapi_request():
        return None
    if request.method == "OPTIONS":
        return cors.preflight_response()
    problem = request.environ.get(alternate.ERROR_KEY)
    if problem is not None:
        path, rule = problem
        cls = (
            PayloadTooLarge if request.environ.get("cpdfolio.alternate_too_large") else InvalidInput
        )
        raise cls(f"alternate request syntax: {path} {rule}", path=path, rule=rule)
    if request.path == f"{PREFIX}/about":
        g.xapi_version = versions.LATEST_1_0
        return None
    g.xapi_version = versions.negotiate(request.headers.get(versions.HEADER))
    return None


def _after(response: Response) -> Response:
    if not _is_xapi_request():
        return response
    response.headers[versions.HEADER] = g.get("xapi_version") or versions.LATEST_1_0
    cors.add_cors_headers(response)
    if request.path == f"{PREFIX}/statements" and "X-Experience-API-Consistent-Through" not in (
        response.headers
    ):
        try:
            response.headers["X-Experience-API-Consistent-Through"] = (
                get_store().statements.consistent_through()
            )
        except CpdfolioError as exc:  # the store is down: the error response still goes out
            log.warning("no Consistent-Through header: %s", exc)
    return response


def init_app(app: Flask) -> None:
    from service.xapi import (  # noqa: F401  (importing registers the routes)
        about,
        activities_agents,
        documents,
        statements,
    )

    # App-level, not blueprint-level: these must run for 404/405 responses under /xapi,
    # which belong to no blueprint.
    app.before_request(_before)
    app.after_request(_after)
    app.register_blueprint(bp)
    app.wsgi_app = alternate.AlternateRequestSyntax(  # type: ignore[method-assign]
        app.wsgi_app, prefix=PREFIX + "/", max_body_bytes=current_max(app)
    )


def current_max(app: Flask) -> int:
    return int(app.config["CPDFOLIO"].max_body_bytes)


__all__ = ["bp", "current_app", "init_app"]
