"""Connecting to MongoDB: the database a URI names, client options, and error mapping.

Shared by the MongoDB store's parts (`mongo`, `mongo_statements`, `mongo_clients`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import unquote

from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    WTimeoutError,
)

from portfolio.errors import StorageUnavailable

Document = dict[str, Any]

DEFAULT_DATABASE = "cpdfolio"
# Client options unless the URI sets them: fail over to a 503 in seconds rather than hang
# a worker, and acknowledge writes only once a majority of the set has them (the
# counterpart of SQLite's synchronous=FULL: an acknowledged write survives a failover).
DEFAULT_CLIENT_OPTIONS: dict[str, Any] = {
    "serverSelectionTimeoutMS": 5_000,
    "connectTimeoutMS": 5_000,
    "socketTimeoutMS": 30_000,
    "waitQueueTimeoutMS": 10_000,
    "w": "majority",
    "appname": "cpdfolio",
}
# A page query is a bounded index walk; one running longer than this is a sick server.
QUERY_MAX_TIME_MS = 15_000
# Ids per `$in`: keeps each command far below the 16 MB BSON limit.
CHUNK = 1_000
# Server error codes that mean "this deployment cannot run the operation as configured".
_ILLEGAL_OPERATION = 20  # e.g. "Transaction numbers are only allowed on a replica set"
_UNAUTHORIZED = (13, 18)  # Unauthorized, AuthenticationFailed
REPLICA_SET_NEEDED = (
    "MongoDB must run as a replica set for cpdfolio's transactions (a single-node replica "
    "set is fine: start mongod with --replSet rs0 and run rs.initiate() once)"
)


def database_from_uri(uri: str, default: str = DEFAULT_DATABASE) -> str:
    """The database a MongoDB URI names in its path, or `default` when it names none.

    Parsed by hand rather than with pymongo's parser, which resolves `mongodb+srv` names
    through DNS: building a store must not touch the network.
    """
    rest = uri.split("://", 1)[-1].split("?", 1)[0]
    hosts_and_path = rest.rpartition("@")[2]
    # Hosts cannot contain "/" (a socket path is percent-encoded), so the first one
    # starts the path.
    _, _, path = hosts_and_path.partition("/")
    return unquote(path) or default


def client_options(uri: str) -> dict[str, Any]:
    """The default client options that the URI does not set itself (URI options win)."""
    query = uri.partition("?")[2]
    given = {part.partition("=")[0].lower() for part in query.replace(";", "&").split("&") if part}
    return {k: v for k, v in DEFAULT_CLIENT_OPTIONS.items() if k.lower() not in given}


@contextlib.contextmanager
def unavailable_on_driver_errors(action: str) -> Iterator[None]:
    """Turn the driver's "cannot reach / cannot use the server" errors into StorageUnavailable.

    Other driver errors (a malformed command, say) are bugs and propagate as they are.
    """
    try:
        yield
    except (ConnectionFailure, ExecutionTimeout, WTimeoutError, ConfigurationError) as exc:
        # ConnectionFailure covers server selection timeouts, network errors, a primary
        # stepping down, and with_transaction giving up after its 120 s of retries.
        raise StorageUnavailable(f"MongoDB is unavailable ({action}): {exc}") from exc
    except OperationFailure as exc:
        if exc.code == _ILLEGAL_OPERATION and "replica set" in str(exc):
            raise StorageUnavailable(REPLICA_SET_NEEDED) from exc
        if exc.code in _UNAUTHORIZED:
            raise StorageUnavailable(f"MongoDB refused our credentials ({action}): {exc}") from exc
        if exc.has_error_label("TransientTransactionError") or exc.has_error_label(
            "UnknownTransactionCommitResult"
        ):
            raise StorageUnavailable(f"MongoDB transaction failed ({action}): {exc}") from exc
        raise


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
