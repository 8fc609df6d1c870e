"""The operations of the portfolio API (/api) for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from schemas.portfolio import (
    ChallengeSchema,
    DashboardSchema,
    EvidenceLinkRequestSchema,
    GoalCreateSchema,
    GoalUpdateSchema,
    IdentityConfirmSchema,
    IdentitySchema,
    IdentityStartSchema,
    LinkedSchema,
    LoginSchema,
    MentoringLogSchema,
    OwnerSchema,
    RecordPageSchema,
    RecordSummarySchema,
    ReflectionCreateSchema,
    SessionSchema,
    TokenCreateSchema,
    TokenSchema,
)
from service.openapi.components import Doc, errors, json_content

BEARER = "bearerAuth"
TAGS = ["portfolio"]


def register(doc: Doc) -> None:
    doc.spec.components.security_scheme(
        BEARER,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A session token (POST /api/session) or a personal access token.",
        },
    )


def _operation(
    doc: Doc,
    summary: str,
    *,
    status: str,
    response: type[Schema] | dict[str, Any] | None = None,
    many: bool = False,
    body: type[Schema] | None = None,
    statuses: tuple[str, ...] = (),
    auth: bool = True,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    if BEARER not in doc.spec.components.security_schemes:
        register(doc)
    ok: dict[str, Any] = {"description": summary}
    if response is not None:
        schema = response if isinstance(response, dict) else doc.ref(response)
        ok["content"] = json_content({"type": "array", "items": schema} if many else schema)
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": TAGS,
        "responses": {status: ok, **errors(*statuses)},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": json_content(doc.ref(body))}
        operation["responses"].update(errors("400"))
    if auth:
        operation["security"] = [{BEARER: []}]
        operation["responses"].update(errors("401"))
    if parameters:
        operation["parameters"] = parameters
    return operation


def _record_parameters() -> list[dict[str, Any]]:
    return [
        {
            "in": "query",
            "name": "after",
            "description": "Entries after this seq (the `next` of the previous page).",
            "schema": {"type": "integer", "minimum": 0},
        },
        {
            "in": "query",
            "name": "limit",
            "description": "At most this many entries (1-1000, default 100).",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
        },
    ]


Operation = Callable[[Doc], dict[str, Any]]

OPERATIONS: dict[str, dict[str, Operation]] = {
    "/api/session": {
        "POST": lambda doc: _operation(
            doc,
            "Log in: a session token for the owner (12 hours)",
            status="201",
            response=SessionSchema,
            body=LoginSchema,
            auth=False,
            statuses=("401",),
        ),
        "DELETE": lambda doc: _operation(doc, "Log out: end this session", status="204"),
    },
    "/api/me": {
        "GET": lambda doc: _operation(
            doc,
            "The owner's portfolio: who and which identities",
            status="200",
            response=OwnerSchema,
        ),
    },
    "/api/me/tokens": {
        "GET": lambda doc: _operation(
            doc,
            "The owner's sessions and personal tokens",
            status="200",
            response=TokenSchema,
            many=True,
        ),
        "POST": lambda doc: _operation(
            doc,
            "A personal access token, shown once",
            status="201",
            response=SessionSchema,
            body=TokenCreateSchema,
        ),
    },
    "/api/me/tokens/{token_id}": {
        "DELETE": lambda doc: _operation(
            doc, "End a session or revoke a token", status="204", statuses=("404",)
        ),
    },
    "/api/me/identities": {
        "GET": lambda doc: _operation(
            doc,
            "The identities proven to be the owner's",
            status="200",
            response=IdentitySchema,
            many=True,
        ),
        "POST": lambda doc: _operation(
            doc,
            "Send a one-time code to a mailbox to link it",
            status="202",
            response=ChallengeSchema,
            body=IdentityStartSchema,
            statuses=("409",),
        ),
    },
    "/api/me/identities/confirm": {
        "POST": lambda doc: _operation(
            doc,
            "Link the mailbox with the code it received",
            status="201",
            response=LinkedSchema,
            body=IdentityConfirmSchema,
            statuses=("404", "409"),
        ),
    },
    "/api/me/record": {
        "GET": lambda doc: _operation(
            doc,
            "The owner's signed record, a page at a time",
            status="200",
            response=RecordPageSchema,
            parameters=_record_parameters(),
        ),
    },
    "/api/me/record/verification": {
        "GET": lambda doc: _operation(
            doc,
            "Verify the whole record now",
            status="200",
            response=RecordSummarySchema,
            statuses=("409",),
        ),
    },
}


def _query(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "in": "query",
        "name": name,
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


_ANY: dict[str, Any] = {"type": "object"}
_ANY_LIST: dict[str, Any] = {"type": "array", "items": {"type": "object"}}

OPERATIONS.update(
    {
        "/api/frameworks": {
            "GET": lambda doc: _operation(
                doc, "The frameworks stored here", status="200", response=_ANY_LIST
            ),
        },
        "/api/frameworks/items": {
            "GET": lambda doc: _operation(
                doc,
                "A framework's items in hierarchy order",
                status="200",
                response=_ANY,
                statuses=("404",),
                parameters=[_query("framework", "The framework's uri.", required=True)],
            ),
        },
        "/api/me/dashboard": {
            "GET": lambda doc: _operation(
                doc,
                "Coverage of each item of a framework, and the goals linked to it",
                status="200",
                response=DashboardSchema,
                statuses=("404",),
                parameters=[_query("framework", "The framework's uri.", required=True)],
            ),
        },
        "/api/me/goals": {
            "GET": lambda doc: _operation(
                doc, "The development plan: goals with progress", status="200", response=_ANY_LIST
            ),
            "POST": lambda doc: _operation(
                doc, "Set a goal", status="201", response=_ANY, body=GoalCreateSchema
            ),
        },
        "/api/me/goals/{goal_id}": {
            "GET": lambda doc: _operation(
                doc, "One goal", status="200", response=_ANY, statuses=("404",)
            ),
            "PATCH": lambda doc: _operation(
                doc,
                "Change a goal's status, target date, title or actions",
                status="200",
                response=_ANY,
                body=GoalUpdateSchema,
                statuses=("404",),
            ),
        },
        "/api/me/evidence": {
            "GET": lambda doc: _operation(
                doc,
                "The evidence counted toward an item, newest first",
                status="200",
                response=_ANY_LIST,
                parameters=[
                    _query("item", "The item's uri.", required=True),
                    _query("limit", "At most this many (1-1000, default 100)."),
                ],
            ),
        },
        "/api/me/evidence/{statement_id}": {
            "GET": lambda doc: _operation(
                doc, "One statement as evidence", status="200", response=_ANY, statuses=("404",)
            ),
        },
        "/api/me/evidence/{statement_id}/links": {
            "POST": lambda doc: _operation(
                doc,
                "Count the statement toward an item, with a rationale",
                status="201",
                response=_ANY,
                body=EvidenceLinkRequestSchema,
                statuses=("404", "409"),
            ),
        },
        "/api/me/evidence/{statement_id}/unlinks": {
            "POST": lambda doc: _operation(
                doc,
                "Stop counting the statement toward an item, with a rationale",
                status="201",
                response=_ANY,
                body=EvidenceLinkRequestSchema,
                statuses=("404",),
            ),
        },
        "/api/me/reflections": {
            "GET": lambda doc: _operation(
                doc, "The owner's reflections", status="200", response=_ANY_LIST
            ),
            "POST": lambda doc: _operation(
                doc,
                "Reflect on a piece of evidence or a goal",
                status="201",
                response=_ANY,
                body=ReflectionCreateSchema,
                statuses=("404",),
            ),
        },
    }
)

OPERATIONS.update(
    {
        "/api/me/mentoring": {
            "GET": lambda doc: _operation(
                doc, "Mentoring sessions the owner is a party to", status="200", response=_ANY_LIST
            ),
            "POST": lambda doc: _operation(
                doc,
                "Log a mentoring session; the other party is sent a link to confirm it",
                status="201",
                response=_ANY,
                body=MentoringLogSchema,
            ),
        },
        "/api/me/mentoring/{session_id}/confirm": {
            "POST": lambda doc: _operation(
                doc,
                "Confirm, from your portfolio, a session the other party logged",
                status="200",
                response=_ANY,
                statuses=("404", "409"),
            ),
        },
        "/mentoring/{token}": {
            "GET": lambda doc: _operation(
                doc,
                "The session a confirmation link asks about (no account needed)",
                status="200",
                response=_ANY,
                statuses=("404", "409"),
                auth=False,
            ),
            "POST": lambda doc: _operation(
                doc,
                "Confirm the session by its link; the link is spent",
                status="200",
                response=_ANY,
                statuses=("404", "409"),
                auth=False,
            ),
        },
    }
)

PATH_PARAMETERS = {
    "session_id": "The id of a mentoring session.",
    "token": "The one-time token of a link sent by e-mail.",
    "token_id": "The id of a session or token (GET /api/me/tokens).",
    "goal_id": "The id of one of the owner's goals.",
    "statement_id": "The id of a statement in the owner's evidence.",
}
