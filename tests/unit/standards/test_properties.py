"""Properties of framework packages, over generated valid packages.

* Any valid package, in any order, exports to canonical bytes that re-import as the same
  framework: export → import → export is byte-identical, through a real store.
* Importing those bytes, or the original package, again is a no-op.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.standards import (
    ImportOutcome,
    export_package,
    get_framework,
    import_package,
    parse_package,
)
from portfolio.storage.sqlite import SqliteStore

SETTINGS = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WHEN = "2026-01-01T00:00:00Z"
BASE = "https://frameworks.example.org/generated"

Json = Any

texts = st.text(max_size=12)
statements = st.text(min_size=1, max_size=12).filter(str.strip)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
extensions = st.dictionaries(texts, json_values, max_size=3)


def uid(uri: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, uri))


def link(node: Json) -> Json:
    title = node.get("title", "node")
    return {"title": title, "identifier": node["identifier"], "uri": node["uri"]}


@st.composite
def optional(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Some of these optional properties, drawn."""
    chosen = draw(st.sets(st.sampled_from(sorted(fields)))) if fields else set()
    return {name: draw(fields[name]) for name in sorted(chosen)}


@st.composite
def packages(draw: st.DrawFn) -> Json:
    document = {
        "identifier": uid(BASE),
        "uri": BASE,
        "creator": draw(texts),
        "title": draw(statements),
        "version": draw(st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}", fullmatch=True)),
        "lastChangeDateTime": WHEN,
        **draw(
            optional(
                {
                    "description": texts,
                    "notes": texts,
                    "subject": st.lists(texts, max_size=3),
                    "language": st.sampled_from(["en", "cy", "en-GB"]),
                    "adoptionStatus": st.sampled_from(["Draft", "Adopted"]),
                    "extensions": extensions,
                }
            )
        ),
    }
    count = draw(st.integers(min_value=0, max_value=8))
    items = []
    for i in range(count):
        uri = f"{BASE}/items/{i}"
        items.append(
            {
                "identifier": uid(uri),
                "uri": uri,
                "fullStatement": draw(statements),
                "lastChangeDateTime": WHEN,
                **draw(
                    optional(
                        {
                            "humanCodingScheme": texts,
                            "abbreviatedStatement": texts,
                            "CFItemType": texts,
                            "notes": texts,
                            "conceptKeywords": st.lists(texts, max_size=3),
                            "extensions": extensions,
                        }
                    )
                ),
            }
        )
    nodes = [document, *items]
    associations = []

    def association(origin: Json, destination: Json, kind: str, n: int) -> Json:
        uri = f"{BASE}/associations/{n}"
        extra = draw(optional({"sequenceNumber": st.integers(-5, 5), "notes": texts}))
        return {
            "identifier": uid(uri),
            "uri": uri,
            "associationType": kind,
            "originNodeURI": link(origin),
            "destinationNodeURI": link(destination),
            "lastChangeDateTime": WHEN,
            **extra,
        }

    for i, item in enumerate(items):
        # A parent among the document and the earlier items (so no cycle), or none.
        parent = draw(st.integers(min_value=-1, max_value=i))
        if parent >= 0:
            associations.append(association(item, nodes[parent], "isChildOf", len(associations)))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        origin, destination = draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes))
        kind = draw(st.sampled_from(["isRelatedTo", "exactMatchOf", "precedes", "ext:x-y"]))
        associations.append(association(origin, destination, kind, len(associations)))
    package: Json = {"CFDocument": document}
    if items or draw(st.booleans()):
        package["CFItems"] = draw(st.permutations(items))
    if associations or draw(st.booleans()):
        package["CFAssociations"] = draw(st.permutations(associations))
    return package


@SETTINGS
@given(packages())
def test_any_valid_package_round_trips_byte_identically_through_a_store(package: Json) -> None:
    original = orjson.dumps(package)
    exported = export_package(parse_package(original))
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "property.db")
        try:
            store.migrate()
            first = import_package(store.frameworks, exported)
            assert first.outcome is ImportOutcome.IMPORTED
            stored = get_framework(store.frameworks, BASE, version=package["CFDocument"]["version"])
            assert export_package(stored) == exported
            assert stored == first.framework
            for again in (exported, original):
                result = import_package(store.frameworks, again)
                assert result.outcome is ImportOutcome.ALREADY_PRESENT
            assert len(store.frameworks.list()) == 1
        finally:
            store.close()


@SETTINGS
@given(packages(), st.randoms(use_true_random=False))
def test_the_canonical_form_does_not_depend_on_order(package: Json, rng: Any) -> None:
    expected = export_package(parse_package(orjson.dumps(package)))
    for key in ("CFItems", "CFAssociations"):
        if key in package:
            rng.shuffle(package[key])
    assert export_package(parse_package(orjson.dumps(package))) == expected
