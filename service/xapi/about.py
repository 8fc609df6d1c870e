"""GET /xapi/about (Communication 2.8): the versions served; no authentication needed."""

from __future__ import annotations

from flask import Response

from service.json import json_response
from service.xapi import bp, versions


@bp.get("/about")
def about() -> Response:
    return json_response({"version": list(versions.SUPPORTED)})
