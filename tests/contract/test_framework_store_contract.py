"""The framework storage contract: every adapter passes the same tests.

SQLite always runs. MongoDB runs when MONGODB_URI points at a server; without one those
cases are skipped and say so. (tests/unit/storage/test_mongo_frameworks.py also runs these
tests on mongomock, which checks the adapter's documents and filters, not a database.)
"""

from __future__ import annotations

import threading

import pytest

from portfolio.errors import Conflict
from portfolio.storage.base import FrameworkRecord, Store, version_order

URI = "https://frameworks.example.org/contract"


def record(
    version: str = "1.0",
    *,
    uri: str = URI,
    items: tuple[str, ...] = ("A", "A.1", "B"),
    imported: str = "2026-01-01T00:00:00.000000Z",
    package: bytes | None = None,
) -> FrameworkRecord:
    body = package if package is not None else f'{{"uri":"{uri}","v":"{version}"}}\n'.encode()
    return FrameworkRecord(
        uri=uri,
        version=version,
        title=f"Framework {version}",
        package=body,
        digest=f"digest-{version}",
        item_uris=tuple(f"{uri}/items/{code}" for code in items),
        imported=imported,
    )


def test_an_added_version_reads_back_exactly(store: Store) -> None:
    # Bytes with a NUL, non-UTF-8 and a `$` key: kept as bytes, never as a document.
    added = record(package=b'{"$ext":{"a.b":1}}\x00\xff\n')
    store.frameworks.add(added)
    assert store.frameworks.get(URI, "1.0") == added
    assert store.frameworks.get(URI) == added
    [summary] = store.frameworks.list()
    assert summary == added.summary
    assert summary.item_count == 3


def test_unknown_frameworks_and_versions_are_none_or_empty(store: Store) -> None:
    store.frameworks.add(record())
    assert store.frameworks.get("https://unknown.example.org") is None
    assert store.frameworks.get(URI, "2.0") is None
    assert store.frameworks.versions("https://unknown.example.org") == []
    assert store.frameworks.containing("https://unknown.example.org/items/A") == []


def test_adding_a_stored_version_again_is_a_conflict_and_changes_nothing(store: Store) -> None:
    first = record()
    store.frameworks.add(first)
    other = record(items=("Z",), package=b"{}\n", imported="2026-02-01T00:00:00.000000Z")
    with pytest.raises(Conflict, match=f"framework {URI} version 1.0 is already stored"):
        store.frameworks.add(other)
    assert store.frameworks.get(URI, "1.0") == first
    assert store.frameworks.containing(f"{URI}/items/Z") == []
    assert len(store.frameworks.list()) == 1


def test_a_new_version_is_stored_beside_the_old(store: Store) -> None:
    old, new = record("1.0"), record("1.1", items=("A", "C"))
    store.frameworks.add(old)
    store.frameworks.add(new)
    assert store.frameworks.get(URI, "1.0") == old
    assert store.frameworks.get(URI) == new
    assert [s.version for s in store.frameworks.versions(URI)] == ["1.0", "1.1"]


def test_versions_are_ordered_by_number_whatever_the_import_order(store: Store) -> None:
    for version in ("1.10", "2.0", "1.9", "1.2.1", "1.2"):
        store.frameworks.add(record(version))
    assert [s.version for s in store.frameworks.versions(URI)] == [
        "1.2",
        "1.2.1",
        "1.9",
        "1.10",
        "2.0",
    ]
    latest = store.frameworks.get(URI)
    assert latest is not None
    assert latest.version == "2.0"


def test_versions_that_order_alike_are_ordered_by_import_time(store: Store) -> None:
    store.frameworks.add(record("1.00", imported="2026-01-02T00:00:00.000000Z"))
    store.frameworks.add(record("1.0", imported="2026-01-01T00:00:00.000000Z"))
    assert [s.version for s in store.frameworks.versions(URI)] == ["1.0", "1.00"]
    latest = store.frameworks.get(URI)
    assert latest is not None
    assert latest.version == "1.00"


def test_list_orders_by_uri_then_version(store: Store) -> None:
    other = "https://frameworks.example.org/another"
    store.frameworks.add(record("2.0"))
    store.frameworks.add(record("1.0", uri=other))
    store.frameworks.add(record("1.0"))
    listed = [(s.uri, s.version) for s in store.frameworks.list()]
    assert listed == [(other, "1.0"), (URI, "1.0"), (URI, "2.0")]


def test_an_item_is_found_in_every_version_that_has_it(store: Store) -> None:
    store.frameworks.add(record("1.0", items=("A", "B")))
    store.frameworks.add(record("1.1", items=("A", "C")))
    other = "https://frameworks.example.org/another"
    store.frameworks.add(record("1.0", uri=other, items=("X",)))
    found = store.frameworks.containing(f"{URI}/items/A")
    assert [(s.uri, s.version) for s in found] == [(URI, "1.0"), (URI, "1.1")]
    assert [s.version for s in store.frameworks.containing(f"{URI}/items/B")] == ["1.0"]
    assert [s.uri for s in store.frameworks.containing(f"{other}/items/X")] == [other]


def test_item_uris_keep_their_order(store: Store) -> None:
    codes = tuple(f"Z{n}" for n in range(30, 0, -1))
    store.frameworks.add(record(items=codes))
    stored = store.frameworks.get(URI)
    assert stored is not None
    assert stored.item_uris == tuple(f"{URI}/items/{code}" for code in codes)


def test_racing_writers_of_one_version_have_exactly_one_winner(store: Store) -> None:
    results: list[str] = []
    barrier = threading.Barrier(4)

    def add(n: int) -> None:
        barrier.wait()
        try:
            store.frameworks.add(record(package=f"{n}\n".encode()))
            results.append("added")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["added", "conflict", "conflict", "conflict"]
    assert len(store.frameworks.list()) == 1


def test_version_order_compares_numbers_as_numbers() -> None:
    ordered = ["0.9", "1", "1.0", "1.2", "1.10", "1.10.1", "1.x", "2.0-draft", "2.0", "10"]
    assert sorted(ordered, key=version_order) == [
        "0.9",
        "1",
        "1.0",
        "1.2",
        "1.10",
        "1.10.1",
        "1.x",
        "2.0",
        "2.0-draft",
        "10",
    ]
