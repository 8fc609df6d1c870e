"""The MongoDB adapter's arrival (PortfolioStore.arrive, docs_of), checked on mongomock.

mongomock has no transactions, so the case where a stream fails half-way (all or
nothing) is left to a real server (the contract run with MONGODB_URI set)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portfolio.storage.mongo import MongoStore
from tests.contract import test_arrival_contract as contract
from tests.unit.storage.mongomock_support import contract_cases

MONGOMOCK_CANNOT = {
    "test_an_arrival_that_fails_half_way_writes_nothing": (
        "mongomock has no transactions; all-or-nothing runs against a real server (MONGODB_URI)"
    ),
}


def _contract_tests() -> list[Any]:
    return contract_cases(contract, MONGOMOCK_CANNOT)


@pytest.mark.parametrize("contract_test", _contract_tests())
def test_arrival_contract_holds_on_mongomock(
    contract_test: Callable[[MongoStore], None], mongomock_store: MongoStore
) -> None:
    contract_test(mongomock_store)
