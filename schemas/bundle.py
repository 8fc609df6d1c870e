"""The portfolio bundle (portfolio.bundle): its manifest, signatures, keys and person file.

A bundle is a zip. `manifest.json` lists every other file with its SHA-256 and size;
`signatures.json` holds the owner's and the exporting instance's Ed25519 signatures over
the manifest's exact bytes; `keys.json` the public keys the record needs and the owner's
private key sealed under their password. These schemas are what the offline verifier
loads those files through before it trusts anything in them (STYLE 7: fail closed).
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from schemas.record import PublicKeySchema

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "KDF_MAX_ITERATIONS",
    "KDF_MAX_LANES",
    "KDF_MAX_MEMORY_KIB",
    "KeysSchema",
    "ManifestSchema",
    "PersonFileSchema",
    "SignaturesSchema",
]

BUNDLE_FORMAT = "cpdfolio-bundle"
BUNDLE_VERSION = 1

# The most Argon2id cost a bundle's sealed key may name. The importer spends it on the
# password before the seal proves anything, so it is bounded near what instances use
# (portfolio.record.keys.KdfCost: 19 MiB, 2 passes, 1 lane), with room for one raised.
KDF_MAX_MEMORY_KIB = 256 * 1024
KDF_MAX_ITERATIONS = 10
KDF_MAX_LANES = 4

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
    """Argon2id's cost, as integers (strict: not "8", not 8.0) within the bounds above."""

    memory_kib = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=8, max=KDF_MAX_MEMORY_KIB)
    )
    iterations = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=KDF_MAX_ITERATIONS)
    )
    lanes = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=KDF_MAX_LANES)
    )

    @validates_schema
    def _memory_for_the_lanes(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["memory_kib"] < 8 * data["lanes"]:
            raise ValidationError("must be at least 8 KiB a lane", field_name="memory_kib")


class SealedKeySchema(_Strict):
    kdf = fields.String(required=True, validate=validate.Equal("argon2id"))
    # 16 random bytes when sealed here; Argon2 needs at least 8
    salt = fields.String(required=True, validate=[_B64URL, validate.Length(min=11, max=88)])
    nonce = fields.String(required=True, validate=[_B64URL, validate.Length(equal=16)])  # 12 B
    # the 32-byte Ed25519 private key and AES-GCM's 16-byte tag
    ciphertext = fields.String(required=True, validate=[_B64URL, validate.Length(equal=64)])
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
    frameworks_installed = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "framework versions the bundle brought, installed here"},
    )
    frameworks_skipped = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "framework versions the bundle brought and this instance lacks,"
            " left out because its instance keys were not pinned: an administrator installs"
            " them with `cpdfolio frameworks import` after checking them"
        },
    )
