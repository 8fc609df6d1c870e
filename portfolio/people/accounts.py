"""Portfolio owners: creating them, their sessions and personal tokens, password resets.

The owner's Ed25519 key is sealed under their password; logging in opens it and seals a
copy under a fresh random secret that only the session's token carries (the store keeps a
hash of the secret). So the key is usable exactly while the owner presents their token,
and never rests open: not in the store, not in a session row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from portfolio.clock import format_us, now_us, parse_stored, utc_now_iso
from portfolio.errors import AuthenticationRequired, InvalidInput, NotFound
from portfolio.lrs.agents import ifi_key
from portfolio.people.witness import witness_identity
from portfolio.record.chain import Draft, append_with_retry, build
from portfolio.record.entry import Role
from portfolio.record.keys import (
    KdfCost,
    SealedKey,
    SigningKey,
    b64url,
    open_sealed,
    seal_with_password,
    seal_with_secret,
    unb64url,
)
from portfolio.storage.base import IdentityLink, PersonRecord, SessionRecord, Store

SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Owner:
    """The owner behind an authenticated request, with their key open for this request."""

    person: PersonRecord
    key: SigningKey
    session_id: str


@dataclass(frozen=True)
class IssuedToken:
    """A session or personal token just made: the only time `token` exists in full."""

    token: str
    session: SessionRecord


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(
            "not an e-mail address", path="email", rule="must be an address like a@b.example"
        )
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password is too short (at least {MIN_PASSWORD_LENGTH} characters)",
            path="password",
            rule=f"must have at least {MIN_PASSWORD_LENGTH} characters",
        )


class Accounts:
    """People, sessions and tokens in one store, with this instance's key and settings."""

    def __init__(
        self, store: Store, *, instance_key: SigningKey, instance_url: str, kdf: KdfCost
    ) -> None:
        self.store = store
        self.instance_key = instance_key
        self.instance_url = instance_url
        self.kdf = kdf

    # -------------------------------------------------------------------- people

    def create(self, *, email: str, name: str, password: str) -> PersonRecord:
        """A new person with their first identity (their work mailbox) and the first two
        entries of their record, both signed with their new key. Statements already in
        the LRS about that mailbox are witnessed into the record at once.

        Raises InvalidInput (email, name, password), Conflict (email or identity taken).
        """
        given = email.strip()
        email = normalise_email(email)
        name = name.strip()
        if not name:
            raise InvalidInput("a name is needed", path="name", rule="must not be empty")
        check_password(password)
        key = SigningKey.generate()
        person = PersonRecord(
            id=str(uuid.uuid4()),
            name=name,
            email=email,
            created=utc_now_iso(),
            sealed_key=json.dumps(seal_with_password(key, password, cost=self.kdf).to_json()),
        )
        # The mailbox as given: the local part of an address is case-sensitive in xAPI.
        identity = _mailbox_identity(given)
        entries = build(
            person.id,
            [
                Draft(
                    "opened",
                    {
                        "name": name,
                        "owner_key": key.public.to_json(),
                        "instance": self.instance_url,
                    },
                    key,
                    Role.OWNER,
                ),
                Draft(
                    "identity-linked",
                    {"identity": identity, "proof": "first identity"},
                    key,
                    Role.OWNER,
                ),
            ],
            head=None,
        )
        link = IdentityLink(
            identity=identity, person_id=person.id, linked=person.created, proof="first identity"
        )
        self.store.people.create(person, identity=link, entries=entries)
        witness_identity(self.store, self.instance_key, person.id, identity)
        return person

    def get(self, email: str) -> PersonRecord:
        person = self.store.people.by_email(normalise_email(email))
        if person is None:
            raise NotFound(f"no portfolio for {email}")
        return person

    def reset_password(self, email: str, password: str, *, administrator: str) -> PersonRecord:
        """An administrator's reset: the old key cannot be opened without the old
        password, so the owner gets a new key, announced by a "key-rotated" entry that the
        instance signs on the administrator's behalf. Every session and token ends."""
        check_password(password)
        person = self.get(email)
        key = SigningKey.generate()
        sealed = json.dumps(seal_with_password(key, password, cost=self.kdf).to_json())
        draft = Draft(
            "key-rotated",
            {"new_key": key.public.to_json(), "reason": "password reset"},
            self.instance_key,
            Role.INSTANCE,
            on_behalf_of={"name": administrator, "identified_by": "instance administrator"},
        )
        append_with_retry(
            self.store.records,
            person.id,
            [draft],
            lambda entries: self.store.people.set_sealed_key(person.id, sealed, entries=entries),
        )
        return person

    # ---------------------------------------------------------- sessions, tokens

    def login(self, email: str, password: str) -> IssuedToken:
        """A session for the owner of `email`. Raises AuthenticationRequired, with the same
        message whether the email is unknown or the password wrong."""
        try:
            person = self.store.people.by_email(normalise_email(email))
        except InvalidInput:
            person = None
        if person is None:
            # Spend the time a real check takes, so timing does not tell who has an account.
            seal_with_password(SigningKey.generate(), password or "-", cost=self.kdf)
            raise AuthenticationRequired("wrong email or password")
        try:
            key = open_sealed(SealedKey.from_json(json.loads(person.sealed_key)), password=password)
        except AuthenticationRequired:
            raise AuthenticationRequired("wrong email or password") from None
        expires = format_us(now_us() + int(SESSION_TTL.total_seconds() * 1_000_000))
        return self._issue(person, key, kind="session", name="login", expires=expires)

    def create_token(self, owner: Owner, *, name: str, password: str) -> IssuedToken:
        """A personal access token (for scripts and the CLI), valid until revoked. It
        outlives the session that asks for it, so the password is asked again: a session
        taken from a browser must not become a token for ever."""
        name = name.strip()
        if not name:
            raise InvalidInput("a token needs a name", path="name", rule="must not be empty")
        self.confirm_password(owner.person, password)
        return self._issue(owner.person, owner.key, kind="token", name=name, expires=None)

    def confirm_password(self, person: PersonRecord, password: str) -> None:
        """Raise InvalidInput naming `password` unless it opens the person's sealed key:
        asked again before what a stolen session must not do alone."""
        try:
            open_sealed(SealedKey.from_json(json.loads(person.sealed_key)), password=password)
        except AuthenticationRequired:
            raise InvalidInput(
                "that is not your password", path="password", rule="must be your password"
            ) from None

    def _issue(
        self, person: PersonRecord, key: SigningKey, *, kind: str, name: str, expires: str | None
    ) -> IssuedToken:
        secret = os.urandom(32)
        session = SessionRecord(
            id=uuid.uuid4().hex,
            secret_hash=hashlib.sha256(secret).hexdigest(),
            person_id=person.id,
            kind=kind,
            name=name,
            created=utc_now_iso(),
            expires=expires,
            sealed_key=json.dumps(seal_with_secret(key, secret).to_json()),
        )
        self.store.people.add_session(session)
        return IssuedToken(token=f"{session.id}.{b64url(secret)}", session=session)

    def authenticate(self, token: str) -> Owner:
        """The owner a session or personal token belongs to, with their key open.
        Raises AuthenticationRequired for an unknown, expired or malformed token."""
        session_id, _, secret_text = token.partition(".")
        try:
            secret = unb64url(secret_text)
        except ValueError:
            secret = b""
        session = self.store.people.get_session(session_id) if secret else None
        if session is None or not hmac.compare_digest(
            session.secret_hash, hashlib.sha256(secret).hexdigest()
        ):
            raise AuthenticationRequired("this token is not valid (log in again)")
        if session.expires is not None and parse_stored(session.expires) <= now_us():
            self.store.people.delete_session(session.id)
            raise AuthenticationRequired("this session has expired (log in again)")
        person = self.store.people.get(session.person_id)
        if person is None:
            raise AuthenticationRequired("this token is not valid (log in again)")
        key = open_sealed(SealedKey.from_json(json.loads(session.sealed_key)), secret=secret)
        return Owner(person=person, key=key, session_id=session.id)

    def revoke(self, owner: Owner, session_id: str) -> None:
        """End one of the owner's sessions or tokens. Raises NotFound for another's."""
        session = self.store.people.get_session(session_id)
        if session is None or session.person_id != owner.person.id:
            raise NotFound("no such session or token")
        self.store.people.delete_session(session_id)


def _mailbox_identity(email: str) -> str:
    key = ifi_key({"mbox": f"mailto:{email}"})
    assert key is not None
    return key
