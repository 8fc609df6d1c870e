"""The pieces operations are made of: components, error responses, xAPI headers and
auth, multipart bodies, HEAD and OPTIONS."""

from __future__ import annotations

import copy
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import Schema, fields

from schemas.service import ErrorSchema
from schemas.xapi.agent import AgentSchema, GroupSchema
from service.openapi.converters import AGENT_RULES, GROUP_RULES
from service.xapi import PREFIX, cors, versions

BASIC = "basicAuth"


class Doc:
    """The spec being built, and the pieces operations are made of."""

    def __init__(self, spec: APISpec, converter: OpenAPIConverter) -> None:
        self.spec = spec
        self.converter = converter

    def register_components(self) -> None:
        components = self.spec.components
        components.security_scheme(
            BASIC,
            {
                "type": "http",
                "scheme": "basic",
                "description": "The key and secret of an LRS client (Communication 4).",
            },
        )
        components.schema("Error", schema=ErrorSchema)
        # Rules across properties, which apispec cannot read from check_rules.
        components.schema("Agent", component=AGENT_RULES, schema=AgentSchema)
        components.schema("Group", component=GROUP_RULES, schema=GroupSchema)
        error = {"$ref": "#/components/schemas/Error"}
        components.parameter(
            "XapiVersion",
            "header",
            {
                "name": versions.HEADER,
                "required": True,
                "description": (
                    "The xAPI version of the request (Communication 3.3): 1.0 and 1.0.x are"
                    " served as 1.0.3, 2.0.x as 2.0.0. Missing or another value: 400."
                ),
                "schema": {
                    "type": "string",
                    "anyOf": [
                        {"enum": list(versions.SUPPORTED)},
                        {"pattern": r"^(1\.0(\.[0-9]+)?|2\.0\.[0-9]+)$"},
                    ],
                },
            },
        )
        for name, header, description in (
            ("IfMatch", "If-Match", "Write or read only if the document's ETag is listed."),
            ("IfNoneMatch", "If-None-Match", "'*': create only; ETags: 304 on a GET."),
        ):
            components.parameter(
                name,
                "header",
                {"name": header, "description": description, "schema": {"type": "string"}},
            )
        components.parameter(
            "AcceptLanguage",
            "header",
            {
                "name": "Accept-Language",
                "description": "The languages wanted in language maps with format=canonical.",
                "schema": {"type": "string"},
            },
        )
        for name, description, schema in (
            (
                "XapiVersion",
                "The xAPI version the response follows.",
                {"type": "string", "enum": list(versions.SUPPORTED)},
            ),
            (
                "ConsistentThrough",
                "Every statement stored before this time is in query results"
                " (Communication 2.1.3.s2.b5).",
                {"type": "string", "format": "date-time"},
            ),
            ("ETag", "The document's ETag, quoted.", {"type": "string"}),
            ("LastModified", "An HTTP date.", {"type": "string"}),
        ):
            components.header(name, {"description": description, "schema": schema})
        components.header(
            "WWWAuthenticate",
            {"description": "The Basic challenge.", "schema": {"type": "string"}},
        )
        for status, name, description in ERRORS:
            response: dict[str, Any] = {
                "description": description,
                "content": {"application/json": {"schema": error}},
            }
            if status == "401":
                response["headers"] = {
                    "WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticate"}
                }
            components.response(name, response)

    def ref(self, schema: type[Schema]) -> dict[str, Any]:
        """A reference to the component schema of `schema`, registering it if new."""
        ref: dict[str, Any] = self.converter.resolve_nested_schema(schema)
        return ref

    def prop(self, field: fields.Field[Any]) -> dict[str, Any]:
        """The JSON schema of a value of `field`."""
        return self.converter.field2property(field)

    def query(self, schema: type[Schema]) -> list[dict[str, Any]]:
        """The query parameters a schema of ``schemas.xapi.parameters`` declares."""
        parameters = []
        for name, field in schema().fields.items():
            prop = self.prop(field)
            parameter: dict[str, Any] = {
                "in": "query",
                "name": field.data_key or name,
                "required": field.required,
            }
            description = prop.pop("description", None)
            if description:
                parameter["description"] = description
            content_type = field.metadata.get("content_type")
            if content_type:
                parameter["content"] = {content_type: {"schema": prop}}
            else:
                parameter["schema"] = prop
            parameters.append(parameter)
        return parameters


