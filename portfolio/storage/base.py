"""The storage port: what the domain asks of a store, and the small values it gets back.

Adapters (`sqlite.py`, `mongo.py`) implement these Protocols and return the frozen
dataclasses below, never driver cursors or rows. `open_store` in `__init__.py` picks the
adapter from the database URL; nothing else in the domain names an adapter.

Ordering and time. Every statement gets a `stored` time from the store, assigned while the
store holds its write lock and strictly increasing across writers and within a batch (a
statement stored later never sorts before one already visible). That is what makes keyset
cursors correct while statements keep arriving, and `consistent_through()` truthful.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Protocol

import orjson

from portfolio.errors import PreconditionFailed
from portfolio.record.entry import SignedEntry
from portfolio.storage.exchange import OutboxStore, SourceAgentsChange, SourceStore

# --------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class StatementIndex:
    """The fields a statement is queried by, extracted once at ingest.

    Agent and activity keys come in two scopes (Communication 2.1.3): `direct` holds what
    the plain `agent`/`activity` filters match (actor or object; object activity), and
    `related` holds everything the `related_agents`/`related_activities` forms match, the
    direct ones included.
    """

    verb: str
    agents_direct: frozenset[str] = frozenset()
    agents_related: frozenset[str] = frozenset()
    activities_direct: frozenset[str] = frozenset()
    activities_related: frozenset[str] = frozenset()
    registration: str | None = None
    # The id of the statement this one voids, when it is a voiding statement.
    voids: str | None = None
    # The id of the statement this one targets by StatementRef (not voiding).
    ref_target: str | None = None


@dataclass(frozen=True)
class NewStatement:
    """A validated, normalised statement ready to store.

    `body` is the statement's JSON as accepted (id, authority, version and timestamp set,
    `stored` not yet known); the store keeps these exact bytes.
    """

    id: str
    body: bytes
    index: StatementIndex
    # The key of the client whose credentials sent it (statements/read/mine).
    authority_client: str
    # Data 2.4.7: a statement sent without a timestamp gets its `stored` time as one.
    timestamp_from_stored: bool = False
    # What the LRS established about the statement's JWS (portfolio.lrs.signatures), if
    # it was signed: kept so the portfolio can show who vouched for it.
    signature: Mapping[str, object] | None = None
    # Activity definitions this statement may define (its client holds `define`), in
    # order: (activity id, definition), merged into the canonical ones.
    definitions: tuple[tuple[str, Mapping[str, object]], ...] = ()
    # The destinations to forward it to (portfolio.storage.exchange): the insert queues
    # it in their outboxes in the same transaction.
    forward_to: tuple[str, ...] = ()
    # For a voiding statement: whether its sender may void statements other clients sent
    # (Data 2.3.2.s2.b4). The store keeps it, because a target that arrives after its
    # voiding statement is voided only if that sender could have voided it: otherwise
    # any client could void another's statement by sending the voiding statement first.
    may_void_others: bool = False

    def final_body(self, stored: str) -> bytes:
        """The body to keep, once the store has chosen `stored`."""
        if not self.timestamp_from_stored:
            return self.body
        return self.body[:-1] + b',"timestamp":"' + stored.encode() + b'"}'


@dataclass(frozen=True)
class StatementRecord:
    """A stored statement: its accepted JSON, the `stored` time, and whether it is voided."""

    id: str
    stored: str
    body: bytes
    voided: bool
    voids: str | None = None
    authority_client: str | None = None
    signature: Mapping[str, object] | None = None

    def to_json(self) -> bytes:
        """The full statement JSON: the accepted body with `stored` added.

        The body is a JSON object written by the domain, so `stored` can be spliced in
        before the closing brace without parsing.
        """
        return self.body[:-1] + b',"stored":"' + self.stored.encode() + b'"}'


@dataclass(frozen=True)
class AttachmentData:
    """The bytes of an attachment, kept once per hash whatever number of statements use it."""

    sha2: str  # lower-case hex SHA-2 as declared in the Attachment object
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the (stored, id) of its last statement."""

    stored: str
    id: str


@dataclass(frozen=True)
class StatementFilter:
    """The matching conditions of a query; all given conditions must hold.

    `agent` is an agent key (see portfolio.lrs.agents.agent_key). `authority_client`
    restricts results to statements sent by that client (statements/read/mine); unlike the
    other conditions it applies to the returned statement itself, never to its target.
    """

    agent: str | None = None
    related_agents: bool = False
    verb: str | None = None
    activity: str | None = None
    related_activities: bool = False
    registration: str | None = None
    authority_client: str | None = None


