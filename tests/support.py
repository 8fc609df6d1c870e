"""Helpers shared by tests: statement factories."""

from __future__ import annotations

import uuid
from typing import Any

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def agent(name: str = "ann", **extra: Any) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": name.title(),
        "mbox": f"mailto:{name}@example.org",
        **extra,
    }


def make_statement(
    *,
    actor: str = "ann",
    verb: str = COMPLETED,
    activity: str = "https://lms.example.org/course/safeguarding",
    with_id: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "actor": agent(actor),
        "verb": {"id": verb, "display": {"en-GB": verb.rsplit("/", 1)[-1]}},
        "object": {
            "objectType": "Activity",
            "id": activity,
            "definition": {
                "name": {"en-GB": "Safeguarding basics", "cy": "Diogelu sylfaenol"},
                "type": "http://adlnet.gov/expapi/activities/course",
            },
        },
        **extra,
    }
    if with_id:
        statement = {"id": str(uuid.uuid4()), **statement}
    return statement


def voiding(target: str, *, actor: str = "ann") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": agent(actor),
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target},
    }


# ------------------------------------------------------------------ attachments


SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"


def attachment_object(
    data: bytes, *, content_type: str = "text/plain", **extra: Any
) -> dict[str, Any]:
    import hashlib

    return {
        "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
        "display": {"en-GB": "Certificate"},
        "contentType": content_type,
        "length": len(data),
        "sha2": hashlib.sha256(data).hexdigest(),
        **extra,
    }


def multipart_body(
    statements: Any,
    parts: list[tuple[bytes, dict[str, str]]],
    *,
    boundary: str = "abcABC0123'()+_,-./:=?",
    first_type: str = "application/json",
) -> tuple[bytes, str]:
    """A multipart/mixed body (Communication 1.5.2) and its Content-Type header. Each part
    is (data, headers); headers default to the hash and binary encoding of the data, and
    a part has a Content-Type only when the test gives one (None removes a header)."""
    import hashlib
    import json

    delimiter = b"--" + boundary.encode()
    chunks = [
        delimiter,
        f"\r\nContent-Type: {first_type}\r\n\r\n".encode(),
        json.dumps(statements).encode(),
        b"\r\n",
    ]
    for data, headers in parts:
        all_headers = {
            "Content-Transfer-Encoding": "binary",
            "X-Experience-API-Hash": hashlib.sha256(data).hexdigest(),
            **headers,
        }
        chunks.append(delimiter)
        for name, value in all_headers.items():
            if value is not None:
                chunks.append(f"\r\n{name}: {value}".encode())
        chunks += [b"\r\n\r\n", data, b"\r\n"]
    chunks += [delimiter, b"--\r\n"]
    return b"".join(chunks), f'multipart/mixed; boundary="{boundary}"'


def parse_multipart_response(
    content: bytes, content_type: str
) -> list[tuple[dict[str, str], bytes]]:
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + content
    )
    return [(dict(part.items()), part.get_payload(decode=True)) for part in message.get_payload()]


# --------------------------------------------------------------------- signing


class Signer:
    """An RSA key and a self-signed certificate, made with the cryptography package."""

    def __init__(self, common_name: str = "Council LMS signing key") -> None:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )

    def jws(
        self, statement: dict[str, Any], *, algorithm: str = "RS256", x5c: bool = True
    ) -> bytes:
        import base64
        import json

        from cryptography.hazmat.primitives import serialization
        from jwt.api_jws import PyJWS

        headers: dict[str, Any] = {}
        if x5c:
            der = self.certificate.public_bytes(serialization.Encoding.DER)
            headers["x5c"] = [base64.b64encode(der).decode()]
        key: Any = self.key
        if algorithm.startswith("HS"):
            key = b"a shared secret that is long enough for HS256"
        token = PyJWS().encode(
            json.dumps(statement).encode(), key, algorithm=algorithm, headers=headers
        )
        return token.encode()

    def sign(self, statement: dict[str, Any], **kwargs: Any) -> tuple[dict[str, Any], bytes]:
        """The statement with its signature attachment added, and the JWS bytes."""
        jws = self.jws(statement, **kwargs)
        signed = dict(statement)
        signed["attachments"] = [
            *statement.get("attachments", []),
            attachment_object(
                jws, content_type="application/octet-stream", usageType=SIGNATURE_USAGE
            ),
        ]
        return signed, jws

    def fingerprint(self) -> str:
        import hashlib

        from cryptography.hazmat.primitives import serialization

        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
