"""Signed statements over real HTTP (Data 2.6): a JWS attachment, checked and recorded."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask

from tests.conftest import Xapi
from tests.support import Signer, attachment_object, make_statement, multipart_body


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def post_signed(xapi: Xapi, statement: dict[str, Any], jws: bytes, **part_headers: str):  # type: ignore[no-untyped-def]
    body, content_type = multipart_body(statement, [(jws, dict(part_headers))])
    return xapi.post("/statements", data=body, headers={"Content-Type": content_type})


def test_a_statement_signed_with_an_x5c_certificate_is_accepted_and_its_signer_recorded(
    xapi: Xapi, app: Flask, signer: Signer
) -> None:
    signed, jws = signer.sign(make_statement())
    response = post_signed(xapi, signed, jws)
    assert response.status_code == 200, response.text
    record = app.extensions["cpdfolio.store"].statements.get(signed["id"])
    assert record.signature == {
        "algorithm": "RS256",
        "verified": True,
        "certificate_sha256": signer.fingerprint(),
        "subject": "CN=Council LMS signing key",
    }


@pytest.mark.parametrize("algorithm", ["RS384", "RS512"])
def test_rs384_and_rs512_are_accepted(xapi: Xapi, signer: Signer, algorithm: str) -> None:
    signed, jws = signer.sign(make_statement(), algorithm=algorithm)
    assert post_signed(xapi, signed, jws).status_code == 200


def test_a_copy_with_one_changed_field_is_rejected(xapi: Xapi, signer: Signer) -> None:
    """Data 2.6.s5.b3: the signed statement must be logically equivalent to the received one."""
    signed, jws = signer.sign(make_statement())
    tampered = copy.deepcopy(signed)
    tampered["result"] = {"success": True}
    response = post_signed(xapi, tampered, jws)
    assert response.status_code == 400
    body = response.json()
    assert body["path"] == "attachments[0]"
    assert "different statement" in body["message"]
    assert xapi.get("/statements", params={"statementId": signed["id"]}).status_code == 404


def test_differences_the_comparison_rules_allow_do_not_break_a_signature(
    xapi: Xapi, signer: Signer
) -> None:
    statement = make_statement(timestamp="2026-03-01T12:00:00Z")
    signed, jws = signer.sign(statement)
    signed["verb"]["display"] = {"cy": "cwblhaodd"}
    signed["timestamp"] = "2026-03-01T13:00:00+01:00"
    assert post_signed(xapi, signed, jws).status_code == 200


def test_a_signature_that_does_not_verify_against_its_certificate_is_rejected(
    xapi: Xapi, signer: Signer
) -> None:
    other = Signer("Somebody else")
    statement = make_statement()
    jws = signer.jws(statement)
    _header, payload, signature = jws.split(b".")
    forged = other.jws(statement).split(b".")[0] + b"." + payload + b"." + signature
    signed = dict(
        statement,
        attachments=[
            attachment_object(
                forged,
                content_type="application/octet-stream",
                usageType="http://adlnet.gov/expapi/attachments/signature",
            )
        ],
    )
    response = post_signed(xapi, signed, forged)
    assert response.status_code == 400
    assert "x5c" in response.json()["message"]


def test_other_algorithms_are_rejected(xapi: Xapi, signer: Signer) -> None:
    """Data 2.6.s4.b4: RS256, RS384 or RS512 only."""
    signed, jws = signer.sign(make_statement(), algorithm="HS256", x5c=False)
    response = post_signed(xapi, signed, jws)
    assert response.status_code == 400
    assert "RS256" in response.json()["rule"]


def test_a_malformed_jws_is_rejected(xapi: Xapi) -> None:
    """Data 2.6.s5.b1."""
    junk = b"this is not a JWS"
    statement = make_statement(
        attachments=[
            attachment_object(
                junk,
                content_type="application/octet-stream",
                usageType="http://adlnet.gov/expapi/attachments/signature",
            )
        ]
    )
    response = post_signed(xapi, statement, junk)
    assert response.status_code == 400
    assert "compact serialization" in response.json()["rule"]


def test_a_signature_attachment_must_be_application_octet_stream(
    xapi: Xapi, signer: Signer
) -> None:
    signed, jws = signer.sign(make_statement())
    signed["attachments"][0]["contentType"] = "text/plain"
    response = post_signed(xapi, signed, jws, **{"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["path"] == "attachments[0].contentType"


def test_a_signature_without_a_certificate_is_kept_as_unverified(
    xapi: Xapi, app: Flask, signer: Signer
) -> None:
    signed, jws = signer.sign(make_statement(), x5c=False)
    assert post_signed(xapi, signed, jws).status_code == 200
    record = app.extensions["cpdfolio.store"].statements.get(signed["id"])
    assert record.signature == {
        "algorithm": "RS256",
        "verified": False,
        "certificate_sha256": None,
        "subject": None,
    }


def test_a_signature_only_by_file_url_cannot_be_checked_and_is_rejected(
    xapi: Xapi, signer: Signer
) -> None:
    signed, _jws = signer.sign(make_statement())
    signed["attachments"][0]["fileUrl"] = "https://lms.example.org/signatures/1.jws"
    response = xapi.post("/statements", json=signed)
    assert response.status_code == 400
    assert response.json()["path"] == "attachments[0]"


def test_unsigned_statements_record_no_signature(xapi: Xapi, app: Flask) -> None:
    statement = make_statement()
    xapi.post("/statements", json=statement)
    assert app.extensions["cpdfolio.store"].statements.get(statement["id"]).signature is None
