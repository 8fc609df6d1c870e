"""GET /health: is the service up and its store usable? (Docker HEALTHCHECK, load balancers)"""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from service.json import json_response
from service.store import get_store

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    get_store().ping()  # raises StorageUnavailable → 503
    return json_response({"status": "ok"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
