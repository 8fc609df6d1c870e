"""GET /openapi.json: a valid OpenAPI 3 document of every route, generated from the
marshmallow schemas, and a bounded schemathesis run over it that meets no 5xx."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from service.openapi import build, document
from tests.conftest import LiveServer

# Small enough that the run over every operation stays well under a minute on two cores;
# hypothesis keeps failing examples in its database, so a 5xx found once is replayed.
MAX_EXAMPLES = 6


@pytest.fixture
def openapi(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def test_openapi_json_is_a_valid_openapi_3_document(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.0.")
    problems = [str(error) for error in OPENAPI_30_VALIDATOR.iter_errors(openapi)]
    assert problems == []


def test_every_route_and_method_of_the_app_is_in_the_openapi_document(
    app: Flask, openapi: dict[str, Any]
) -> None:
    """A route added without a line in service.openapi.OPERATIONS fails here."""
    missing = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods or ()):
            if method.lower() not in openapi["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []


def test_a_route_nobody_described_is_left_out_with_a_warning(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """The safety net of the test above: an undescribed route is missing, not invented."""
    app.add_url_rule("/undescribed", "undescribed", lambda: "", methods=["GET", "POST"])
    built = build(app)
    assert "/undescribed" not in built["paths"]
    assert "GET /undescribed is not described in the OpenAPI document" in caplog.text
    assert "POST /undescribed is not described in the OpenAPI document" in caplog.text


def test_every_path_parameter_is_declared_for_every_operation(openapi: dict[str, Any]) -> None:
    for path, item in openapi["paths"].items():
        for method in ("get", "head", "options", "put", "post", "delete"):
            if method not in item:
                continue
            declared = {
                parameter["name"]
                for parameter in [*item.get("parameters", []), *item[method].get("parameters", [])]
                if isinstance(parameter, dict) and parameter.get("in") == "path"
            }
            assert declared == set(re.findall(r"{([^{}]+)}", path)), (method, path)


def test_the_openapi_document_is_built_once_per_app(app: Flask) -> None:
    assert document(app) is document(app)


def test_xapi_resources_but_about_need_basic_auth_and_the_version_header(
    openapi: dict[str, Any],
) -> None:
    scheme = openapi["components"]["securitySchemes"]["basicAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "basic")
    version = {"$ref": "#/components/parameters/XapiVersion"}
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            protected = path.startswith("/xapi/") and path != "/xapi/about" and method != "options"
            assert (operation.get("security") == [{"basicAuth": []}]) is protected, (method, path)
            assert (version in operation.get("parameters", [])) is protected, (method, path)
    header = openapi["components"]["parameters"]["XapiVersion"]
    assert header["in"] == "header"
    assert header["required"] is True
    assert {"enum": ["1.0.3", "2.0.0"]} in header["schema"]["anyOf"]


def test_unions_are_one_of_their_component_schemas(openapi: dict[str, Any]) -> None:
    """Data 2.4.2.1 and 2.4.4.s2: an actor is an Agent unless it says Group; an object is
    an Activity unless its objectType says otherwise, so an Agent object must say so."""
    schemas = openapi["components"]["schemas"]

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    agent_or_group = {"oneOf": [ref("Agent"), ref("Group")]}
    assert schemas["Statement"]["properties"]["actor"] == agent_or_group
    assert schemas["Statement"]["properties"]["authority"]["oneOf"][0] == ref("Agent")
    assert schemas["Statement"]["properties"]["authority"]["oneOf"][1]["allOf"][0] == ref("Group")
    assert schemas["Context"]["properties"]["instructor"] == agent_or_group
    assert schemas["Statement"]["properties"]["object"] == {
        "oneOf": [
            ref("Activity"),
            {"allOf": [ref("Agent"), {"required": ["objectType"]}]},
            ref("Group"),
            ref("StatementRef"),
            ref("SubStatement"),
        ]
    }
    assert schemas["StatementV2"]["properties"]["object"]["oneOf"][-1] == ref("SubStatementV2")
    # Data 2.4.4.3.s8.b4: no SubStatement inside a SubStatement.
    assert ref("SubStatement") not in schemas["SubStatement"]["properties"]["object"]["oneOf"]
    assert schemas["StatementResult"]["properties"]["statements"]["items"] == {
        "anyOf": [ref("Statement"), ref("StatementV2")]
    }


# Strategies for the formats of schemas.xapi.fields that JSON Schema does not define, so
# that requests meant to be valid are valid often enough to reach past the first check.
_HEX = "0123456789abcdef"
FORMATS: dict[str, st.SearchStrategy[str]] = {
    "mailto-iri": st.from_regex(r"\Amailto:[a-z]{1,8}@example\.(com|org)\Z"),
    "sha1-hex": st.text(_HEX, min_size=40, max_size=40),
    "sha2-hex": st.text(_HEX, min_size=64, max_size=64),
    "language-tag": st.sampled_from(["en", "en-GB", "fr", "de-CH", "zh-Hant-TW"]),
    "media-type": st.sampled_from(["text/plain", "application/json", "image/png"]),
    "duration": st.sampled_from(["PT1H", "P1D", "PT0.5S", "P1Y2M3DT4H5M6S", "P2W"]),
}
for _format, _strategy in FORMATS.items():
    schemathesis.openapi.format(_format, _strategy)


def multipart_mixed(body: object) -> tuple[bytes, str]:
    """A multipart/mixed body (Communication 1.5.2) from a generated value: its
    `statements` as the JSON part, then each of its `attachments` with its SHA-256.

    schemathesis sends multipart bodies as multipart/form-data, which the Statement
    resource refuses before it reads them; this builds the body the document describes.
    Anything else generated (negative mode) goes in the JSON part as it is.
    """

    def raw(value: object) -> bytes:
        if isinstance(value, bytes):
            return value
        return json.dumps(value, default=lambda v: v.decode("latin-1")).encode()

    statements, attachments = body, []
    if isinstance(body, dict) and "statements" in body:
        statements = body["statements"]
        found = body.get("attachments", [])
        attachments = found if isinstance(found, list) else [found]
    boundary = uuid.uuid4().hex
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), raw(statements)]
    for attachment in attachments:
        data = raw(attachment)
        chunks += [
            f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {hashlib.sha256(data).hexdigest()}\r\n\r\n".encode(),
            data,
        ]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


@pytest.mark.slow
def test_no_request_the_openapi_document_allows_causes_a_5xx(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    """Each operation gets MAX_EXAMPLES requests that fit the document and as many that
    break it (schemathesis' positive and negative modes); none may get a 5xx.

    Requests carry the credentials of a client with scope `all`; the version header is
    generated from the document (required, so positive requests always send one). A
    failure names the operation and the request (as curl); the server's traceback is in
    the captured log."""
    schema = schemathesis.openapi.from_url(live_server.url + "/openapi.json")
    failures: dict[str, BaseException] = {}
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation schemathesis cannot read
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck)
            )
            @given(case=operation.as_strategy(mode))
            def request_once(case: schemathesis.Case) -> None:
                sent: dict[str, Any] = {}
                if case.media_type == "multipart/mixed":
                    body, content_type = multipart_mixed(case.body)
                    sent = {"data": body, "headers": {"Content-Type": content_type}}
                response = case.call(base_url=live_server.url, auth=credentials, timeout=30, **sent)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                request_once()
            except Unsatisfiable:
                # Nothing to break: no parameters or body (negative mode), e.g. GET /health.
                continue
            except (Exception, FailureGroup) as exc:  # FailureGroup: a BaseExceptionGroup
                failures[f"{mode.value} {operation.label}"] = exc
    assert operations >= 20
    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())
