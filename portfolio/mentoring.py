"""Mentoring sessions: logged by the mentee or the mentor, confirmed by the other party,
then recorded as xAPI statements about both.

Logging is an owner-signed "mentoring-logged" entry. The other party is sent a one-time
link; if they have a portfolio here they can also confirm from it. Confirmation is a
"mentoring-confirmed" entry in the logger's record: signed by the other party's key when
they confirm from their portfolio, or by the instance on their behalf (naming the mailbox
the link went to) when they confirm by link. Only then does the LRS store one statement
for the mentee ("attended" the session, the mentor as instructor) and one for the mentor
("mentored"), under the instance's own authority; they are witnessed into the records of
whoever owns those identities, like any statement.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson

from portfolio.clock import format_us, now_us, parse_stored, utc_now_iso
from portfolio.errors import Conflict, InvalidInput, NotFound
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.people.accounts import Owner, normalise_email
from portfolio.people.outbox import Message, Outbox
from portfolio.people.witness import witness_new_statements
from portfolio.record.chain import Draft, apply_with_retry
from portfolio.record.entry import Role
from portfolio.record.keys import SigningKey
from portfolio.storage.base import INSTANCE_DOCS, DeleteDoc, DocChange, PortfolioDoc, Store

SESSIONS = "mentoring"  # instance-wide: the session, by id
LINKS = "mentoring-link"  # instance-wide: session id by SHA-256 of the link token
MINE = "mentoring"  # per person: the sessions they are a party to
LINK_TTL = timedelta(days=14)
ATTENDED = "http://adlnet.gov/expapi/verbs/attended"
MENTORED = "http://id.tincanapi.com/verb/mentored"
MEETING = "http://id.tincanapi.com/activitytype/meeting"


def _json(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_own_address(store: Store, person_id: str, email: str) -> bool:
    """Whether the address `email` (as normalise_email gives it) reaches the person
    themselves: their login address, or a mailbox linked to their portfolio (as an mbox or
    its mbox_sha1sum). Someone who must be "someone else" (the other party of a mentoring
    session, a 360° reviewer) is refused on any of these, or the instance would sign, on
    another's behalf, what the owner confirmed or rated from a mailbox of their own.

    Linked mailboxes keep the local part as it was typed, while the addresses compared
    here are in lower case (normalise_email), so a linked mbox is compared case-blind; an
    mbox_sha1sum can only be compared as the hash of the address in that form."""
    person = store.people.get(person_id)
    if person is not None and person.email == email:
        return True
    mailto = f"mailto:{email}"
    hashed = "mbox_sha1sum:" + hashlib.sha1(mailto.encode()).hexdigest()
    for link in store.people.identities(person_id):
        if link.identity == hashed or link.identity.lower() == f"mbox:{mailto}":
            return True
    return False


def _other_party(session: Mapping[str, Any]) -> dict[str, Any]:
    """The party who did not log the session: the one who confirms it."""
    other: dict[str, Any] = (
        session["mentor"] if session["logger_role"] == "mentee" else session["mentee"]
    )
    return other


def _require_awaiting(session: Mapping[str, Any]) -> None:
    if session["status"] != "awaiting confirmation":
        raise Conflict("this session is confirmed already")


def _not_someone_else(message: str) -> InvalidInput:
    return InvalidInput(message, path="other_email", rule="must not be you")


class Mentoring:
    def __init__(
        self,
        store: Store,
        *,
        instance_key: SigningKey,
        instance_url: str,
        outbox: Outbox,
    ) -> None:
        self.store = store
        self.instance_key = instance_key
        self.instance_url = instance_url.rstrip("/")
        self.outbox = outbox

    # --------------------------------------------------------------------- log

    def log(self, owner: Owner, session: Mapping[str, Any]) -> dict[str, Any]:
        """Log a session (validated by schemas.portfolio.MentoringLogSchema) and send the
        other party a link to confirm it. Returns the session."""
        other_email = normalise_email(session["other_email"])
        if is_own_address(self.store, owner.person.id, other_email):
            raise _not_someone_else(
                "the other party must be someone else: this is one of your own addresses"
            )
        me = {"email": owner.person.email, "name": owner.person.name, "person": owner.person.id}
        other_person = self.store.people.by_email(other_email)
        other = {
            "email": other_email,
            "name": session["other_name"],
            "person": other_person.id if other_person else None,
        }
        mentee, mentor = (me, other) if session["role"] == "mentee" else (other, me)
        session_id = uuid.uuid4().hex
        token = secrets.token_urlsafe(32)
        record = {
            "id": session_id,
            "logged_by": owner.person.id,
            "logger_role": session["role"],
            "mentee": mentee,
            "mentor": mentor,
            "date": session["date"],
            "minutes": session["minutes"],
            "topics": session["topics"],
            "status": "awaiting confirmation",
            "created": utc_now_iso(),
            "expires": format_us(now_us() + int(LINK_TTL.total_seconds() * 1_000_000)),
            "statements": [],
        }

        def plan() -> tuple[list[Draft], list[DocChange]]:
            body = {
                "id": session_id,
                "role": session["role"],
                "other": f"mailto:{other_email}",
                "date": session["date"],
                "minutes": session["minutes"],
                "topics": session["topics"],
            }
            return [Draft("mentoring-logged", body, owner.key, Role.OWNER)], self._docs(
                record, token_hash=_token_hash(token)
            )

        apply_with_retry(self.store, owner.person.id, plan)
        if other_person is not None:
            self._pointer(other_person.id, session_id)
        self.outbox.send(
            Message(
                to=other_email,
                subject=f"Please confirm your mentoring session with {owner.person.name}",
                body=(
                    f"{owner.person.name} logged a mentoring session with you on"
                    f" {session['date']} ({session['minutes']} minutes): {session['topics']}\n\n"
                    f"Confirm it here (the link works once, for 14 days):\n"
                    f"{self.instance_url}/mentoring/{token}\n"
                ),
            )
        )
        return record

    def _docs(self, record: Mapping[str, Any], *, token_hash: str | None = None) -> list[DocChange]:
        now = utc_now_iso()
        docs: list[DocChange] = [
            PortfolioDoc(INSTANCE_DOCS, SESSIONS, record["id"], _json(record), now),
            PortfolioDoc(record["logged_by"], MINE, record["id"], b"{}", now),
        ]
        if token_hash is not None:
            docs.append(
                PortfolioDoc(INSTANCE_DOCS, LINKS, token_hash, _json({"id": record["id"]}), now)
            )
        return docs

    def _pointer(self, person_id: str, session_id: str) -> None:
        doc = PortfolioDoc(person_id, MINE, session_id, b"{}", utc_now_iso())
        self.store.portfolio.apply(person_id, [], [doc])

    # ---------------------------------------------------------------- reading

    def get(self, session_id: str) -> dict[str, Any]:
        doc = self.store.portfolio.get_doc(INSTANCE_DOCS, SESSIONS, session_id)
        if doc is None:
            raise NotFound(f"no mentoring session {session_id}")
        session: dict[str, Any] = orjson.loads(doc.body)
        return session

    def mine(self, owner: Owner) -> list[dict[str, Any]]:
        """The owner's sessions: those held here, and those their portfolio brought from
        the instance where they were logged (a copy in the pointer, portfolio.bundle)."""
        sessions = []
        for doc in self.store.portfolio.list_docs(owner.person.id, MINE):
            carried: dict[str, Any] = orjson.loads(doc.body)
            sessions.append(carried if carried else self.get(doc.key))
        return sorted(sessions, key=lambda s: (s["date"], s["id"]))

    def by_link(self, token: str) -> dict[str, Any]:
        """The session a link names. Raises NotFound (unknown or spent) or Conflict
        (expired)."""
        doc = self.store.portfolio.get_doc(INSTANCE_DOCS, LINKS, _token_hash(token))
        if doc is None:
            raise NotFound("this link is not valid, or was used already")
        session = self.get(orjson.loads(doc.body)["id"])
        if parse_stored(session["expires"]) <= now_us():
            raise Conflict("this link has expired: ask for the session to be logged again")
        return session

    # ----------------------------------------------------------- confirmation

    def confirm_by_owner(self, owner: Owner, session_id: str) -> dict[str, Any]:
        """The other party confirms from their own portfolio, signed in. The entry goes in
        the logger's record, where an owner-role entry must be the logger's own (record
        verification checks it against their key): so the instance signs it on the other
        party's behalf, naming how they were identified, as for the link. Raises NotFound
        (not theirs to confirm) and Conflict (confirmed already, or expired: the session
        awaits confirmation as long as its link would, by either way)."""
        session = self.get(session_id)
        other = _other_party(session)
        if other["person"] != owner.person.id:
            raise NotFound(f"no mentoring session {session_id} awaits your confirmation")
        if parse_stored(session["expires"]) <= now_us():
            raise Conflict("this session can no longer be confirmed: ask for it to be logged again")
        return self._confirm(
            session,
            key=self.instance_key,
            role=Role.INSTANCE,
            on_behalf_of={
                "name": owner.person.name,
                "identified_by": f"signed in to their cpdfolio portfolio ({owner.person.id})",
            },
        )

    def confirm_by_link(self, token: str) -> dict[str, Any]:
        """The other party confirms by the link they were sent: the instance signs for
        them, naming how they were identified. The link is spent."""
        session = self.by_link(token)
        other = _other_party(session)
        return self._confirm(
            session,
            key=self.instance_key,
            role=Role.INSTANCE,
            on_behalf_of={
                "name": other["name"],
                "identified_by": f"one-time link sent to mailto:{other['email']}",
            },
        )

    def _confirm(
        self,
        session: dict[str, Any],
        *,
        key: SigningKey,
        role: Role,
        on_behalf_of: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        """Confirm `session`, however the other party did it. Its link is spent either way:
        a link left behind would show the topics and both names until it expired.

        Raises Conflict when the session is confirmed already, also by a confirmation racing
        with this one (the link clicked twice; the link and the other party's portfolio):
        the plan reads the session again on the record's current head, so exactly one
        "mentoring-confirmed" entry is written. Raises InvalidInput when the other party's
        mailbox has become one of the logger's own (linked after the session was logged)."""
        _require_awaiting(session)
        other = _other_party(session)
        if other["person"] == session["logged_by"] or is_own_address(
            self.store, session["logged_by"], other["email"]
        ):
            raise _not_someone_else(
                "the other party's address is now linked to the portfolio of whoever logged"
                " the session: they cannot confirm their own session"
            )
        statements = self._statements(session)
        # The statements first: their ids come from the session, so storing them again
        # is a no-op, and a confirmation that failed after this point can simply be retried
        # (or lost a race: the winner stored the very same statements).
        ingest = StatementIngest(
            self.store.statements,
            on_stored=lambda new: witness_new_statements(self.store, self.instance_key, new),
        )
        ingest.post(statements, submitter=self._submitter(), version="1.0.3")
        statement_ids = [s["id"] for s in statements]
        confirmed: dict[str, Any] = {}

        def plan() -> tuple[list[Draft], list[DocChange]]:
            # Read again, on the head this plan is written on: a confirmation written
            # since the check above moved that head, so this plan runs again and sees it.
            current = self.get(session["id"])
            _require_awaiting(current)
            confirmed.clear()
            confirmed.update(current, status="confirmed", statements=statement_ids)
            body = {"id": current["id"], "statements": statement_ids}
            changes = self._docs(confirmed) + self._links_of(current["id"])
            return [Draft("mentoring-confirmed", body, key, role, on_behalf_of)], changes

        apply_with_retry(self.store, session["logged_by"], plan)
        return confirmed

    def _links_of(self, session_id: str) -> list[DocChange]:
        """Deleting the session's links. They are keyed by the token's hash, which the
        session does not keep, so they are found by the session id they name (as erasure
        finds them); retention deletes expired links, so at most 14 days' worth are read."""
        return [
            DeleteDoc(INSTANCE_DOCS, LINKS, doc.key)
            for doc in self.store.portfolio.list_docs(INSTANCE_DOCS, LINKS)
            if orjson.loads(doc.body).get("id") == session_id
        ]

    def _submitter(self) -> Submitter:
        authority = {
            "objectType": "Agent",
            "name": "cpdfolio",
            "account": {"homePage": self.instance_url, "name": "cpdfolio-instance"},
        }
        return Submitter(client_key="cpdfolio-instance", authority=authority)

    def _statements(self, session: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One statement per party, with ids derived from the session so that a retried
        confirmation stores the same statements (a no-op) rather than new ones."""
        activity = {
            "objectType": "Activity",
            "id": f"{self.instance_url}/mentoring/sessions/{session['id']}",
            "definition": {
                "type": MEETING,
                "name": {"en-GB": "Mentoring session"},
                "description": {"en-GB": session["topics"]},
            },
        }
        mentee = {
            "objectType": "Agent",
            "name": session["mentee"]["name"],
            "mbox": f"mailto:{session['mentee']['email']}",
        }
        mentor = {
            "objectType": "Agent",
            "name": session["mentor"]["name"],
            "mbox": f"mailto:{session['mentor']['email']}",
        }
        result = {"duration": f"PT{session['minutes']}M", "completion": True}
        timestamp = f"{session['date']}T12:00:00Z"

        def statement_id(role: str) -> str:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{activity['id']}#{role}"))

        return [
            {
                "id": statement_id("mentee"),
                "actor": mentee,
                "verb": {"id": ATTENDED, "display": {"en-GB": "attended"}},
                "object": activity,
                "result": result,
                "context": {"instructor": mentor},
                "timestamp": timestamp,
            },
            {
                "id": statement_id("mentor"),
                "actor": mentor,
                "verb": {"id": MENTORED, "display": {"en-GB": "mentored"}},
                "object": activity,
                "result": result,
                "timestamp": timestamp,
            },
        ]
