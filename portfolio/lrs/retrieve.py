"""Statements out: single look-ups, queries with `more` links, and their JSON.

Communication 2.1.3 and 2.1.4: a voided statement is returned only through
voidedStatementId; statementId never returns it, and voidedStatementId returns nothing
else. A client limited to statements/read/mine sees only what it sent, and an id it
cannot see is simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson

from portfolio.errors import InvalidInput, NotFound
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


def render_statement(
    record: StatementRecord, output: Output, languages: LanguagePreferences
) -> bytes:
    """One statement's JSON in the requested format."""
    if output.format == "exact":
        return record.to_json()
    statement = orjson.loads(record.to_json())
    if output.format == "ids":
        return orjson.dumps(to_ids(statement))
    return orjson.dumps(to_canonical(statement, languages))


def render_result(
    result: QueryResult, *, more_url: str | None, languages: LanguagePreferences
) -> bytes:
    """A StatementResult object: {"statements": [...], "more": IRL or ""}."""
    parts = b",".join(render_statement(r, result.output, languages) for r in result.page.statements)
    more = orjson.dumps(more_url or "")
    return b'{"statements":[' + parts + b'],"more":' + more + b"}"
