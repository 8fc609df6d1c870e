"""Bodies of the owner's sources (/api/me/sources): connecting a remote LRS that holds
their learning, what is shown of one (never its secret), and a sync's summary."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

__all__ = ["SourceInputSchema", "SourceSchema", "SyncRunSchema", "SyncSummarySchema"]


class SourceInputSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]{0,63}$"),
        metadata={"description": "A name for it: 1-64 of a-z, 0-9, '.', '_', '-'."},
    )
    endpoint = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        metadata={"description": "The remote LRS's xAPI endpoint, e.g. https://lrs.example/xAPI/"},
    )
    key = fields.String(
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "Your client key there (the Basic auth username)."},
    )
    secret = fields.String(
        required=True,
        validate=validate.Length(min=1),
        load_only=True,
        metadata={"description": "Its secret; kept sealed, never shown again."},
    )
    xapi_version = fields.String(load_default="1.0.3", validate=validate.OneOf(["1.0.3", "2.0.0"]))
    since_field = fields.String(
        load_default="stored",
        validate=validate.OneOf(["stored", "timestamp"]),
        metadata={
            "description": "What the remote's `since` filters on: `stored` (xAPI), or"
            " `timestamp` for an LRS that compares timestamps instead."
        },
    )


class SyncRunSchema(Schema):
    started = fields.String(required=True)
    finished = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(["running", "ok", "failed"]))
    error = fields.String(allow_none=True)
    fetched = fields.Integer(required=True)
    new = fields.Integer(required=True)
    duplicate = fields.Integer(required=True)
    conflicts = fields.Integer(required=True)
    rejected = fields.Integer(required=True)


class SourceSchema(Schema):
    name = fields.String(required=True)
    endpoint = fields.String(required=True)
    key = fields.String(required=True)
    xapi_version = fields.String(required=True)
    agents = fields.List(fields.Dict(), required=True)
    owner = fields.String(allow_none=True)
    created = fields.String(required=True)
    since_field = fields.String(required=True, validate=validate.OneOf(["stored", "timestamp"]))
    since = fields.Dict(
        keys=fields.String(),
        values=fields.String(allow_none=True),
        metadata={"description": "Per stream (agent asked for): the `since` of the next run."},
    )
    last_run = fields.Nested(SyncRunSchema, allow_none=True)


class RejectedSchema(Schema):
    index = fields.Integer(required=True)
    id = fields.String(allow_none=True)
    path = fields.String(required=True)
    rule = fields.String(required=True)
    message = fields.String(required=True)


class SyncSummarySchema(Schema):
    source = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["ok", "failed"]))
    error = fields.String(allow_none=True)
    pages = fields.Integer(required=True)
    fetched = fields.Integer(required=True)
    new = fields.Integer(required=True)
    duplicate = fields.Integer(required=True)
    conflicts = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Ids stored here with other content: reported, not changed."},
    )
    rejected = fields.List(fields.Nested(RejectedSchema), required=True)
