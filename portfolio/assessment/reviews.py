"""360° review by one-time link: the owner invites a reviewer, who rates the analysis's
items without an account.

Inviting is an owner-signed "reviewer-invited" entry naming the reviewer, their mailbox
and relationship, never the link. The link carries a random token; only its SHA-256 is
kept, in an instance-wide document ("analysis-review-link", keyed by the hash) so the
reviewer's request finds the analysis it belongs to. The link works once, for 14 days,
while the analysis is open. Inviting the same mailbox again before they have rated sends
a fresh link and retires the old one (a lost message, an expired link).

The reviewer's ratings are a "reviewer-rated" entry in the owner's record, signed by the
instance on the reviewer's behalf: `on_behalf_of` names the reviewer and how they were
identified ("one-time link sent to mailto:..."). Writing it spends the link in the same
transaction, so of two submissions racing with one link exactly one is taken.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from portfolio.assessment.analysis import (
    REVIEWERS,
    check_ratings,
    document,
    framework_of,
    load_analysis,
    require_open,
    reviewer_docs,
)
from portfolio.assessment.scale import scale_json
from portfolio.clock import format_us, now_us, parse_stored
from portfolio.errors import Conflict, InvalidInput, NotFound
from portfolio.mentoring import is_own_address
from portfolio.people.accounts import Owner, normalise_email
from portfolio.people.outbox import Message, Outbox
from portfolio.record.chain import Draft, apply_with_retry
from portfolio.record.entry import Role
from portfolio.record.keys import SigningKey
from portfolio.storage.base import INSTANCE_DOCS, DeleteDoc, DocChange, Store

__all__ = [
    "LINKS",
    "LINK_TTL",
    "MAX_REVIEWERS",
    "ReviewLink",
    "invite",
    "open_link",
    "review_form",
    "status",
    "submit",
]

LINKS = "analysis-review-link"
LINK_TTL = timedelta(days=14)
MAX_REVIEWERS = 30
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _not_someone_else(message: str) -> InvalidInput:
    return InvalidInput(message, path="email", rule="must be someone else's address")


def status(reviewer: Mapping[str, Any], *, now: int | None = None) -> str:
    """The reviewer's status: rated, expired (the link was not used in time) or invited."""
    if reviewer["rated"] is not None:
        return "rated"
    if parse_stored(reviewer["expires"]) <= (now_us() if now is None else now):
        return "expired"
    return "invited"


def invite(
    store: Store,
    owner: Owner,
    analysis_id: str,
    reviewer: Mapping[str, Any],
    *,
    outbox: Outbox,
    instance_url: str,
) -> str:
    """Invite a reviewer (loaded by schemas.assessment.ReviewerInviteSchema) to rate the
    analysis, and send them the link; returns the reviewer's id.

    Raises NotFound (not the owner's analysis), Conflict (closed; this mailbox rated
    already; MAX_REVIEWERS invited), InvalidInput (the owner's login address or a mailbox
    linked to their portfolio, path "email"), StorageUnavailable when the message cannot
    be sent (the invitation stands: inviting again sends a fresh link).
    """
    person_id = owner.person.id
    email = normalise_email(reviewer["email"])
    if is_own_address(store, person_id, email):
        raise _not_someone_else("a 360° reviewer is someone else: this is your own address")
    token = secrets.token_urlsafe(32)
    token_hash = _token_hash(token)
    invited = now_us()
    expires = format_us(invited + int(LINK_TTL.total_seconds() * 1_000_000))
    chosen: dict[str, Any] = {}

    def plan() -> tuple[list[Draft], list[DocChange]]:
        analysis = load_analysis(store, person_id, analysis_id)
        require_open(analysis)
        others = reviewer_docs(store, person_id, analysis_id)
        before = next((r for r in others if r["email"] == email), None)
        if before is not None and before["rated"] is not None:
            raise Conflict(f"{email} has reviewed this analysis already")
        if before is None and len(others) >= MAX_REVIEWERS:
            raise Conflict(f"this analysis has {MAX_REVIEWERS} reviewers, the most it can have")
        reviewer_id = before["id"] if before is not None else uuid.uuid4().hex
        doc = {
            "id": reviewer_id,
            "analysis": analysis_id,
            "name": reviewer["name"],
            "email": email,
            "relationship": reviewer["relationship"],
            "first_invited": before["first_invited"] if before else format_us(invited),
            "invited": format_us(invited),
            "expires": expires,
            "rated": None,
            "ratings": [],
            "link": token_hash,
        }
        link = {
            "person": person_id,
            "analysis": analysis_id,
            "reviewer": reviewer_id,
            "expires": expires,
            "spent": None,
        }
        changes: list[DocChange] = [
            document(person_id, REVIEWERS, f"{analysis_id}/{reviewer_id}", doc),
            document(INSTANCE_DOCS, LINKS, token_hash, link),
        ]
        if before is not None:
            changes.append(DeleteDoc(INSTANCE_DOCS, LINKS, before["link"]))
        body = {
            "analysis": analysis_id,
            "reviewer": reviewer_id,
            "name": reviewer["name"],
            "email": f"mailto:{email}",
            "relationship": reviewer["relationship"],
        }
        chosen.update(id=reviewer_id, framework=analysis["framework"]["title"])
        return [Draft("reviewer-invited", body, owner.key, Role.OWNER)], changes

    apply_with_retry(store, person_id, plan)
    outbox.send(
        Message(
            to=email,
            subject=f"{owner.person.name} asks for your 360° review",
            body=(
                f"Dear {reviewer['name']},\n\n"
                f"{owner.person.name} is analysing their professional development against"
                f" {chosen['framework']} and asks you, as their {reviewer['relationship']},"
                " to rate them on each of its items (1-4; leave out any you cannot judge).\n"
                "You need no account. Your ratings are kept in their portfolio, signed by"
                " this service on your behalf with this address.\n\n"
                f"The link works once, until {expires[:10]}:\n"
                f"{instance_url.rstrip('/')}/review/{token}\n"
            ),
        )
    )
    return str(chosen["id"])


