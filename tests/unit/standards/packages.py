"""Small CASE packages for tests, built from codes: identifiers are uuid5 of the uris."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

WHEN = "2026-01-01T00:00:00Z"
BASE = "https://frameworks.example.org/test"

Json = dict[str, Any]


def uid(uri: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, uri))


def document(*, uri: str = BASE, version: str = "1.0", title: str = "Test framework") -> Json:
    return {
        "identifier": uid(uri),
        "uri": uri,
        "creator": "Tests",
        "title": title,
        "version": version,
        "lastChangeDateTime": WHEN,
    }


def item(code: str, statement: str | None = None, *, base: str = BASE, **extra: Any) -> Json:
    uri = f"{base}/items/{code}"
    return {
        "identifier": uid(uri),
        "uri": uri,
        "fullStatement": statement or f"Statement {code}",
        "humanCodingScheme": code,
        "lastChangeDateTime": WHEN,
        **extra,
    }


def link(node: Json) -> Json:
    return {
        "title": node.get("fullStatement") or node["title"],
        "identifier": node["identifier"],
        "uri": node["uri"],
    }


def association(origin: Json, destination: Json, kind: str = "isChildOf", **extra: Any) -> Json:
    uri = f"{origin['uri']}/{kind}/{destination['identifier']}"
    return {
        "identifier": uid(uri),
        "uri": uri,
        "associationType": kind,
        "originNodeURI": link(origin),
        "destinationNodeURI": link(destination),
        "lastChangeDateTime": WHEN,
        **extra,
    }


def child_of(child: Json, parent: Json, sequence: int | None = None) -> Json:
    extra = {} if sequence is None else {"sequenceNumber": sequence}
    return association(child, parent, **extra)


def example(*, version: str = "1.0") -> Json:
    """A document with two elements, A (A.1, A.2) and B (B.1), in that order."""
    doc = document(version=version)
    a, b = item("A", "Element A"), item("B", "Element B")
    a1, a2, b1 = item("A.1"), item("A.2"), item("B.1")
    return {
        "CFDocument": doc,
        "CFItems": [b1, a2, b, a, a1],
        "CFAssociations": [
            child_of(a1, a, 1),
            child_of(b, doc, 2),
            child_of(a2, a, 2),
            child_of(a, doc, 1),
            child_of(b1, b, 1),
        ],
    }


def dumps(package: Json) -> bytes:
    return orjson.dumps(package)
