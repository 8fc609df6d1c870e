"""Verification of a person's record: every link, hash and signature, in order.

Verification fails closed (STYLE 7): it returns a summary of what it verified or raises
RecordVerificationFailed naming the first entry that fails and why. It needs only the
entries and the instance keys to trust, so the same code checks a record in the store,
in a bundle, or anywhere else.

For each entry, in order:
1. its place: `seq` is one more than the entry before, and the stored person and seq
   agree with what the signed bytes say;
2. its bytes: they are the RFC 8785 canonical form of what they say, and its hash is
   their SHA-256;
3. its link: `prev` is the hash of the entry before (null for the first);
4. its signer: the first entry is "opened" and signed by the owner key it introduces,
   and no other entry is "opened"; later owner entries by the owner's current key (a
   "key-rotated" entry changes it, whoever signed it); instance entries by a trusted
   instance key; the signature verifies over the bytes;
5. its body: the kind is known, the signer's role may sign it, the body has its shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from marshmallow import ValidationError

from portfolio.errors import CpdfolioError, InvalidInput
from portfolio.record.canonical import canonical_json, sha256_hex
from portfolio.record.entry import SignedEntry
from portfolio.record.keys import InvalidSignature, PublicKey, b64url, unb64url
from schemas.record import BODY_SCHEMAS, envelope_problem


class RecordVerificationFailed(CpdfolioError):
    """The record does not verify: `seq` is the first failing entry, `reason` why."""

    slug = "verification failed"

    def __init__(self, *, person: str, seq: int, reason: str) -> None:
        super().__init__(f"entry {seq} of the record of {person}: {reason}")
        self.person = person
        self.seq = seq
        self.reason = reason


Fail = Callable[[str], "RecordVerificationFailed"]


@dataclass
class ChainSummary:
    """What a verified record holds."""

    person: str
    name: str = ""
    entries: int = 0
    head: str | None = None
    first_at: str | None = None
    last_at: str | None = None
    kinds: dict[str, int] = field(default_factory=dict)
    owner_keys: list[str] = field(default_factory=list)  # that signed entries, in order
    # The owner's keys as "opened" and "key-rotated" introduce them, in order; the last is
    # the owner's current key, the one the next owner entry must be signed with. It may
    # have signed nothing yet (after an administrator's password reset, say).
    owner_key_history: list[str] = field(default_factory=list)
    instance_keys: set[str] = field(default_factory=set)
    statements: set[str] = field(default_factory=set)

    @property
    def current_owner_key(self) -> str:
        """The id of the owner's current key, as the record's rotations define it."""
        return self.owner_key_history[-1]


def verify_record(
    person: str, entries: Iterable[SignedEntry], *, instance_keys: Mapping[str, PublicKey]
) -> ChainSummary:
    """Verify the whole record of `person`, entries in chain order.

    Raises RecordVerificationFailed at the first entry that fails, and for an empty
    record (there is nothing to trust in no entries).
    """
    summary = ChainSummary(person=person)
    owner_key: PublicKey | None = None
    for entry in entries:
        seq = summary.entries + 1

        def fail(reason: str, seq: int = seq) -> RecordVerificationFailed:
            return RecordVerificationFailed(person=person, seq=seq, reason=reason)

        value = _parse(entry, fail)
        if entry.seq != seq or value["seq"] != seq:
            raise fail(f"out of place: it says seq {value['seq']} (kept as {entry.seq})")
        if entry.person != person or value["person"] != person:
            raise fail(f"it belongs to another person ({value['person']!r})")
        if sha256_hex(entry.canonical) != entry.hash:
            raise fail("its hash is not the SHA-256 of its bytes")
        if value["prev"] != summary.head:
            raise fail("its prev is not the hash of the entry before it")

        signer = value["signer"]
        kind = value["kind"]
        if seq == 1:
            if kind != "opened" or signer["role"] != "owner":
                raise fail("the first entry must be 'opened', signed by the owner")
            owner_key = _public_key(value["body"].get("owner_key"), fail)
        elif kind == "opened":
            # A second "opened" would rename the record and name an owner key nothing
            # rotated to: a record is opened once.
            raise fail("'opened' may only be the first entry")
        key = _signing_key(signer, owner_key, instance_keys, fail)
        try:
            signature = unb64url(entry.signature)
            # base64url has spare bits in its last character: only the one spelling counts.
            if b64url(signature) != entry.signature:
                raise ValueError("not canonical base64url")
            key.verify(signature, entry.canonical)
        except (InvalidSignature, ValueError):
            raise fail(f"the {signer['role']} signature does not verify") from None

        _check_body(value, fail)
        if kind == "key-rotated":
            owner_key = _public_key(value["body"]["new_key"], fail)
        if kind in ("opened", "key-rotated") and owner_key is not None:
            summary.owner_key_history.append(owner_key.id)
        if kind == "opened":
            summary.name = value["body"]["name"]
        if kind == "statement-witnessed":
            summary.statements.add(str(value["body"]["statement"]))
        if signer["role"] == "owner" and key.id not in summary.owner_keys:
            summary.owner_keys.append(key.id)
        if signer["role"] == "instance":
            summary.instance_keys.add(key.id)

        summary.entries = seq
        summary.head = entry.hash
        summary.first_at = summary.first_at or value["at"]
        summary.last_at = value["at"]
        summary.kinds[kind] = summary.kinds.get(kind, 0) + 1
    if summary.entries == 0:
        raise RecordVerificationFailed(person=person, seq=1, reason="the record has no entries")
    return summary


def _parse(entry: SignedEntry, fail: Fail) -> dict[str, Any]:
    try:
        value = orjson.loads(entry.canonical)
    except orjson.JSONDecodeError:
        raise fail("its bytes are not JSON") from None
    try:
        canonical = canonical_json(value)
    except InvalidInput:
        raise fail("its bytes are not canonical JSON (RFC 8785)") from None
    if canonical != entry.canonical:
        raise fail("its bytes are not canonical JSON (RFC 8785)")
    problem = envelope_problem(value)
    if problem is not None:
        raise fail(f"malformed: {problem}")
    loaded: dict[str, Any] = value
    return loaded


def _check_body(value: dict[str, Any], fail: Fail) -> None:
    kind = value["kind"]
    if kind not in BODY_SCHEMAS:
        raise fail(f"unknown kind {kind!r}")
    schema, roles = BODY_SCHEMAS[kind]
    if value["signer"]["role"] not in roles:
        raise fail(f"a {value['signer']['role']} may not sign a {kind!r} entry")
    try:
        schema.load(value["body"])
    except ValidationError as exc:
        raise fail(f"malformed {kind!r} body: {_first_error(exc.messages)}") from None


def _public_key(value: object, fail: Fail) -> PublicKey:
    try:
        return PublicKey.from_json(value)
    except InvalidInput as exc:
        raise fail(f"bad public key: {exc.message}") from None


def _signing_key(
    signer: dict[str, str],
    owner_key: PublicKey | None,
    instance_keys: Mapping[str, PublicKey],
    fail: Fail,
) -> PublicKey:
    role, key_id = signer["role"], signer["key"]
    if role == "owner":
        if owner_key is None or key_id != owner_key.id:
            raise fail(f"signed by {key_id[:16]}…, which is not the owner's current key")
        return owner_key
    if role == "instance":
        if key_id not in instance_keys:
            raise fail(f"signed by instance key {key_id[:16]}…, which is not trusted")
        return instance_keys[key_id]
    raise fail(f"no {role} keys are trusted here")


def _first_error(messages: object, path: str = "") -> str:
    """`{"body": {"name": ["Missing data..."]}}` → `body.name: Missing data...`."""
    if isinstance(messages, dict):
        for key, inner in messages.items():
            return _first_error(inner, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], path)
    return f"{path}: {messages}" if path else str(messages)
