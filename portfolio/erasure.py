"""Erasing a portfolio, and an instance's retention period (GDPR Articles 5(1)(e), 17).

Erasure is the person's right, used by the owner themselves or by an administrator on a
verified request (naming the administrator and the request's reference). It deletes
everything the instance holds about them: their row and sealed key, identities,
sessions, one-time codes, their record and every portfolio document, every statement
their record witnesses or that names one of their identities anywhere (with the voiding
statements aimed at those), the attachment data and Activity definitions only those
statements used, the State and Agent Profile documents of their identities, and the
instance-wide documents that name them (mentoring sessions and their links, the review
links of their analyses). The exchange with other LRSs (portfolio.storage.exchange)
forgets them too: the deleted statements' provenance and outbox items, the sources they
connected (their identities and credentials, with the checkpoints and the provenance
naming those sources), the agents naming them in administrators' sources (with those
streams' checkpoints; a source that asked about no one else goes, since one with no
agents pulls everything), and their person id in destinations' filters; a destination
that forwarded only their statements goes, for the same reason.
What is left is one tombstone per erasure (collection ERASURES), holding no personal
data: when, who asked, and how much went.

Other people's records are signed chains and cannot be rewritten. Where one of them
witnessed a deleted statement (a session statement about both mentor and mentee), it
gets an instance-signed "statement-erased" entry naming only the statement's id, and the
statement leaves that person's evidence, coverage and goal progress, as a voided one
does (portfolio.people.witness.void_evidence) but leaving no copy of what it said.

Voiding is not erasure: a voided statement stays stored, as xAPI requires (Data 2.3.2).
Erasure cannot be undone; export comes first (the bundle, portfolio.bundle), which the
API and the CLI offer before they erase.

Retention is the administrator's: statements the LRS received before a date that no
portfolio witnesses (learning records of people with no portfolio here; their
provenance and outbox items with them), expired sessions, codes and one-time links. It
never deletes a portfolio: that is erasure.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from portfolio import mentoring
from portfolio.assessment import reviews
from portfolio.bundle.layout import ARCHIVED_ATTACHMENTS, ARCHIVED_STATEMENTS
from portfolio.clock import datetime_to_us, format_us, now_us, parse_stored, utc_now_iso
from portfolio.errors import Conflict, InvalidInput, NotFound
from portfolio.evidence.ledger import EVIDENCE, Ledger
from portfolio.lrs.agents import agent_keys, ifi_key
from portfolio.lrs.index import extract_index
from portfolio.record.chain import Draft, build
from portfolio.record.entry import Role
from portfolio.record.keys import SigningKey
from portfolio.storage.base import (
    ERASURES,
    INSTANCE_DOCS,
    DeleteDoc,
    DocChange,
    ErasureCounts,
    ErasureScope,
    ErasureScopeChanged,
    PersonRecord,
    PortfolioDoc,
    RecordChange,
    RecordHeadMoved,
    RetentionCounts,
    Store,
)
from portfolio.storage.exchange import SourceAgentsChange

__all__ = [
    "Erasure",
    "ErasurePreview",
    "RequestedBy",
    "RetentionReport",
    "apply_retention",
    "check_confirmation",
    "erase_person",
    "preview_erasure",
]

# Planning and erasing again when the portfolio changes meanwhile (a statement arrives,
# another record moves on), then giving up with Conflict.
_ATTEMPTS = 5
_PAGE = 500
_MAILTO = "mbox:mailto:"
_NO_PERSONAL_DATA = "must not name the person erased: the erasure's record keeps no personal data"


@dataclass(frozen=True)
class RequestedBy:
    """Who asked for an erasure: the owner, or an administrator on a verified request.

    The administrator's name and the request's reference (free text: a ticket number,
    the date of a letter) are what the tombstone keeps to account for the erasure."""

    role: str  # "owner" | "administrator"
    administrator: str | None = None
    request: str | None = None

    @classmethod
    def owner(cls) -> RequestedBy:
        return cls(role="owner")

    @classmethod
    def administrator_on_request(cls, administrator: str, request: str) -> RequestedBy:
        """Raises InvalidInput (path `administrator` or `request`) when one is blank."""
        for path, value in (("administrator", administrator), ("request", request)):
            if not value.strip():
                raise InvalidInput(
                    f"an administrator's erasure needs the {path}",
                    path=path,
                    rule="must not be empty",
                )
        return cls(
            role="administrator", administrator=administrator.strip(), request=request.strip()
        )

    def to_json(self) -> dict[str, str]:
        value = {"role": self.role}
        if self.administrator is not None:
            value["administrator"] = self.administrator
        if self.request is not None:
            value["request"] = self.request
        return value


@dataclass(frozen=True)
class Erasure:
    """A completed erasure: its tombstone's key and what the tombstone holds."""

    id: str
    erased: str
    requested_by: RequestedBy
    counts: ErasureCounts

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "erased": self.erased,
            "requested_by": self.requested_by.to_json(),
            "counts": self.counts.to_json(),
        }


