"""Entries of a person's record: what one says, and how it is signed and kept.

An entry names its person, its place in the chain (`seq`, from 1), its kind, when it was
made, its body, the hash of the entry before it, and who signed it. Its hash is the
SHA-256 of the RFC 8785 canonical JSON of exactly those fields (the entry without its
signature), and its signature is Ed25519 over those same canonical bytes. The bytes are
kept as signed (STYLE 9): verification reads them, never a re-serialisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from portfolio.record.canonical import canonical_json, sha256_hex
from portfolio.record.keys import SigningKey, b64url


class Role(StrEnum):
    """Who signs an entry.

    OWNER: the portfolio's owner, with their own key, during their session.
    INSTANCE: the cpdfolio instance, for what it observed (a statement received, an
    import) and for people without a key of their own (a 360° reviewer reached by a
    one-time link, an administrator's confirmation), named in `on_behalf_of`.
    ASSESSOR: an assessor's decision, with the assessor's key.
    """

    OWNER = "owner"
    INSTANCE = "instance"
    ASSESSOR = "assessor"


@dataclass(frozen=True)
class Signer:
    role: Role
    key: str  # the key id (portfolio.record.keys.PublicKey.id)
    # For whom the instance signs, and how that person was identified, e.g.
    # {"name": "...", "identified_by": "one-time link sent to mailto:..."}.
    on_behalf_of: Mapping[str, str] | None = None

    def to_json(self) -> dict[str, object]:
        value: dict[str, object] = {"role": self.role.value, "key": self.key}
        if self.on_behalf_of is not None:
            value["on_behalf_of"] = dict(self.on_behalf_of)
        return value


@dataclass(frozen=True)
class Entry:
    person: str
    seq: int
    kind: str
    at: str
    body: Mapping[str, Any]
    prev: str | None
    signer: Signer

    def to_json(self) -> dict[str, object]:
        return {
            "person": self.person,
            "seq": self.seq,
            "kind": self.kind,
            "at": self.at,
            "body": self.body,
            "prev": self.prev,
            "signer": self.signer.to_json(),
        }

    def canonical(self) -> bytes:
        """The bytes hashed and signed. Raises InvalidInput if the body is not JCS-able."""
        return canonical_json(self.to_json())


@dataclass(frozen=True)
class SignedEntry:
    """An entry as kept: its canonical bytes, their SHA-256 and the signature over them.

    `seq` and `person` repeat what the bytes say, so that a store can order and find
    entries without parsing; verification checks that they agree.
    """

    person: str
    seq: int
    canonical: bytes
    hash: str
    signature: str  # base64url Ed25519 signature over `canonical`
    # Set by stores that index entries by the statement they witness.
    statement_id: str | None = field(default=None, compare=False)

    def parsed(self) -> dict[str, Any]:
        """The entry's JSON. Only verification may trust it; raises orjson.JSONDecodeError."""
        value: dict[str, Any] = orjson.loads(self.canonical)
        return value

    def to_json(self) -> dict[str, object]:
        """The form kept in bundles: the canonical bytes as text, the hash and signature."""
        return {
            "entry": self.canonical.decode(),
            "hash": self.hash,
            "signature": self.signature,
        }


def sign(entry: Entry, key: SigningKey) -> SignedEntry:
    """Canonicalise and sign `entry` with `key`.

    Raises ValueError when `key` is not the key the entry names as its signer, and
    InvalidInput when the body is not JSON that RFC 8785 can represent.
    """
    if entry.signer.key != key.public.id:
        raise ValueError("the entry names another signing key")
    canonical = entry.canonical()
    statement = entry.body.get("statement") if entry.kind == "statement-witnessed" else None
    return SignedEntry(
        person=entry.person,
        seq=entry.seq,
        canonical=canonical,
        hash=sha256_hex(canonical),
        signature=b64url(key.sign(canonical)),
        statement_id=str(statement) if statement is not None else None,
    )
