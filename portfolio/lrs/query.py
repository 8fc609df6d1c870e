"""GET /statements parameters, parsed and checked (Communication 2.1.3).

Every parameter is validated "to the same standards required for values of the same types
in Statements" (Data 2.2.s4); an unknown parameter, or a known one in the wrong case, is a
400 (Communication 3.2.s3.b7-b8). The result is either a request for one statement or a
StatementQuery for the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from portfolio.errors import InvalidInput
from portfolio.lrs.params import (
    parse_agent,
    parse_iri,
    parse_timestamp,
    parse_uuid,
    unknown_parameter,
)
from portfolio.storage.base import StatementFilter, StatementQuery

Format = Literal["exact", "ids", "canonical"]
FORMATS: tuple[Format, ...] = ("exact", "ids", "canonical")

SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId"})
QUERY_PARAMS = frozenset(
    {
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "ascending",
    }
)
OUTPUT_PARAMS = frozenset({"format", "attachments"})
ALL_PARAMS = SINGLE_PARAMS | QUERY_PARAMS | OUTPUT_PARAMS


@dataclass(frozen=True)
class Output:
    format: Format = "exact"
    attachments: bool = False


@dataclass(frozen=True)
class SingleRequest:
    """GET by statementId (voided=False) or voidedStatementId (voided=True)."""

    statement_id: str
    voided: bool
    output: Output


@dataclass(frozen=True)
class ListRequest:
    query: StatementQuery
    output: Output
    # The parameters as given, carried in `more` tokens.
    params: dict[str, str]


def parse_get(
    params: Mapping[str, str],
    *,
    max_limit: int,
    authority_client: str | None,
    version: str,
) -> SingleRequest | ListRequest:
    """Parse GET /statements parameters; raises InvalidInput naming the parameter."""
    for name in params:
        if name not in ALL_PARAMS:
            raise _unknown(name)
    output = Output(
        format=_format(params.get("format")),
        attachments=_boolean(params, "attachments"),
    )
    singles = [name for name in SINGLE_PARAMS if name in params]
    if singles:
        if len(singles) > 1:
            raise InvalidInput(
                "statementId and voidedStatementId cannot be used together",
                path="voidedStatementId",
                rule="must not be combined with statementId",
            )
        name = singles[0]
        others = sorted(set(params) - OUTPUT_PARAMS - {name})
        if others:
            # Communication 2.1.3.s2.b2
            raise InvalidInput(
                f"{name} cannot be combined with {others[0]}",
                path=others[0],
                rule=f"must not be combined with {name} (only format and attachments may be)",
            )
        return SingleRequest(
            statement_id=parse_uuid(params[name], name),
            voided=name == "voidedStatementId",
            output=output,
        )

    limit = _non_negative_int(params.get("limit", "0"), "limit")
    query = StatementQuery(
        filter=StatementFilter(
            agent=parse_agent(params["agent"], version=version)[1] if "agent" in params else None,
            related_agents=_boolean(params, "related_agents"),
            verb=parse_iri(params["verb"], "verb") if "verb" in params else None,
            activity=parse_iri(params["activity"], "activity") if "activity" in params else None,
            related_activities=_boolean(params, "related_activities"),
            registration=(
                parse_uuid(params["registration"], "registration")
                if "registration" in params
                else None
            ),
            authority_client=authority_client,
        ),
        since=parse_timestamp(params["since"], "since") if "since" in params else None,
        until=parse_timestamp(params["until"], "until") if "until" in params else None,
        limit=max_limit if limit == 0 else min(limit, max_limit),
        ascending=_boolean(params, "ascending"),
    )
    return ListRequest(query=query, output=output, params=dict(params))


def _unknown(name: str) -> InvalidInput:
    return unknown_parameter(name, ALL_PARAMS, "GET /statements")


def _format(value: str | None) -> Format:
    if value is None:
        return "exact"
    for known in FORMATS:
        if value == known:
            return known
    raise InvalidInput(
        f"format must be one of {', '.join(FORMATS)}",
        path="format",
        rule="must be ids, exact or canonical",
    )


def _boolean(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise InvalidInput(f"{name} must be true or false", path=name, rule="must be true or false")
    return value == "true"


def _non_negative_int(value: str, name: str) -> int:
    # isascii too: str.isdigit() accepts digits such as "¹" that int() refuses.
    if not (value.isascii() and value.isdigit()):
        raise InvalidInput(
            f"{name} must be a non-negative integer",
            path=name,
            rule="must be a non-negative integer",
        )
    return int(value)
