"""Bodies of erasing a portfolio (DELETE /api/me): the owner's confirmation, and what an
erasure leaves on record (its tombstone: numbers and who asked, never a name)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

__all__ = ["ErasureConfirmSchema", "ErasureCountsSchema", "ErasureSchema", "RequestedBySchema"]


class ErasureConfirmSchema(Schema):
    """The owner types their login e-mail to confirm: erasure cannot be undone."""

    class Meta:
        unknown = RAISE

    confirm = fields.String(
        required=True,
        metadata={"description": "Your login e-mail, to confirm that you mean it."},
    )
    password = fields.String(
        required=True,
        load_only=True,
        metadata={"description": "Your password: a session alone may not erase a portfolio."},
    )


class RequestedBySchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(["owner", "administrator"]))
    administrator = fields.String(
        metadata={"description": "The administrator who erased it on a verified request."}
    )
    request = fields.String(metadata={"description": "The reference of that request."})


class ErasureCountsSchema(Schema):
    """How much went: numbers only."""

    statements = fields.Integer(required=True)
    attachments = fields.Integer(required=True)
    documents = fields.Integer(
        required=True, metadata={"description": "xAPI State and Agent Profile documents."}
    )
    activities = fields.Integer(
        required=True,
        metadata={"description": "Activity definitions no remaining statement mentions."},
    )
    record_entries = fields.Integer(required=True)
    portfolio_docs = fields.Integer(required=True)
    identities = fields.Integer(required=True)
    sessions = fields.Integer(required=True)
    challenges = fields.Integer(required=True)
    sources = fields.Integer(
        required=True,
        metadata={"description": "LRSs the person connected to pull their statements from."},
    )
    destinations = fields.Integer(
        required=True,
        metadata={
            "description": "Destinations that forwarded the person's statements by name:"
            " taken out of the filter, or removed when they forwarded no one else's."
        },
    )
    shared_docs = fields.Integer(
        required=True,
        metadata={"description": "Mentoring sessions, one-time links and pointers to them."},
    )
    other_records = fields.Integer(
        required=True,
        metadata={"description": "Other records given a 'statement-erased' entry."},
    )


class ErasureSchema(Schema):
    """A completed erasure, as its tombstone keeps it."""

    id = fields.String(required=True, metadata={"description": "The tombstone's key."})
    erased = fields.String(required=True)
    requested_by = fields.Nested(RequestedBySchema, required=True)
    counts = fields.Nested(ErasureCountsSchema, required=True)
