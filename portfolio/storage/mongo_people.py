"""People, identities, sessions and signed records in the MongoDB store.

A change to a person and the record entries that say so are one transaction. Two writers
appending to one record race for the same `(person_id, seq)`, which a unique index holds:
the loser gets a duplicate key and the domain builds its entries again (RecordHeadMoved).
A statement is witnessed once per record: a partial unique index on `witness`
("<person_id>|<statement_id>", present only on witness entries).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from bson import Binary
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from portfolio.errors import Conflict, NotFound
from portfolio.record.entry import SignedEntry
from portfolio.storage.base import (
    Challenge,
    IdentityLink,
    InstanceKeyRecord,
    PersonRecord,
    RecordHeadMoved,
    SessionRecord,
)
from portfolio.storage.mongo_connection import Document, unavailable_on_driver_errors
from portfolio.storage.mongo_schema import (
    CHALLENGES,
    IDENTITIES,
    INSTANCE_KEYS,
    PEOPLE,
    RECORD_ENTRIES,
    SESSIONS,
)

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore

T = TypeVar("T")


def _transaction(store: MongoStore, what: str, work: Callable[[ClientSession | None], T]) -> T:
    """Run `work` in one transaction (without one under `unsafe_without_transactions`)."""
    with unavailable_on_driver_errors(what):
        if store.unsafe_without_transactions:
            return work(None)
        store.require_transactions()
        with store.client().start_session() as session:
            return session.with_transaction(
                work,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
            )


def _check_follows(
    store: MongoStore,
    person_id: str,
    entries: Sequence[SignedEntry],
    session: ClientSession | None,
) -> None:
    """Raise RecordHeadMoved unless the entries follow the record's head. Checked before
    anything is written, so a refused change writes nothing even without a transaction;
    in a transaction, a concurrent append conflicts and is retried or refused."""
    last = store.collection(RECORD_ENTRIES).find_one(
        {"person_id": person_id}, sort=[("seq", DESCENDING)], projection={"seq": 1}, session=session
    )
    head = 0 if last is None else int(last["seq"])
    for offset, entry in enumerate(entries):
        if entry.person != person_id or entry.seq != head + 1 + offset:
            raise RecordHeadMoved(person_id)


def _append(
    store: MongoStore,
    person_id: str,
    entries: Sequence[SignedEntry],
    session: ClientSession | None,
) -> None:
    if not entries:
        return
    # A record belongs to a stored person: witnessing under way when they were erased
    # must not write their entries back.
    if store.collection(PEOPLE).find_one({"_id": person_id}, {"_id": 1}, session=session) is None:
        raise NotFound(f"no portfolio {person_id} (erased?)")
    _check_follows(store, person_id, entries, session)
    docs = []
    for e in entries:
        doc: Document = {
            "person_id": e.person,
            "seq": e.seq,
            "canonical": Binary(e.canonical),
            "hash": e.hash,
            "signature": e.signature,
        }
        if e.statement_id is not None:  # absent, never null: the partial index skips it
            doc["statement_id"] = e.statement_id
            doc["witness"] = _witness_key(e.person, e.statement_id)
        docs.append(doc)
    try:
        store.collection(RECORD_ENTRIES).insert_many(docs, ordered=True, session=session)
    except (BulkWriteError, DuplicateKeyError) as exc:
        details = str(exc.details or {})
        if "E11000" not in details and "11000" not in details:
            raise
        if "witness" in details:
            raise Conflict(
                f"a statement is already witnessed in the record of {person_id}"
            ) from exc
        raise RecordHeadMoved(person_id) from exc


def _witness_key(person_id: str, statement_id: str) -> str:
    """One field for the unique index of witnessed statements: a partial unique index on
    one field is what every MongoDB (and mongomock) enforces alike."""
    return f"{person_id}|{statement_id}"


def _entry(doc: Document) -> SignedEntry:
    statement = doc.get("statement_id")
    return SignedEntry(
        person=str(doc["person_id"]),
        seq=int(doc["seq"]),
        canonical=bytes(doc["canonical"]),
        hash=str(doc["hash"]),
        signature=str(doc["signature"]),
        statement_id=None if statement is None else str(statement),
    )


def _person(doc: Document) -> PersonRecord:
    return PersonRecord(
        id=str(doc["_id"]),
        name=str(doc["name"]),
        email=str(doc["email"]),
        created=str(doc["created"]),
        sealed_key=str(doc["sealed_key"]),
    )


def _session(doc: Document) -> SessionRecord:
    return SessionRecord(
        id=str(doc["_id"]),
        secret_hash=str(doc["secret_hash"]),
        person_id=str(doc["person_id"]),
        kind=str(doc["kind"]),
        name=str(doc["name"]),
        created=str(doc["created"]),
        expires=None if doc.get("expires") is None else str(doc["expires"]),
        sealed_key=str(doc["sealed_key"]),
    )


def person_document(person: PersonRecord) -> Document:
    return {
        "_id": person.id,
        "name": person.name,
        "email": person.email,
        "created": person.created,
        "sealed_key": person.sealed_key,
    }


def _link_doc(link: IdentityLink) -> Document:
    return {
        "_id": link.identity,
        "person_id": link.person_id,
        "linked": link.linked,
        "proof": link.proof,
    }


class MongoPersonStore:
    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def create(
        self, person: PersonRecord, *, identity: IdentityLink, entries: Sequence[SignedEntry]
    ) -> None:
        store = self._store

        def work(session: ClientSession | None) -> None:
            people = store.collection(PEOPLE)
            if people.find_one({"email": person.email}, session=session):
                raise Conflict(f"a person with the email {person.email} exists already")
            if store.collection(IDENTITIES).find_one({"_id": identity.identity}, session=session):
                raise Conflict(f"the identity {identity.identity} is linked to a portfolio already")
            people.insert_one(person_document(person), session=session)
            store.collection(IDENTITIES).insert_one(_link_doc(identity), session=session)
            _append(store, person.id, entries, session)

        try:
            _transaction(store, "create person", work)
        except DuplicateKeyError as exc:  # a concurrent create won the race
            raise Conflict("that email or identity was just taken") from exc

    def get(self, person_id: str) -> PersonRecord | None:
        with unavailable_on_driver_errors("get person"):
            doc = self._store.collection(PEOPLE).find_one({"_id": person_id})
        return None if doc is None else _person(doc)

    def by_email(self, email: str) -> PersonRecord | None:
        with unavailable_on_driver_errors("get person"):
            doc = self._store.collection(PEOPLE).find_one({"email": email})
        return None if doc is None else _person(doc)

    def identities(self, person_id: str) -> list[IdentityLink]:
        with unavailable_on_driver_errors("list identities"):
            docs = list(
                self._store.collection(IDENTITIES)
                .find({"person_id": person_id})
                .sort([("linked", ASCENDING), ("_id", ASCENDING)])
            )
        return [
            IdentityLink(
                identity=str(d["_id"]),
                person_id=str(d["person_id"]),
                linked=str(d["linked"]),
                proof=str(d["proof"]),
            )
            for d in docs
        ]

    def owners(self, identities: Sequence[str]) -> dict[str, str]:
        if not identities:
            return {}
        with unavailable_on_driver_errors("find owners"):
            docs = self._store.collection(IDENTITIES).find(
                {"_id": {"$in": list(identities)}}, projection={"person_id": 1}
            )
            return {str(d["_id"]): str(d["person_id"]) for d in docs}

    def link(self, link: IdentityLink, *, entries: Sequence[SignedEntry]) -> None:
        store = self._store

        def work(session: ClientSession | None) -> None:
            _check_follows(store, link.person_id, entries, session)
            store.collection(IDENTITIES).insert_one(_link_doc(link), session=session)
            _append(store, link.person_id, entries, session)

        try:
            _transaction(store, "link identity", work)
        except DuplicateKeyError as exc:
            raise Conflict(
                f"the identity {link.identity} is linked to a portfolio already"
            ) from exc

    def set_sealed_key(
        self, person_id: str, sealed_key: str, *, entries: Sequence[SignedEntry]
    ) -> None:
        store = self._store

        def work(session: ClientSession | None) -> None:
            _check_follows(store, person_id, entries, session)
            store.collection(PEOPLE).update_one(
                {"_id": person_id}, {"$set": {"sealed_key": sealed_key}}, session=session
            )
            store.collection(SESSIONS).delete_many({"person_id": person_id}, session=session)
            _append(store, person_id, entries, session)

        _transaction(store, "replace key", work)

    def add_challenge(self, challenge: Challenge) -> None:
        with unavailable_on_driver_errors("add challenge"):
            self._store.collection(CHALLENGES).insert_one(
                {
                    "_id": challenge.id,
                    "person_id": challenge.person_id,
                    "identity": challenge.identity,
                    "code_hash": challenge.code_hash,
                    "created": challenge.created,
                    "expires": challenge.expires,
                    "attempts": challenge.attempts,
                }
            )

    def get_challenge(self, challenge_id: str) -> Challenge | None:
        with unavailable_on_driver_errors("get challenge"):
            d = self._store.collection(CHALLENGES).find_one({"_id": challenge_id})
        if d is None:
            return None
        return Challenge(
            id=str(d["_id"]),
            person_id=str(d["person_id"]),
            identity=str(d["identity"]),
            code_hash=str(d["code_hash"]),
            created=str(d["created"]),
            expires=str(d["expires"]),
            attempts=int(d["attempts"]),
        )

    def count_attempt(self, challenge_id: str) -> int:
        with unavailable_on_driver_errors("count attempt"):
            d = self._store.collection(CHALLENGES).find_one_and_update(
                {"_id": challenge_id},
                {"$inc": {"attempts": 1}},
                return_document=ReturnDocument.AFTER,
            )
        return 0 if d is None else int(d["attempts"])

    def delete_challenge(self, challenge_id: str) -> bool:
        with unavailable_on_driver_errors("delete challenge"):
            result = self._store.collection(CHALLENGES).delete_one({"_id": challenge_id})
        return result.deleted_count == 1

    def add_session(self, session: SessionRecord) -> None:
        with unavailable_on_driver_errors("add session"):
            self._store.collection(SESSIONS).insert_one(
                {
                    "_id": session.id,
                    "secret_hash": session.secret_hash,
                    "person_id": session.person_id,
                    "kind": session.kind,
                    "name": session.name,
                    "created": session.created,
                    "expires": session.expires,
                    "sealed_key": session.sealed_key,
                }
            )

    def get_session(self, session_id: str) -> SessionRecord | None:
        with unavailable_on_driver_errors("get session"):
            d = self._store.collection(SESSIONS).find_one({"_id": session_id})
        return None if d is None else _session(d)

    def sessions(self, person_id: str) -> list[SessionRecord]:
        with unavailable_on_driver_errors("list sessions"):
            docs = list(
                self._store.collection(SESSIONS)
                .find({"person_id": person_id})
                .sort([("created", 1), ("_id", 1)])
            )
        return [_session(d) for d in docs]

    def delete_session(self, session_id: str) -> bool:
        with unavailable_on_driver_errors("delete session"):
            result = self._store.collection(SESSIONS).delete_one({"_id": session_id})
        return result.deleted_count == 1

    def list(self) -> list[PersonRecord]:
        with unavailable_on_driver_errors("list people"):
            docs = self._store.collection(PEOPLE).find().sort([("created", 1), ("_id", 1)])
            return [_person(doc) for doc in docs]


class MongoRecordStore:
    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def append(self, person_id: str, entries: Sequence[SignedEntry]) -> None:
        store = self._store
        _transaction(store, "append", lambda s: _append(store, person_id, entries, s))

    def head(self, person_id: str) -> SignedEntry | None:
        with unavailable_on_driver_errors("record head"):
            doc = self._store.collection(RECORD_ENTRIES).find_one(
                {"person_id": person_id}, sort=[("seq", DESCENDING)]
            )
        return None if doc is None else _entry(doc)

    def entries(
        self, person_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[SignedEntry]:
        with unavailable_on_driver_errors("record entries"):
            cursor = (
                self._store.collection(RECORD_ENTRIES)
                .find({"person_id": person_id, "seq": {"$gt": after}})
                .sort("seq", ASCENDING)
            )
            if limit is not None:
                cursor = cursor.limit(limit)
            return [_entry(doc) for doc in cursor]

    def witnessed(self, person_id: str, statement_ids: Sequence[str]) -> set[str]:
        if not statement_ids:
            return set()
        with unavailable_on_driver_errors("witnessed"):
            docs = self._store.collection(RECORD_ENTRIES).find(
                {"witness": {"$in": [_witness_key(person_id, s) for s in statement_ids]}},
                projection={"statement_id": 1},
            )
            return {str(d["statement_id"]) for d in docs}

    def witnesses(self, statement_id: str) -> list[str]:
        with unavailable_on_driver_errors("witnesses"):
            docs = self._store.collection(RECORD_ENTRIES).find(
                {"statement_id": statement_id}, projection={"person_id": 1}
            )
            return sorted(str(d["person_id"]) for d in docs)

    def instance_keys(self) -> list[InstanceKeyRecord]:
        with unavailable_on_driver_errors("instance keys"):
            docs = list(
                self._store.collection(INSTANCE_KEYS).find().sort([("created", 1), ("_id", 1)])
            )
        return [
            InstanceKeyRecord(
                id=str(d["_id"]),
                public=str(d["public"]),
                sealed=str(d["sealed"]),
                created=str(d["created"]),
            )
            for d in docs
        ]

    def add_instance_key(self, key: InstanceKeyRecord) -> None:
        try:
            with unavailable_on_driver_errors("add instance key"):
                self._store.collection(INSTANCE_KEYS).insert_one(
                    {
                        "_id": key.id,
                        "public": key.public,
                        "sealed": key.sealed,
                        "created": key.created,
                    }
                )
        except DuplicateKeyError as exc:
            raise Conflict(f"the instance key {key.id} exists already") from exc