@dataclass(frozen=True)
class ErasurePreview:
    """What erasing a person would delete, to show before asking for confirmation."""

    person: PersonRecord
    identities: tuple[str, ...]
    statements: int
    # Of those, how many other people's records also witness, and how many records.
    shared_statements: int
    other_records: int
    record_entries: int


@dataclass(frozen=True)
class RetentionReport:
    """What a retention run deleted, or would delete (`dry_run`)."""

    before: str
    dry_run: bool
    counts: RetentionCounts
    links: int = 0  # expired one-time links (mentoring confirmations, 360° reviews)

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "dry_run": self.dry_run,
            "counts": {**self.counts.to_json(), "links": self.links},
        }


# ------------------------------------------------------------------------------ erasure


def check_confirmation(person: PersonRecord, confirm: str) -> None:
    """An owner confirms an erasure by typing their login e-mail; raises InvalidInput
    (path `confirm`) unless `confirm` is it (letter case and spaces aside)."""
    if confirm.strip().lower() != person.email:
        raise InvalidInput(
            "to erase your portfolio, confirm with your login e-mail; erasure cannot be"
            " undone, so export your portfolio first if you want to keep it",
            path="confirm",
            rule="must be your login e-mail",
        )


def preview_erasure(store: Store, person_id: str) -> ErasurePreview:
    """What erasing the person would delete now. Raises NotFound."""
    person = _person(store, person_id)
    identities = _identities(store, person)
    scope = store.erasure.scope(person.id, identities)
    head = store.records.head(person.id)
    shared = set().union(*scope.witnesses.values()) if scope.witnesses else set()
    return ErasurePreview(
        person=person,
        identities=tuple(link.identity for link in store.people.identities(person.id)),
        statements=len(scope.statements),
        shared_statements=len(shared),
        other_records=len(scope.witnesses),
        record_entries=0 if head is None else head.seq,
    )


def erase_person(
    store: Store, instance_key: SigningKey, person_id: str, *, requested_by: RequestedBy
) -> Erasure:
    """Erase the person's portfolio and everything about them (module docstring), all or
    nothing, leaving one tombstone; return it.

    Raises NotFound for a person who is not here (never was, or erased already),
    InvalidInput when the administrator's name or reference names the person (the
    tombstone would keep it), Conflict when the portfolio keeps changing meanwhile.
    """
    person = _person(store, person_id)
    identities = _identities(store, person)
    _check_no_personal_data(requested_by, person, identities)
    erasure_id = uuid.uuid4().hex
    for _attempt in range(_ATTEMPTS):
        erased = utc_now_iso()
        scope = store.erasure.scope(person.id, identities)
        witnessed = {other: set(ids) for other, ids in scope.witnesses.items()}
        copies = _other_portfolios(store, person, scope, witnessed)
        others = [
            _statements_erased(store, instance_key, other, frozenset(statements))
            for other, statements in sorted(witnessed.items())
        ]
        try:
            counts = store.erasure.erase(
                scope,
                others=others,
                changes=_shared_docs(store, person, scope) + copies,
                tombstone=_tombstone(erasure_id, erased, requested_by),
                sources=_sources_asking_about(store, scope.identities),
            )
        except (ErasureScopeChanged, RecordHeadMoved):
            continue  # nothing was written: plan again on what is stored now
        return Erasure(id=erasure_id, erased=erased, requested_by=requested_by, counts=counts)
    raise Conflict(f"the portfolio of {person.email} kept changing during its erasure; try again")


