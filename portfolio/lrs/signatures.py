"""Signed statements (Data 2.6): check the JWS, and say who signed.

A signed statement carries a JSON Web Signature as an attachment (usageType .../signature,
contentType application/octet-stream) whose payload is the statement as it was before the
signature was added. Data 2.6.s5: the LRS rejects a malformed signature with a 400; it
decodes the JWS, checks that the signed statement is logically equivalent to the received
one (the comparison rules of Data 2.3.1, which ignore attachments), and, when the JWS
header carries an X.509 certificate (x5c), verifies the signature against it.

The certificate is not checked against any trust store: the specification says the x5c
check catches mistakes and is not a security measure. What cpdfolio keeps is the result
and the signer's certificate fingerprint and subject, so the portfolio can show who
vouched for a statement and anyone can decide whether to trust that signer.

Verification raises on every failure (STYLE.md 7); a signature without a certificate is
recorded as `verified: false` and said so, never passed off as checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidSignatureError, PyJWTError

from portfolio.errors import InvalidStatement
from portfolio.lrs.compare import statements_match

ALGORITHMS = ("RS256", "RS384", "RS512")
_JWS = PyJWS(algorithms=list(ALGORITHMS))


@dataclass(frozen=True)
class SignatureCheck:
    """What the LRS established about a statement's signature."""

    algorithm: str
    # True when the signature was verified against the certificate in the JWS header.
    verified: bool
    # SHA-256 of the signer's certificate (DER), and its subject, when there was one.
    certificate_sha256: str | None = None
    subject: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "verified": self.verified,
            "certificate_sha256": self.certificate_sha256,
            "subject": self.subject,
        }


def verify_signature(statement: Mapping[str, Any], jws: bytes, *, path: str) -> SignatureCheck:
    """Check a statement's JWS; raise InvalidStatement (a 400) naming what is wrong.

    `statement` is the statement as received; `path` names its signature attachment.
    """
    try:
        token = jws.decode("ascii").strip()
        header = _JWS.get_unverified_header(token)
    except (UnicodeDecodeError, PyJWTError) as exc:
        raise _bad(path, "must be a JWS in compact serialization", exc) from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise _bad(path, f"must be signed with RS256, RS384 or RS512, not {algorithm!r}")

    certificate = _certificate(header, path)
    try:
        if certificate is not None:
            public_key = certificate.public_key()
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise _bad(path, "must be signed with the RSA key of its x5c certificate")
            decoded = _JWS.decode_complete(token, key=public_key, algorithms=[algorithm])
        else:
            decoded = _JWS.decode_complete(token, options={"verify_signature": False})
    except InvalidSignatureError:
        raise _bad(path, "does not verify against the certificate in its x5c header") from None
    except PyJWTError as exc:
        raise _bad(path, "must be a JWS in compact serialization", exc) from None

    try:
        signed = orjson.loads(decoded["payload"])
    except orjson.JSONDecodeError:
        raise _bad(path, "must have a JSON statement as its payload") from None
    if not isinstance(signed, dict) or not statements_match(statement, signed):
        raise _bad(path, "must sign this statement: the JWS payload is a different statement")

    if certificate is None:
        return SignatureCheck(algorithm=algorithm, verified=False)
    return SignatureCheck(
        algorithm=algorithm,
        verified=True,
        certificate_sha256=hashlib.sha256(
            certificate.public_bytes(serialization.Encoding.DER)
        ).hexdigest(),
        subject=certificate.subject.rfc4514_string(),
    )


def _certificate(header: Mapping[str, Any], path: str) -> x509.Certificate | None:
    """The signer's certificate: the first of x5c (RFC 7515 4.1.6: base64, not base64url)."""
    chain = header.get("x5c")
    if chain is None:
        return None
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise _bad(path, "must have x5c as a non-empty array of base64 certificates")
    try:
        return x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError):
        raise _bad(path, "must have a DER X.509 certificate first in x5c") from None


def _bad(path: str, rule: str, cause: Exception | None = None) -> InvalidStatement:
    detail = f" ({cause})" if cause else ""
    return InvalidStatement(f"the signature {rule}{detail}", path=path, rule=f"signature {rule}")
