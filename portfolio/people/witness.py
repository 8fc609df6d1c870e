"""Witnessing: the instance signs into a person's record each statement about them.

A statement is about a person when its actor or object (or a member of a Group there) is
one of their linked identities (the LRS's `agents_direct` index). Witnessing also maps
the statement to framework items by the instance's mapping rules (portfolio.evidence):
the witness entry lists the items, and coverage and goal progress move with it. A
voided statement leaves the evidence of everyone who had it ("statement-voided").

The witness entry holds the statement's id, its `stored` time and the SHA-256 of its JSON
exactly as the LRS keeps it, so a statement can later be checked against the record,
offline.

Witnessing runs after the statements are stored, when they are stored, and again over
all of an identity's statements when the identity is linked: "whenever they arrived".
Both are idempotent (a statement is witnessed once per record), so if the first is lost
(a crash between storing and witnessing) the second, or a later run, repairs it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import orjson

from portfolio.errors import Conflict
from portfolio.evidence.ledger import EVIDENCE, Ledger
from portfolio.evidence.rules import apply_rules, list_rules
from portfolio.record.chain import Draft, apply_with_retry
from portfolio.record.entry import Role
from portfolio.record.keys import SigningKey
from portfolio.storage.base import (
    DocChange,
    NewStatement,
    StatementFilter,
    StatementQuery,
    StatementRecord,
    Store,
)

log = logging.getLogger(__name__)
_PAGE = 500


def witness_new_statements(
    store: Store,
    instance_key: SigningKey,
    statements: Sequence[NewStatement],
    *,
    only: Collection[str] | None = None,
) -> int:
    """Witness freshly stored statements in the records of the people they are about,
    and take voided statements out of the evidence of the people who had them; return how
    many statements were witnessed. With `only` (identity keys), witness them for those
    identities alone: statements whose word is one person's (an owner's source) go in that
    person's record, not in the records of others they name."""
    identities = {
        key for s in statements for key in s.index.agents_direct if only is None or key in only
    }
    owners = store.people.owners(sorted(identities)) if identities else {}
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
    for statement in statements:
        if statement.index.voids is not None:
            void_evidence(store, instance_key, statement.index.voids, voided_by=statement.id)
    return appended


def witness_identity(store: Store, instance_key: SigningKey, person_id: str, identity: str) -> int:
    """Witness every stored statement about `identity` not yet in the person's record
    (voided ones are left out, as in any query); return how many entries were appended."""
    appended = 0
    query = StatementQuery(filter=StatementFilter(agent=identity), ascending=True, limit=_PAGE)
    while True:
        page = store.statements.query(query)
        found = [(record, identity) for record in page.statements]
        appended += _witness(store, instance_key, person_id, found)
        if page.more is None:
            return appended
        query = StatementQuery(filter=query.filter, ascending=True, limit=_PAGE, after=page.more)


def void_evidence(
    store: Store, instance_key: SigningKey, statement_id: str, *, voided_by: str
) -> None:
    """A witnessed statement was voided: it stops counting as evidence anywhere, and each
    record that witnessed it says so in an instance-signed "statement-voided" entry."""
    for person_id in store.records.witnesses(statement_id):

        def plan(person_id: str = person_id) -> tuple[list[Draft], list[DocChange]]:
            ledger = Ledger(store, person_id)
            evidence = ledger.get(EVIDENCE, statement_id)
            if evidence is None or not ledger.void_evidence(evidence):
                return [], []
            body = {"statement": statement_id, "voided_by": voided_by}
            draft = Draft("statement-voided", body, instance_key, Role.INSTANCE)
            return [draft], ledger.changes()

        apply_with_retry(store, person_id, plan)


def _witness(
    store: Store,
    instance_key: SigningKey,
    person_id: str,
    statements: Iterable[tuple[StatementRecord, str]],
) -> int:
    todo = list(statements)
    if not todo:
        return 0
    rules = list_rules(store)
    witnessed = 0

    def plan() -> tuple[list[Draft], list[DocChange]]:
        nonlocal witnessed
        done = store.records.witnessed(person_id, [record.id for record, _ in todo])
        ledger = Ledger(store, person_id)
        drafts = []
        for record, identity in todo:
            if record.id in done:
                continue
            statement = orjson.loads(record.body)
            evidence = _evidence(record, statement, identity)
            ledger.new_evidence(evidence)
            found = {} if record.voided else apply_rules(rules, statement, identity)
            for item, mapped in sorted(found.items()):
                link = {"source": "rule", "rules": mapped["rules"], "hours": mapped["hours"]}
                ledger.attach(evidence, item, link)
            body: dict[str, object] = {
                "statement": record.id,
                "sha256": hashlib.sha256(record.to_json()).hexdigest(),
                "stored": record.stored,
                "identity": identity,
            }
            if found:
                body["evidence"] = [
                    {"item": item, "rules": m["rules"], "hours": m["hours"]}
                    for item, m in sorted(found.items())
                ]
            drafts.append(Draft("statement-witnessed", body, instance_key, Role.INSTANCE))
        witnessed = len(drafts)
        return drafts, ledger.changes()

    for _attempt in range(3):
        try:
            apply_with_retry(store, person_id, plan)
            return witnessed
        except Conflict:
            # Another writer witnessed some of these meanwhile: look again.
            continue
    raise Conflict(f"could not witness statements in the record of {person_id}; try again")


def _evidence(record: StatementRecord, statement: dict[str, Any], identity: str) -> dict[str, Any]:
    obj = statement.get("object") or {}
    name_map = (obj.get("definition") or {}).get("name") or {}
    name = next(iter(name_map.values()), "") if isinstance(name_map, dict) else ""
    for language in ("en-GB", "en", "en-US"):
        if language in name_map:
            name = name_map[language]
            break
    return {
        "statement": record.id,
        "stored": record.stored,
        "when": statement.get("timestamp") or record.stored,
        "identity": identity,
        "verb": (statement.get("verb") or {}).get("id"),
        "activity": obj.get("id") if obj.get("objectType", "Activity") == "Activity" else None,
        "name": name,
        "voided": record.voided,
        "items": {},
        "unlinked": {},
    }
