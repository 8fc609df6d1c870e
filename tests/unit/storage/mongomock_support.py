"""Running a storage contract module on mongomock: its store fixture, and the module's
tests as parameters.

mongomock is a pinned dev dependency, imported plainly: a broken install fails here rather
than skipping. It is not a database: these runs check the documents the MongoDB adapter writes
and the filters it builds. The real check is the contract run with MONGODB_URI set.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

import mongomock
import pytest

from portfolio.storage.mongo import MongoStore


def contract_cases(contract: ModuleType, cannot: Mapping[str, str] = {}) -> list[Any]:
    """Every test of `contract` that takes just a store, as a parameter named after it;
    those mongomock cannot stand in for are skipped with the reason in `cannot`."""
    cases = []
    for name, fn in sorted(vars(contract).items()):
        if not name.startswith("test_") or not callable(fn):
            continue
        if list(inspect.signature(fn).parameters) != ["store"]:
            continue
        marks = [pytest.mark.skip(reason=cannot[name])] if name in cannot else []
        cases.append(pytest.param(fn, id=name.removeprefix("test_"), marks=marks))
    return cases


def mongomock_store_fixture() -> Iterator[MongoStore]:
    """A migrated MongoStore over a fresh mongomock client (use as a fixture body)."""
    store = MongoStore(
        "mongodb://mongomock.invalid/ignored",
        database=f"cpdfolio_unit_{uuid.uuid4().hex[:12]}",
        client=mongomock.MongoClient(),
        unsafe_without_transactions=True,
    )
    store.migrate()
    yield store
    store.drop_database()
    store.close()
