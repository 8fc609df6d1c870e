"""Storage: the port (`base`) and its adapters, chosen by database URL in one place."""

from __future__ import annotations

from portfolio.storage.base import Store


def open_store(database_url: str) -> Store:
    """The store a database URL names: `sqlite:///path` or `mongodb://...`.

    Opening is lazy: no connection is made until the store is first used.
    """
    if database_url.startswith("sqlite:///"):
        from portfolio.storage.sqlite import SqliteStore

        return SqliteStore(database_url.removeprefix("sqlite:///"))
    if database_url.startswith(("mongodb://", "mongodb+srv://")):
        from portfolio.storage.mongo import MongoStore

        return MongoStore(database_url)
    raise ValueError(
        f"unsupported database URL {database_url!r}: use sqlite:///PATH or mongodb://HOST/DB"
    )
