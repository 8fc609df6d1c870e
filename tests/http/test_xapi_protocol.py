"""Rules every xAPI request shares: versions, HEAD, CORS, Consistent-Through, /about, and the
alternate request syntax (Communication 1.1, 1.3, 2.8, 3.3)."""

from __future__ import annotations

import json
import uuid
from base64 import b64encode
from datetime import UTC, datetime

import pytest
import requests

from tests.conftest import LiveServer, Xapi
from tests.support import make_statement

# ---------------------------------------------------------------------- versions


@pytest.mark.parametrize("version", ["1.0", "1.0.0", "1.0.3", "1.0.99"])
def test_accepted_versions_are_served_as_1_0_3(xapi: Xapi, version: str) -> None:
    """Communication 3.3.s3.b2-b5."""
    response = xapi.get("/statements", headers={"X-Experience-API-Version": version})
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize("version", ["0.9", "0.95", "1.1.0", "2.1.0", "2.0", "3.0.0", "abc", ""])
def test_unsupported_versions_are_400(xapi: Xapi, version: str) -> None:
    """Communication 3.3.s3.b4, b6, b7."""
    response = xapi.get("/statements", headers={"X-Experience-API-Version": version})
    assert response.status_code == 400
    assert response.json()["path"] == "X-Experience-API-Version"
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_missing_version_header_is_400(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    """Communication 3.3.s3.b4.1."""
    bare = Xapi(live_server.url + "/xapi", credentials, version=None)
    response = bare.get("/statements")
    assert response.status_code == 400
    assert "X-Experience-API-Version" in response.json()["message"]


def test_about_refuses_unknown_parameters(live_server: LiveServer) -> None:
    """Communication 3.2.s3.b7 (a cache buster some JavaScript clients add is one)."""
    response = requests.get(
        live_server.url + "/xapi/about", params={"cachebuster": "1"}, timeout=10
    )
    assert response.status_code == 400
    assert response.json()["path"] == "cachebuster"


def test_about_needs_no_credentials_or_version_and_lists_versions(live_server: LiveServer) -> None:
    """Communication 2.8.s5."""
    response = requests.get(live_server.url + "/xapi/about", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"version": ["1.0.3", "2.0.0"]}
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize(
    "call",
    [
        ("GET", "/statements", {}),
        ("GET", "/statements", {"params": {"statementId": str(uuid.uuid4())}}),
        ("POST", "/statements", {"json": {"bad": True}}),
        ("PUT", "/statements", {"json": {}}),
        ("DELETE", "/statements", {}),
        ("GET", "/nothing-here", {}),
    ],
)
def test_every_response_carries_the_version_header(xapi: Xapi, call: tuple) -> None:  # type: ignore[type-arg]
    """Communication 3.3.s3.b1: errors included."""
    method, path, kwargs = call
    response = xapi.request(method, path, **kwargs)
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


# ---------------------------------------------------------- Consistent-Through


@pytest.mark.parametrize(
    "call",
    [
        ("GET", {}),
        ("HEAD", {}),
        ("POST", {"json": make_statement()}),
        ("POST", {"json": {"not": "a statement"}}),
        ("GET", {"params": {"statementId": str(uuid.uuid4())}}),
    ],
)
def test_statement_resource_responses_carry_consistent_through(xapi: Xapi, call: tuple) -> None:  # type: ignore[type-arg]
    """Communication 2.1.3.s2.b5: on all responses of the Statement resource."""
    method, kwargs = call
    response = xapi.request(method, "/statements", **kwargs)
    value = response.headers["X-Experience-API-Consistent-Through"]
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment <= datetime.now(UTC)


def test_consistent_through_covers_every_statement_a_query_returns(xapi: Xapi) -> None:
    for _ in range(3):
        xapi.post("/statements", json=make_statement())
    response = xapi.get("/statements")
    through = response.headers["X-Experience-API-Consistent-Through"]
    assert all(s["stored"] <= through for s in response.json()["statements"])


# --------------------------------------------------------------------------- HEAD


def test_head_answers_like_get_without_a_body(xapi: Xapi) -> None:
    """Communication 1.1.s3.b1."""
    statement = make_statement()
    xapi.post("/statements", json=statement)
    params = {"statementId": statement["id"]}
    get = xapi.get("/statements", params=params)
    head = xapi.head("/statements", params=params)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for header in ("Content-Type", "Last-Modified", "X-Experience-API-Version"):
        assert head.headers[header] == get.headers[header]
    assert xapi.head("/statements", params={"statementId": str(uuid.uuid4())}).status_code == 404
    assert xapi.head("/statements", params={"limit": "x"}).status_code == 400
    assert xapi.head("/about").status_code == 200


# --------------------------------------------------------------------------- CORS


def test_cors_preflight_is_answered_without_credentials(live_server: LiveServer) -> None:
    response = requests.options(
        live_server.url + "/xapi/statements",
        headers={
            "Origin": "https://content.example.org",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": (
                "authorization, content-type, x-experience-api-version"
            ),
        },
        timeout=10,
    )
    assert response.status_code == 204
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for header in (
        "authorization",
        "content-type",
        "x-experience-api-version",
        "if-match",
        "if-none-match",
    ):
        assert header in allowed
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Origin"] == "https://content.example.org"


