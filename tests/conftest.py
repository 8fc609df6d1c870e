"""Shared fixtures: fresh settings, store and app per test; a real HTTP server when asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from portfolio.clients import create_client
from portfolio.storage import open_store
from portfolio.storage.base import Store
from service import create_app

pytest_plugins = ["tests.peers.fixtures"]


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{tmp_path / 'cpdfolio.db'}",
        "secret_key": "test-secret-key",
        "public_url": "http://lrs.test",
    }


@pytest.fixture
def app(settings: dict[str, Any]) -> Iterator[Flask]:
    store = open_store(settings["database_url"])
    store.migrate()
    application = create_app(settings, store_=store)
    yield application
    store.close()


class LiveServer:
    """The app served over real HTTP on a free loopback port, in a thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


class Xapi:
    """A small xAPI client for tests: base URL, credentials and the version header set."""

    def __init__(self, base: str, auth: tuple[str, str] | None, version: str | None = "1.0.3"):
        self.base = base
        self.session = requests.Session()
        if auth is not None:
            self.session.auth = auth
        if version is not None:
            self.session.headers["X-Experience-API-Version"] = version

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("HEAD", path, **kwargs)


def make_client(app: Flask, *scopes: str, name: str = "Test LMS") -> tuple[str, str]:
    store: Store = app.extensions["cpdfolio.store"]
    created = create_client(store.clients, name=name, scopes=list(scopes or ("all",)))
    return created.record.key, created.secret


@pytest.fixture
def credentials(app: Flask) -> tuple[str, str]:
    return make_client(app, "all")


@pytest.fixture
def xapi(live_server: LiveServer, credentials: tuple[str, str]) -> Xapi:
    return Xapi(live_server.url + "/xapi", credentials)


@pytest.fixture
def xapi_as(live_server: LiveServer, app: Flask):  # type: ignore[no-untyped-def]
    """A factory: an Xapi client with a new client of the given scopes."""

    def factory(*scopes: str, name: str = "Scoped client") -> Xapi:
        return Xapi(live_server.url + "/xapi", make_client(app, *scopes, name=name))

    return factory
