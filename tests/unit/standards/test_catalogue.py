"""Importing and exporting frameworks through the store: a stored version never changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from portfolio.errors import Conflict, InvalidInput, NotFound
from portfolio.standards import (
    ImportOutcome,
    export_package,
    find_item,
    get_framework,
    import_package,
    install_shipped,
    parse_package,
    shipped_packages,
)
from portfolio.standards.catalogue import find_current_item
from portfolio.storage.base import FrameworkRecord, FrameworkStore, FrameworkSummary
from portfolio.storage.sqlite import SqliteStore
from tests.unit.standards.packages import BASE, dumps, example


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "standards.db")
    s.migrate()
    yield s
    s.close()


def edited(version: str = "1.0") -> bytes:
    package = example(version=version)
    package["CFItems"][0]["fullStatement"] = "A changed statement"
    return dumps(package)


def test_importing_a_new_version_stores_it(store: SqliteStore) -> None:
    result = import_package(store.frameworks, dumps(example()))
    assert result.outcome is ImportOutcome.IMPORTED
    [summary] = store.frameworks.list()
    assert (summary.uri, summary.version, summary.item_count) == (
        result.framework.uri,
        "1.0",
        5,
    )
    assert get_framework(store.frameworks, result.framework.uri) == result.framework


def test_importing_the_same_content_again_is_a_no_op(store: SqliteStore) -> None:
    first = import_package(store.frameworks, dumps(example()))
    before = store.frameworks.list()
    again = import_package(store.frameworks, export_package(first.framework))
    assert again.outcome is ImportOutcome.ALREADY_PRESENT
    assert again.framework == first.framework
    assert store.frameworks.list() == before  # not even the import time changed


def test_the_same_version_with_other_content_is_refused_and_nothing_changes(
    store: SqliteStore,
) -> None:
    first = import_package(store.frameworks, dumps(example()))
    with pytest.raises(Conflict) as info:
        import_package(store.frameworks, edited())
    message = info.value.message
    assert f"framework {first.framework.uri} version 1.0" in message
    assert "never changed in place" in message
    assert "new version" in message
    assert export_package(get_framework(store.frameworks, first.framework.uri)) == (
        first.framework.package
    )


def test_a_new_version_is_stored_beside_the_old_one(store: SqliteStore) -> None:
    first = import_package(store.frameworks, dumps(example()))
    second = import_package(store.frameworks, edited("1.1"))
    assert second.outcome is ImportOutcome.IMPORTED
    uri = first.framework.uri
    assert [s.version for s in store.frameworks.versions(uri)] == ["1.0", "1.1"]
    assert get_framework(store.frameworks, uri).version == "1.1"
    assert get_framework(store.frameworks, uri, version="1.0") == first.framework
    # The items keep their uris across versions.
    assert [i.uri for i in second.framework.items] == [i.uri for i in first.framework.items]


def test_an_invalid_package_writes_nothing(store: SqliteStore) -> None:
    package = example()
    del package["CFDocument"]["version"]
    with pytest.raises(InvalidInput) as info:
        import_package(store.frameworks, dumps(package))
    assert info.value.path == "CFDocument.version"
    assert store.frameworks.list() == []


def test_unknown_frameworks_and_versions_are_not_found(store: SqliteStore) -> None:
    with pytest.raises(NotFound, match=r"no framework with uri https://nope\.example\.org"):
        get_framework(store.frameworks, "https://nope.example.org")
    uri = import_package(store.frameworks, dumps(example())).framework.uri
    with pytest.raises(NotFound, match=r"has no version '9' \(stored: 1.0\)"):
        get_framework(store.frameworks, uri, version="9")


def test_an_item_is_found_in_the_latest_version_that_has_it(store: SqliteStore) -> None:
    import_package(store.frameworks, dumps(example()))
    import_package(store.frameworks, edited("1.1"))
    framework = parse_package(dumps(example()))
    b1 = framework.items[-1]
    found = find_item(store.frameworks, b1.uri)
    assert found is not None
    assert found.framework.version == "1.1"
    assert found.item.uri == b1.uri
    assert found.item.parent == framework.items[3].uri
    assert find_item(store.frameworks, "https://nope.example.org/items/X") is None


def retiring(version: str, code: str) -> bytes:
    """The example as a later version without the item `code` (and its place in the tree)."""
    package = example(version=version)
    uri = f"{BASE}/items/{code}"
    package["CFItems"] = [i for i in package["CFItems"] if i["uri"] != uri]
    package["CFAssociations"] = [
        a for a in package["CFAssociations"] if a["originNodeURI"]["uri"] != uri
    ]
    return dumps(package)


def test_only_an_item_of_the_latest_version_may_be_named_anew(store: SqliteStore) -> None:
    import_package(store.frameworks, dumps(example()))
    import_package(store.frameworks, retiring("1.1", "A.2"))
    a1, a2, heading = (f"{BASE}/items/{code}" for code in ("A.1", "A.2", "A"))
    found = find_current_item(store.frameworks, a1, path="item")
    assert found is not None
    assert (found.framework.version, found.item.uri) == ("1.1", a1)
    rule = "must be an item of the framework's current version (1.1), not a heading"
    with pytest.raises(InvalidInput, match=r"no longer an item of .*1\.1") as retired:
        find_current_item(store.frameworks, a2, path="items[0]")
    assert (retired.value.path, retired.value.rule) == ("items[0]", rule)
    with pytest.raises(InvalidInput, match="is a heading") as grouping:
        find_current_item(store.frameworks, heading, path="item")
    assert (grouping.value.path, grouping.value.rule) == ("item", rule)
    assert find_current_item(store.frameworks, f"{BASE}/items/X", path="item") is None
    assert find_current_item(store.frameworks, a1, path="item", framework="https://x.test") is None
    # What was recorded on the retired item still finds it, in the version that has it.
    kept = find_item(store.frameworks, a2)
    assert kept is not None and kept.framework.version == "1.0"


def test_installing_the_shipped_frameworks_is_idempotent(store: SqliteStore) -> None:
    first = install_shipped(store.frameworks)
    assert [r.outcome for r in first] == [ImportOutcome.IMPORTED] * len(shipped_packages())
    listed = store.frameworks.list()
    second = install_shipped(store.frameworks)
    assert [r.outcome for r in second] == [ImportOutcome.ALREADY_PRESENT] * len(first)
    assert store.frameworks.list() == listed


class _Racing:
    """A store where another writer stores the same version between our read and write."""

    def __init__(self, inner: FrameworkStore, winner: FrameworkRecord) -> None:
        self.inner = inner
        self.winner = winner
        self.reads = 0

    def add(self, record: FrameworkRecord) -> None:
        self.inner.add(self.winner)
        self.inner.add(record)  # refused: Conflict

    def get(self, uri: str, version: str | None = None) -> FrameworkRecord | None:
        self.reads += 1
        return None if self.reads == 1 else self.inner.get(uri, version)

    def versions(self, uri: str) -> list[FrameworkSummary]:
        return self.inner.versions(uri)

    def containing(self, item_uri: str) -> list[FrameworkSummary]:
        return self.inner.containing(item_uri)

    def list(self) -> list[FrameworkSummary]:
        return self.inner.list()


def _record(data: bytes) -> FrameworkRecord:
    framework = parse_package(data)
    return FrameworkRecord(
        uri=framework.uri,
        version=framework.version,
        title=framework.title,
        package=framework.package,
        digest=framework.digest,
        item_uris=tuple(i.uri for i in framework.items),
        imported="2026-01-01T00:00:00.000000Z",
    )


def test_losing_a_race_to_the_same_content_is_already_present(store: SqliteStore) -> None:
    racing = _Racing(store.frameworks, _record(dumps(example())))
    assert import_package(racing, dumps(example())).outcome is ImportOutcome.ALREADY_PRESENT


def test_losing_a_race_to_other_content_is_a_conflict(store: SqliteStore) -> None:
    winner = replace(_record(edited()), title="the winner")
    with pytest.raises(Conflict, match="never changed in place"):
        import_package(_Racing(store.frameworks, winner), dumps(example()))
    stored = store.frameworks.get(winner.uri, "1.0")
    assert stored is not None
    assert stored.title == "the winner"
