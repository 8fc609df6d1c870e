"""The entry points: validate statements and agents under the grammar of a request's version.

``version`` is the request's ``X-Experience-API-Version``: ``1.0`` and any ``1.0.x`` select
the 1.0.3 grammar (Communication 3.3.s3.b3, b5); any ``2.0.x`` selects the 2.0.0 grammar.
Any other value is a programming error (the service rejects unsupported versions before it
validates a body) and raises ``ValueError``.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from schemas.errors import SchemaViolation
from schemas.xapi.agent import check_agent_or_group
from schemas.xapi.base import first_violation, instance_of
from schemas.xapi.statement import StatementSchema, StatementSchemaV2

__all__ = ["grammar_of", "validate_agent", "validate_statement", "validate_statements"]

Grammar = Literal["1.0.3", "2.0.0"]

_VERSION_1_RE: Final = re.compile(r"1\.0(?:\.[0-9]+)?")
_VERSION_2_RE: Final = re.compile(r"2\.0\.[0-9]+")
_STATEMENTS_RULE: Final = "must be a statement object or an array of statement objects"

_STATEMENT_SCHEMAS: Final = {
    "1.0.3": instance_of(StatementSchema),
    "2.0.0": instance_of(StatementSchemaV2),
}
_grammars: dict[str, Grammar] = {"1.0.3": "1.0.3", "2.0.0": "2.0.0"}


def grammar_of(version: str) -> Grammar:
    """The statement grammar for an ``X-Experience-API-Version`` value.

    :raises ValueError: ``version`` is neither 1.0, 1.0.x nor 2.0.x.
    """
    grammar = _grammars.get(version)
    if grammar is None:
        if _VERSION_1_RE.fullmatch(version):
            grammar = "1.0.3"
        elif _VERSION_2_RE.fullmatch(version):
            grammar = "2.0.0"
        else:
            raise ValueError(f"unsupported xAPI version: {version!r}")
        if len(_grammars) < 64:
            _grammars[version] = grammar
    return grammar


def validate_statement(data: object, *, version: str = "1.0.3") -> None:
    """Check one statement (a parsed JSON value) against the grammar of ``version``.

    ``data`` is not modified.

    :raises SchemaViolation: for the first rule ``data`` breaks.
    :raises ValueError: ``version`` is not a supported xAPI version.
    """
    errors = _STATEMENT_SCHEMAS[grammar_of(version)].check(data)
    if errors is not None:
        raise SchemaViolation(*first_violation(errors))


def validate_statements(data: object, *, version: str = "1.0.3") -> None:
    """Check one statement object or an array of them (the body of a statements POST).

    The path of a violation inside the ``i``-th statement of an array starts with
    ``[i].`` (or is ``[i]`` for the statement itself). An empty array is valid.

    :raises SchemaViolation: for the first rule ``data`` breaks.
    :raises ValueError: ``version`` is not a supported xAPI version.
    """
    schema = _STATEMENT_SCHEMAS[grammar_of(version)]
    if isinstance(data, list):
        for index, item in enumerate(data):
            errors = schema.check(item)
            if errors is not None:
                path, rule = first_violation(errors)
                raise SchemaViolation(f"[{index}].{path}" if path else f"[{index}]", rule)
        return
    if not isinstance(data, dict):
        raise SchemaViolation("", _STATEMENTS_RULE)
    errors = schema.check(data)
    if errors is not None:
        raise SchemaViolation(*first_violation(errors))


def validate_agent(data: object, *, version: str = "1.0.3") -> None:
    """Check an Agent or Group object, as in the ``agent`` query parameter of the State,
    Agents and Agent Profile resources. Groups are recognised by ``objectType: "Group"``;
    anonymous Groups pass (whether a resource accepts one is the caller's rule).

    :raises SchemaViolation: for the first rule ``data`` breaks.
    :raises ValueError: ``version`` is not a supported xAPI version.
    """
    grammar_of(version)  # Agents are the same in both grammars; the version is still checked.
    errors = check_agent_or_group(data)
    if errors is not None:
        raise SchemaViolation(*first_violation(errors))
