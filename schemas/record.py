"""The shape of record entries (portfolio.record): the envelope every entry has, and the
body of each kind.

Verification loads every entry through these schemas before it trusts anything in it;
an entry of a kind not listed here fails verification (it fails closed).
"""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, fields, validate

from schemas.assessment import record_bodies

__all__ = ["BODY_SCHEMAS", "EntrySchema", "PublicKeySchema", "envelope_problem"]

_HEX64 = validate.Regexp(r"^[0-9a-f]{64}$", error="must be 64 lower-case hex digits")
_STORED = validate.Regexp(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$",
    error="must be a UTC time with microseconds, e.g. 2026-11-23T10:00:00.000000Z",
)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class PublicKeySchema(_Strict):
    id = fields.String(required=True, validate=_HEX64)
    public = fields.String(required=True, validate=validate.Length(equal=43))


class SignerSchema(_Strict):
    role = fields.String(required=True, validate=validate.OneOf(["owner", "instance", "assessor"]))
    key = fields.String(required=True, validate=_HEX64)
    on_behalf_of = fields.Dict(keys=fields.String(), values=fields.String())


class EntrySchema(_Strict):
    """The envelope of every entry. Documents it; verification checks the same rules with
    :func:`envelope_problem`, which is several times faster on long records."""

    person = fields.String(required=True, validate=validate.Length(min=1))
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    kind = fields.String(required=True)
    at = fields.String(required=True, validate=_STORED)
    body = fields.Dict(required=True, keys=fields.String())
    prev = fields.String(required=True, allow_none=True, validate=_HEX64)
    signer = fields.Nested(SignerSchema, required=True)


_ENVELOPE_KEYS = frozenset(EntrySchema._declared_fields)
_SIGNER_KEYS = frozenset(SignerSchema._declared_fields)
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_STORED_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def envelope_problem(value: object) -> str | None:
    """What breaks the rules of :class:`EntrySchema` in `value` (the first thing found),
    or None when it keeps them."""
    if not isinstance(value, dict):
        return "an entry must be a JSON object"
    keys = set(value)
    if keys != _ENVELOPE_KEYS:
        missing, extra = _ENVELOPE_KEYS - keys, keys - _ENVELOPE_KEYS
        return f"{sorted(missing)[0]}: is required" if missing else f"{sorted(extra)[0]}: unknown"
    person, seq, at, prev = value["person"], value["seq"], value["at"], value["prev"]
    if not isinstance(person, str) or not person:
        return "person: must be a non-empty string"
    if type(seq) is not int or seq < 1:
        return "seq: must be an integer from 1"
    if not isinstance(value["kind"], str):
        return "kind: must be a string"
    if not isinstance(at, str) or not _STORED_RE.match(at):
        return "at: must be a UTC time with microseconds"
    if not isinstance(value["body"], dict):
        return "body: must be an object"
    if prev is not None and (not isinstance(prev, str) or not _HEX64_RE.match(prev)):
        return "prev: must be null or 64 lower-case hex digits"
    signer = value["signer"]
    if not isinstance(signer, dict) or not {"role", "key"} <= set(signer) <= _SIGNER_KEYS:
        return "signer: must be {role, key[, on_behalf_of]}"
    if signer["role"] not in ("owner", "instance", "assessor"):
        return "signer.role: must be owner, instance or assessor"
    if not isinstance(signer["key"], str) or not _HEX64_RE.match(signer["key"]):
        return "signer.key: must be 64 lower-case hex digits"
    behalf = signer.get("on_behalf_of")
    if behalf is not None and (
        not isinstance(behalf, dict) or not all(isinstance(v, str) for v in behalf.values())
    ):
        return "signer.on_behalf_of: must be an object of strings"
    return None


class OpenedSchema(_Strict):
    """The first entry: whose record this is and the owner's first key (self-signed)."""

    name = fields.String(required=True, validate=validate.Length(min=1))
    owner_key = fields.Nested(PublicKeySchema, required=True)
    instance = fields.String(required=True, metadata={"description": "the instance's URL"})


class KeyRotatedSchema(_Strict):
    """The owner's key changes: by the owner (signed with the old key) or by an
    administrator's password reset (signed by the instance on their behalf)."""

    new_key = fields.Nested(PublicKeySchema, required=True)
    reason = fields.String(
        required=True, validate=validate.OneOf(["owner rotated", "password reset"])
    )


class IdentityLinkedSchema(_Strict):
    """An identity (xAPI IFI) joins the portfolio, with the proof that it is the owner's."""

    identity = fields.String(required=True, validate=validate.Length(min=1))
    proof = fields.String(
        required=True, validate=validate.OneOf(["first identity", "one-time code", "administrator"])
    )


class IdentityUnlinkedSchema(_Strict):
    identity = fields.String(required=True, validate=validate.Length(min=1))


class MappedItemSchema(_Strict):
    item = fields.String(required=True)
    rules = fields.List(fields.String(), required=True)
    hours = fields.Float(required=True)


