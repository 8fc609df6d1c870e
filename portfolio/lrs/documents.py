"""The rules of the document resources: State, Activity Profile and Agent Profile
(Communication 2.2-2.7) and their concurrency control (Communication 3.1).

A document is stored as the exact bytes and Content-Type sent. Its ETag is the lower-case
hex SHA-1 of those bytes (3.1.s4.b2). Every write reads the stored document, decides by
the rules below, and writes with a compare-and-set against the ETag it read: when another
writer got in between, nothing is written and the decision is taken again on what is
stored now. So a failed precondition is a 412 even when the change came a moment before
ours, and a POST merge without preconditions never loses a concurrent merge's keys.

Which request needs a precondition (If-Match or If-None-Match) when the document exists,
answered with 409 without one (3.1.s4.b13-b15):
- Activity and Agent Profile: PUT (3.1.s3: "The requirements below only apply to Agent
  Profile Resource and Activity Profile Resource").
- State under xAPI 1.0.3: none ("The State Resource will permit PUT, POST and DELETE
  requests without concurrency headers").
- State under xAPI 2.0.0: PUT, POST and DELETE (2.0 gives State the profiles' ETag
  rules; docs/conformance.md says how we read it).
Preconditions that are sent are always evaluated, for every method (3.1.s4.b5-b8).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from portfolio.clock import format_us, now_us, parse_stored
from portfolio.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from portfolio.storage.base import (
    Document,
    DocumentChanged,
    DocumentKey,
    DocumentKind,
    DocumentScope,
    DocumentStore,
    Expect,
)

JSON_TYPE = "application/json"
# A document sent without a Content-Type is kept as what RFC 9110 8.3 says to assume.
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Compare-and-set rounds before giving up on a document that keeps changing under us. Each
# lost round means another write succeeded, so this is only reached under a storm of writes.
MAX_ATTEMPTS = 50

# One entity tag of an If-Match / If-None-Match list (RFC 9110 8.8.3): optionally weak,
# quoted; a bare token is accepted too, for clients that send the SHA-1 unquoted.
_ETAG = re.compile(r'\s*(W/)?("[^"]*"|[^,\s"]+)\s*(?:,|$)')


class Method(Enum):
    PUT = "PUT"
    POST = "POST"
    DELETE = "DELETE"


def etag_of(content: bytes) -> str:
    """The ETag of a document's content: lower-case hex SHA-1 (Communication 3.1.s4.b2)."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def quoted(etag: str) -> str:
    """The ETag header value: the tag in double quotes (Communication 3.1.s4.b4)."""
    return f'"{etag}"'


def mimetype(content_type: str) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def is_v2(version: str) -> bool:
    return version.startswith("2.")


# ------------------------------------------------------------------------ preconditions


@dataclass(frozen=True)
class Preconditions:
    """The If-Match and If-None-Match headers of a request; None where not sent.

    Each holds the entity tags listed, unquoted and lower-cased (a SHA-1 is hex, and a
    client computing one may use capitals), or "*". If-Match compares strongly, so weak
    tags in it never match (RFC 9110 13.1.1); If-None-Match compares weakly.
    """

    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None

    @classmethod
    def from_headers(cls, *, if_match: str | None, if_none_match: str | None) -> Preconditions:
        """Parse the header values; raises InvalidInput (400) for a malformed list."""
        return cls(
            if_match=_parse_tags(if_match, "If-Match", strong=True),
            if_none_match=_parse_tags(if_none_match, "If-None-Match", strong=False),
        )

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def check(self, current: Document | None) -> None:
        """Raise PreconditionFailed unless the headers hold for the stored document.

        RFC 9110 13.2.2 order: If-Match first, then If-None-Match (for a write).
        """
        if self.if_match is not None and not _matches(self.if_match, current):
            raise PreconditionFailed(
                "If-Match does not match the stored document"
                + (" (there is none)" if current is None else f" (its ETag is {current.etag})")
            )
        if self.if_none_match is not None and _matches(self.if_none_match, current):
            raise PreconditionFailed(
                "If-None-Match matches the stored document"
                + (f" (its ETag is {current.etag})" if current is not None else "")
            )

    def not_modified(self, current: Document) -> bool:
        """For a GET: whether If-None-Match matches, so the answer is 304 Not Modified."""
        return self.if_none_match is not None and _matches(self.if_none_match, current)


def _matches(tags: frozenset[str], current: Document | None) -> bool:
    if current is None:
        return False
    return "*" in tags or current.etag in tags


def _parse_tags(value: str | None, header: str, *, strong: bool) -> frozenset[str] | None:
    if value is None or not value.strip():
        return None
    if value.strip() == "*":
        return frozenset({"*"})
    tags: set[str] = set()
    position = 0
    while position < len(value):
        found = _ETAG.match(value, position)
        if found is None or found.end() == position:
            raise InvalidInput(
                f"{header} is not a list of entity tags: {value!r}",
                path=header,
                rule='must be "*" or a comma-separated list of quoted ETags',
            )
        weak, tag = found.group(1), found.group(2).strip('"').lower()
        if not (weak and strong):
            tags.add(tag)
        position = found.end()
    return frozenset(tags)


