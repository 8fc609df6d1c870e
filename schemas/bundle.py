"""The portfolio bundle (portfolio.bundle): its manifest, signatures, keys and person file.

A bundle is a zip. `manifest.json` lists every other file with its SHA-256 and size;
`signatures.json` holds the owner's and the exporting instance's Ed25519 signatures over
the manifest's exact bytes; `keys.json` the public keys the record needs and the owner's
private key sealed under their password. These schemas are what the offline verifier
loads those files through before it trusts anything in them (STYLE 7: fail closed).
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from schemas.record import PublicKeySchema

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "KeysSchema",
    "ManifestSchema",
    "PersonFileSchema",
    "SignaturesSchema",
]

BUNDLE_FORMAT = "cpdfolio-bundle"
BUNDLE_VERSION = 1

_HEX64 = validate.Regexp(r"^[0-9a-f]{64}$", error="must be 64 lower-case hex digits")
_B64URL = validate.Regexp(r"^[A-Za-z0-9_-]+$", error="must be base64url without padding")
# A bundle path: relative, forward slashes, no "..", no empty parts.
_PATH = validate.Regexp(
    r"^(?!.*(?:^|/)\.\.?(?:/|$))[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$",
    error="must be a relative path of [A-Za-z0-9._-] parts",
)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class FileSchema(_Strict):
    path = fields.String(required=True, validate=_PATH)
    sha256 = fields.String(required=True, validate=_HEX64)
    size = fields.Integer(required=True, validate=validate.Range(min=0))


class ManifestPersonSchema(_Strict):
    id = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True)


class ManifestInstanceSchema(_Strict):
    url = fields.String(required=True)
    key = fields.String(required=True, validate=_HEX64, metadata={"description": "key id"})


class ManifestRecordSchema(_Strict):
    entries = fields.Integer(required=True, validate=validate.Range(min=1))
    head = fields.String(required=True, validate=_HEX64)


class ManifestSchema(_Strict):
    """manifest.json: what the bundle is and the digest of every other file in it."""

    format = fields.String(required=True, validate=validate.Equal(BUNDLE_FORMAT))
    version = fields.Integer(required=True, validate=validate.Equal(BUNDLE_VERSION))
    created = fields.String(required=True)
    person = fields.Nested(ManifestPersonSchema, required=True)
    instance = fields.Nested(ManifestInstanceSchema, required=True)
    record = fields.Nested(ManifestRecordSchema, required=True)
    statements = fields.Integer(required=True, validate=validate.Range(min=0))
    files = fields.List(fields.Nested(FileSchema), required=True)


class SignatureSchema(_Strict):
    key = fields.String(required=True, validate=_HEX64)
    public = fields.String(required=True, validate=validate.Length(equal=43))
    signature = fields.String(required=True, validate=[_B64URL, validate.Length(equal=86)])


class SignaturesSchema(_Strict):
    """signatures.json: Ed25519 over the exact bytes of manifest.json, by both signers,
    with their public keys, so the manifest is checked before any file it lists is read."""

    owner = fields.Nested(SignatureSchema, required=True)
    instance = fields.Nested(SignatureSchema, required=True)


class InstanceKeySchema(PublicKeySchema):
    instance = fields.String(required=True, metadata={"description": "the instance's URL"})


class KdfCostSchema(_Strict):
    memory_kib = fields.Integer(required=True, validate=validate.Range(min=8, max=4 * 1024 * 1024))
    iterations = fields.Integer(required=True, validate=validate.Range(min=1, max=64))
    lanes = fields.Integer(required=True, validate=validate.Range(min=1, max=64))


class SealedKeySchema(_Strict):
    kdf = fields.String(required=True, validate=validate.Equal("argon2id"))
    salt = fields.String(required=True, validate=_B64URL)
    nonce = fields.String(required=True, validate=_B64URL)
    ciphertext = fields.String(required=True, validate=_B64URL)
    public = fields.Nested(PublicKeySchema, required=True)
    cost = fields.Nested(KdfCostSchema, required=True)


class OwnerKeysSchema(_Strict):
    keys = fields.List(fields.Nested(PublicKeySchema), required=True)
    sealed = fields.Nested(SealedKeySchema, required=True)


class KeysSchema(_Strict):
    """keys.json: the owner's keys, past and present, their current private key sealed
    under their password, and every instance key that signed an entry or the manifest."""

    owner = fields.Nested(OwnerKeysSchema, required=True)
    instances = fields.List(fields.Nested(InstanceKeySchema), required=True)


class IdentitySchema(_Strict):
    identity = fields.String(required=True, validate=validate.Length(min=1))
    linked = fields.String(required=True)
    proof = fields.String(required=True)


class PersonFileSchema(_Strict):
    """person.json: the account the portfolio belongs to and its linked identities."""

    id = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True)
    email = fields.String(required=True)
    created = fields.String(required=True)
    identities = fields.List(fields.Nested(IdentitySchema), required=True)


class AttachmentIndexSchema(_Strict):
    content_type = fields.String(required=True)
    length = fields.Integer(required=True, validate=validate.Range(min=0))


class DocumentLineSchema(_Strict):
    """One line of documents.jsonl: a portfolio document (goal, reflection, coverage...)."""

    collection = fields.String(required=True, validate=validate.Length(min=1))
    key = fields.String(required=True)
    updated = fields.String(required=True)
    body = fields.Raw(required=True)


class ArrivalPersonSchema(_Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)


class ArrivalSchema(_Strict):
    """What POST /api/arrivals (and `cpdfolio import --json`) reports."""

    person = fields.Nested(ArrivalPersonSchema, required=True)
    outcome = fields.String(
        required=True, validate=validate.OneOf(["imported", "moved back", "already here"])
    )
    entries = fields.Integer(required=True, metadata={"description": "bundle entries appended"})
    statements = fields.Integer(
        required=True, metadata={"description": "statements kept as the portfolio's own copies"}
    )
    conflicts = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "statement ids this LRS holds with other content (kept)"},
    )
    identities = fields.List(fields.String(), required=True)