def _sources_asking_about(store: Store, identities: frozenset[str]) -> list[SourceAgentsChange]:
    """Administrators' sources with an agent that names the person (an IFI of theirs, or
    a Group with them as a member): the agent JSON is theirs, and the stream's
    checkpoint says when they were last asked about. Owners' sources ask for their
    owner's identities of the day, and the person's own go whole."""
    found = []
    for source in store.sources.list():
        if source.owner is not None:
            continue
        keep = tuple(
            agent
            for agent in source.agents
            if not set(agent_keys(orjson.loads(agent))) & identities
        )
        if keep != source.agents:
            found.append(SourceAgentsChange(source.name, source.agents, keep))
    return found


def _person(store: Store, person_id: str) -> PersonRecord:
    person = store.people.get(person_id)
    if person is None:
        raise NotFound(f"no portfolio {person_id}")
    return person


def _identities(store: Store, person: PersonRecord) -> list[str]:
    """The agent keys that name the person: their linked identities, their login mailbox,
    and the mbox_sha1sum form of each mailbox (Data 2.4.2.3: the same Agent, hashed),
    but none that is another person's identity here."""
    keys = {link.identity for link in store.people.identities(person.id)}
    login = ifi_key({"mbox": f"mailto:{person.email}"})
    if login is not None:
        keys.add(login)
    for key in list(keys):
        if key.startswith(_MAILTO):
            digest = hashlib.sha1(key.removeprefix("mbox:").encode()).hexdigest()
            keys.add(f"mbox_sha1sum:{digest}")
    owners = store.people.owners(sorted(keys))
    return sorted(key for key in keys if owners.get(key, person.id) == person.id)


def _mailboxes(identities: Iterable[str], person: PersonRecord) -> set[str]:
    found = {key.removeprefix(_MAILTO).lower() for key in identities if key.startswith(_MAILTO)}
    return found | {person.email}


def _check_no_personal_data(
    requested_by: RequestedBy, person: PersonRecord, identities: Iterable[str]
) -> None:
    """The tombstone keeps the administrator's name and the request's reference: refuse
    them when they name the person erased (their e-mail, name, id or an identity)."""
    needles = {person.email, person.id, *identities, *_mailboxes(identities, person)}
    if len(person.name.strip()) >= 3:
        needles.add(person.name.strip())
    for path in ("administrator", "request"):
        value = str(getattr(requested_by, path) or "").lower()
        if any(needle.lower() in value for needle in needles):
            raise InvalidInput(
                f"the {path} names the person erased; the erasure's record keeps no"
                " personal data, so give a reference that does not (a ticket number)",
                path=path,
                rule=_NO_PERSONAL_DATA,
            )


def _statements_erased(
    store: Store, instance_key: SigningKey, person_id: str, statements: frozenset[str]
) -> RecordChange:
    """The "statement-erased" entries of another person's record, built on its head, and
    their evidence losing the statements: items, coverage and goal progress as a voided
    statement leaves them, and the evidence document itself (it quotes the statement)."""
    ledger = Ledger(store, person_id)
    drafts = []
    for statement in sorted(statements):
        evidence = ledger.get(EVIDENCE, statement)
        if evidence is not None:
            # The total counts live evidence only: a voided statement left it already.
            ledger.remove_evidence(evidence)
        drafts.append(
            Draft("statement-erased", {"statement": statement}, instance_key, Role.INSTANCE)
        )
    entries = build(person_id, drafts, head=store.records.head(person_id))
    return RecordChange(person_id=person_id, entries=entries, changes=ledger.changes())


