"""The operations of the Professional Development Analysis (/api/me/analyses, and the
reviewer's /review/{token}) for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from schemas.assessment import (
    AnalysisCreateSchema,
    AnalysisSchema,
    AnalysisSummarySchema,
    ComparisonSchema,
    GridSchema,
    NeedsSchema,
    ReviewerInviteSchema,
    ReviewerSchema,
    ReviewFormSchema,
    ReviewReceivedSchema,
    ReviewSubmitSchema,
    SelfRatingsSchema,
)
from service.openapi import portfolio_operations
from service.openapi.components import Doc, errors, json_content

TAGS = ["professional development analysis"]

Operation = Callable[[Doc], dict[str, Any]]


def _operation(
    summary: str,
    *,
    status: str,
    response: type[Schema],
    many: bool = False,
    body: type[Schema] | None = None,
    statuses: tuple[str, ...] = (),
    auth: bool = True,
    description: str | None = None,
) -> Operation:
    def build(doc: Doc) -> dict[str, Any]:
        bearer = portfolio_operations.BEARER
        if bearer not in doc.spec.components.security_schemes:
            portfolio_operations.register(doc)
        schema = doc.ref(response)
        operation: dict[str, Any] = {
            "summary": summary,
            "tags": TAGS,
            "responses": {
                status: {
                    "description": summary,
                    "content": json_content({"type": "array", "items": schema} if many else schema),
                },
                **errors(*statuses),
            },
        }
        if description:
            operation["description"] = description
        if body is not None:
            operation["requestBody"] = {"required": True, "content": json_content(doc.ref(body))}
            operation["responses"].update(errors("400"))
        if auth:
            operation["security"] = [{bearer: []}]
            operation["responses"].update(errors("401"))
        return operation

    return build


_LINK = (
    "No account is needed: the token of the link e-mailed to the reviewer is the"
    " credential. An unknown or replaced link is a 404; a spent or expired link, or one"
    " of a closed analysis, a 409."
)

OPERATIONS: dict[str, dict[str, Operation]] = {
    "/api/me/analyses": {
        "GET": _operation(
            "The owner's analyses, newest first",
            status="200",
            response=AnalysisSummarySchema,
            many=True,
            statuses=("400",),
        ),
        "POST": _operation(
            "Start a Professional Development Analysis against a framework version",
            status="201",
            response=AnalysisSchema,
            body=AnalysisCreateSchema,
        ),
    },
    "/api/me/analyses/{analysis_id}": {
        "GET": _operation(
            "One analysis: the scale, the self-ratings and the reviewers",
            status="200",
            response=AnalysisSchema,
            statuses=("400", "404"),
        ),
    },
    "/api/me/analyses/{analysis_id}/close": {
        "POST": _operation(
            "Close the analysis: it takes no more ratings",
            status="200",
            response=AnalysisSchema,
            statuses=("404",),
        ),
    },
    "/api/me/analyses/{analysis_id}/self-ratings": {
        "PUT": _operation(
            "Replace the owner's self-assessment (items left out are unrated)",
            status="200",
            response=AnalysisSchema,
            body=SelfRatingsSchema,
            statuses=("404", "409"),
            description="Only items without sub-items are rated, on the scale 1-4.",
        ),
    },
    "/api/me/analyses/{analysis_id}/reviewers": {
        "POST": _operation(
            "Invite a 360° reviewer: a one-time link is e-mailed to them",
            status="201",
            response=ReviewerSchema,
            body=ReviewerInviteSchema,
            statuses=("404", "409", "503"),
            description=(
                "Inviting a mailbox again before it has rated sends a fresh link and"
                " retires the old one. The link works once, for 14 days."
            ),
        ),
    },
    "/api/me/analyses/{analysis_id}/comparison": {
        "GET": _operation(
            "Self against others' ratings for every item",
            status="200",
            response=ComparisonSchema,
            statuses=("400", "404"),
        ),
    },
    "/api/me/analyses/{analysis_id}/needs": {
        "GET": _operation(
            "The development needs the ratings show, highest skill need first",
            status="200",
            response=NeedsSchema,
            statuses=("400", "404"),
        ),
    },
    "/api/me/analyses/{analysis_id}/grid": {
        "GET": _operation(
            "The training-needs grid: skill need against existing provision (4 x 4)",
            status="200",
            response=GridSchema,
            statuses=("400", "404"),
        ),
    },
    "/review/{token}": {
        "GET": _operation(
            "What a 360° reviewer is asked to rate",
            status="200",
            response=ReviewFormSchema,
            statuses=("400", "404", "409"),
            auth=False,
            description=_LINK,
        ),
        "POST": _operation(
            "A 360° reviewer's ratings; the link is spent",
            status="201",
            response=ReviewReceivedSchema,
            body=ReviewSubmitSchema,
            statuses=("404", "409"),
            auth=False,
            description=_LINK,
        ),
    },
}

PATH_PARAMETERS = {
    "analysis_id": "The id of one of the owner's analyses.",
    "token": "The one-time token of a link sent by e-mail.",
}
