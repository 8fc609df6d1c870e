"""Reading a CASE package into a Framework, and its canonical, deterministic export."""

from __future__ import annotations

import hashlib
import random

import orjson
import pytest

from portfolio.errors import InvalidInput
from portfolio.standards import export_package, parse_package
from tests.unit.standards.packages import (
    association,
    child_of,
    document,
    dumps,
    example,
    item,
)


def test_items_come_in_hierarchy_order_with_their_place_in_it() -> None:
    framework = parse_package(dumps(example()))
    assert [(i.code, i.depth) for i in framework.items] == [
        ("A", 0),
        ("A.1", 1),
        ("A.2", 1),
        ("B", 0),
        ("B.1", 1),
    ]
    a = framework.items[0]
    assert a.parent is None
    assert a.children == (framework.items[1].uri, framework.items[2].uri)
    assert framework.items[1].parent == a.uri
    assert a.label == "A Element A"


def test_the_framework_carries_its_identity_from_the_document() -> None:
    package = example(version="2.1")
    framework = parse_package(dumps(package))
    doc = package["CFDocument"]
    assert (framework.uri, framework.version, framework.title) == (
        doc["uri"],
        "2.1",
        "Test framework",
    )
    assert framework.identifier == doc["identifier"]
    assert framework.creator == "Tests"
    assert framework.description is None


def test_children_and_items_are_looked_up_by_uri() -> None:
    framework = parse_package(dumps(example()))
    a, a1, a2, b, b1 = framework.items
    assert framework.children() == (a, b)
    assert framework.children(a.uri) == (a1, a2)
    assert framework.children(a1.uri) == ()
    assert framework.children("https://unknown.example.org/") == ()
    assert framework.item(b1.uri) == b1
    assert framework.item("https://unknown.example.org/") is None


def test_siblings_without_a_sequence_number_follow_those_with_one_by_identifier() -> None:
    doc = document()
    x, y, z, w = item("X"), item("Y"), item("Z"), item("W")
    package = {
        "CFDocument": doc,
        "CFItems": [x, y, z, w],
        # W has no isChildOf at all: it is a child of the document too.
        "CFAssociations": [child_of(x, doc), child_of(y, doc, 5), child_of(z, doc)],
    }
    framework = parse_package(dumps(package))
    unsequenced = sorted([x, z, w], key=lambda i: i["identifier"])
    expected = ["Y", *(i["humanCodingScheme"] for i in unsequenced)]
    assert [i.code for i in framework.items] == expected
    assert all(i.parent is None and i.depth == 0 for i in framework.items)


def test_export_is_canonical_json() -> None:
    package = example()
    package["CFItems"][0]["notes"] = "Café — ünïcode stays as it is"
    data = export_package(parse_package(dumps(package)))
    assert data.endswith(b"}\n")
    assert "Café — ünïcode".encode() in data
    assert data.startswith(b'{\n  "CFAssociations": [\n    {\n      "associationType"')
    parsed = orjson.loads(data)
    assert list(parsed) == sorted(parsed)
    assert [i["humanCodingScheme"] for i in parsed["CFItems"]] == ["A", "A.1", "A.2", "B", "B.1"]
    origins = [a["originNodeURI"]["title"] for a in parsed["CFAssociations"]]
    assert origins == ["Element A", "Statement A.1", "Statement A.2", "Element B", "Statement B.1"]


def test_export_does_not_depend_on_the_order_or_layout_of_the_input() -> None:
    package = example()
    package["CFAssociations"].append(
        association(package["CFDocument"], package["CFItems"][2], "exemplar")
    )
    expected = export_package(parse_package(dumps(package)))
    rng = random.Random(4)
    for _ in range(10):
        rng.shuffle(package["CFItems"])
        rng.shuffle(package["CFAssociations"])
        shuffled = orjson.dumps(package, option=orjson.OPT_INDENT_2)
        assert export_package(parse_package(shuffled)) == expected
    # Associations from the document come first.
    assert orjson.loads(expected)["CFAssociations"][0]["associationType"] == "exemplar"


def test_export_of_a_parsed_export_is_the_same_bytes_and_digest() -> None:
    first = parse_package(dumps(example()))
    second = parse_package(export_package(first))
    assert second.package == first.package
    assert second.digest == first.digest == hashlib.sha256(first.package).hexdigest()
    assert second == first


def test_other_arrays_keep_their_order() -> None:
    package = example()
    package["CFDocument"]["subject"] = ["Zeta", "Alpha"]
    data = export_package(parse_package(dumps(package)))
    assert orjson.loads(data)["CFDocument"]["subject"] == ["Zeta", "Alpha"]


def test_a_byte_order_mark_is_ignored() -> None:
    data = dumps(example())
    assert parse_package(b"\xef\xbb\xbf" + data) == parse_package(data)


@pytest.mark.parametrize("data", [b"", b"{", b"\xff\xfe{}", b"[1,]", b"NaN"])
def test_bytes_that_are_not_json_are_invalid_input_at_the_root(data: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_package(data)
    assert info.value.path == ""
    assert info.value.rule == "must be JSON in UTF-8"


def test_an_invalid_package_is_invalid_input_naming_path_and_rule() -> None:
    package = example()
    package["CFItems"][3]["uri"] = "relative/uri"
    with pytest.raises(InvalidInput) as info:
        parse_package(dumps(package))
    assert info.value.path == "CFItems[3].uri"
    assert info.value.rule == "must be an absolute IRI"
    assert info.value.message == "CFItems[3].uri must be an absolute IRI"


def test_a_package_that_is_not_an_object_says_so() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_package(b"[]")
    assert info.value.message == "the package must be a JSON object (a CASE CFPackage)"