def test_cors_headers_expose_the_xapi_headers(xapi: Xapi) -> None:
    response = xapi.get("/statements", headers={"Origin": "https://content.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://content.example.org"
    exposed = response.headers["Access-Control-Expose-Headers"]
    for header in (
        "X-Experience-API-Version",
        "X-Experience-API-Consistent-Through",
        "ETag",
        "Last-Modified",
    ):
        assert header in exposed


# ------------------------------------------------------- alternate request syntax


def basic(credentials: tuple[str, str]) -> str:
    return "Basic " + b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()


def form_post(
    live_server: LiveServer, method: str, form: dict[str, str], **kwargs
) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.post(
        live_server.url + "/xapi/statements",
        params={"method": method},
        data=form,
        timeout=10,
        **kwargs,
    )


def test_alternate_syntax_put_stores_a_statement(
    live_server: LiveServer, credentials: tuple[str, str], xapi: Xapi
) -> None:
    """Communication 1.3: headers and content as form fields, UTF-8 content."""
    statement = make_statement()
    statement["actor"]["name"] = "Zoë"
    response = form_post(
        live_server,
        "PUT",
        {
            "statementId": statement["id"],
            "content": json.dumps(statement),
            "Authorization": basic(credentials),
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 204, response.text
    got = xapi.get("/statements", params={"statementId": statement["id"]}).json()
    assert got["actor"]["name"] == "Zoë"


def test_alternate_syntax_get_lists_statements(
    live_server: LiveServer, credentials: tuple[str, str], xapi: Xapi
) -> None:
    xapi.post("/statements", json=make_statement())
    response = form_post(
        live_server,
        "GET",
        {"limit": "1", "Authorization": basic(credentials), "X-Experience-API-Version": "1.0.3"},
    )
    assert response.status_code == 200
    assert len(response.json()["statements"]) == 1


def test_alternate_syntax_with_other_query_parameters_is_400(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    """Communication 1.3.s3.b3: only `method` may be in the query string."""
    response = requests.post(
        live_server.url + "/xapi/statements",
        params={"method": "PUT", "statementId": str(uuid.uuid4())},
        data={
            "content": json.dumps(make_statement()),
            "Authorization": basic(credentials),
            "X-Experience-API-Version": "1.0.3",
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["path"] == "statementId"


def test_alternate_syntax_must_be_a_post(live_server: LiveServer) -> None:
    response = requests.put(
        live_server.url + "/xapi/statements",
        params={"method": "POST"},
        data={"content": "{}"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["path"] == "method"


def test_alternate_syntax_form_fields_act_as_headers(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    """Communication 1.3.s3.b7: a bad version or bad credentials in the form are refused."""
    bad_version = form_post(
        live_server,
        "GET",
        {"Authorization": basic(credentials), "X-Experience-API-Version": "0.95"},
    )
    assert bad_version.status_code == 400
    bad_auth = form_post(
        live_server,
        "GET",
        {"Authorization": basic(("nobody", "nothing")), "X-Experience-API-Version": "1.0.3"},
    )
    assert bad_auth.status_code == 401


def test_form_post_without_method_is_400(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    """Communication 3.2.s3.b6: a form-encoded request must carry the method parameter."""
    response = requests.post(
        live_server.url + "/xapi/statements",
        data={"content": json.dumps(make_statement())},
        headers={"Authorization": basic(credentials), "X-Experience-API-Version": "1.0.3"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["path"] == "method"


def test_alternate_syntax_with_an_unknown_method_is_400(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    response = form_post(live_server, "PATCH", {"Authorization": basic(credentials)})
    assert response.status_code == 400
    assert response.json()["path"] == "method"