def _session_names(session: dict[str, Any], person_id: str, mailboxes: set[str]) -> bool:
    """Whether a mentoring session names the person: logged by them, or with them as a
    party, by portfolio or by mailbox."""
    parties = (session.get("mentee") or {}, session.get("mentor") or {})
    return session.get("logged_by") == person_id or any(
        party.get("person") == person_id or str(party.get("email", "")).lower() in mailboxes
        for party in parties
    )


def _shared_docs(store: Store, person: PersonRecord, scope: ErasureScope) -> list[DocChange]:
    """Instance-wide documents that name the person, and other people's pointers to them:
    mentoring sessions the person logged or was a party to (by portfolio or by mailbox)
    with their confirmation links, and the 360° review links of the person's analyses."""
    mailboxes = _mailboxes(scope.identities, person)
    changes: list[DocChange] = []
    sessions: set[str] = set()
    for doc in store.portfolio.list_docs(INSTANCE_DOCS, mentoring.SESSIONS):
        session = orjson.loads(doc.body)
        if not _session_names(session, person.id, mailboxes):
            continue
        sessions.add(doc.key)
        changes.append(DeleteDoc(INSTANCE_DOCS, mentoring.SESSIONS, doc.key))
        parties = (session.get("mentee") or {}, session.get("mentor") or {})
        pointers = {session.get("logged_by"), *(party.get("person") for party in parties)}
        for other in sorted(str(p) for p in pointers if p and p != person.id):
            changes.append(DeleteDoc(other, mentoring.MINE, doc.key))
    for doc in store.portfolio.list_docs(INSTANCE_DOCS, mentoring.LINKS):
        if orjson.loads(doc.body).get("id") in sessions:
            changes.append(DeleteDoc(INSTANCE_DOCS, mentoring.LINKS, doc.key))
    for doc in store.portfolio.list_docs(INSTANCE_DOCS, reviews.LINKS):
        if orjson.loads(doc.body).get("person") == person.id:
            changes.append(DeleteDoc(INSTANCE_DOCS, reviews.LINKS, doc.key))
    return changes


def _other_portfolios(
    store: Store, person: PersonRecord, scope: ErasureScope, witnessed: dict[str, set[str]]
) -> list[DocChange]:
    """What other portfolios brought with them from other instances that names the
    person: their archived copies of statements (portfolio.bundle keeps the statements a
    moved portfolio witnessed apart from the LRS, so no agents index finds them) and the
    mentoring sessions their pointers carry. Returns the deletions, attachment copies
    only those statements used included, and adds each deleted statement to `witnessed`
    (its owner's record witnessed it, so it says "statement-erased").

    Reads every other portfolio's archive, a page at a time: an erasure is rare, and
    these copies have no index."""
    mailboxes = _mailboxes(scope.identities, person)
    changes: list[DocChange] = []
    for other in store.people.list():
        if other.id == person.id:
            continue
        erased: set[str] = set()
        erased_hashes: set[str] = set()
        kept_hashes: set[str] = set()
        for doc in _collection(store, other.id, ARCHIVED_STATEMENTS):
            statement = orjson.loads(doc.body)
            hashes = {
                str(a["sha2"]).lower()
                for a in statement.get("attachments") or ()
                if isinstance(a, dict) and "sha2" in a
            }
            if doc.key in scope.statements or _names(statement, scope.identities):
                erased.add(doc.key)
                erased_hashes |= hashes
                changes.append(DeleteDoc(other.id, ARCHIVED_STATEMENTS, doc.key))
            else:
                kept_hashes |= hashes
        for sha2 in sorted(erased_hashes - kept_hashes):
            changes.append(DeleteDoc(other.id, ARCHIVED_ATTACHMENTS, sha2))
        if erased:
            witnessed.setdefault(other.id, set()).update(erased)
        for doc in store.portfolio.list_docs(other.id, mentoring.MINE):
            carried = orjson.loads(doc.body)
            if carried and _session_names(carried, person.id, mailboxes):
                changes.append(DeleteDoc(other.id, mentoring.MINE, doc.key))
    return changes


