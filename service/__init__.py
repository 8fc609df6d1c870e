"""The cpdfolio web service: an app factory and one blueprint per resource."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from portfolio.storage.base import Store
from service import errors, health, ratelimit, store
from service.config import Settings
from service.secrets import resolve_secret_key

# Responses under these carry personal data (a portfolio, statements, documents, the
# subject of a review or a mentoring session): no cache, shared or the browser's, may
# keep them. /health, /openapi.json and /.well-known stay cacheable.
PRIVATE_PREFIXES = ("/api", "/xapi", "/review", "/mentoring")


def is_private_path(path: str) -> bool:
    """True for a path in one of the PRIVATE_PREFIXES families (the prefix itself, or
    anything below it; `/apis` is not `/api`)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PRIVATE_PREFIXES)


def create_app(
    config: Settings | Mapping[str, Any] | None = None, *, store_: Store | None = None
) -> Flask:
    """Build the app. `config` is a Settings, a mapping of settings, or None for the environment."""
    if config is None:
        settings = Settings.from_env()
    elif isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_mapping(config)
    logging.basicConfig(level=settings.log_level)

    app = Flask(__name__)
    app.config["CPDFOLIO"] = settings
    app.config["CPDFOLIO_SECRET"] = resolve_secret_key(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]

    store.init_app(app, store_)
    errors.init_app(app)
    health.init_app(app)

    from service import api, api_assessment, api_mentoring, api_portfolio, openapi, people, xapi

    people.init_app(app)
    xapi.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_assessment.bp)
    app.register_blueprint(api_portfolio.bp)
    app.register_blueprint(api_mentoring.bp)
    from service import api_bundle

    app.register_blueprint(api_bundle.bp)
    app.register_blueprint(api_bundle.well_known)
    from service import api_erasure

    app.register_blueprint(api_erasure.bp)
    from service import api_sources

    app.register_blueprint(api_sources.bp)
    openapi.init_app(app)
    ratelimit.install(app, storage_uri=settings.rate_limit_storage_uri)
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if is_private_path(request.path):
            # A route that decides its own caching keeps its header.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
