"""GET /statements parameters, parsed and checked (Communication 2.1.3).

Every parameter is validated "to the same standards required for values of the same types
in Statements" (Data 2.2.s4); an unknown parameter, or a known one in the wrong case, is a
400 (Communication 3.2.s3.b7-b8). The result is either a request for one statement or a
StatementQuery for the store.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import orjson

from portfolio.clock import datetime_to_us, format_us, parse_iso8601
from portfolio.errors import InvalidInput
from portfolio.lrs.agents import ifi_key
from portfolio.storage.base import StatementFilter, StatementQuery
from schemas.errors import SchemaViolation
from schemas.xapi import validate_agent
from schemas.xapi.primitives import check_iri

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
            agent=_agent(params["agent"], version) if "agent" in params else None,
            related_agents=_boolean(params, "related_agents"),
            verb=_iri(params["verb"], "verb") if "verb" in params else None,
            activity=_iri(params["activity"], "activity") if "activity" in params else None,
            related_activities=_boolean(params, "related_activities"),
            registration=(
                parse_uuid(params["registration"], "registration")
                if "registration" in params
                else None
            ),
            authority_client=authority_client,
        ),
        since=_timestamp(params["since"], "since") if "since" in params else None,
        until=_timestamp(params["until"], "until") if "until" in params else None,
        limit=max_limit if limit == 0 else min(limit, max_limit),
        ascending=_boolean(params, "ascending"),
    )
    return ListRequest(query=query, output=output, params=dict(params))


def _unknown(name: str) -> InvalidInput:
    near = next((p for p in ALL_PARAMS if p.lower() == name.lower()), None)
    hint = f" (did you mean {near}? parameter names are case sensitive)" if near else ""
    return InvalidInput(
        f"unknown parameter {name!r}{hint}", path=name, rule="is not a parameter of this resource"
    )


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


def parse_uuid(value: str, name: str) -> str:
    """A UUID parameter in standard form, lower-cased; raises InvalidInput naming `name`."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value.lower():
        raise InvalidInput(
            f"{name} must be a UUID", path=name, rule="must be a UUID in standard form"
        )
    return str(parsed)


def _iri(value: str, name: str) -> str:
    problem = check_iri(value)
    if problem is not None:
        raise InvalidInput(f"{name} {problem}", path=name, rule=problem)
    return value


def _timestamp(value: str, name: str) -> str:
    try:
        return format_us(datetime_to_us(parse_iso8601(value)))
    except (ValueError, OverflowError):  # OverflowError: an offset pushing past year 9999
        raise InvalidInput(
            f"{name} must be an ISO 8601 timestamp", path=name, rule="must be an ISO 8601 timestamp"
        ) from None


def _agent(value: str, version: str) -> str:
    try:
        agent = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidInput(
            "agent must be a JSON Agent or Identified Group", path="agent", rule="must be JSON"
        ) from None
    try:
        validate_agent(agent, version=version)
    except SchemaViolation as exc:
        path = f"agent.{exc.path}" if exc.path else "agent"
        raise InvalidInput(f"{path} {exc.rule}", path=path, rule=exc.rule) from exc
    key = ifi_key(agent)
    if key is None:
        raise InvalidInput(
            "agent must identify an Agent or Identified Group, not an anonymous Group",
            path="agent",
            rule="must have an inverse functional identifier",
        )
    return key
