"""A competency framework: one version of a CASE package, with its items in hierarchy order.

A framework is known by its CFDocument `uri` and `version`; its items by their own `uri`,
which a new version keeps, so evidence mapped to an item keeps its meaning. The package
is kept as *canonical* JSON bytes, so that an export is byte-for-byte the same every time
and "the same content" is a comparison of bytes:

* UTF-8, two-space indentation, object keys sorted, a trailing newline;
* `CFItems` in hierarchy order: the children of the document, then depth first, siblings
  ordered by the `sequenceNumber` of their isChildOf association (those without one
  last), then by identifier; an item with no isChildOf association is a child of the
  document;
* `CFAssociations` ordered by the position of their origin (the document first, then the
  items in the order above), then by type, destination identifier and identifier;
* everything else, including every other array, exactly as given.

Canonicalising a canonical package changes nothing, and the order depends only on the
content, so two files that differ only in order or layout hold the same framework.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import orjson

from portfolio.errors import InvalidInput
from schemas.case import IS_CHILD_OF, validate_package
from schemas.errors import SchemaViolation

__all__ = [
    "Framework",
    "FrameworkItem",
    "canonical_json",
    "export_package",
    "parse_package",
]

_CANONICAL: Final = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
_BOM: Final = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class FrameworkItem:
    """One CFItem: a competency, or a grouping of competencies (an element, a focus).

    `parent` is the uri of the item it is a child of, None for a child of the document;
    `children` are the uris of its own children, in order; `depth` is 0 at the top.
    """

    uri: str
    identifier: str
    statement: str
    code: str | None = None
    abbreviation: str | None = None
    item_type: str | None = None
    parent: str | None = None
    children: tuple[str, ...] = ()
    depth: int = 0

    @property
    def label(self) -> str:
        """The item as a person reads it: its code, if any, and its statement."""
        return f"{self.code} {self.statement}" if self.code else self.statement


@dataclass(frozen=True)
class Framework:
    """One version of a framework: its identity, its items in hierarchy order, its package.

    `package` is the canonical CASE JSON (see the module notes) and `digest` its SHA-256,
    hex. Build one with :func:`parse_package`.
    """

    uri: str
    identifier: str
    version: str
    title: str
    creator: str
    description: str | None
    items: tuple[FrameworkItem, ...]
    package: bytes = field(repr=False)
    digest: str

    @cached_property
    def _by_uri(self) -> dict[str, FrameworkItem]:
        return {item.uri: item for item in self.items}

    def item(self, uri: str) -> FrameworkItem | None:
        """The item with this uri; None when the framework has none."""
        return self._by_uri.get(uri)

    def children(self, uri: str | None = None) -> tuple[FrameworkItem, ...]:
        """The children of the item with this uri (of the document when None), in order.

        An unknown uri has no children.
        """
        if uri is None:
            return tuple(item for item in self.items if item.parent is None)
        parent = self._by_uri.get(uri)
        return () if parent is None else tuple(self._by_uri[c] for c in parent.children)


def parse_package(data: bytes) -> Framework:
    """The framework a CASE package (JSON bytes, UTF-8) holds.

    A UTF-8 byte order mark is ignored. Raises InvalidInput, naming the path and the rule
    (`CFItems[3].uri`, "must be an absolute IRI"), when `data` is not JSON or not a valid
    package (schemas.case).
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        package = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"the package is not JSON: {exc}", path="", rule="must be JSON in UTF-8"
        ) from exc
    try:
        validate_package(package)
    except SchemaViolation as exc:
        raise InvalidInput(
            f"{exc.path or 'the package'} {exc.rule}", path=exc.path, rule=exc.rule
        ) from exc
    return _framework(package)


def export_package(framework: Framework) -> bytes:
    """The framework's CASE package: canonical JSON bytes, the same on every call."""
    return framework.package


def canonical_json(package: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a valid package (see the module notes)."""
    ordered = dict(package)
    items, associations = _ordered(package)
    if "CFItems" in package:
        ordered["CFItems"] = items
    if "CFAssociations" in package:
        ordered["CFAssociations"] = associations
    return orjson.dumps(ordered, option=_CANONICAL)


# ------------------------------------------------------------------------- ordering


def _key(identifier: str) -> str:
    return identifier.lower()


def _ordered(package: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    """CFItems in hierarchy order and CFAssociations in origin order (module notes)."""
    items = {_key(item["identifier"]): item for item in package.get("CFItems", [])}
    associations = package.get("CFAssociations", [])
    parent_of: dict[str, tuple[str | None, int | None]] = {}
    for association in associations:
        if association["associationType"] == IS_CHILD_OF:
            child = _key(association["originNodeURI"]["identifier"])
            parent = _key(association["destinationNodeURI"]["identifier"])
            parent_of[child] = (
                parent if parent in items else None,
                association.get("sequenceNumber"),
            )
    children: dict[str | None, list[str]] = {}
    for key in items:
        children.setdefault(parent_of.get(key, (None, None))[0], []).append(key)

    def sibling_order(key: str) -> tuple[bool, int, str]:
        sequence = parent_of.get(key, (None, None))[1]
        return (sequence is None, sequence or 0, key)

    order: list[str] = []
    stack: list[str] = sorted(children.get(None, []), key=sibling_order, reverse=True)
    while stack:  # depth first, without recursion: a framework may be deep
        key = stack.pop()
        order.append(key)
        stack.extend(sorted(children.get(key, []), key=sibling_order, reverse=True))
    position = {key: i for i, key in enumerate(order)}

    def association_order(association: Mapping[str, Any]) -> tuple[int, str, str, str]:
        origin = _key(association["originNodeURI"]["identifier"])
        return (
            position.get(origin, -1),  # the document (the only other origin) comes first
            association["associationType"],
            _key(association["destinationNodeURI"]["identifier"]),
            _key(association["identifier"]),
        )

    return [items[key] for key in order], sorted(associations, key=association_order)


def _framework(package: Mapping[str, Any]) -> Framework:
    canonical = canonical_json(package)
    # Build from the canonical form itself, so the items' order is the package's order.
    ordered = orjson.loads(canonical)
    document = ordered["CFDocument"]
    uri_of = {_key(item["identifier"]): item["uri"] for item in ordered.get("CFItems", [])}
    parent: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    for association in ordered.get("CFAssociations", []):
        if association["associationType"] != IS_CHILD_OF:
            continue
        destination = uri_of.get(_key(association["destinationNodeURI"]["identifier"]))
        if destination is not None:
            child = uri_of[_key(association["originNodeURI"]["identifier"])]
            parent[child] = destination
    for item in ordered.get("CFItems", []):
        if item["uri"] in parent:
            children.setdefault(parent[item["uri"]], []).append(item["uri"])
    depth: dict[str, int] = {}
    items = []
    for item in ordered.get("CFItems", []):
        uri = item["uri"]
        up = parent.get(uri)
        depth[uri] = 0 if up is None else depth[up] + 1  # parents come first in this order
        items.append(
            FrameworkItem(
                uri=uri,
                identifier=item["identifier"],
                statement=item["fullStatement"],
                code=item.get("humanCodingScheme"),
                abbreviation=item.get("abbreviatedStatement"),
                item_type=item.get("CFItemType"),
                parent=up,
                children=tuple(children.get(uri, ())),
                depth=depth[uri],
            )
        )
    return Framework(
        uri=document["uri"],
        identifier=document["identifier"],
        version=document["version"],
        title=document["title"],
        creator=document["creator"],
        description=document.get("description"),
        items=tuple(items),
        package=canonical,
        digest=hashlib.sha256(canonical).hexdigest(),
    )