def xapi_operation(
    operation: dict[str, Any], *, auth: bool = True, version_header: bool = True
) -> dict[str, Any]:
    """An operation of the xAPI resources: the version header in and out, Basic auth."""
    if version_header:
        operation.setdefault("parameters", []).insert(0, "XapiVersion")
    for response in operation["responses"].values():
        if isinstance(response, dict):
            response.setdefault("headers", {})[versions.HEADER] = header_ref("XapiVersion")
    if auth:
        operation["security"] = [{BASIC: []}]
        operation["responses"].setdefault("401", "AuthenticationRequired")
        operation["responses"].setdefault("403", "Forbidden")
    operation.setdefault("tags", ["xAPI"])
    return operation


def header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def errors(*statuses: str) -> dict[str, str]:
    names = {status: name for status, name, _ in ERRORS}
    return {status: names[status] for status in statuses}


ERRORS = (
    ("400", "InvalidInput", "A parameter, header or body breaks a rule (named in the body)."),
    ("401", "AuthenticationRequired", "No credentials, or not those of a known LRS client."),
    ("403", "Forbidden", "The client's scopes do not allow this."),
    ("404", "NotFound", "Nothing here."),
    ("409", "Conflict", "It exists already with other content, or it changed meanwhile."),
    ("412", "PreconditionFailed", "If-Match or If-None-Match does not hold."),
    ("413", "PayloadTooLarge", "The body is larger than this server accepts."),
    ("503", "StorageUnavailable", "The store cannot be reached; try again later."),
)

BINARY = {"type": "string", "format": "binary"}
_SHA2_HEX = {"type": "string", "format": "sha2-hex"}


def multipart(statements: dict[str, Any]) -> dict[str, Any]:
    """multipart/mixed with `statements` first, then the attachments' data (Communication
    1.5.2). The parts have no names: the properties say which part is which, in order."""
    return {
        "schema": {
            "type": "object",
            "description": (
                "The parts in this order: the statements as application/json, then one"
                " part per attachment with X-Experience-API-Hash (the attachment's sha2)"
                " and Content-Transfer-Encoding: binary. Parts have no names."
            ),
            "required": ["statements"],
            "properties": {
                "statements": statements,
                "attachments": {"type": "array", "items": BINARY},
            },
        },
        "encoding": {
            "statements": {"contentType": "application/json"},
            "attachments": {
                "contentType": "*/*",
                "headers": {
                    "X-Experience-API-Hash": {"required": True, "schema": _SHA2_HEX},
                    "Content-Transfer-Encoding": {
                        "required": True,
                        "schema": {"type": "string", "enum": ["binary"]},
                    },
                },
            },
        },
    }


def head_of(get: dict[str, Any]) -> dict[str, Any]:
    """HEAD: the GET operation's headers and statuses without the bodies."""
    head = copy.deepcopy(get)
    head["summary"] = f"{get.get('summary', 'GET')} (headers only)"
    for response in head["responses"].values():
        if isinstance(response, dict):
            response.pop("content", None)
    return head


def options(path: str) -> dict[str, Any]:
    if path == PREFIX or path.startswith(PREFIX + "/"):
        headers = {
            "Access-Control-Allow-Methods": {
                "schema": {"type": "string", "example": cors.ALLOW_METHODS}
            },
            "Access-Control-Allow-Headers": {"schema": {"type": "string"}},
            "Access-Control-Max-Age": {"schema": {"type": "integer"}},
        }
        return {
            "summary": "CORS preflight (no credentials needed)",
            "tags": ["xAPI"],
            "responses": {"204": {"description": "What the browser may send.", "headers": headers}},
        }
    return {
        "summary": "The methods allowed",
        "tags": ["service"],
        "responses": {
            "200": {
                "description": "No body; the Allow header lists the methods.",
                "headers": {"Allow": {"schema": {"type": "string"}}},
            }
        },
    }


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
