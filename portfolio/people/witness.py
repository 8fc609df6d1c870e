"""Witnessing: the instance signs into a person's record each statement about them.

A statement is about a person when its actor or object (or a member of a Group there) is
one of their linked identities (the LRS's `agents_direct` index). The witness entry holds
the statement's id, its `stored` time and the SHA-256 of its JSON exactly as the LRS
keeps it, so a statement can later be checked against the record, offline.

Witnessing runs after the statements are stored, when they are stored, and again over
all of an identity's statements when the identity is linked: "whenever they arrived".
Both are idempotent (a statement is witnessed once per record), so if the first is lost
(a crash between storing and witnessing) the second, or a later run, repairs it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence

from portfolio.errors import Conflict
from portfolio.record.chain import Draft, append_with_retry
from portfolio.record.entry import Role
from portfolio.record.keys import SigningKey
from portfolio.storage.base import (
    NewStatement,
    StatementFilter,
    StatementQuery,
    StatementRecord,
    Store,
)

log = logging.getLogger(__name__)
_PAGE = 500


def witness_new_statements(
    store: Store, instance_key: SigningKey, statements: Sequence[NewStatement]
) -> int:
    """Witness freshly stored statements in the records of the people they are about;
    return how many entries were appended."""
    identities = {key for s in statements for key in s.index.agents_direct}
    owners = store.people.owners(sorted(identities)) if identities else {}
    if not owners:
        return 0
    by_person: dict[str, dict[str, str]] = defaultdict(dict)  # person → statement → identity
    for statement in statements:
        for key in sorted(statement.index.agents_direct):
            if key in owners:
                by_person[owners[key]].setdefault(statement.id, key)
    appended = 0
    for person_id, about in by_person.items():
        records = store.statements.get_many(list(about))
        appended += _witness(
            store, instance_key, person_id, [(records[i], about[i]) for i in about if i in records]
        )
    return appended


def witness_identity(store: Store, instance_key: SigningKey, person_id: str, identity: str) -> int:
    """Witness every stored statement about `identity` not yet in the person's record
    (voided ones are left out, as in any query); return how many entries were appended."""
    appended = 0
    query = StatementQuery(filter=StatementFilter(agent=identity), ascending=True, limit=_PAGE)
    while True:
        page = store.statements.query(query)
        appended += _witness(
            store, instance_key, person_id, [(r, identity) for r in page.statements]
        )
        if page.more is None:
            return appended
        query = StatementQuery(filter=query.filter, ascending=True, limit=_PAGE, after=page.more)


def _witness(
    store: Store,
    instance_key: SigningKey,
    person_id: str,
    statements: Iterable[tuple[StatementRecord, str]],
) -> int:
    todo = list(statements)
    for _attempt in range(3):
        if not todo:
            return 0
        done = store.records.witnessed(person_id, [record.id for record, _ in todo])
        drafts = [
            Draft(
                "statement-witnessed",
                {
                    "statement": record.id,
                    "sha256": hashlib.sha256(record.to_json()).hexdigest(),
                    "stored": record.stored,
                    "identity": identity,
                },
                instance_key,
                Role.INSTANCE,
            )
            for record, identity in todo
            if record.id not in done
        ]
        if not drafts:
            return 0
        try:
            append_with_retry(store.records, person_id, drafts)
            return len(drafts)
        except Conflict:
            # Another writer witnessed some of these meanwhile: look again.
            continue
    raise Conflict(f"could not witness statements in the record of {person_id}; try again")