def requires_precondition(kind: DocumentKind, method: Method, *, version: str) -> bool:
    """Whether a write to an existing document without If-Match/If-None-Match is a 409.

    xAPI 2.0.0 (XAPI-2.0-NOTES item 6): "a PUT, POST or DELETE on an existing State
    document without If-Match or If-None-Match gets 409", State now following "the same
    ETag rules as the profile resources"; the stricter reading applies that to all three
    resources. (ADL's 2.0 test suite is more lenient for State POST and DELETE; see
    docs/conformance.md.) Under 1.0.3 only a PUT to an existing Agent or Activity Profile
    document needs one (Communication 3.1.s4.b13), and State is exempt (3.1.s3).
    """
    if is_v2(version):
        return True
    return kind is not DocumentKind.STATE and method is Method.PUT


# ------------------------------------------------------------------------------ values


@dataclass(frozen=True)
class Upload:
    """A document as a request sent it: the body and its Content-Type header (None: none)."""

    content: bytes
    content_type: str | None

    @property
    def stored_type(self) -> str:
        return self.content_type or DEFAULT_CONTENT_TYPE


@dataclass(frozen=True)
class DocumentIds:
    """The answer to a list: the ids, and when the newest of them was updated."""

    ids: tuple[str, ...]
    last_modified: str | None


# ------------------------------------------------------------------------------ merging


def merge_json(current: Document, upload: Upload) -> bytes:
    """The stored JSON object with the posted one's top-level properties set on it.

    Communication 2.2.s7: only top-level properties are merged, each replaced whole.
    2.2.s8.b1: raises InvalidInput (400) when either document is not `application/json`
    or not a JSON object.
    """
    if mimetype(current.content_type) != JSON_TYPE:
        raise InvalidInput(
            f"the stored document is {current.content_type}, not {JSON_TYPE}: only JSON"
            " documents can be merged by POST; PUT replaces a document",
            path="Content-Type",
            rule="the stored document must be application/json to merge into",
        )
    if mimetype(upload.stored_type) != JSON_TYPE:
        raise InvalidInput(
            f"a POST to an existing {JSON_TYPE} document merges JSON objects; this one was sent"
            f" as {upload.content_type or 'no content type'} (PUT replaces a document)",
            path="Content-Type",
            rule="must be application/json to merge into a stored document",
        )
    stored = _json_object(current.content, "the stored document")
    posted = _json_object(upload.content, "the posted document")
    return _dumps({**stored, **posted})


class _NotJsonNumber(ValueError):
    """NaN, Infinity or -Infinity, or a number too large for a float (1e400): Python's
    parser takes them, but RFC 8259 JSON has no such values."""