class StatementWitnessedSchema(_Strict):
    """The instance received a statement about one of the owner's identities: its id,
    the SHA-256 of its JSON exactly as the LRS keeps it, its `stored` time, and the
    framework items the mapping rules made it evidence for."""

    statement = fields.UUID(required=True)
    sha256 = fields.String(required=True, validate=_HEX64)
    stored = fields.String(required=True, validate=_STORED)
    identity = fields.String(required=True)
    evidence = fields.List(fields.Nested(MappedItemSchema))


class StatementVoidedSchema(_Strict):
    """A witnessed statement was voided: it no longer counts as evidence."""

    statement = fields.UUID(required=True)
    voided_by = fields.UUID(required=True)


class StatementErasedSchema(_Strict):
    """A witnessed statement was erased with its subject's portfolio (GDPR erasure of
    someone it also named): it is no longer stored, and no longer counts as evidence.
    Only the id stays, which names no one."""

    statement = fields.UUID(required=True)


class EvidenceLinkSchema(_Strict):
    """The owner counts a statement toward an item, or stops counting it, and says why."""

    statement = fields.UUID(required=True)
    item = fields.String(required=True, validate=validate.Length(min=1))
    rationale = fields.String(required=True, validate=validate.Length(min=1))


class GoalSchema(_Strict):
    id = fields.String(required=True)
    title = fields.String(required=True)
    items = fields.List(fields.String(), required=True)
    target_date = fields.String(allow_none=True)
    status = fields.String(required=True)
    actions = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))


class GoalUpdatedSchema(_Strict):
    id = fields.String(required=True)
    changes = fields.Dict(keys=fields.String(), required=True)


class ReflectionSchema(_Strict):
    id = fields.String(required=True)
    about = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    what_happened = fields.String(required=True)
    what_i_learnt = fields.String(required=True)
    how_it_changes_my_practice = fields.String(required=True)


class MentoringLoggedSchema(_Strict):
    id = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["mentee", "mentor"]))
    other = fields.String(required=True)
    date = fields.String(required=True)
    minutes = fields.Integer(required=True)
    topics = fields.String(required=True)


class MentoringConfirmedSchema(_Strict):
    """The other party confirmed the session; the LRS stored these statements of it."""

    id = fields.String(required=True)
    statements = fields.List(fields.UUID(), required=True)


class MovedSchema(_Strict):
    """The owner moved their portfolio to another instance (portfolio.bundle): from and to
    where, the SHA-256 of the bundle's manifest, and the new instance's key, which the
    owner vouches for by signing this entry."""

    from_instance = fields.String(required=True, data_key="from")
    to_instance = fields.String(required=True, data_key="to")
    bundle = fields.String(required=True, validate=_HEX64)
    instance_key = fields.Nested(PublicKeySchema, required=True)


class ArrivalWitnessedSchema(_Strict):
    """The new instance verified the bundle and took the portfolio in: what arrived, and
    the statement ids it already held with different content (kept as they were)."""

    bundle = fields.String(required=True, validate=_HEX64)
    entries = fields.Integer(required=True, validate=validate.Range(min=0))
    statements = fields.Integer(required=True, validate=validate.Range(min=0))
    conflicts = fields.List(fields.UUID(), required=True)


_OWNER_OR_INSTANCE = frozenset({"owner", "instance"})

#: The body schema of each kind (an instance, reused: schemas keep no state between
#: loads), and the roles that may sign it.
BODY_SCHEMAS: dict[str, tuple[Schema, frozenset[str]]] = {
    "opened": (OpenedSchema(), frozenset({"owner"})),
    "key-rotated": (KeyRotatedSchema(), _OWNER_OR_INSTANCE),
    "identity-linked": (IdentityLinkedSchema(), _OWNER_OR_INSTANCE),
    "identity-unlinked": (IdentityUnlinkedSchema(), _OWNER_OR_INSTANCE),
    "statement-witnessed": (StatementWitnessedSchema(), frozenset({"instance"})),
    "statement-voided": (StatementVoidedSchema(), frozenset({"instance"})),
    "statement-erased": (StatementErasedSchema(), frozenset({"instance"})),
    "evidence-linked": (EvidenceLinkSchema(), frozenset({"owner"})),
    "evidence-unlinked": (EvidenceLinkSchema(), frozenset({"owner"})),
    "goal-set": (GoalSchema(), frozenset({"owner"})),
    "goal-updated": (GoalUpdatedSchema(), frozenset({"owner"})),
    "reflection-written": (ReflectionSchema(), frozenset({"owner"})),
    "mentoring-logged": (MentoringLoggedSchema(), frozenset({"owner"})),
    "mentoring-confirmed": (MentoringConfirmedSchema(), _OWNER_OR_INSTANCE),
    # Moving between instances (portfolio.bundle).
    "moved": (MovedSchema(), frozenset({"owner"})),
    "arrival-witnessed": (ArrivalWitnessedSchema(), frozenset({"instance"})),
    # The Professional Development Analysis (portfolio.assessment).
    **record_bodies(),
}
