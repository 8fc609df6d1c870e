"""LRS clients: the credentials platforms use to post and read statements (HTTP Basic).

A client secret is 256 random bits shown once at creation; only its SHA-256 digest is
stored. A slow password hash (scrypt, Argon2) protects low-entropy human passwords; for a
random 256-bit secret it adds nothing against guessing and would cost milliseconds on
every request, which one-statement-at-a-time ingest cannot afford.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from portfolio.clock import utc_now_iso
from portfolio.errors import AuthenticationRequired, Forbidden, InvalidInput, NotFound
from portfolio.storage.base import ClientRecord, ClientStore

# The xAPI scopes (Communication 4, "OAuth Authorization Scope").
SCOPES: tuple[str, ...] = (
    "statements/write",
    "statements/read/mine",
    "statements/read",
    "state",
    "define",
    "profile",
    "all/read",
    "all",
)


@dataclass(frozen=True)
class NewClient:
    """A client just created: the only time its secret exists outside the caller."""

    record: ClientRecord
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_client(clients: ClientStore, *, name: str, scopes: list[str]) -> NewClient:
    """Register a client and return it with its secret; raises InvalidInput on bad scopes."""
    name = name.strip()
    if not name:
        raise InvalidInput("a client needs a name", path="name", rule="must not be empty")
    if not scopes:
        raise InvalidInput("a client needs at least one scope", path="scope", rule="is required")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise InvalidInput(
            f"unknown scope {unknown[0]!r}; known scopes: {', '.join(SCOPES)}",
            path="scope",
            rule="must be an xAPI scope",
        )
    key = secrets.token_hex(10)
    secret = secrets.token_urlsafe(32)
    record = ClientRecord(
        key=key,
        name=name,
        scopes=tuple(dict.fromkeys(scopes)),
        secret_hash=_digest(secret),
        created=utc_now_iso(),
    )
    clients.add(record)
    return NewClient(record=record, secret=secret)


def authenticate(clients: ClientStore, *, key: str, secret: str) -> ClientRecord:
    """The live client with these credentials; raises AuthenticationRequired otherwise."""
    record = clients.get(key)
    # Compare even when the key is unknown so timing does not reveal which keys exist.
    expected = record.secret_hash if record is not None else _digest(secrets.token_hex(16))
    if not hmac.compare_digest(expected, _digest(secret)) or record is None:
        raise AuthenticationRequired("unknown client key or wrong secret")
    if record.revoked is not None:
        raise AuthenticationRequired("this client has been revoked")
    return record


def revoke_client(clients: ClientStore, key: str) -> None:
    """Revoke a client; raises NotFound when no live client has this key."""
    if not clients.revoke(key, at=utc_now_iso()):
        raise NotFound(f"no live client with key {key!r}")


# --------------------------------------------------------------------------- scopes
# Communication 4.2. `all` includes everything; `all/read` every read.
_WRITE_STATEMENTS = frozenset({"statements/write", "all"})
_READ_ALL_STATEMENTS = frozenset({"statements/read", "all/read", "all"})
_READ_MINE = frozenset({"statements/read/mine"})


def require_statement_write(client: ClientRecord) -> None:
    """Raise Forbidden unless the client may write statements."""
    if not _WRITE_STATEMENTS.intersection(client.scopes):
        raise Forbidden("these credentials may not write statements (needs statements/write)")


def statement_read_scope(client: ClientRecord) -> bool:
    """Whether the client reads only its own statements; raises Forbidden if it reads none."""
    if _READ_ALL_STATEMENTS.intersection(client.scopes):
        return False
    if _READ_MINE.intersection(client.scopes):
        return True
    raise Forbidden("these credentials may not read statements (needs statements/read)")


def require_state_access(client: ClientRecord, *, write: bool) -> None:
    """Raise Forbidden unless the client may read (or write) State documents.

    Communication 4.2: `state` reads and writes state data, `all/read` reads everything.
    """
    _require_document_access(client, "state", what="State documents", write=write)


def require_profile_access(client: ClientRecord, *, write: bool) -> None:
    """Raise Forbidden unless the client may read (or write) Activity and Agent Profiles.

    Communication 4.2: `profile` reads and writes Profile documents, `all/read` reads them.
    """
    _require_document_access(client, "profile", what="Profile documents", write=write)


def _require_document_access(client: ClientRecord, scope: str, *, what: str, write: bool) -> None:
    allowed = {scope, "all"} if write else {scope, "all", "all/read"}
    if not allowed.intersection(client.scopes):
        action = "write" if write else "read"
        raise Forbidden(f"these credentials may not {action} {what} (needs {scope})")


def may_void_others(client: ClientRecord) -> bool:
    """Only `all` may void statements another client sent (Data 2.3.2.s2.b4)."""
    return "all" in client.scopes


def may_define(client: ClientRecord) -> bool:
    """Whether the client's Activity definitions update the canonical ones (`define`)."""
    return bool({"define", "all"}.intersection(client.scopes))


def authority_for(client: ClientRecord, *, home_page: str) -> dict[str, object]:
    """The Agent the LRS records as `authority` for statements this client sends.

    Communication 4.1.6: with HTTP Basic the authority is the Agent of the credentials.
    """
    return {
        "objectType": "Agent",
        "name": client.name,
        "account": {"homePage": home_page, "name": client.key},
    }
