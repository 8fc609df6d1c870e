"""GET /openapi.json: an OpenAPI 3 document of every route of the app, generated from the
marshmallow schemas in ``schemas/`` with apispec.

The document is built once per app, on the first request for it (by then every route is
registered), from two sources: the app's ``url_map`` says which paths and methods exist,
and :data:`OPERATIONS` describes each of them. A route missing from the table is left out
of the document with a warning, and ``tests/http/test_openapi.py`` fails until it is
described. HEAD is documented as GET without a body, and OPTIONS as the CORS preflight
under /xapi (Flask's automatic answer elsewhere), for every path that has them.

Unions (``actor``, ``object``, ``authority``, ``instructor``, a statement of either xAPI
version) become ``oneOf`` / ``anyOf`` of the component schemas, through a field converter
that reads the union field's ``choices`` (:mod:`service.openapi.converters`). The
operations are in :mod:`service.openapi.operations`, the pieces they share (error
responses, the version header, Basic auth, multipart bodies) in
:mod:`service.openapi.components`.
"""

from __future__ import annotations

import logging
import re
from importlib import metadata
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app

from service.json import json_response
from service.openapi.components import Doc, head_of, options
from service.openapi.converters import component_name, union_property
from service.openapi.operations import OPERATIONS, PATH_PARAMETERS
from service.ratelimit import LIMITS

log = logging.getLogger(__name__)

OPENAPI_VERSION = "3.0.3"
EXTENSION_KEY = "cpdfolio.openapi"

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return json_response(document(current_app))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of `app`, built on first use and kept for the app's life."""
    built: dict[str, Any] | None = app.extensions.get(EXTENSION_KEY)
    if built is None:
        # Two first requests at once may both build it; the results are equal.
        built = app.extensions[EXTENSION_KEY] = build(app)
    return built


def openapi_path(rule: str) -> str:
    """A werkzeug rule as an OpenAPI path: ``/static/<path:filename>`` → ``/static/{filename}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule)


def routes(app: Flask) -> dict[str, set[str]]:
    """Every path of the app (OpenAPI form) and the methods registered for it."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        found.setdefault(openapi_path(rule.rule), set()).update(rule.methods or ())
    return found


def build(app: Flask) -> dict[str, Any]:
    """Build the document from the app's routes and :data:`OPERATIONS`."""
    plugin = MarshmallowPlugin(schema_name_resolver=component_name)
    spec = APISpec(
        title="cpdfolio",
        version=_package_version(),
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": _DESCRIPTION},
    )
    assert plugin.converter is not None  # set by APISpec
    plugin.converter.add_attribute_function(union_property)
    doc = Doc(spec, plugin.converter)
    doc.register_components()
    limited = _rate_limited(app)
    for path, methods in sorted(routes(app).items()):
        described = OPERATIONS.get(path, {})
        operations: dict[str, dict[str, Any]] = {}
        for method in sorted(methods):
            if method in described:
                operations[method.lower()] = described[method](doc)
                if (method, path) in limited:
                    operations[method.lower()]["responses"]["429"] = _TOO_MANY
            elif method == "HEAD" and "GET" in described:
                operations["head"] = head_of(described["GET"](doc))
            elif method == "OPTIONS":
                operations["options"] = options(path)
            else:
                log.warning("%s %s is not described in the OpenAPI document", method, path)
        if set(operations) - {"head", "options"}:
            spec.path(path=path, operations=operations, parameters=_path_parameters(path) or None)
    return spec.to_dict()


_TOO_MANY = {
    "description": "Too many requests (service.ratelimit): wait the seconds Retry-After says",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}


def _rate_limited(app: Flask) -> set[tuple[str, str]]:
    """The (method, path) pairs that service.ratelimit limits."""
    endpoints = {limit.endpoint for limit in LIMITS}
    return {
        (method, openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint in endpoints
        for method in rule.methods or ()
    }


def _path_parameters(path: str) -> list[dict[str, Any]]:
    """The parameters of a templated path, declared once for all its operations."""
    return [
        {
            "in": "path",
            "name": name,
            "required": True,
            "description": PATH_PARAMETERS.get(name, ""),
            "schema": {"type": "string"},
        }
        for name in re.findall(r"{([^{}]+)}", path)
    ]


_DESCRIPTION = """\
cpdfolio: a CPD portfolio with a built-in xAPI Learning Record Store (xAPI 1.0.3 and \
2.0.0).

Every /xapi resource but /xapi/about needs HTTP Basic credentials of an LRS client and the \
X-Experience-API-Version header; every /xapi response names the version served and allows \
cross-origin calls (CORS). Errors are JSON: {"error", "message", "path", "rule"}.
"""


def _package_version() -> str:
    try:
        return metadata.version("cpdfolio")
    except metadata.PackageNotFoundError:
        return "0+unknown"
