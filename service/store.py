"""The store as a Flask extension: opened per app, closed per thread at app teardown."""

from __future__ import annotations

from flask import Flask, current_app

from portfolio.storage import open_store
from portfolio.storage.base import Store

_KEY = "cpdfolio.store"


def init_app(app: Flask, store: Store | None = None) -> None:
    app.extensions[_KEY] = (
        store if store is not None else open_store(app.config["CPDFOLIO"].database_url)
    )


def get_store() -> Store:
    store: Store = current_app.extensions[_KEY]
    return store
