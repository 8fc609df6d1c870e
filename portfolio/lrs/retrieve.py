"""Statements out: single look-ups, queries with `more` links, and their JSON.

Communication 2.1.3 and 2.1.4: a voided statement is returned only through
voidedStatementId; statementId never returns it, and voidedStatementId returns nothing
else. A client limited to statements/read/mine sees only what it sent, and an id it
cannot see is simply not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from portfolio.errors import InvalidInput, NotFound
from portfolio.lrs.activities import activity_ids, with_canonical_definitions
from portfolio.lrs.cursor import MoreToken, decode_more, encode_more
from portfolio.lrs.formats import LanguagePreferences, to_canonical, to_ids
from portfolio.lrs.query import ListRequest, Output, SingleRequest, parse_get
from portfolio.storage.base import StatementPage, StatementRecord, StatementStore


@dataclass(frozen=True)
class QueryResult:
    page: StatementPage
    output: Output
    # The `more` token for the next page, when there is one.
    more: str | None


class StatementReader:
    def __init__(self, store: StatementStore, *, secret_key: bytes, max_limit: int) -> None:
        self._store = store
        self._key = secret_key
        self._max_limit = max_limit

    def parse(
        self, params: dict[str, str], *, client_key: str, mine_only: bool, version: str
    ) -> SingleRequest | ListRequest:
        """The request these GET parameters make; a `more` token stands for its query."""
        if "more" in params:
            extra = sorted(set(params) - {"more"})
            if extra:
                raise InvalidInput(
                    f"more cannot be combined with {extra[0]}",
                    path=extra[0],
                    rule="must not be combined with more",
                )
            token = decode_more(params["more"], key=self._key, client_key=client_key)
            request = self.parse(
                token.params, client_key=client_key, mine_only=mine_only, version=version
            )
            assert isinstance(request, ListRequest)
            return replace(request, query=replace(request.query, after=token.cursor))
        return parse_get(
            params,
            max_limit=self._max_limit,
            authority_client=client_key if mine_only else None,
            version=version,
        )

    def get_one(self, request: SingleRequest, *, mine_of: str | None) -> StatementRecord:
        """The requested statement; raises NotFound (also for one the client may not see)."""
        record = self._store.get(request.statement_id)
        if (
            record is None
            or record.voided != request.voided
            or (mine_of is not None and record.authority_client != mine_of)
        ):
            kind = "voided statement" if request.voided else "statement"
            raise NotFound(f"no {kind} with id {request.statement_id}")
        return record

    def query(self, request: ListRequest, *, client_key: str) -> QueryResult:
        page = self._store.query(request.query)
        more = None
        if page.more is not None:
            more = encode_more(
                MoreToken(params=request.params, cursor=page.more, client_key=client_key),
                key=self._key,
            )
        return QueryResult(page=page, output=request.output, more=more)

    def consistent_through(self) -> str:
        return self._store.consistent_through()

    def canonical_definitions(
        self, records: Sequence[StatementRecord], output: Output
    ) -> dict[str, Any] | None:
        """The canonical definitions of every Activity in these statements, when the
        format is canonical (Communication 2.1.3: "the canonical definition of the
        Activity Objects ... as determined by the LRS"); None otherwise."""
        if output.format != "canonical":
            return None
        ids: set[str] = set()
        for record in records:
            ids |= activity_ids(orjson.loads(record.body))
        return self._store.get_definitions(sorted(ids)) if ids else {}


# Context properties that xAPI 2.0.0 added; a 1.0.3 reader must not receive them.
_V2_ONLY = (b'"contextAgents"', b'"contextGroups"')


def render_statement(
    record: StatementRecord,
    output: Output,
    languages: LanguagePreferences,
    *,
    version: str,
    definitions: Mapping[str, Any] | None = None,
) -> bytes:
    """One statement's JSON in the requested format, for a reader of `version`.

    `definitions` are the canonical Activity definitions for format=canonical.
    """
    body = record.to_json()
    for_v1 = version.startswith("1.")
    if output.format == "exact" and not (for_v1 and any(p in body for p in _V2_ONLY)):
        return body  # the stored bytes, unparsed
    statement = orjson.loads(body)
    if for_v1:
        statement = without_v2_properties(statement)
    if output.format == "exact":
        return orjson.dumps(statement)
    if output.format == "ids":
        return orjson.dumps(to_ids(statement))
    if definitions:
        statement = with_canonical_definitions(statement, definitions)
    return orjson.dumps(to_canonical(statement, languages))


def render_result(
    result: QueryResult,
    *,
    more_url: str | None,
    languages: LanguagePreferences,
    version: str,
    definitions: Mapping[str, Any] | None = None,
) -> bytes:
    """A StatementResult object: {"statements": [...], "more": IRL or ""}."""
    parts = b",".join(
        render_statement(r, result.output, languages, version=version, definitions=definitions)
        for r in result.page.statements
    )
    more = orjson.dumps(more_url or "")
    return b'{"statements":[' + parts + b'],"more":' + more + b"}"


def without_v2_properties(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement as xAPI 1.0.3 can express it: contextAgents and contextGroups, which
    1.0.3 does not define, are left out (XAPI-2.0-NOTES item 2); nothing is converted."""
    out = dict(statement)
    context = out.get("context")
    if context and ("contextAgents" in context or "contextGroups" in context):
        out["context"] = {
            k: v for k, v in context.items() if k not in ("contextAgents", "contextGroups")
        }
    obj = out.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        out["object"] = without_v2_properties(obj)
    return out
