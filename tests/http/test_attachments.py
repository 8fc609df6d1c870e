"""Statements with attachments, over real HTTP (Communication 1.5, 2.1.3; Data 2.4.11)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import Xapi
from tests.support import (
    attachment_object,
    make_statement,
    multipart_body,
    parse_multipart_response,
)

CERTIFICATE = b"%PDF-1.7 pretend certificate of completion \x00\x01\xff\r\n--not-a-boundary\r\n"


def post_multipart(xapi: Xapi, statements: Any, parts: list, **kwargs: Any):  # type: ignore[no-untyped-def]
    body, content_type = multipart_body(statements, parts, **kwargs)
    return xapi.post("/statements", data=body, headers={"Content-Type": content_type})


def with_attachment(data: bytes = CERTIFICATE, **extra: Any) -> dict[str, Any]:
    return make_statement(
        attachments=[attachment_object(data, content_type="application/pdf", **extra)]
    )


def stored_count(xapi: Xapi) -> int:
    return len(xapi.get("/statements", params={"limit": 0}).json()["statements"])


def test_a_statement_with_an_attachment_part_is_stored_and_returned_with_it(xapi: Xapi) -> None:
    statement = with_attachment()
    response = post_multipart(xapi, statement, [(CERTIFICATE, {"Content-Type": "application/pdf"})])
    assert response.status_code == 200, response.text
    got = xapi.get("/statements", params={"statementId": statement["id"], "attachments": "true"})
    assert got.headers["Content-Type"].startswith("multipart/mixed")
    parts = parse_multipart_response(got.content, got.headers["Content-Type"])
    assert [p[0]["Content-Type"] for p in parts] == ["application/json", "application/pdf"]
    assert parts[1][1] == CERTIFICATE
    assert parts[1][0]["X-Experience-API-Hash"] == statement["attachments"][0]["sha2"]
    assert parts[1][0]["Content-Transfer-Encoding"] == "binary"
    plain = xapi.get("/statements", params={"statementId": statement["id"]})
    assert plain.headers["Content-Type"] == "application/json"
    assert plain.json()["attachments"] == statement["attachments"]


def test_the_specifications_own_example_is_accepted(xapi: Xapi) -> None:
    """Communication 1.5.2, the example request, boundary and all."""
    data = b"here is a simple attachment"
    statement = make_statement(
        attachments=[
            {
                "usageType": "http://example.com/attachment-usage/test",
                "display": {"en-US": "A test attachment"},
                "description": {"en-US": "A test attachment (description)"},
                "contentType": "text/plain; charset=ascii",
                "length": 27,
                "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
            }
        ]
    )
    response = post_multipart(xapi, statement, [(data, {"Content-Type": "text/plain"})])
    assert response.status_code == 200, response.text


def test_put_with_multipart_stores_the_attachment(xapi: Xapi) -> None:
    statement = with_attachment()
    body, content_type = multipart_body(statement, [(CERTIFICATE, {})])
    response = xapi.put(
        "/statements",
        params={"statementId": statement["id"]},
        data=body,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 204, response.text


def test_a_query_with_attachments_true_sends_each_attachment_once(xapi: Xapi) -> None:
    first, second = with_attachment(), with_attachment()
    other = b"another file"
    second["attachments"].append(attachment_object(other))
    response = post_multipart(xapi, [first, second], [(CERTIFICATE, {}), (other, {})])
    assert response.status_code == 200, response.text
    got = xapi.get("/statements", params={"attachments": "true"})
    parts = parse_multipart_response(got.content, got.headers["Content-Type"])
    assert len(parts) == 3
    assert sorted(p[1] for p in parts[1:]) == sorted([CERTIFICATE, other])


def test_file_url_attachments_need_no_part(xapi: Xapi) -> None:
    """Communication 1.5.1.s1.b2: JSON requests may carry attachments that have a fileUrl."""
    statement = with_attachment(fileUrl="https://lms.example.org/certificates/42.pdf")
    assert xapi.post("/statements", json=statement).status_code == 200
    assert (
        post_multipart(xapi, with_attachment(fileUrl="https://x.example.org/a"), []).status_code
        == 200
    )


def test_json_request_with_an_attachment_lacking_file_url_is_400(xapi: Xapi) -> None:
    """Communication 1.5.2.s2.b1."""
    response = xapi.post("/statements", json=with_attachment())
    assert response.status_code == 400
    assert response.json()["path"] == "attachments[0].sha2"


@pytest.mark.parametrize(
    ("case", "path"),
    [
        ("missing part", "attachments[0].sha2"),
        ("extra part", "part 2.X-Experience-API-Hash"),
        ("wrong hash", "part 1.X-Experience-API-Hash"),
        ("no hash header", "part 1.X-Experience-API-Hash"),
        ("other content type", "attachments[0].contentType"),
        ("wrong length", "attachments[0].length"),
        ("first part not json", "part 0.Content-Type"),
    ],
)
def test_every_mismatch_is_a_400_that_stores_nothing(xapi: Xapi, case: str, path: str) -> None:
    """Communication 1.5.2.s3.b5 and 1.5.2.s2.b2."""
    statement = with_attachment()
    parts: list[tuple[bytes, dict[str, Any]]] = [(CERTIFICATE, {"Content-Type": "application/pdf"})]
    kwargs: dict[str, Any] = {}
    if case == "missing part":
        parts = []
    elif case == "extra part":
        parts.append((b"unexpected", {}))
    elif case == "wrong hash":
        parts[0][1]["X-Experience-API-Hash"] = "0" * 64
    elif case == "no hash header":
        parts[0][1]["X-Experience-API-Hash"] = None
    elif case == "other content type":
        parts[0][1]["Content-Type"] = "image/png"
    elif case == "wrong length":
        statement["attachments"][0]["length"] = 5
    elif case == "first part not json":
        kwargs["first_type"] = "text/plain"
    response = post_multipart(xapi, statement, parts, **kwargs)
    assert response.status_code == 400, response.text
    assert response.json()["path"] == path
    assert stored_count(xapi) == 0


def test_a_malformed_multipart_body_is_400(xapi: Xapi) -> None:
    body, content_type = multipart_body(with_attachment(), [(CERTIFICATE, {})])
    truncated = body[: body.rindex(b"--abc")]  # no closing boundary
    response = xapi.post("/statements", data=truncated, headers={"Content-Type": content_type})
    assert response.status_code == 400
    response = xapi.post("/statements", data=body, headers={"Content-Type": "multipart/mixed"})
    assert response.status_code == 400


def test_an_attachment_larger_than_the_limit_is_413(live_server, app: Flask) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from tests.conftest import make_client

    app.config["CPDFOLIO"] = replace(app.config["CPDFOLIO"], max_attachment_bytes=100)
    xapi = Xapi(live_server.url + "/xapi", make_client(app, "all"))
    data = b"x" * 101
    response = post_multipart(
        xapi, make_statement(attachments=[attachment_object(data)]), [(data, {})]
    )
    assert response.status_code == 413
    assert "max_attachment_bytes" in response.json()["rule"]


def test_attachment_bytes_are_stored_once_per_hash(xapi: Xapi, app: Flask) -> None:
    for _ in range(3):
        statement = with_attachment()
        assert post_multipart(xapi, statement, [(CERTIFICATE, {})]).status_code == 200
    db = Path(app.config["CPDFOLIO"].database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM attachments").fetchone()[0] == 1


def test_a_substatement_attachment_is_matched_too(xapi: Xapi) -> None:
    statement = make_statement()
    statement["object"] = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:mentee@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://lms.example.org/course/x"},
        "attachments": [attachment_object(CERTIFICATE)],
    }
    assert post_multipart(xapi, statement, [(CERTIFICATE, {})]).status_code == 200
    statement["id"] = str(uuid.uuid4())
    assert post_multipart(xapi, statement, []).status_code == 400
