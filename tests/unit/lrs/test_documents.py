"""The document rules without HTTP: preconditions, the 409 table, merging, the write loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.errors import Conflict, InvalidInput, PreconditionFailed
from portfolio.lrs.documents import (
    Documents,
    Method,
    Preconditions,
    Upload,
    etag_of,
    merge_json,
    requires_precondition,
)
from portfolio.storage.base import Document, DocumentChanged, DocumentKey, DocumentKind, Expect
from portfolio.storage.sqlite import SqliteStore

KEY = DocumentKey(kind=DocumentKind.STATE, document_id="s", activity_id="https://x", agent="a")


def stored(content: bytes, content_type: str = "application/json") -> Document:
    return Document(
        key=KEY,
        content=content,
        content_type=content_type,
        etag=etag_of(content),
        updated="2026-01-01T00:00:00.000000Z",
    )


# ------------------------------------------------------------------ preconditions


def test_etag_is_the_lower_case_hex_sha1_of_the_content() -> None:
    """Communication 3.1.s4.b2."""
    assert etag_of(b"") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ('"abc"', {"abc"}),
        ('"ABC", "def"', {"abc", "def"}),
        ("abc", {"abc"}),
        ('W/"abc", "def"', {"def"}),  # If-Match compares strongly
        ("*", {"*"}),
        ("  ", None),
        (None, None),
    ],
)
def test_if_match_lists_are_parsed(header: str | None, tags: set[str] | None) -> None:
    parsed = Preconditions.from_headers(if_match=header, if_none_match=None).if_match
    assert parsed == (None if tags is None else frozenset(tags))


def test_if_none_match_compares_weakly() -> None:
    parsed = Preconditions.from_headers(if_match=None, if_none_match='W/"abc"')
    assert parsed.if_none_match == frozenset({"abc"})


@pytest.mark.parametrize("header", ['"unterminated', '"a" "b"', '"a",,', ","])
def test_malformed_lists_are_invalid_input(header: str) -> None:
    with pytest.raises(InvalidInput):
        Preconditions.from_headers(if_match=header, if_none_match=None)


def test_if_match_fails_on_another_etag_or_no_document() -> None:
    current = stored(b"{}")
    Preconditions(if_match=frozenset({current.etag})).check(current)
    Preconditions(if_match=frozenset({"*"})).check(current)
    for case in (frozenset({"other"}), frozenset()):
        with pytest.raises(PreconditionFailed):
            Preconditions(if_match=case).check(current)
    with pytest.raises(PreconditionFailed):
        Preconditions(if_match=frozenset({"*"})).check(None)


def test_if_none_match_fails_when_it_matches() -> None:
    current = stored(b"{}")
    Preconditions(if_none_match=frozenset({"*"})).check(None)
    Preconditions(if_none_match=frozenset({"other"})).check(current)
    with pytest.raises(PreconditionFailed):
        Preconditions(if_none_match=frozenset({"*"})).check(current)
    with pytest.raises(PreconditionFailed):
        Preconditions(if_none_match=frozenset({current.etag})).check(current)


@pytest.mark.parametrize(
    ("kind", "method", "version", "needed"),
    [
        (DocumentKind.ACTIVITY_PROFILE, Method.PUT, "1.0.3", True),
        (DocumentKind.AGENT_PROFILE, Method.PUT, "2.0.0", True),
        (DocumentKind.AGENT_PROFILE, Method.POST, "1.0.3", False),
        (DocumentKind.ACTIVITY_PROFILE, Method.DELETE, "2.0.0", True),
        (DocumentKind.AGENT_PROFILE, Method.POST, "2.0.0", True),
        (DocumentKind.STATE, Method.PUT, "1.0.3", False),
        (DocumentKind.STATE, Method.DELETE, "1.0.3", False),
        (DocumentKind.STATE, Method.PUT, "2.0.0", True),
        (DocumentKind.STATE, Method.POST, "2.0.0", True),
        (DocumentKind.STATE, Method.DELETE, "2.0.0", True),
    ],
)
def test_which_writes_to_an_existing_document_need_a_precondition(
    kind: DocumentKind, method: Method, version: str, needed: bool
) -> None:
    """Communication 3.1.s3, 3.1.s4.b13; xAPI 2.0.0 for State."""
    assert requires_precondition(kind, method, version=version) is needed


# ------------------------------------------------------------------------ merging

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)


@given(json_objects, json_objects)
def test_a_merge_sets_each_posted_top_level_property_whole(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    """Communication 2.2.s7: only top-level properties, each replaced entirely."""
    current = stored(json.dumps(old).encode())
    merged = merge_json(current, Upload(json.dumps(new).encode(), "application/json"))
    assert json.loads(merged) == {**old, **new}


@pytest.mark.parametrize(
    ("current", "posted"),
    [
        (b'{"a":1}', b'{"b":NaN}'),
        (b'{"a":1}', b'{"b":[Infinity]}'),
        (b'{"a":1}', b'{"b":{"c":-Infinity}}'),
        (b'{"a":1}', b'{"b":1e400}'),
        (b'{"a":NaN}', b'{"b":1}'),
    ],
)
def test_a_merge_refuses_nan_and_infinity_which_are_not_json(current: bytes, posted: bytes) -> None:
    """RFC 8259 has no NaN or Infinity: merging them would store a document that is not
    JSON (Python's parser accepts them, and reads 1e400 as infinity)."""
    with pytest.raises(InvalidInput) as refused:
        merge_json(stored(current), Upload(posted, "application/json"))
    assert "no NaN or Infinity" in (refused.value.rule or "")


def test_a_merge_accepts_json_with_parameters_in_the_content_type() -> None:
    current = stored(b'{"a":1}', "Application/JSON; charset=utf-8")
    merged = merge_json(current, Upload(b'{"b":2}', "application/json;charset=UTF-8"))
    assert json.loads(merged) == {"a": 1, "b": 2}


# ---------------------------------------------------------------------- the loop


class FlakyStore:
    """A document store whose first `changes` writes lose a race to another writer."""

    def __init__(self, inner: Any, changes: int) -> None:
        self.inner = inner
        self.changes = changes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put(self, document: Document, *, expected: str | Expect) -> None:
        if self.changes > 0:
            self.changes -= 1
            raise DocumentChanged(document.key)
        self.inner.put(document, expected=expected)


@pytest.fixture
def sqlite(tmp_path: Path) -> Any:
    store = SqliteStore(tmp_path / "docs.db")
    store.migrate()
    yield store
    store.close()


def test_a_lost_compare_and_set_is_decided_again(sqlite: Any) -> None:
    documents = Documents(FlakyStore(sqlite.documents, changes=3))
    documents.put(KEY, Upload(b"{}", None), Preconditions(), version="1.0.3")
    assert documents.get(KEY).content_type == "application/octet-stream"


def test_a_document_that_never_stops_changing_is_a_conflict(sqlite: Any) -> None:
    documents = Documents(FlakyStore(sqlite.documents, changes=10_000))
    with pytest.raises(Conflict):
        documents.put(KEY, Upload(b"{}", None), Preconditions(), version="1.0.3")


def test_updates_move_forward_even_when_the_clock_does_not(sqlite: Any) -> None:
    documents = Documents(sqlite.documents, clock=lambda: 1_000_000)
    first = documents.put(KEY, Upload(b"1", None), Preconditions(), version="1.0.3")
    second = documents.put(KEY, Upload(b"2", None), Preconditions(), version="1.0.3")
    assert second.updated > first.updated