def _collection(store: Store, person_id: str, collection: str) -> Iterator[PortfolioDoc]:
    """Every document of one of the person's collections, a page at a time."""
    after = (collection, "")
    while True:
        page = store.portfolio.docs_of(person_id, after=after, limit=_PAGE)
        for doc in page:
            if doc.collection != collection:
                return
            yield doc
        if len(page) < _PAGE:
            return
        after = (page[-1].collection, page[-1].key)


def _names(statement: dict[str, Any], identities: frozenset[str]) -> bool:
    """Whether a statement names one of the identities where the agents index looks."""
    try:
        index = extract_index(statement)
    except (KeyError, TypeError, AttributeError):
        return False  # not a statement this instance could have witnessed
    return bool(index.agents_related & identities)


def _tombstone(
    erasure_id: str, erased: str, requested_by: RequestedBy
) -> Callable[[ErasureCounts], PortfolioDoc]:
    """The tombstone, once the store knows the counts: when, who asked, how much went.
    Never the person's id, name, e-mail, identities or statement ids."""

    def make(counts: ErasureCounts) -> PortfolioDoc:
        body = {
            "erased": erased,
            "requested_by": requested_by.to_json(),
            "counts": counts.to_json(),
        }
        data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        return PortfolioDoc(INSTANCE_DOCS, ERASURES, erasure_id, data, erased)

    return make


# ---------------------------------------------------------------------------- retention


def apply_retention(store: Store, *, before: datetime, dry_run: bool) -> RetentionReport:
    """Delete what the instance keeps only for a time (module docstring): statements
    stored before `before` (an aware datetime) that no record witnesses and the
    attachment data only they used, expired sessions and codes, and expired one-time
    links. `dry_run` counts and deletes nothing. Never deletes a portfolio."""
    if before.tzinfo is None:
        raise InvalidInput("the retention date needs a time zone", path="before", rule="aware")
    cutoff = format_us(datetime_to_us(before))
    now = now_us()
    counts = store.erasure.retention(before=cutoff, now=format_us(now), dry_run=dry_run)
    expired = _expired_links(store, now)
    if expired and not dry_run:
        store.portfolio.apply(INSTANCE_DOCS, [], expired)
    return RetentionReport(before=cutoff, dry_run=dry_run, counts=counts, links=len(expired))


def _expired_links(store: Store, now: int) -> list[DocChange]:
    """The one-time links past their time: a mentoring confirmation link whose session's
    link has expired (or whose session is gone), a 360° review link past its date."""
    expired: list[DocChange] = []
    for doc in store.portfolio.list_docs(INSTANCE_DOCS, mentoring.LINKS):
        session = store.portfolio.get_doc(
            INSTANCE_DOCS, mentoring.SESSIONS, str(orjson.loads(doc.body).get("id"))
        )
        if session is None or parse_stored(orjson.loads(session.body)["expires"]) <= now:
            expired.append(DeleteDoc(INSTANCE_DOCS, mentoring.LINKS, doc.key))
    for doc in store.portfolio.list_docs(INSTANCE_DOCS, reviews.LINKS):
        if parse_stored(orjson.loads(doc.body)["expires"]) <= now:
            expired.append(DeleteDoc(INSTANCE_DOCS, reviews.LINKS, doc.key))
    return expired
