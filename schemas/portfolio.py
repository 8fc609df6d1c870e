"""Bodies of the portfolio API (/api): what owners send, and what they get back.

Request schemas are strict (unknown = RAISE). `load` returns the loaded data or raises
SchemaViolation naming the first offending field, like the xAPI schemas.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from schemas.errors import SchemaViolation

__all__ = [
    "IdentityConfirmSchema",
    "IdentitySchema",
    "IdentityStartSchema",
    "LoginSchema",
    "OwnerSchema",
    "RecordEntrySchema",
    "RecordPageSchema",
    "RecordSummarySchema",
    "SessionSchema",
    "TokenCreateSchema",
    "TokenSchema",
    "load",
]

_NOT_BLANK = validate.Length(min=1, error="must not be empty")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


# ------------------------------------------------------------------------- requests


class LoginSchema(_Strict):
    email = fields.String(required=True, validate=_NOT_BLANK)
    password = fields.String(required=True, validate=_NOT_BLANK)


class TokenCreateSchema(_Strict):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "What the token is for, e.g. 'laptop CLI'."},
    )
    password = fields.String(
        required=True,
        load_only=True,
        metadata={
            "description": "Your password, asked again: a token outlives the session that"
            " asks for it."
        },
    )


class IdentityStartSchema(_Strict):
    """Link a work mailbox: a one-time code is sent to it."""

    email = fields.Email(required=True, metadata={"description": "The mailbox to prove."})


class IdentityConfirmSchema(_Strict):
    challenge = fields.String(required=True, validate=_NOT_BLANK)
    code = fields.String(
        required=True, validate=validate.Regexp(r"^\s*\d{8}\s*$", error="must be the 8 digits sent")
    )


# ------------------------------------------------------------------------ responses


class IdentitySchema(Schema):
    identity = fields.String(
        required=True, metadata={"description": "The IFI, e.g. 'mbox:mailto:a@b.example'."}
    )
    linked = fields.String(required=True)
    proof = fields.String(
        required=True, metadata={"enum": ["first identity", "one-time code", "administrator"]}
    )


class OwnerSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    created = fields.String(required=True)
    identities = fields.List(fields.Nested(IdentitySchema), required=True)


class SessionSchema(Schema):
    token = fields.String(
        required=True,
        metadata={"description": "Send as 'Authorization: Bearer <token>'. Shown once."},
    )
    id = fields.String(required=True)
    expires = fields.String(allow_none=True)


class TokenSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["session", "token"]})
    name = fields.String(required=True)
    created = fields.String(required=True)
    expires = fields.String(allow_none=True)


class ChallengeSchema(Schema):
    challenge = fields.String(required=True)
    identity = fields.String(required=True)
    expires = fields.String(required=True)


class LinkedSchema(Schema):
    identity = fields.Nested(IdentitySchema, required=True)
    witnessed = fields.Integer(
        required=True, metadata={"description": "Statements already in the LRS now in the record."}
    )


class RecordEntrySchema(Schema):
    seq = fields.Integer(required=True)
    hash = fields.String(required=True)
    signature = fields.String(required=True)
    entry = fields.Dict(
        required=True, metadata={"description": "The entry as signed (its canonical JSON, parsed)."}
    )


class RecordPageSchema(Schema):
    entries = fields.List(fields.Nested(RecordEntrySchema), required=True)
    next = fields.Integer(
        allow_none=True, metadata={"description": "Pass as `after` for the next page."}
    )


class RecordSummarySchema(Schema):
    person = fields.String(required=True)
    entries = fields.Integer(required=True)
    head = fields.String(allow_none=True)
    first_at = fields.String(allow_none=True)
    last_at = fields.String(allow_none=True)
    kinds = fields.Dict(keys=fields.String(), values=fields.Integer())
    owner_keys = fields.List(fields.String())
    statements = fields.Integer()


def load(schema: type[Schema], data: Any) -> dict[str, Any]:
    """`data` loaded through `schema`; raises SchemaViolation for the first bad field."""
    if not isinstance(data, dict):
        raise SchemaViolation("", "must be a JSON object")
    try:
        loaded: dict[str, Any] = schema().load(data)
    except ValidationError as exc:
        path, rule = _first(exc.messages)
        raise SchemaViolation(path, rule) from exc
    return loaded


def _first(messages: Any, path: str = "") -> tuple[str, str]:
    """The first message and its path: ``actions[0].type`` (list items as ``[i]``)."""
    if isinstance(messages, dict):
        for key, inner in messages.items():
            if isinstance(key, int):
                return _first(inner, f"{path}[{key}]")
            return _first(inner, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages:
        return _first(messages[0], path)
    rule = str(messages)
    if rule == "Missing data for required field.":
        rule = "is required"
    elif rule == "Unknown field.":
        rule = "is not a known field"
    return path, rule


# ------------------------------------------------------------------- mapping rules


class RuleMatchSchema(_Strict):
    """What a statement must have for a rule to apply; every given condition must hold."""

    activity = fields.String(metadata={"description": "The object Activity's id."})
    activity_type = fields.String(metadata={"description": "The object Activity's type."})
    verb = fields.String(metadata={"description": "The verb id."})
    category = fields.String(
        metadata={"description": "An Activity id in context.contextActivities.category."}
    )


class MappingRuleSchema(_Strict):
    """A rule that maps statements to items of a framework, for one council or all.

    `council` scopes the rule to statements about identities of that council: the domain
    of a mailbox or the host of an account's homePage. Without it the rule applies to
    everyone on this instance.
    """

    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,64}$"))
    title = fields.String(validate=validate.Length(max=200))
    framework = fields.String(required=True, validate=_NOT_BLANK)
    council = fields.String(validate=_NOT_BLANK)
    match = fields.Nested(RuleMatchSchema, required=True)
    items = fields.List(
        fields.String(validate=_NOT_BLANK), required=True, validate=validate.Length(min=1)
    )
    hours = fields.Float(
        validate=validate.Range(min=0, max=1000),
        metadata={"description": "Hours credited; else the statement's result.duration."},
    )
    weight = fields.Float(validate=validate.Range(min=0, max=100), load_default=1.0)

    @validates_schema
    def _some_condition(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("match"):
            raise ValidationError("must name at least one condition", field_name="match")


# --------------------------------------------------------- goals, evidence, reflections

ACTION_TYPES = ("e-learning", "course", "mentoring", "secondment", "action learning set", "reading")
GOAL_STATUSES = ("open", "achieved", "deferred", "dropped")
DATE_RULE = "must be a real calendar date (YYYY-MM-DD)"
_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _real_date(value: str) -> None:
    """The shape alone let 2025-13-45 through, and a mentoring session logged for it is
    signed into the record but can never be confirmed (its statements' timestamps are
    invalid). fullmatch on [0-9] lets no trailing newline or non-ASCII digit through, and
    date.fromisoformat alone would also take 20250101 and 2025-W01-1."""
    if not _DATE_SHAPE.fullmatch(value):
        raise ValidationError(DATE_RULE)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValidationError(DATE_RULE) from None


# The Regexp is what OpenAPI shows (a pattern); _real_date is the rule.
_DATE: list[Callable[[Any], Any]] = [
    validate.Regexp(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", error=DATE_RULE),
    _real_date,
]


class ActionSchema(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(ACTION_TYPES))
    description = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class GoalCreateSchema(_Strict):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    items = fields.List(
        fields.String(validate=_NOT_BLANK), required=True, validate=validate.Length(min=1, max=50)
    )
    target_date = fields.String(validate=_DATE, allow_none=True)
    actions = fields.List(fields.Nested(ActionSchema), validate=validate.Length(max=50))


class GoalUpdateSchema(_Strict):
    title = fields.String(validate=validate.Length(min=1, max=300))
    target_date = fields.String(validate=_DATE, allow_none=True)
    status = fields.String(validate=validate.OneOf(GOAL_STATUSES))
    actions = fields.List(fields.Nested(ActionSchema), validate=validate.Length(max=50))

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("must change at least one of title, target_date, status, actions")


class EvidenceLinkRequestSchema(_Strict):
    item = fields.String(required=True, validate=_NOT_BLANK)
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReflectionAboutSchema(_Strict):
    statement = fields.UUID()
    goal = fields.String(validate=_NOT_BLANK)

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) != 1:
            raise ValidationError("must name exactly one of statement, goal")


class ReflectionCreateSchema(_Strict):
    about = fields.Nested(ReflectionAboutSchema, required=True)
    what_happened = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    what_i_learnt = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    how_it_changes_my_practice = fields.String(
        required=True, validate=validate.Length(min=1, max=10000)
    )


class CoverageItemSchema(Schema):
    item = fields.String(required=True)
    code = fields.String(allow_none=True)
    statement = fields.String(required=True)
    depth = fields.Integer(required=True)
    parent = fields.String(allow_none=True)
    count = fields.Integer(required=True)
    hours = fields.Float(required=True)
    latest = fields.String(allow_none=True)
    reflections = fields.Integer(required=True)


class DashboardSchema(Schema):
    framework = fields.Dict(required=True)
    items = fields.List(fields.Nested(CoverageItemSchema), required=True)
    goals = fields.List(fields.Dict(), required=True)
    totals = fields.Dict(required=True)


class MentoringLogSchema(_Strict):
    """A mentoring session, logged by one party."""

    role = fields.String(
        required=True,
        validate=validate.OneOf(["mentee", "mentor"]),
        metadata={"description": "Your role in the session."},
    )
    other_email = fields.Email(required=True, metadata={"description": "The other party."})
    other_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    date = fields.String(required=True, validate=_DATE)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1440))
    topics = fields.String(required=True, validate=validate.Length(min=1, max=2000))
