"""The bodies the service sends outside the xAPI grammar: the error body every endpoint
uses and the health report.

These schemas document responses (the OpenAPI document is generated from them); the
service builds the bodies itself and never loads them through these schemas.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields

__all__ = ["ErrorSchema", "HealthSchema"]


class ErrorSchema(Schema):
    """The JSON body of every 4xx and 5xx response (STYLE 6).

    5xx bodies are generic: their cause is logged, never sent.
    """

    class Meta:
        unknown = RAISE

    error = fields.String(
        required=True,
        metadata={"description": "A short slug naming the kind of error.", "example": "invalid"},
    )
    message = fields.String(required=True, metadata={"description": "What went wrong, for people."})
    path = fields.String(
        metadata={
            "description": (
                "The offending value: a dotted path into the body ('actor.mbox',"
                " 'context.contextActivities.parent[0].id'), a parameter or a header name;"
                " '' for the whole body."
            ),
        }
    )
    rule = fields.String(
        metadata={
            "description": "The rule broken, a phrase that completes `path`.",
            "example": "must be a mailto: IRI",
        }
    )


class HealthSchema(Schema):
    """GET /health: the service is up and its store answers."""

    class Meta:
        unknown = RAISE

    status = fields.String(required=True, metadata={"enum": ["ok"]})
