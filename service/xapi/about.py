"""GET /xapi/about (Communication 2.8): the versions served; no authentication needed."""

from __future__ import annotations

from flask import Response, request

from portfolio.lrs.params import require_only
from service.json import json_response
from service.xapi import bp, versions


@bp.get("/about")
def about() -> Response:
    # Communication 3.2.s3.b7: unknown parameters are a 400 here too.
    require_only(request.args, (), "GET /about")
    return json_response({"version": list(versions.SUPPORTED)})