@dataclass(frozen=True)
class StatementQuery:
    filter: StatementFilter = field(default_factory=StatementFilter)
    # Bounds on `stored`, as stored-format strings: since is exclusive, until inclusive.
    since: str | None = None
    until: str | None = None
    limit: int = 100
    ascending: bool = False
    after: Cursor | None = None


@dataclass(frozen=True)
class StatementPage:
    statements: tuple[StatementRecord, ...]
    # Present when more statements match after the last one on this page.
    more: Cursor | None


class DuplicateStatementIds(Exception):
    """Raised by `insert` when some ids already exist; nothing was written."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(f"statement ids already stored: {', '.join(ids)}")
        self.ids = tuple(ids)


class StatementStore(Protocol):
    def insert(
        self, statements: Sequence[NewStatement], *, attachments: Sequence[AttachmentData] = ()
    ) -> str:
        """Store all the statements and attachment data atomically; return the `stored`
        time of the last statement.

        The statements of one call get consecutive `stored` times (one microsecond apart)
        in the order given, so a batch reads back in the order it was sent. Attachment
        data is kept once per sha2, however many statements use it. Each statement's
        `definitions` are merged (portfolio.jsonmerge) into the canonical definitions of
        those Activities, in statement order.

        Applies voiding: a statement whose index names `voids` marks that target voided
        (now, or when the target arrives later) when it may void it: the target was sent
        by the same client (`authority_client`), or the voiding statement's sender may
        void others (`may_void_others`); otherwise both are kept and the target stays
        unvoided (Data 2.3.2.s2.b4). Queues each statement in the outbox of
        every destination in its `forward_to`. Raises DuplicateStatementIds, writing
        nothing, when any id is already stored.
        """
        ...

    def get_attachments(self, sha2s: Sequence[str]) -> dict[str, AttachmentData]:
        """The stored attachment data among these hashes, keyed by sha2."""
        ...

    def get_definitions(self, activity_ids: Sequence[str]) -> dict[str, dict[str, object]]:
        """The canonical definitions the store has among these Activity ids."""
        ...

    def get(self, statement_id: str) -> StatementRecord | None:
        """The statement with this id, voided or not; None when unknown."""
        ...

    def get_many(self, statement_ids: Sequence[str]) -> dict[str, StatementRecord]:
        """The known statements among these ids, keyed by id."""
        ...

    def query(self, query: StatementQuery) -> StatementPage:
        """Non-voided statements matching the query, ordered by (stored, id).

        A statement also matches when the statement it targets by StatementRef matches
        the filter, recursively (Communication 2.1.3, "Filter Conditions for
        StatementRefs"); `since`, `until`, the cursor and `authority_client` apply to the
        returned statement itself.
        """
        ...

    def consistent_through(self) -> str:
        """A time at or before which every statement is visible to queries."""
        ...

    def count(self) -> int:
        """How many statements are stored, voided ones included."""
        ...


# ---------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class ClientRecord:
    """A registered LRS client. Only a hash of its secret is ever stored."""

    key: str
    name: str
    scopes: tuple[str, ...]
    secret_hash: str
    created: str
    revoked: str | None = None


class ClientStore(Protocol):
    def add(self, client: ClientRecord) -> None:
        """Store a new client; raises portfolio.errors.Conflict if the key exists."""
        ...

    def get(self, key: str) -> ClientRecord | None: ...

    def list(self) -> list[ClientRecord]:
        """Every client, revoked ones included, oldest first."""
        ...

    def revoke(self, key: str, *, at: str) -> bool:
        """Mark a client revoked; False when there is no live client with that key."""
        ...


# ------------------------------------------------------------------ people and records
# Portfolio owners, the identities (xAPI IFIs) proven to be theirs, their sessions, and
# each one's signed record (portfolio.record). A change to a person and the record entry
# that says so are written in one transaction: the record never misses a change, and a
# change never happens without its entry.


@dataclass(frozen=True)
class PersonRecord:
    """A portfolio owner. `sealed_key` is their Ed25519 private key sealed under their
    password (JSON of portfolio.record.keys.SealedKey): the store never holds it open."""

    id: str
    name: str
    email: str  # the login, lower case
    created: str
    sealed_key: str


@dataclass(frozen=True)
class IdentityLink:
    """An identity (an agent key, portfolio.lrs.agents.ifi_key) proven to be a person's."""

    identity: str
    person_id: str
    linked: str
    proof: str


@dataclass(frozen=True)
class Challenge:
    """A one-time code sent to an identity's mailbox to prove it is the person's.
    Only a hash of the code is kept."""

    id: str
    person_id: str
    identity: str
    code_hash: str
    created: str
    expires: str
    attempts: int = 0


@dataclass(frozen=True)
class SessionRecord:
    """A login session or a personal access token of an owner.

    The token given to the owner is `<id>.<secret>`; only a hash of the secret is kept,
    and the owner's private key is sealed under the secret (`sealed_key`), so it can be
    opened only while the token's holder presents it.
    """

    id: str
    secret_hash: str
    person_id: str
    kind: str  # "session" | "token"
    name: str
    created: str
    expires: str | None
    sealed_key: str


@dataclass(frozen=True)
class InstanceKeyRecord:
    """A key of this instance: what it signs with. `sealed` is sealed under a key derived
    from the instance secret; older keys stay, to verify what they signed."""

    id: str
    public: str
    sealed: str
    created: str


class RecordHeadMoved(PreconditionFailed):
    """Raised by an append when the record's head is not the one the entries follow:
    another writer appended first. Nothing was written; build the entries again."""

    def __init__(self, person_id: str) -> None:
        super().__init__(f"the record of {person_id} changed meanwhile")
        self.person_id = person_id


class PersonStore(Protocol):
    def create(
        self, person: PersonRecord, *, identity: IdentityLink, entries: Sequence[SignedEntry]
    ) -> None:
        """Store a new person, their first identity and the first entries of their record,
        all or nothing. Raises portfolio.errors.Conflict when the email or the identity
        is taken."""
        ...

    def get(self, person_id: str) -> PersonRecord | None: ...

    def by_email(self, email: str) -> PersonRecord | None: ...

    def identities(self, person_id: str) -> list[IdentityLink]:
        """The person's identities, in the order they were linked."""
        ...

    def owners(self, identities: Sequence[str]) -> dict[str, str]:
        """The person id of each linked identity among these."""
        ...

    def link(self, link: IdentityLink, *, entries: Sequence[SignedEntry]) -> None:
        """Link an identity and append the entries that record it, all or nothing.
        Raises Conflict when the identity is linked already; RecordHeadMoved."""
        ...

    def set_sealed_key(
        self, person_id: str, sealed_key: str, *, entries: Sequence[SignedEntry]
    ) -> None:
        """Replace the sealed key, end every session and token of the person, and append
        the entries that record it, all or nothing. Raises RecordHeadMoved."""
        ...

    def add_challenge(self, challenge: Challenge) -> None: ...

    def get_challenge(self, challenge_id: str) -> Challenge | None: ...

    def count_attempt(self, challenge_id: str) -> int:
        """Count one more failed attempt; return the attempts so far."""
        ...

    def delete_challenge(self, challenge_id: str) -> bool:
        """Delete the challenge; True if it was there (so a code is spent only once)."""
        ...

    def add_session(self, session: SessionRecord) -> None: ...

    def get_session(self, session_id: str) -> SessionRecord | None: ...

    def sessions(self, person_id: str) -> list[SessionRecord]: ...

    def delete_session(self, session_id: str) -> bool: ...

    def list(self) -> list[PersonRecord]:
        """Every person, oldest first."""
        ...


class RecordStore(Protocol):
    def append(self, person_id: str, entries: Sequence[SignedEntry]) -> None:
        """Append the entries, which must follow the current head (the first one's seq is
        one more than the head's). Raises RecordHeadMoved, writing nothing, when it is not
        so; Conflict when a statement is witnessed twice."""
        ...

    def head(self, person_id: str) -> SignedEntry | None:
        """The last entry of the record; None before the first."""
        ...

    def entries(
        self, person_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[SignedEntry]:
        """The entries with seq > `after`, in order, at most `limit` of them."""
        ...

    def witnessed(self, person_id: str, statement_ids: Sequence[str]) -> set[str]:
        """Which of these statements the person's record already witnesses."""
        ...

    def witnesses(self, statement_id: str) -> list[str]:
        """The people whose records witness this statement."""
        ...

    def instance_keys(self) -> list[InstanceKeyRecord]:
        """Every key this instance has had, oldest first."""
        ...

    def add_instance_key(self, key: InstanceKeyRecord) -> None: ...


# ---------------------------------------------------------------- portfolio documents
# What a portfolio holds besides its record, kept as small JSON documents per person and
# collection ("goal", "reflection", "evidence", "coverage", "assessment"...): the
# projections of the record that pages and the API read. Each change is applied
# together with the record entries that say so (PortfolioStore.apply), and the record's
# head orders the writers: whoever read a stale portfolio builds entries on a stale head
# and is refused, so read-modify-write of these documents is safe without locks.
# Instance-wide documents (mapping rules, reviewer invitations found by token) use the
# person id "" (INSTANCE_DOCS).

INSTANCE_DOCS = ""


@dataclass(frozen=True)
class PortfolioDoc:
    person_id: str
    collection: str
    key: str
    body: bytes  # JSON
    updated: str


@dataclass(frozen=True)
class DeleteDoc:
    person_id: str
    collection: str
    key: str


DocChange = PortfolioDoc | DeleteDoc


@dataclass(frozen=True)
class Arrival:
    """A portfolio arriving from a bundle, as PortfolioStore.arrive takes it in."""

    person: PersonRecord
    new: bool  # create the person; else they are here already (a move back)
    end_sessions: bool  # their key changed while away: sessions sealed the old one
    identities: Sequence[IdentityLink]  # identities to link (not linked here yet)
    after_seq: int  # the record's head here (0: no record yet)
    # Each called for a fresh stream (from the bundle): a store may run its transaction
    # again after a transient failure, and must then read them again.
    entries: Callable[[], Iterable[SignedEntry]]
    docs: Callable[[], Iterable[PortfolioDoc]]


class PortfolioStore(Protocol):
    def apply(
        self, person_id: str, entries: Sequence[SignedEntry], changes: Sequence[DocChange]
    ) -> None:
        """Append the entries to the person's record (they must follow its head) and make
        the changes, all or nothing. A PortfolioDoc replaces the document at its key.
        Raises RecordHeadMoved, writing nothing, when the entries do not follow the head;
        Conflict when an entry witnesses a statement already witnessed."""
        ...

    def get_doc(self, person_id: str, collection: str, key: str) -> PortfolioDoc | None: ...

    def list_docs(
        self, person_id: str, collection: str, *, prefix: str = "", limit: int | None = None
    ) -> list[PortfolioDoc]:
        """The person's documents of a collection whose keys start with `prefix`, by key."""
        ...

    def count_docs(self, person_id: str, collection: str, *, prefix: str = "") -> int: ...

    def docs_of(
        self, person_id: str, *, after: tuple[str, str] | None = None, limit: int = 500
    ) -> list[PortfolioDoc]:
        """All of a person's documents, every collection, ordered by (collection, key),
        those after `after` (a (collection, key) pair), at most `limit`."""
        ...

    def arrive(self, arrival: Arrival) -> None:
        """Take in a portfolio from a bundle, all or nothing (portfolio.bundle.importer).

        Creates the person (or, when they are here already, replaces their sealed key
        and, if `end_sessions`, ends their sessions), links the identities, appends the
        entries after seq `after_seq`, and replaces every document of the person with
        `docs`. The streams are read inside the transaction; if one raises, nothing is
        written. Raises Conflict when the email or an identity belongs to someone else,
        RecordHeadMoved when the record's head is not at `after_seq`.
        """
        ...


# ------------------------------------------------------------------------------ store


class Store(Protocol):
    """One store: its parts, and the operations on the whole."""

    @property
    def statements(self) -> StatementStore: ...

    @property
    def clients(self) -> ClientStore: ...

    @property
    def documents(self) -> DocumentStore: ...

    @property
    def frameworks(self) -> FrameworkStore: ...

    @property
    def people(self) -> PersonStore: ...

    @property
    def records(self) -> RecordStore: ...

    @property
    def portfolio(self) -> PortfolioStore: ...

    @property
    def erasure(self) -> ErasureStore: ...

    @property
    def sources(self) -> SourceStore: ...

    @property
    def outbox(self) -> OutboxStore: ...

    def migrate(self) -> list[str]:
        """Create or upgrade the schema; return the names of the migrations applied."""
        ...

    def schema_version(self) -> int:
        """The highest migration applied; 0 for an uninitialised store."""
        ...

    def ping(self) -> None:
        """Raise portfolio.errors.StorageUnavailable if the store cannot be used."""
        ...

    def streaming(self) -> AbstractContextManager[Store]:
        """The store for one long pass over much of it (an export): reads that do not
        hold on to memory in proportion to what was read."""
        ...

    def close(self) -> None: ...


# -------------------------------------------------------------------------- documents
# The State, Activity Profile and Agent Profile resources (Communication 2.2-2.7).


class DocumentKind(StrEnum):
    STATE = "state"
    ACTIVITY_PROFILE = "activity_profile"
    AGENT_PROFILE = "agent_profile"


@dataclass(frozen=True)
class DocumentKey:
    """Where one document lives.

    State documents have an activity, an agent and an optional registration; Activity
    Profile documents only an activity; Agent Profile documents only an agent. What a kind
    does not have is None. `agent` is an agent key (portfolio.lrs.agents.ifi_key);
    `registration` None is its own place (the document stored without a registration).
    """

    kind: DocumentKind
    document_id: str
    activity_id: str | None = None
    agent: str | None = None
    registration: str | None = None


@dataclass(frozen=True)
class DocumentScope:
    """The documents a list or a delete-all covers: one kind, one activity and/or agent.

    `registration` narrows State documents to that registration; None means every
    registration, the documents stored without one included (Communication 2.3.s4-s5:
    "Activity + Agent [+ registration if specified]").
    """

    kind: DocumentKind
    activity_id: str | None = None
    agent: str | None = None
    registration: str | None = None


@dataclass(frozen=True)
class Document:
    """A stored document: its exact bytes and Content-Type as sent, its ETag and update time.

    `etag` is the lower-case hex SHA-1 of `content`, unquoted (Communication 3.1.s4.b2);
    `updated` is a stored-format time (portfolio.clock).
    """

    key: DocumentKey
    content: bytes
    content_type: str
    etag: str
    updated: str


@dataclass(frozen=True)
class DocumentEntry:
    """One document in a list: its id and update time."""

    document_id: str
    updated: str


class Expect(Enum):
    """What a compare-and-set write expects to find, besides a particular ETag."""

    ABSENT = "absent"  # no document at the key
    ANY = "any"  # whatever is there, or nothing


class DocumentChanged(PreconditionFailed):
    """Raised by a document write when the stored document is not the one expected.

    Nothing was written. The domain reads again and decides afresh (412, 409, or retry).
    """

    def __init__(self, key: DocumentKey) -> None:
        super().__init__(f"the {key.kind.value} document {key.document_id!r} has changed")
        self.key = key


class DocumentStore(Protocol):
    """Documents with atomic compare-and-set writes: of two racing writers expecting the
    same stored state, exactly one wins and the other gets DocumentChanged."""

    def get(self, key: DocumentKey) -> Document | None:
        """The document at this key; None when there is none."""
        ...

    def put(self, document: Document, *, expected: str | Expect) -> None:
        """Store the document at its key, replacing what is there.

        `expected` is the ETag the stored document must have, Expect.ABSENT (there must be
        none) or Expect.ANY. Raises DocumentChanged, writing nothing, when it does not hold.
        """
        ...

    def delete(self, key: DocumentKey, *, expected: str | Expect) -> bool:
        """Delete the document at this key; True when there was one.

        `expected` is the ETag the stored document must have, or Expect.ANY. Raises
        DocumentChanged, deleting nothing, when the document is absent or has another ETag;
        ValueError for Expect.ABSENT.
        """
        ...

    def list(self, scope: DocumentScope, *, since: str | None = None) -> list[DocumentEntry]:
        """The documents in the scope, updated after `since` (exclusive) when given.

        Ordered by document id. With `registration` None a State id stored under several
        registrations appears once per registration.
        """
        ...

    def delete_all(self, scope: DocumentScope) -> int:
        """Delete every document in the scope; return how many there were."""
        ...


# ------------------------------------------------------------------------- frameworks
# Competency frameworks (portfolio.standards): one CASE package per (uri, version), kept
# as the canonical JSON bytes the domain made. A stored version is never changed: a new
# version is stored beside it.


def version_order(version: str) -> tuple[tuple[int, int | str], ...]:
    """The order of a framework's versions: dotted parts compared as numbers where they are
    numbers ("1.10" after "1.9"), as text otherwise, a number before text."""
    return tuple(
        (0, int(part)) if part.isascii() and part.isdigit() else (1, part)
        for part in version.split(".")
    )


@dataclass(frozen=True)
class FrameworkSummary:
    """One stored version of a framework, without its package."""

    uri: str
    version: str
    title: str
    item_count: int
    imported: str


@dataclass(frozen=True)
class FrameworkRecord:
    """One stored version of a framework: its canonical package and what it is found by.

    `digest` is the hex SHA-256 of `package`; `item_uris` the uris of its items.
    """

    uri: str
    version: str
    title: str
    package: bytes
    digest: str
    item_uris: tuple[str, ...]
    imported: str

    @property
    def summary(self) -> FrameworkSummary:
        return FrameworkSummary(
            uri=self.uri,
            version=self.version,
            title=self.title,
            item_count=len(self.item_uris),
            imported=self.imported,
        )


class FrameworkStore(Protocol):
    """Framework versions, each written once and never changed.

    Versions of one uri are ordered by `version_order`, ties (such as "1.0" and "1.00") by
    import time; the latest is the last in that order.
    """

    def add(self, record: FrameworkRecord) -> None:
        """Store a new version atomically (the package and its item index together).

        Raises portfolio.errors.Conflict, writing nothing, when (uri, version) is stored.
        """
        ...

    def get(self, uri: str, version: str | None = None) -> FrameworkRecord | None:
        """That version of the framework, or its latest when `version` is None; None when
        there is no such framework or version."""
        ...

    def versions(self, uri: str) -> list[FrameworkSummary]:
        """The stored versions of one framework in version order; [] when unknown."""
        ...

    def containing(self, item_uri: str) -> list[FrameworkSummary]:
        """The stored versions that have an item with this uri, ordered as `list`."""
        ...

    def list(self) -> list[FrameworkSummary]:
        """Every stored version of every framework, by uri, then in version order."""
        ...


# ============================================================================ erasure
# Erasing a portfolio (GDPR Article 17: the owner's own request, or an administrator's on
# a verified request) and applying an instance's retention period. These deletions cross
# every part of the store, so they have a port of their own: each adapter names, in one
# place, every table or collection that can hold a person's data, and deletes it all in
# one transaction. Voiding is not erasure: a voided statement stays stored (Data 2.3.2).

# Instance-wide documents (person INSTANCE_DOCS): one per erasure, holding no personal
# data (when, who asked, how much went), so that an erasure is accountable afterwards.
ERASURES = "erasure"


class VoidingOnArrival:
    """Which statements of a batch are voided as they are stored (Data 2.3.2): a voiding
    statement voids a target only when the same client sent both, or its sender may void
    others, so a client cannot void another's statement by sending the voiding statement
    before it. Adapters feed it the voiding statements they hold for the batch's ids
    (`stored`), and it applies the batch's own."""

    def __init__(self, statements: Sequence[NewStatement]) -> None:
        # A voiding statement itself is never voided (the domain refuses such a request).
        self.sender = {s.id: s.authority_client for s in statements if s.index.voids is None}
        self.voided: set[str] = set()
        for s in statements:
            if s.index.voids is not None:
                self.stored(s.index.voids, s.authority_client, voids_others=s.may_void_others)

    def stored(self, target: str, client: str | None, *, voids_others: bool) -> None:
        """A voiding statement of `client` names `target`."""
        if target in self.sender and (voids_others or client == self.sender[target]):
            self.voided.add(target)


def attachment_hashes(body: bytes) -> frozenset[str]:
    """The lower-case sha2 of every attachment a statement's JSON declares.

    Attachment data is kept once per hash for every statement that declares it, so an
    adapter deletes the data only once no remaining statement declares its hash.
    """
    if b'"attachments"' not in body:
        return frozenset()
    statement = orjson.loads(body)
    return frozenset(
        str(attachment["sha2"]).lower()
        for attachment in statement.get("attachments") or ()
        if isinstance(attachment, dict) and "sha2" in attachment
    )


@dataclass(frozen=True)
class ErasureScope:
    """What erasing one person covers, as the store finds it.

    `identities` are the agent keys that name the person (their linked identities and
    the other keys of the same mailboxes). `statements` are the stored statements to
    delete: those the person's record witnesses, those naming one of the identities
    anywhere the agents index looks (actor, object, authority, context, Group members,
    SubStatement: both `direct` and `related`), and the voiding statements that target
    any of them. `witnesses` maps every other person whose record witnesses some of these
    statements to those statements: their records say "statement-erased".
    """

    person_id: str
    identities: frozenset[str]
    statements: frozenset[str]
    witnesses: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class RecordChange:
    """Entries to append to another person's record, and the document changes that go
    with them (their evidence losing an erased statement), written with the erasure."""

    person_id: str
    entries: Sequence[SignedEntry]
    changes: Sequence[DocChange]


@dataclass(frozen=True)
class ErasureCounts:
    """How much one erasure deleted: what its tombstone keeps (numbers, never names)."""

    statements: int = 0
    attachments: int = 0
    # xAPI State and Agent Profile documents whose agent is one of the identities.
    documents: int = 0
    # Canonical Activity definitions no remaining statement mentions.
    activities: int = 0
    record_entries: int = 0
    portfolio_docs: int = 0
    identities: int = 0
    sessions: int = 0
    challenges: int = 0
    # Sources the person connected (their identities and sealed credentials), with their
    # checkpoints and last run; and administrators' sources that asked about them, which
    # forgot them (or went, when they asked about no one else).
    sources: int = 0
    # Destinations whose filter named the person: taken out of it, or the destination
    # removed (with its outbox) when it forwarded no one else's statements.
    destinations: int = 0
    # Instance-wide documents naming the person (mentoring sessions, one-time links) and
    # other people's pointers to them.
    shared_docs: int = 0
    # Other people's records that got a "statement-erased" entry.
    other_records: int = 0

    def to_json(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RetentionCounts:
    """What a retention run deleted (or, in a dry run, would delete)."""

    statements: int = 0
    attachments: int = 0
    sessions: int = 0
    challenges: int = 0

    def to_json(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in self.__dataclass_fields__}


class ErasureScopeChanged(PreconditionFailed):
    """Raised by `erase` when the scope found inside its transaction is not the one
    planned (a statement about the person arrived meanwhile). Nothing was written: plan
    again."""

    def __init__(self, person_id: str) -> None:
        super().__init__(f"what is stored about {person_id} changed during the erasure")
        self.person_id = person_id


class ErasureStore(Protocol):
    def scope(self, person_id: str, identities: Sequence[str]) -> ErasureScope:
        """What erasing the person covers now (see ErasureScope); `identities` are the
        agent keys that name them. Uses the agents, voiding and witness indexes."""
        ...

    def erase(
        self,
        scope: ErasureScope,
        *,
        others: Sequence[RecordChange],
        changes: Sequence[DocChange],
        tombstone: Callable[[ErasureCounts], PortfolioDoc],
        sources: Sequence[SourceAgentsChange] = (),
    ) -> ErasureCounts:
        """Erase the person of `scope`, all or nothing, and return what went.

        In one transaction: checks the scope still holds; appends each of `others` to
        its record (they must follow its head) with its document changes; makes
        `changes` (instance-wide and other people's documents); deletes the statements
        of the scope with their index rows, provenance and outbox items, the attachment
        data and Activity definitions no remaining statement uses, the State and Agent
        Profile documents of the identities, the sources the person owns (with their
        checkpoints, and the provenance naming them), and the person's record,
        documents, identities, sessions, challenges and row (their sealed key with it);
        takes the person out of every destination's `people` filter, removing a
        destination (and its outbox) that named no one else, since an empty filter
        would forward everyone's; applies `sources` (administrators' sources asking
        about the person keep only the other agents, and lose the dropped streams'
        checkpoints; one left with none is removed); and stores `tombstone(counts)`.
        Deleted bytes do not linger in the store's files where the adapter controls
        that (SQLite: secure_delete, then VACUUM and a truncating checkpoint).

        Raises NotFound when the person is not stored, ErasureScopeChanged (also when
        a source of `sources` no longer has the agents planned) or RecordHeadMoved
        (nothing written: plan again).
        """
        ...

    def retention(self, *, before: str, now: str, dry_run: bool) -> RetentionCounts:
        """Delete what an instance keeps only for a time: statements stored before
        `before` that no record witnesses (keeping a voiding statement whose target a
        record witnesses) with their provenance and outbox items, and the attachment
        data only they used; sessions and challenges expired by `now`. Never a person,
        a record or a portfolio document. `dry_run` counts without deleting. Times are
        stored-format strings."""
        ...
