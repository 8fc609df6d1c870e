"""Bodies of the Professional Development Analysis: what owners and 360° reviewers send,
what they get back, and the bodies of its record entries.

Request schemas are strict (unknown = RAISE). :func:`load` returns the loaded data or
raises SchemaViolation naming the first offending field, with ``[i]`` for list items.
The record bodies are deliberately looser than the requests (no length limits): a record
must go on verifying when a limit of the API changes.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from schemas.portfolio import load

__all__ = [
    "RELATIONSHIPS",
    "AnalysisCreateSchema",
    "AnalysisSchema",
    "AnalysisSummarySchema",
    "ComparisonSchema",
    "GridSchema",
    "NeedsSchema",
    "ReviewFormSchema",
    "ReviewReceivedSchema",
    "ReviewSubmitSchema",
    "ReviewerInviteSchema",
    "ReviewerSchema",
    "SelfRatingsSchema",
    "load",
    "record_bodies",
]

#: How a 360° reviewer knows the owner, in the order the comparison view lists them.
RELATIONSHIPS = ("manager", "peer", "direct report", "other")
MAX_ITEMS = 500  # more than any framework shipped has leaves; a bound on a body
_NOT_BLANK = validate.Length(min=1, error="must not be empty")
_RATING_RULE = "must be a whole number from 1 to 4"


class _Strict(Schema):
    class Meta:
        unknown = RAISE


# ------------------------------------------------------------------------- requests


class RatingSchema(_Strict):
    """One item rated on the 1-4 scale, with an optional comment."""

    item = fields.String(
        required=True, validate=_NOT_BLANK, metadata={"description": "The item's uri."}
    )
    rating = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=4, error=_RATING_RULE),
        error_messages={"invalid": _RATING_RULE},
        metadata={"description": "1-4; the scale and its descriptors come with the analysis."},
    )
    comment = fields.String(
        validate=validate.Length(min=1, max=2000, error="must be 1 to 2000 characters")
    )

    @pre_load
    def _no_booleans(self, data: Any, **_: Any) -> Any:
        # JSON true is not a rating, though Python counts a bool as an int.
        if isinstance(data, dict) and isinstance(data.get("rating"), bool):
            raise ValidationError(_RATING_RULE, field_name="rating")
        return data


def _ratings(minimum: int) -> fields.List[Any]:
    return fields.List(
        fields.Nested(RatingSchema),
        required=True,
        validate=validate.Length(min=minimum, max=MAX_ITEMS),
    )


class AnalysisCreateSchema(_Strict):
    """Start an analysis against one version of a framework."""

    framework = fields.String(
        required=True, validate=_NOT_BLANK, metadata={"description": "The framework's uri."}
    )
    version = fields.String(
        validate=_NOT_BLANK, metadata={"description": "A stored version; else the latest."}
    )
    title = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "e.g. 'Annual review 2026'; else the framework's title."},
    )


class SelfRatingsSchema(_Strict):
    """The owner's whole self-assessment: it replaces the one before (items left out are
    unrated)."""

    ratings = _ratings(0)


class ReviewerInviteSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, metadata={"description": "Where the link is sent."})
    relationship = fields.String(required=True, validate=validate.OneOf(RELATIONSHIPS))


class ReviewSubmitSchema(_Strict):
    """A reviewer's ratings: any of the items (leave out those you cannot judge)."""

    ratings = _ratings(1)


# ------------------------------------------------------------------------ responses


class ScalePointSchema(Schema):
    rating = fields.Integer(required=True)
    label = fields.String(required=True)
    descriptor = fields.String(required=True)


class FrameworkRefSchema(Schema):
    uri = fields.String(required=True)
    version = fields.String(required=True)
    title = fields.String(required=True)


class ItemSchema(Schema):
    item = fields.String(required=True)
    code = fields.String(allow_none=True)
    statement = fields.String(required=True)
    parent = fields.String(allow_none=True)


class RatedSchema(Schema):
    item = fields.String(required=True)
    rating = fields.Integer(required=True)
    comment = fields.String()


class ReviewerSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    relationship = fields.String(required=True, metadata={"enum": list(RELATIONSHIPS)})
    invited = fields.String(required=True)
    expires = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["invited", "expired", "rated"]})
    rated = fields.String(allow_none=True)


class AnalysisSummarySchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    framework = fields.Nested(FrameworkRefSchema, required=True)
    created = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["open", "closed"]})
    closed = fields.String(allow_none=True)
    items = fields.Integer(required=True, metadata={"description": "Items to rate."})
    self_rated = fields.Integer(required=True)
    reviews = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "How many reviewers were invited, and how many rated."},
    )


class AnalysisSchema(AnalysisSummarySchema):
    scale = fields.List(fields.Nested(ScalePointSchema), required=True)
    self_assessed = fields.String(allow_none=True)
    self_ratings = fields.List(fields.Nested(RatedSchema), required=True)
    reviewers = fields.List(fields.Nested(ReviewerSchema), required=True)


class StatsSchema(Schema):
    count = fields.Integer(required=True)
    mean = fields.Float(required=True)
    min = fields.Integer(required=True)
    max = fields.Integer(required=True)


