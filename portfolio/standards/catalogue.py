"""The stored frameworks: importing and exporting CASE packages, finding items.

The versioning rule: a framework version, once stored, is never changed in place. Importing
a package whose (uri, version) is stored is a no-op when its content is the same (the same
canonical bytes) and a Conflict when it differs: changes are published as a new version,
which is stored beside the old ones. Evidence and goals that name an item keep their
meaning, because a new version keeps its items' uris.

The product ships three frameworks (`data/`), installed by `install_shipped` whenever the
store is initialised.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Final

from portfolio.clock import utc_now_iso
from portfolio.errors import Conflict, InvalidInput, NotFound
from portfolio.standards.framework import Framework, FrameworkItem, parse_package
from portfolio.storage.base import FrameworkRecord, FrameworkStore

__all__ = [
    "SHIPPED",
    "ImportOutcome",
    "ImportResult",
    "ItemInFramework",
    "find_current_item",
    "find_item",
    "get_framework",
    "import_package",
    "install_shipped",
    "shipped_packages",
]

# The frameworks the product ships, as files in portfolio/standards/data/, each named by
# the seed document it encodes (see each CFDocument's description).
SHIPPED: Final = (
    "vsc-cymru-standard.json",  # seed 004
    "lrip-management-competency-framework.json",  # seed 003
    "member-officer-development.json",  # seeds 000-002
)


class ImportOutcome(StrEnum):
    IMPORTED = "imported"
    ALREADY_PRESENT = "already present"


@dataclass(frozen=True)
class ImportResult:
    """What an import did: stored a new version, or found the same one already stored."""

    framework: Framework
    outcome: ImportOutcome


@dataclass(frozen=True)
class ItemInFramework:
    """An item, and the framework version it was read from."""

    framework: Framework
    item: FrameworkItem


def _record(framework: Framework) -> FrameworkRecord:
    return FrameworkRecord(
        uri=framework.uri,
        version=framework.version,
        title=framework.title,
        package=framework.package,
        digest=framework.digest,
        item_uris=tuple(item.uri for item in framework.items),
        imported=utc_now_iso(),
    )


def _same_or_conflict(stored: FrameworkRecord, framework: Framework) -> ImportResult:
    if stored.digest != framework.digest:
        raise Conflict(
            f"framework {framework.uri} version {framework.version} is already stored with "
            "different content; a stored version is never changed in place: publish the "
            "changes as a new version (a new CFDocument.version)"
        )
    return ImportResult(framework=framework, outcome=ImportOutcome.ALREADY_PRESENT)


def import_package(frameworks: FrameworkStore, data: bytes) -> ImportResult:
    """Store the framework version a CASE package holds, unless it is stored already.

    Returns IMPORTED when the version was new, ALREADY_PRESENT when the same (uri,
    version) was stored with the same content (nothing is written). Raises InvalidInput,
    naming the path and rule, for a package that is not valid (nothing is written), and
    Conflict when the same (uri, version) is stored with other content.
    """
    framework = parse_package(data)
    stored = frameworks.get(framework.uri, framework.version)
    if stored is not None:
        return _same_or_conflict(stored, framework)
    try:
        frameworks.add(_record(framework))
    except Conflict:
        # Another writer stored this version between our read and our write.
        stored = frameworks.get(framework.uri, framework.version)
        if stored is None:  # pragma: no cover - a store that refuses but has nothing
            raise
        return _same_or_conflict(stored, framework)
    return ImportResult(framework=framework, outcome=ImportOutcome.IMPORTED)


def shipped_packages() -> list[tuple[str, bytes]]:
    """The packages the product ships: (file name, bytes), in the order of SHIPPED."""
    data = resources.files("portfolio.standards").joinpath("data")
    return [(name, data.joinpath(name).read_bytes()) for name in SHIPPED]


def install_shipped(frameworks: FrameworkStore) -> list[ImportResult]:
    """Import the shipped frameworks; those already stored are left as they are.

    Safe to run on every start. Raises Conflict if a shipped (uri, version) is stored with
    other content: a shipped framework that changed must carry a new version.
    """
    return [import_package(frameworks, data) for _, data in shipped_packages()]


def get_framework(frameworks: FrameworkStore, uri: str, *, version: str | None = None) -> Framework:
    """That version of a stored framework, or its latest when `version` is None.

    Raises NotFound when there is no such framework or version.
    """
    record = frameworks.get(uri, version)
    if record is None:
        known = [summary.version for summary in frameworks.versions(uri)]
        if not known:
            raise NotFound(f"no framework with uri {uri}")
        raise NotFound(f"framework {uri} has no version {version!r} (stored: {', '.join(known)})")
    return _parsed(record.digest, record.package)


@lru_cache(maxsize=64)
def _parsed(digest: str, package: bytes) -> Framework:
    """A stored package parsed once per process: a stored (uri, version) never changes, and
    its digest names its exact bytes (pages read frameworks on every request)."""
    return parse_package(package)


def find_item(frameworks: FrameworkStore, item_uri: str) -> ItemInFramework | None:
    """The item with this uri, from the latest stored framework version that has it.

    None when no stored framework has an item with this uri.
    """
    containing = frameworks.containing(item_uri)
    if not containing:
        return None
    # Ordered by framework uri, then version: the last is the latest version (of the last
    # framework, should two frameworks share an item uri).
    latest = containing[-1]
    framework = get_framework(frameworks, latest.uri, version=latest.version)
    item = framework.item(item_uri)
    if item is None:  # pragma: no cover - the store's index and the package disagree
        raise NotFound(f"item {item_uri} is indexed but not in {latest.uri} {latest.version}")
    return ItemInFramework(framework=framework, item=item)


def _current_item_rule(version: str) -> str:
    """The rule an item named anew must meet, for InvalidInput."""
    return f"must be an item of the framework's current version ({version}), not a heading"


def find_current_item(
    frameworks: FrameworkStore, item_uri: str, *, path: str, framework: str | None = None
) -> ItemInFramework | None:
    """The item with this uri as the latest version of its framework has it, when what is
    made now (an evidence link, a goal, a mapping rule) may name it: an item without
    sub-items there. With `framework`, only that framework's latest version is looked in.

    Records made earlier keep naming items of older versions (and a bundle brings them as
    they were): only what is named anew must be current, so that no new evidence or goal
    counts toward an item the framework retired, nor toward a heading, which the dashboard
    and the analysis never show as an item.

    None when no stored version of any framework has the item; raises InvalidInput naming
    `path` when the latest version has it as a heading, or no longer has it.
    """
    containing = frameworks.containing(item_uri)
    uris = list(dict.fromkeys(s.uri for s in containing if framework in (None, s.uri)))
    if not uris:
        return None
    latest = [get_framework(frameworks, uri) for uri in uris]
    for current in latest:
        item = current.item(item_uri)
        if item is not None and not item.children:
            return ItemInFramework(framework=current, item=item)
    for current in latest:
        if current.item(item_uri) is not None:
            raise InvalidInput(
                f"{path} is a heading of {current.uri} version {current.version}: name the"
                f" items under it ({item_uri})",
                path=path,
                rule=_current_item_rule(current.version),
            )
    current = latest[-1]
    raise InvalidInput(
        f"{path} is no longer an item of {current.uri}: its current version,"
        f" {current.version}, does not have {item_uri}",
        path=path,
        rule=_current_item_rule(current.version),
    )
