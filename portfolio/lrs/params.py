"""Request parameters shared by the xAPI resources, validated "to the same standards
required for values of the same types in Statements" (Data 2.2.s4) and named in errors.

Each parser raises InvalidInput whose `path` is the parameter's name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from portfolio.clock import datetime_to_us, format_us, parse_iso8601
from portfolio.errors import InvalidInput
from portfolio.lrs.agents import ifi_key
from schemas.errors import SchemaViolation
from schemas.xapi import validate_agent
from schemas.xapi.primitives import check_iri


def parse_uuid(value: str, name: str) -> str:
    """A UUID in standard form, lower-cased."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value.lower():
        raise InvalidInput(
            f"{name} must be a UUID", path=name, rule="must be a UUID in standard form"
        )
    return str(parsed)


def parse_iri(value: str, name: str) -> str:
    problem = check_iri(value)
    if problem is not None:
        raise InvalidInput(f"{name} {problem}", path=name, rule=problem)
    return value


def parse_timestamp(value: str, name: str) -> str:
    """An ISO 8601 timestamp, as a stored-format time (comparable with `stored`)."""
    try:
        return format_us(datetime_to_us(parse_iso8601(value)))
    except (ValueError, OverflowError):  # OverflowError: an offset pushing past year 9999
        raise InvalidInput(
            f"{name} must be an ISO 8601 timestamp", path=name, rule="must be an ISO 8601 timestamp"
        ) from None


def single_values(params: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each parameter's one value, from every value given for it (Werkzeug's
    `to_dict(flat=False)`). A parameter given more than once is a 400 naming it, on every
    resource alike: taking one of the values and ignoring the others would answer a
    question the client did not ask."""
    for name, given in params.items():
        if len(given) != 1:
            raise InvalidInput(
                f"{name} was given {len(given)} times", path=name, rule="must be given once"
            )
    return {name: given[0] for name, given in params.items()}


def parse_agent(
    value: str, *, version: str, name: str = "agent", groups: bool = True
) -> tuple[dict[str, Any], str]:
    """An Agent or Identified Group given as JSON: the object and its IFI key.

    An anonymous Group has no IFI to find anything by and is refused; with `groups`
    false, so is any Group (a parameter the specification types as an Agent).
    """
    try:
        agent = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidInput(
            f"{name} must be a JSON Agent or Identified Group", path=name, rule="must be JSON"
        ) from None
    try:
        validate_agent(agent, version=version)
    except SchemaViolation as exc:
        path = f"{name}.{exc.path}" if exc.path else name
        raise InvalidInput(f"{path} {exc.rule}", path=path, rule=exc.rule) from exc
    if not groups and agent.get("objectType") == "Group":
        raise InvalidInput(
            f"{name} must be an Agent, not a Group",
            path=f"{name}.objectType",
            rule="must be Agent (this parameter takes an Agent, not a Group)",
        )
    key = ifi_key(agent)
    if key is None:
        raise InvalidInput(
            f"{name} must identify an Agent or Identified Group, not an anonymous Group",
            path=name,
            rule="must have an inverse functional identifier",
        )
    return agent, key


def unknown_parameter(name: str, allowed: Iterable[str], where: str) -> InvalidInput:
    """Communication 3.2.s3.b7-b8: unknown parameters, and known ones in the wrong case."""
    near = next((p for p in sorted(allowed) if p.lower() == name.lower()), None)
    hint = f" (did you mean {near}? parameter names are case sensitive)" if near else ""
    return InvalidInput(
        f"unknown parameter {name!r} for {where}{hint}",
        path=name,
        rule="is not a parameter of this request",
    )


def require_only(params: Iterable[str], allowed: Iterable[str], where: str) -> None:
    """Raise for the first parameter that is not in `allowed`."""
    allowed = frozenset(allowed)
    for name in params:
        if name not in allowed:
            raise unknown_parameter(name, allowed, where)


def required(params: dict[str, str], name: str, where: str) -> str:
    if name not in params:
        raise InvalidInput(f"{where} needs the {name} parameter", path=name, rule="is required")
    return params[name]