class OthersSchema(Schema):
    count = fields.Integer(required=True)
    mean = fields.Float(allow_none=True)
    min = fields.Integer(allow_none=True)
    max = fields.Integer(allow_none=True)
    by_relationship = fields.Dict(keys=fields.String(), values=fields.Nested(StatsSchema))
    comments = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))


class NeedSchema(Schema):
    reasons = fields.List(fields.String(), required=True)
    skill_need = fields.Integer(required=True, metadata={"description": "1-4, the grid column"})


class ComparedItemSchema(ItemSchema):
    self = fields.Nested(RatedSchema, allow_none=True)
    others = fields.Nested(OthersSchema, required=True)
    gap = fields.Float(allow_none=True, metadata={"description": "self - others' mean"})
    need = fields.Nested(NeedSchema, allow_none=True)


class ComparisonSchema(Schema):
    analysis = fields.Nested(AnalysisSummarySchema, required=True)
    items = fields.List(fields.Nested(ComparedItemSchema), required=True)


class NeedItemSchema(ItemSchema):
    self = fields.Integer(allow_none=True)
    others = fields.Nested(OthersSchema, required=True)
    gap = fields.Float(allow_none=True)
    reasons = fields.List(fields.String(), required=True)
    skill_need = fields.Integer(required=True)


class NeedsSchema(Schema):
    analysis = fields.Nested(AnalysisSummarySchema, required=True)
    rule = fields.String(required=True)
    needs = fields.List(fields.Nested(NeedItemSchema), required=True)


class ProvisionSchema(Schema):
    activity = fields.String(required=True)
    name = fields.String(required=True)
    rules = fields.List(fields.String(), required=True)


class PlacedItemSchema(ItemSchema):
    need = fields.Boolean(required=True)
    reasons = fields.List(fields.String(), required=True)
    provision = fields.List(fields.Nested(ProvisionSchema), required=True)


class CellSchema(Schema):
    skill_need = fields.Integer(required=True)
    provision = fields.Integer(required=True)
    red = fields.Boolean(required=True)
    items = fields.List(fields.Nested(PlacedItemSchema), required=True)


class GridSchema(Schema):
    analysis = fields.Nested(AnalysisSummarySchema, required=True)
    axes = fields.Dict(required=True, metadata={"description": "What each level means."})
    red_area = fields.String(required=True)
    cells = fields.List(fields.Nested(CellSchema), required=True)
    priorities = fields.List(
        fields.String(), required=True, metadata={"description": "The needs, most pressing first."}
    )
    unrated = fields.List(fields.String(), required=True)


class ReviewFormSchema(Schema):
    """What a reviewer sees behind their link."""

    owner = fields.String(required=True, metadata={"description": "Whom they review."})
    reviewer = fields.String(required=True)
    relationship = fields.String(required=True)
    framework = fields.Nested(FrameworkRefSchema, required=True)
    scale = fields.List(fields.Nested(ScalePointSchema), required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True)
    expires = fields.String(required=True)


class ReviewReceivedSchema(Schema):
    received = fields.Integer(required=True, metadata={"description": "Items rated."})
    rated = fields.String(required=True)


# ------------------------------------------------------------------- record bodies


class _RecordRatingSchema(_Strict):
    item = fields.String(required=True, validate=validate.Length(min=1))
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4))
    comment = fields.String()


class AnalysisStartedSchema(_Strict):
    """The owner starts a Professional Development Analysis against a framework version."""

    id = fields.String(required=True)
    framework = fields.String(required=True)
    version = fields.String(required=True)
    title = fields.String(required=True)


class SelfAssessedSchema(_Strict):
    """The owner's whole self-assessment in an analysis (it replaces the one before)."""

    analysis = fields.String(required=True)
    ratings = fields.List(fields.Nested(_RecordRatingSchema), required=True)


class ReviewerInvitedSchema(_Strict):
    """The owner invites a 360° reviewer, whose one-time link went to `email` (the link's
    token is never in the record)."""

    analysis = fields.String(required=True)
    reviewer = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True, validate=validate.Regexp(r"^mailto:"))
    relationship = fields.String(required=True)


class ReviewerRatedSchema(_Strict):
    """A reviewer's ratings, signed by the instance on their behalf."""

    analysis = fields.String(required=True)
    reviewer = fields.String(required=True)
    relationship = fields.String(required=True)
    ratings = fields.List(
        fields.Nested(_RecordRatingSchema), required=True, validate=validate.Length(min=1)
    )


class AnalysisClosedSchema(_Strict):
    id = fields.String(required=True)


def record_bodies() -> dict[str, tuple[Schema, frozenset[str]]]:
    """The record kinds of the analysis: body schema and the roles that may sign each
    (for schemas.record.BODY_SCHEMAS)."""
    owner = frozenset({"owner"})
    return {
        "analysis-started": (AnalysisStartedSchema(), owner),
        "self-assessed": (SelfAssessedSchema(), owner),
        "reviewer-invited": (ReviewerInvitedSchema(), owner),
        "reviewer-rated": (ReviewerRatedSchema(), frozenset({"instance"})),
        "analysis-closed": (AnalysisClosedSchema(), owner),
    }
