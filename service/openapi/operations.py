"""What each route does, for the OpenAPI document: one function per operation, and
:data:`OPERATIONS`, the table of them by path and method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from schemas.service import HealthSchema
from schemas.xapi import ActivitySchema
from schemas.xapi.parameters import (
    ActivitiesParamsSchema,
    ActivityProfileReadParamsSchema,
    ActivityProfileWriteParamsSchema,
    AgentProfileReadParamsSchema,
    AgentProfileWriteParamsSchema,
    AgentsParamsSchema,
    StateDeleteParamsSchema,
    StatementsGetParamsSchema,
    StatementsPutParamsSchema,
    StateReadParamsSchema,
    StateWriteParamsSchema,
)
from schemas.xapi.resources import (
    AboutSchema,
    AnyVersionStatement,
    DocumentIdList,
    PersonSchema,
    StatementIdList,
    StatementResultSchema,
)
from service.openapi import (
    assessment_operations,
    bundle_operations,
    erasure_operations,
    portfolio_operations,
    source_operations,
)
from service.openapi.components import (
    BINARY,
    Doc,
    errors,
    header_ref,
    json_content,
    multipart,
    xapi_operation,
)


def _about(doc: Doc) -> dict[str, Any]:
    return xapi_operation(
        {
            "summary": "The xAPI versions served (Communication 2.8)",
            "description": "It takes no parameters: any is a 400 (Communication 3.2.s3.b7).",
            "responses": {
                "200": {
                    "description": "The About object.",
                    "content": json_content(doc.ref(AboutSchema)),
                },
                **errors("400"),
            },
        },
        auth=False,
        version_header=False,
    )


def _get_statements(doc: Doc) -> dict[str, Any]:
    return xapi_operation(
        {
            "summary": "One statement, or a page of a query (Communication 2.1.3)",
            "tags": ["xAPI statements"],
            "parameters": [*doc.query(StatementsGetParamsSchema), "AcceptLanguage"],
            "responses": {
                "200": {
                    "description": (
                        "A Statement (statementId, voidedStatementId) or a StatementResult;"
                        " multipart/mixed with the attachments when attachments=true."
                    ),
                    "headers": {
                        "X-Experience-API-Consistent-Through": header_ref("ConsistentThrough"),
                        "Last-Modified": header_ref("LastModified"),
                    },
                    "content": {
                        **json_content(
                            {
                                "oneOf": [
                                    doc.ref(StatementResultSchema),
                                    doc.prop(AnyVersionStatement()),
                                ]
                            }
                        ),
                        "multipart/mixed": multipart(
                            {
                                "oneOf": [
                                    doc.ref(StatementResultSchema),
                                    doc.prop(AnyVersionStatement()),
                                ]
                            }
                        ),
                    },
                },
                **errors("400", "404"),
            },
        }
    )


def _statement_body(doc: Doc, *, many: bool) -> dict[str, Any]:
    statement = doc.prop(AnyVersionStatement())
    # Communication 2.1.2: a batch holds at least one statement.
    batch = {"type": "array", "items": statement, "minItems": 1}
    schema = {"oneOf": [statement, batch]} if many else statement
    return {
        "required": True,
        "content": {**json_content(schema), "multipart/mixed": multipart(schema)},
    }


def _put_statement(doc: Doc) -> dict[str, Any]:
    return xapi_operation(
        {
            "summary": "Store one statement with the given id (Communication 2.1.1)",
            "tags": ["xAPI statements"],
            "parameters": doc.query(StatementsPutParamsSchema),
            "requestBody": _statement_body(doc, many=False),
            "responses": {
                "204": {"description": "Stored, or already stored with the same content."},
                **errors("400", "409", "413"),
            },
        }
    )


def _post_statements(doc: Doc) -> dict[str, Any]:
    return xapi_operation(
        {
            "summary": "Store one statement or a batch (Communication 2.1.2)",
            "description": (
                "Under xAPI 1.0.3 a form post with ?method=GET|PUT|POST|DELETE stands for"
                " another request (the alternate request syntax, Communication 1.3); the"
                " form fields carry its headers, parameters and `content`."
            ),
            "tags": ["xAPI statements"],
            "requestBody": _statement_body(doc, many=True),
            "responses": {
                "200": {
                    "description": "The ids of the statements, in the order sent.",
                    "content": json_content(doc.prop(StatementIdList())),
                },
                **errors("400", "409", "413"),
            },
        }
    )


DocumentOperations = dict[str, Callable[[Doc], dict[str, Any]]]


def _document_resource(
    *,
    name: str,
    section: str,
    read: type[Schema],
    write: type[Schema],
    delete: type[Schema],
) -> DocumentOperations:
    """The four operations of a document resource (Communication 2.2 and `section`)."""
    tags = ["xAPI documents"]
    preconditions = ["IfMatch", "IfNoneMatch"]

    def get(doc: Doc) -> dict[str, Any]:
        return xapi_operation(
            {
                "summary": f"One {name} document, or the ids of all ({section})",
                "tags": tags,
                "parameters": [*doc.query(read), *preconditions],
                "responses": {
                    "200": {
                        "description": (
                            "The document exactly as stored, with its Content-Type; without"
                            " the document id, a JSON array of the ids."
                        ),
                        "headers": {
                            "ETag": header_ref("ETag"),
                            "Last-Modified": header_ref("LastModified"),
                        },
                        "content": {
                            **json_content({"anyOf": [doc.prop(DocumentIdList()), {}]}),
                            "application/octet-stream": {"schema": BINARY},
                        },
                    },
                    "304": {"description": "Not modified (If-None-Match)."},
                    **errors("400", "404", "412"),
                },
            }
        )

    def body(*, post: bool) -> dict[str, Any]:
        json_schema: dict[str, Any] = (
            {"type": "object", "description": "Merged into the stored JSON object."} if post else {}
        )
        return {
            "description": "Any content; its Content-Type is stored with it.",
            "content": {
                **json_content(json_schema),
                "application/octet-stream": {"schema": BINARY},
            },
        }

    def written(doc: Doc, *, post: bool) -> dict[str, Any]:
        return xapi_operation(
            {
                "summary": (
                    f"Merge JSON into a {name} document ({section})"
                    if post
                    else f"Store a {name} document ({section})"
                ),
                "tags": tags,
                "parameters": [*doc.query(write), *preconditions],
                "requestBody": body(post=post),
                "responses": {
                    "204": {"description": "Stored.", "headers": {"ETag": header_ref("ETag")}},
                    **errors("400", "409", "412", "413"),
                },
            }
        )

    def delete_(doc: Doc) -> dict[str, Any]:
        return xapi_operation(
            {
                "summary": f"Delete a {name} document ({section})",
                "tags": tags,
                "parameters": [*doc.query(delete), *preconditions],
                "responses": {
                    "204": {"description": "Deleted, or was not there."},
                    **errors("400", "409", "412"),
                },
            }
        )

    return {
        "GET": get,
        "PUT": lambda doc: written(doc, post=False),
        "POST": lambda doc: written(doc, post=True),
        "DELETE": delete_,
    }


def _activities(doc: Doc) -> dict[str, Any]:
    return xapi_operation(
        {
            "summary": "The canonical Activity object (Communication 2.5)",
            "parameters": doc.query(ActivitiesParamsSchema),
            "responses": {
                "200": {
                    "description": "The Activity, with just its id when nothing more is known.",
                    "content": json_content(doc.ref(ActivitySchema)),
                },
                **errors("400"),
            },
        }
    )


def _agents(doc: Doc) -> dict[str, Any]:
    return xapi_operation(
        {
            "summary": "The Person object of an Agent (Communication 2.4)",
            "parameters": doc.query(AgentsParamsSchema),
            "responses": {
                "200": {
                    "description": "The Person.",
                    "content": json_content(doc.ref(PersonSchema)),
                },
                **errors("400"),
            },
        }
    )


def _health(doc: Doc) -> dict[str, Any]:
    return {
        "summary": "Is the service up and its store usable?",
        "tags": ["service"],
        "responses": {
            "200": {"description": "Up.", "content": json_content(doc.ref(HealthSchema))},
            **errors("503"),
        },
    }


def _openapi(doc: Doc) -> dict[str, Any]:
    return {
        "summary": "This document",
        "tags": ["service"],
        "responses": {
            "200": {"description": "OpenAPI 3.", "content": json_content({"type": "object"})},
        },
    }


def _static(doc: Doc) -> dict[str, Any]:
    return {
        "summary": "A static file of the web pages",
        "tags": ["service"],
        "responses": {
            "200": {"description": "The file.", "content": {"*/*": {"schema": BINARY}}},
            **errors("404"),
        },
    }


PATH_PARAMETERS = {
    "filename": "A path under the static folder (it may contain '/').",
    **portfolio_operations.PATH_PARAMETERS,
    **assessment_operations.PATH_PARAMETERS,
    **source_operations.PATH_PARAMETERS,
}

#: What each documented path and method does. HEAD and OPTIONS are derived.
OPERATIONS: dict[str, dict[str, Callable[[Doc], dict[str, Any]]]] = {
    "/health": {"GET": _health},
    "/openapi.json": {"GET": _openapi},
    "/static/{filename}": {"GET": _static},
    "/xapi/about": {"GET": _about},
    "/xapi/statements": {
        "GET": _get_statements,
        "PUT": _put_statement,
        "POST": _post_statements,
    },
    "/xapi/activities/state": _document_resource(
        name="State",
        section="Communication 2.3",
        read=StateReadParamsSchema,
        write=StateWriteParamsSchema,
        delete=StateDeleteParamsSchema,
    ),
    "/xapi/activities/profile": _document_resource(
        name="Activity Profile",
        section="Communication 2.6",
        read=ActivityProfileReadParamsSchema,
        write=ActivityProfileWriteParamsSchema,
        delete=ActivityProfileWriteParamsSchema,
    ),
    "/xapi/agents/profile": _document_resource(
        name="Agent Profile",
        section="Communication 2.7",
        read=AgentProfileReadParamsSchema,
        write=AgentProfileWriteParamsSchema,
        delete=AgentProfileWriteParamsSchema,
    ),
    "/xapi/activities": {"GET": _activities},
    "/xapi/agents": {"GET": _agents},
    **portfolio_operations.OPERATIONS,
    **assessment_operations.OPERATIONS,
    **bundle_operations.OPERATIONS,
    **erasure_operations.OPERATIONS,
    **source_operations.OPERATIONS,
}