@dataclass(frozen=True)
class ReviewLink:
    """A live link: whose analysis, which reviewer, and the link document's key."""

    person_id: str
    analysis: dict[str, Any]
    reviewer: dict[str, Any]
    link_key: str


def open_link(store: Store, token: str) -> ReviewLink:
    """What a link leads to. Raises NotFound (no such link, or retired by a fresh one)
    and Conflict (spent, expired, or the analysis is closed)."""
    doc = None
    if _TOKEN.match(token):
        doc = store.portfolio.get_doc(INSTANCE_DOCS, LINKS, _token_hash(token))
    if doc is None:
        raise NotFound("this review link is not valid (a newer link may have replaced it)")
    link = orjson.loads(doc.body)
    if link["spent"] is not None:
        raise Conflict(f"this review link was used already: the ratings came on {link['spent']}")
    if parse_stored(link["expires"]) <= now_us():
        raise Conflict("this review link has expired: ask for a new one")
    analysis = load_analysis(store, link["person"], link["analysis"])
    require_open(analysis)
    reviewer = store.portfolio.get_doc(
        link["person"], REVIEWERS, f"{link['analysis']}/{link['reviewer']}"
    )
    if reviewer is None:  # pragma: no cover - written with the link, never deleted
        raise NotFound("this review link is not valid")
    return ReviewLink(link["person"], analysis, orjson.loads(reviewer.body), doc.key)


def review_form(store: Store, token: str) -> dict[str, Any]:
    """What the reviewer is asked: whom they review, the scale and the items to rate
    (not the owner's own ratings, which would anchor theirs). Raises as `submit`."""
    found = open_link(store, token)
    framework = framework_of(store, found.analysis)
    owner = store.people.get(found.person_id)
    return {
        "owner": owner.name if owner is not None else "",
        "reviewer": found.reviewer["name"],
        "relationship": found.reviewer["relationship"],
        "framework": found.analysis["framework"],
        "scale": scale_json(),
        "items": [
            {"item": i.uri, "code": i.code, "statement": i.statement, "parent": i.parent}
            for i in framework.items
            if not i.children
        ],
        "expires": found.reviewer["expires"],
    }


def submit(
    store: Store,
    token: str,
    ratings: Sequence[Mapping[str, Any]],
    *,
    instance_key: SigningKey,
) -> dict[str, Any]:
    """Take a reviewer's ratings (loaded by schemas.assessment.ReviewSubmitSchema) and
    spend the link; returns {received, rated}.

    Raises NotFound (no such link), Conflict (spent, expired, analysis closed) and
    InvalidInput (an item the analysis does not rate, path "ratings[i].item"; the
    reviewer's mailbox linked to the owner's portfolio since the invitation, path "email").
    """
    found = open_link(store, token)
    if is_own_address(store, found.person_id, found.reviewer["email"]):
        raise _not_someone_else(
            "this review link went to a mailbox that is now the analysed owner's own:"
            " a 360° reviewer is someone else"
        )
    checked = check_ratings(store, framework_of(store, found.analysis), ratings, path="ratings")
    rated = format_us(now_us())

    def plan() -> tuple[list[Draft], list[DocChange]]:
        current = open_link(store, token)  # again: a racing submission may have spent it
        reviewer = {**current.reviewer, "rated": rated, "ratings": checked}
        link = {
            "person": current.person_id,
            "analysis": current.analysis["id"],
            "reviewer": reviewer["id"],
            "expires": reviewer["expires"],
            "spent": rated,
        }
        body = {
            "analysis": current.analysis["id"],
            "reviewer": reviewer["id"],
            "relationship": reviewer["relationship"],
            "ratings": checked,
        }
        behalf = {
            "name": reviewer["name"],
            "identified_by": f"one-time link sent to mailto:{reviewer['email']}",
        }
        key = f"{current.analysis['id']}/{reviewer['id']}"
        return [Draft("reviewer-rated", body, instance_key, Role.INSTANCE, behalf)], [
            document(current.person_id, REVIEWERS, key, reviewer),
            document(INSTANCE_DOCS, LINKS, current.link_key, link),
        ]

    apply_with_retry(store, found.person_id, plan)
    return {"received": len(checked), "rated": rated}
