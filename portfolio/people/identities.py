"""Linking identities to a portfolio, with proof.

An identity is an xAPI inverse functional identifier (a work mailbox, an account at a
council's LMS). Statements about it become evidence in the portfolio only once it is
proven to be the owner's, by one of:
- a one-time code sent to the mailbox (mbox identities): the owner starts a link, the
  outbox delivers the code, the owner enters it; the owner signs the entry;
- an administrator's confirmation (any identity, e.g. an LMS account): the instance
  signs the entry on the administrator's behalf, naming them.
Once linked, every statement about the identity already in the LRS is witnessed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from portfolio.clock import format_us, now_us, parse_stored, utc_now_iso
from portfolio.errors import Conflict, InvalidInput, NotFound
from portfolio.people.accounts import Accounts, Owner
from portfolio.people.outbox import Message, Outbox
from portfolio.people.witness import witness_identity
from portfolio.record.chain import Draft, append_with_retry
from portfolio.record.entry import Role
from portfolio.storage.base import Challenge, IdentityLink

CODE_TTL = timedelta(minutes=30)
MAX_ATTEMPTS = 5
CODE_DIGITS = 8


@dataclass(frozen=True)
class LinkResult:
    link: IdentityLink
    witnessed: int  # statements already in the LRS now witnessed in the record


class Identities:
    def __init__(self, accounts: Accounts, *, outbox: Outbox) -> None:
        self.accounts = accounts
        self.store = accounts.store
        self.outbox = outbox

    def list(self, owner: Owner) -> list[IdentityLink]:
        return self.store.people.identities(owner.person.id)

    def start(self, owner: Owner, identity: str) -> Challenge:
        """Send a one-time code to the mailbox `identity` (an agent key "mbox:mailto:...").

        Raises InvalidInput for an identity that is not a mailbox (an account needs an
        administrator), Conflict when it is linked to the owner already.

        A mailbox linked to someone else is answered like any other, so the answer does
        not tell who has a portfolio here: a challenge is made all the same, but the
        mailbox is told it is taken and given no code (so the challenge can never be
        confirmed). Only whoever reads that mailbox learns it.
        """
        if not identity.startswith("mbox:mailto:"):
            raise InvalidInput(
                "only a mailbox can receive a code; ask an administrator to confirm an account",
                path="identity",
                rule="must be an mbox to prove by code",
            )
        holder = self.store.people.owners([identity]).get(identity)
        if holder == owner.person.id:
            raise Conflict(f"the identity {identity} is linked to your portfolio already")
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        challenge = Challenge(
            id=uuid.uuid4().hex,
            person_id=owner.person.id,
            identity=identity,
            code_hash=_code_hash(code, identity),
            created=utc_now_iso(),
            expires=format_us(now_us() + int(CODE_TTL.total_seconds() * 1_000_000)),
        )
        self.store.people.add_challenge(challenge)
        address = identity.removeprefix("mbox:mailto:")
        asked = f"{owner.person.name} asked to add {address} to their cpdfolio portfolio.\n\n"
        if holder is not None:
            body = (
                asked + "This address is linked to a portfolio on this instance already, and"
                " one address belongs to one portfolio, so no code is given and nothing"
                " changes.\n\nIf this was not you, you need do nothing.\n"
            )
            subject = "Your address is in use in cpdfolio"
        else:
            body = (
                asked + f"The code is {code}. It works once, for"
                f" {int(CODE_TTL.total_seconds() // 60)} minutes.\n\nIf this was not you,"
                " ignore this message: nothing is linked without the code.\n"
            )
            subject = "Your cpdfolio code"
        self.outbox.send(Message(to=address, subject=subject, body=body))
        return challenge

    def confirm(self, owner: Owner, challenge_id: str, code: str) -> LinkResult:
        """Link the identity of the challenge when `code` is right. A challenge allows
        MAX_ATTEMPTS wrong codes and then is spent. Raises NotFound (unknown, another
        person's, expired or spent), InvalidInput (wrong code), Conflict (linked meanwhile).
        """
        challenge = self.store.people.get_challenge(challenge_id)
        if challenge is None or challenge.person_id != owner.person.id:
            raise NotFound("no such code request (it may have expired or been used)")
        if parse_stored(challenge.expires) <= now_us():
            self.store.people.delete_challenge(challenge.id)
            raise NotFound("the code has expired: ask for a new one")
        if not hmac.compare_digest(
            challenge.code_hash, _code_hash(code.strip(), challenge.identity)
        ):
            attempts = self.store.people.count_attempt(challenge.id)
            if attempts >= MAX_ATTEMPTS:
                self.store.people.delete_challenge(challenge.id)
            raise InvalidInput("wrong code", path="code", rule="must be the code sent")
        if not self.store.people.delete_challenge(challenge.id):
            raise NotFound("the code was used already")
        return self._link(
            owner.person.id,
            challenge.identity,
            Draft(
                "identity-linked",
                {"identity": challenge.identity, "proof": "one-time code"},
                owner.key,
                Role.OWNER,
            ),
            proof="one-time code",
        )

    def confirm_by_administrator(
        self, email: str, identity: str, *, administrator: str
    ) -> LinkResult:
        """Link `identity` to the portfolio of `email` on an administrator's word; the
        instance signs the entry, naming the administrator."""
        person = self.accounts.get(email)
        self._check_free(identity)
        return self._link(
            person.id,
            identity,
            Draft(
                "identity-linked",
                {"identity": identity, "proof": "administrator"},
                self.accounts.instance_key,
                Role.INSTANCE,
                on_behalf_of={"name": administrator, "identified_by": "instance administrator"},
            ),
            proof="administrator",
        )

    def _check_free(self, identity: str) -> None:
        if self.store.people.owners([identity]):
            raise Conflict(f"the identity {identity} is linked to a portfolio already")

    def _link(self, person_id: str, identity: str, draft: Draft, *, proof: str) -> LinkResult:
        link = IdentityLink(
            identity=identity, person_id=person_id, linked=utc_now_iso(), proof=proof
        )
        append_with_retry(
            self.store.records,
            person_id,
            [draft],
            lambda entries: self.store.people.link(link, entries=entries),
        )
        witnessed = witness_identity(self.store, self.accounts.instance_key, person_id, identity)
        return LinkResult(link=link, witnessed=witnessed)


def _code_hash(code: str, identity: str) -> str:
    # Bound to the identity so a hash cannot be replayed for another mailbox.
    return hashlib.sha256(f"{identity}\n{code}".encode()).hexdigest()