def _refuse_constant(name: str) -> float:
    raise _NotJsonNumber(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotJsonNumber(text)
    return value


def _json_object(content: bytes, what: str) -> dict[str, Any]:
    # The stdlib parser, not orjson: a document may hold integers beyond 64 bits. It
    # accepts NaN and Infinity, and reads 1e400 as infinity; those are refused, or the
    # merged document would not be JSON.
    try:
        value = json.loads(
            content.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except _NotJsonNumber as exc:
        value = None
        problem = f"holds {exc}, which is not a JSON number (RFC 8259)"
        rule = f"{what} must hold only JSON numbers (no NaN or Infinity) to merge"
    except (UnicodeDecodeError, ValueError, RecursionError):
        value = None
        problem = "is not UTF-8 JSON"
        rule = f"{what} must be a JSON object to merge"
    else:
        problem = "is not a JSON object"
        rule = f"{what} must be a JSON object to merge"
    if not isinstance(value, dict):
        raise InvalidInput(
            f"{what} {problem}, so the two cannot be merged (Communication 2.2.s8)",
            path="" if what == "the posted document" else None,
            rule=rule,
        )
    return value


def _dumps(value: dict[str, Any]) -> bytes:
    # allow_nan=False: never write NaN or Infinity, which are not JSON (_json_object
    # refuses them already; this keeps it so whatever changes there).
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )
    except UnicodeEncodeError:  # a lone surrogate escaped in the input: keep it escaped
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


# ---------------------------------------------------------------------------- service


class Documents:
    """The document resources over a DocumentStore. `clock` gives microseconds (tests)."""

    def __init__(self, store: DocumentStore, *, clock: Callable[[], int] = now_us) -> None:
        self._store = store
        self._clock = clock

    # ------------------------------------------------------------------- reading

    def get(self, key: DocumentKey, preconditions: Preconditions | None = None) -> Document:
        """The document; raises NotFound, or PreconditionFailed for a failing If-Match."""
        document = self._store.get(key)
        if document is None:
            raise NotFound(f"no {_kind_name(key.kind)} document {key.document_id!r} here")
        if preconditions is not None and preconditions.if_match is not None:
            Preconditions(if_match=preconditions.if_match).check(document)
        return document

    def ids(self, scope: DocumentScope, *, since: str | None = None) -> DocumentIds:
        """The ids of the documents in the scope updated after `since` (exclusive).

        Communication 2.2.s6.b2: `last_modified` is the newest update among them.
        """
        entries = self._store.list(scope, since=since)
        # A State id kept under several registrations is listed once.
        ids = tuple(dict.fromkeys(e.document_id for e in entries))
        newest = max((e.updated for e in entries), default=None)
        return DocumentIds(ids=ids, last_modified=newest)

    # ------------------------------------------------------------------- writing

    def put(
        self, key: DocumentKey, upload: Upload, preconditions: Preconditions, *, version: str
    ) -> Document:
        """Store the upload as the document, replacing what is there.

        Raises PreconditionFailed (412), or Conflict (409) when the document exists and
        the request needed a precondition and sent none.
        """

        def replace(current: Document | None) -> Document:
            return self._document(key, upload.content, upload.stored_type, current)

        result = self._write(key, Method.PUT, preconditions, version=version, change=replace)
        assert result is not None
        return result

    def post(
        self, key: DocumentKey, upload: Upload, preconditions: Preconditions, *, version: str
    ) -> Document:
        """Store the upload as a new document, or merge it into the stored JSON object.

        Communication 2.2.s7: a POST for a document not stored yet stores it as a PUT
        would; otherwise both must be JSON objects sent as application/json, and the
        posted one's top-level properties are set on the stored one (InvalidInput, 400,
        changing nothing, when they are not). Raises PreconditionFailed and Conflict as
        `put` does.
        """

        def merge(current: Document | None) -> Document:
            if current is None:
                return self._document(key, upload.content, upload.stored_type, current)
            merged = merge_json(current, upload)
            return self._document(key, merged, upload.stored_type, current)

        result = self._write(key, Method.POST, preconditions, version=version, change=merge)
        assert result is not None
        return result

    def delete(self, key: DocumentKey, preconditions: Preconditions, *, version: str) -> None:
        """Delete the document. Deleting one that is not there changes nothing (no error)
        unless a precondition says it must be there (If-Match: 412)."""
        self._write(key, Method.DELETE, preconditions, version=version, change=lambda _: None)

    def delete_all(self, scope: DocumentScope) -> int:
        """Delete every document in the scope (State, Communication 2.3.s5)."""
        return self._store.delete_all(scope)

    # ------------------------------------------------------------------- the loop

    def _write(
        self,
        key: DocumentKey,
        method: Method,
        preconditions: Preconditions,
        *,
        version: str,
        change: Callable[[Document | None], Document | None],
    ) -> Document | None:
        """Read, decide, compare-and-set; again from the start when the document changed.

        `change` gives the document to store (None: delete it) from the one stored.
        """
        for _ in range(MAX_ATTEMPTS):
            current = self._store.get(key)
            preconditions.check(current)
            if (
                current is not None
                and not preconditions.given
                and requires_precondition(key.kind, method, version=version)
            ):
                raise _conflict(key, method)
            new = change(current)
            expected: str | Expect = Expect.ABSENT if current is None else current.etag
            try:
                if new is not None:
                    self._store.put(new, expected=expected)
                elif current is not None:
                    self._store.delete(key, expected=expected)
            except DocumentChanged:
                continue
            return new
        raise Conflict(
            f"the {_kind_name(key.kind)} document {key.document_id!r} kept changing while"
            " this request tried to write it; try again"
        )

    def _document(
        self, key: DocumentKey, content: bytes, content_type: str, current: Document | None
    ) -> Document:
        now = self._clock()
        if current is not None:
            # Strictly later than the last update, so Last-Modified and `since` move on.
            now = max(now, parse_stored(current.updated) + 1)
        return Document(
            key=key,
            content=content,
            content_type=content_type,
            etag=etag_of(content),
            updated=format_us(now),
        )


def _kind_name(kind: DocumentKind) -> str:
    return {
        DocumentKind.STATE: "State",
        DocumentKind.ACTIVITY_PROFILE: "Activity Profile",
        DocumentKind.AGENT_PROFILE: "Agent Profile",
    }[kind]


def _conflict(key: DocumentKey, method: Method) -> Conflict:
    # Communication 3.1.s4.b14: say what the provider should do.
    return Conflict(
        f"the {_kind_name(key.kind)} document {key.document_id!r} already exists and this"
        f" {method.value} sent neither If-Match nor If-None-Match: GET the document to check"
        " its current state, then send If-Match with its ETag"
    )
