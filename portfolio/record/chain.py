"""Appending to a person's record, and the instance key that witnesses what it observes.

Entries are built against the record's current head and signed; if another writer
appends first, the store refuses them (RecordHeadMoved) and they are built again on the
new head. A record therefore never forks, however many workers write to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from portfolio.clock import utc_now_iso
from portfolio.errors import Conflict
from portfolio.record.entry import Entry, Role, SignedEntry, Signer, sign
from portfolio.record.keys import PublicKey, SealedKey, SigningKey, open_sealed, seal_with_secret
from portfolio.record.verify import ChainSummary, verify_record
from portfolio.storage.base import (
    DocChange,
    InstanceKeyRecord,
    RecordHeadMoved,
    RecordStore,
    Store,
)

_APPEND_ATTEMPTS = 5
_PAGE = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class Draft:
    """An entry to be: what it says and who signs it."""

    kind: str
    body: Mapping[str, Any]
    key: SigningKey
    role: Role
    on_behalf_of: Mapping[str, str] | None = None


def build(
    person_id: str, drafts: Sequence[Draft], *, head: SignedEntry | None
) -> list[SignedEntry]:
    """Sign the drafts as the entries following `head` (None: the record's first)."""
    entries: list[SignedEntry] = []
    prev = None if head is None else head.hash
    seq = 0 if head is None else head.seq
    at = utc_now_iso()
    for draft in drafts:
        seq += 1
        entry = Entry(
            person=person_id,
            seq=seq,
            kind=draft.kind,
            at=at,
            body=draft.body,
            prev=prev,
            signer=Signer(
                role=draft.role, key=draft.key.public.id, on_behalf_of=draft.on_behalf_of
            ),
        )
        signed = sign(entry, draft.key)
        entries.append(signed)
        prev = signed.hash
    return entries


def _on_current_head(
    records: RecordStore, person_id: str, attempt: Callable[[SignedEntry | None], T]
) -> T:
    """Run `attempt` with the record's current head, again while another writer moves the
    head first (RecordHeadMoved). Raises Conflict after repeated races."""
    for _attempt in range(_APPEND_ATTEMPTS):
        try:
            return attempt(records.head(person_id))
        except RecordHeadMoved:
            continue
    raise Conflict(f"the record of {person_id} is changing too fast; try again")


def append_with_retry(
    records: RecordStore,
    person_id: str,
    drafts: Sequence[Draft],
    write: Callable[[list[SignedEntry]], T] | None = None,
) -> T | None:
    """Build the drafts on the current head and write them: with `write` (which stores a
    change together with the entries, e.g. PersonStore.link) or a plain append. Builds
    again when another writer appended first. Raises Conflict after repeated races."""

    def attempt(head: SignedEntry | None) -> T | None:
        entries = build(person_id, drafts, head=head)
        if write is not None:
            return write(entries)
        records.append(person_id, entries)
        return None

    return _on_current_head(records, person_id, attempt)


def apply_with_retry(
    store: Store,
    person_id: str,
    plan: Callable[[], tuple[Sequence[Draft], Sequence[DocChange]]],
) -> list[SignedEntry]:
    """Change a portfolio: `plan` reads what it needs and returns the entries to sign and
    the document changes; both are written together on the current head. If another
    writer changed the portfolio meanwhile (the head moved), `plan` runs again on the new
    state. Returns the entries appended. Raises Conflict after repeated races."""

    def attempt(head: SignedEntry | None) -> list[SignedEntry]:
        drafts, changes = plan()
        entries = build(person_id, drafts, head=head)
        store.portfolio.apply(person_id, entries, changes)
        return entries

    return _on_current_head(store.records, person_id, attempt)


def iter_entries(records: RecordStore, person_id: str) -> Iterator[SignedEntry]:
    """Every entry of a record in order, read a page at a time."""
    after = 0
    while True:
        page = records.entries(person_id, after=after, limit=_PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].seq


#: Other instances' keys that signed entries of a record before it moved here (one
#: portfolio document each, written by portfolio.bundle.importer).
FOREIGN_INSTANCE_KEYS = "instance-key"


def verify_stored_record(
    records: RecordStore, person_id: str, *, also_trusted: Mapping[str, PublicKey] | None = None
) -> ChainSummary:
    """Verify a record in the store against every key this instance has had (and the
    keys `also_trusted`). Raises RecordVerificationFailed naming the first failing entry."""
    trusted = {key.id: PublicKey(id=key.id, public=key.public) for key in records.instance_keys()}
    trusted.update(also_trusted or {})
    return verify_record(person_id, iter_entries(records, person_id), instance_keys=trusted)


def verify_portfolio_record(store: Store, person_id: str) -> ChainSummary:
    """Verify a person's record here, trusting this instance's keys and the keys of the
    instances it was kept at before it moved here (which came with it, in its bundle)."""
    foreign = {}
    for doc in store.portfolio.list_docs(person_id, FOREIGN_INSTANCE_KEYS):
        value = json.loads(doc.body)
        foreign[doc.key] = PublicKey(id=value["id"], public=value["public"])
    return verify_stored_record(store.records, person_id, also_trusted=foreign)


# ------------------------------------------------------------------------ instance key


def instance_key(records: RecordStore, secret: bytes) -> SigningKey:
    """This instance's signing key, opened with the instance secret; made on first use.

    When the secret has changed (the newest key cannot be opened), a new key is made: the
    old public keys stay in the store, so what they signed still verifies.
    """
    for attempt in range(2):
        keys = records.instance_keys()
        if keys:
            try:
                return open_sealed(SealedKey.from_json(json.loads(keys[-1].sealed)), secret=secret)
            except Exception:
                if attempt:
                    raise
        key = SigningKey.generate()
        sealed = seal_with_secret(key, secret)
        try:
            records.add_instance_key(
                InstanceKeyRecord(
                    id=key.public.id,
                    public=key.public.public,
                    sealed=json.dumps(sealed.to_json()),
                    created=utc_now_iso(),
                )
            )
            return key
        except Conflict:
            continue
    raise Conflict("could not make or open the instance key")


def published_instance_keys(records: RecordStore, instance_url: str) -> dict[str, object]:
    """The document an instance publishes so that verifiers can pin its keys (every key
    it has had: what older keys signed still verifies)."""
    return {
        "instance": instance_url,
        "keys": [
            {"id": key.id, "public": key.public, "created": key.created}
            for key in records.instance_keys()
        ],
    }
