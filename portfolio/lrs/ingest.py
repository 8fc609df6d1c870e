"""Statements in: validate, normalise, compare with what is stored, store all or nothing.

Every statement takes this path, whether it arrives over HTTP, from another LRS or from a
file (DESIGN.md). The steps, in order, and why:
1. limits (depth, string length, batch size) before anything expensive;
2. validation of the whole batch (schemas): one bad statement rejects the batch
   (Communication 3.2.s3.b9), so nothing is written before every statement passed;
3. normalisation: the properties the LRS sets (id, authority, version, timestamp) and
   the array form of contextActivities (Data 2.4.6.2);
4. batch rules: no id twice in one batch; voiding statements point at a StatementRef and
   never at another voiding statement;
5. ids already stored: an identical statement is a no-op success, a different one a
   Conflict, and nothing is written (Communication 2.1.1.s2.b2-b3);
6. one atomic insert. If another writer stored one of our ids in the meantime, the
   store refuses the whole insert and we compare again.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from portfolio.errors import Conflict, Forbidden, InvalidInput, InvalidStatement, PayloadTooLarge
from portfolio.lrs.activities import defined_activities
from portfolio.lrs.attachments import (
    HASHES,
    SIGNATURE_USAGE,
    AttachmentPart,
    attachment_objects,
    match_parts,
)
from portfolio.lrs.compare import statements_match
from portfolio.lrs.index import VOIDED_VERB, extract_index
from portfolio.lrs.limits import JsonLimits, check_json_limits
from portfolio.lrs.signatures import verify_signature
from portfolio.lrs.timestamps import to_utc
from portfolio.storage.base import (
    AttachmentData,
    DuplicateStatementIds,
    NewStatement,
    StatementIndex,
    StatementStore,
)
from schemas.errors import SchemaViolation
from schemas.xapi import validate_statements

# Data 2.4.10: a statement sent without a version is stored as 1.0.0 under xAPI 1.0.x; one
# received under 2.0.x as 2.0.0.
DEFAULT_STATEMENT_VERSION = {"1": "1.0.0", "2": "2.0.0"}
_INSERT_ATTEMPTS = 3


@dataclass(frozen=True)
class Submitter:
    """Who is sending: the client key and the authority the LRS records for it."""

    client_key: str
    authority: Mapping[str, Any]
    # Whether it may void statements other clients sent (Data 2.3.2.s2.b4).
    may_void_others: bool = False
    # Whether its Activity definitions update the canonical ones (Communication 4.2, define).
    may_define: bool = False


# Chooses the forwarding destinations of each statement of a batch (portfolio.lrs.routing).
Router = Callable[[Sequence[tuple[Mapping[str, Any], StatementIndex]]], list[tuple[str, ...]]]


@dataclass(frozen=True)
class Rejected:
    """A statement `absorb` refused: its position in what was given, and why."""

    index: int
    id: str | None
    path: str
    rule: str
    message: str

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "id": self.id,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class Absorbed:
    """What `absorb` did with each statement it was given, by statement id."""

    new: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # The duplicates as prepared, for callers that witness again what an interrupted
    # earlier run stored but did not get to witness.
    known: list[NewStatement] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "duplicate": len(self.duplicate),
            "conflicts": len(self.conflicts),
            "rejected": len(self.rejected),
        }


@dataclass(frozen=True)
class IngestLimits:
    max_batch_statements: int = 1000
    max_attachment_bytes: int = 8 * 1024 * 1024
    json: JsonLimits = field(default_factory=JsonLimits)


class StatementIngest:
    """Stores statements into one StatementStore under the xAPI rules."""

    def __init__(
        self,
        store: StatementStore,
        *,
        limits: IngestLimits | None = None,
        on_stored: Callable[[Sequence[NewStatement]], object] | None = None,
        router: Router | None = None,
    ) -> None:
        """`on_stored` is called with the statements newly stored by each request, after
        they are committed (the portfolio witnesses them into their owners' records).
        `router` names the destinations each statement is forwarded to; the insert queues
        them in the same transaction."""
        self._store = store
        self._limits = limits or IngestLimits()
        self._on_stored = on_stored
        self._router = router

    def put(
        self,
        statement_id: str,
        data: Any,
        *,
        submitter: Submitter,
        version: str,
        parts: Sequence[AttachmentPart] | None = None,
    ) -> None:
        """Store one statement under `statement_id` (PUT). Raises as `post` does."""
        if isinstance(data, list):
            raise InvalidStatement(
                "PUT takes one statement, not an array", path="", rule="must be a JSON object"
            )
        given = data.get("id") if isinstance(data, dict) else None
        if isinstance(given, str) and given.lower() != statement_id.lower():
            raise InvalidStatement(
                "the statement's id differs from the statementId parameter",
                path="id",
                rule="must equal the statementId parameter",
            )
        self._ingest(
            [data],
            submitter=submitter,
            version=version,
            put_id=statement_id,
            as_batch=False,
            parts=parts,
        )

    def post(
        self,
        data: Any,
        *,
        submitter: Submitter,
        version: str,
        parts: Sequence[AttachmentPart] | None = None,
    ) -> list[str]:
        """Store one statement or an array of them; return their ids in order.

        `parts` are the attachment parts of a multipart/mixed request (None for JSON).
        Raises InvalidStatement (nothing stored), Conflict (an id is stored with other
        content; nothing stored), PayloadTooLarge / LimitExceeded.
        """
        as_batch = isinstance(data, list)
        return self._ingest(
            data if as_batch else [data],
            submitter=submitter,
            version=version,
            put_id=None,
            as_batch=as_batch,
            parts=parts,
        )

    # ----------------------------------------------------------------------

    def _ingest(
        self,
        statements: list[Any],
        *,
        submitter: Submitter,
        version: str,
        put_id: str | None,
        as_batch: bool,
        parts: Sequence[AttachmentPart] | None,
    ) -> list[str]:
        """Store the statements; `as_batch` says whether they came as a JSON array (paths of
        errors then start with the statement's index)."""
        limits = self._limits
        if len(statements) > limits.max_batch_statements:
            raise PayloadTooLarge(
                f"a batch may hold at most {limits.max_batch_statements} statements",
                path="",
                rule=f"at most {limits.max_batch_statements} statements (max_batch_statements)",
            )
        if not statements:
            raise InvalidStatement("the batch is empty", path="", rule="must not be empty")
        payload = statements if as_batch else statements[0]
        check_json_limits(payload, limits.json)
        try:
            validate_statements(payload, version=version)
        except SchemaViolation as exc:
            raise InvalidStatement(
                f"{exc.path or 'statement'} {exc.rule}", path=exc.path, rule=exc.rule
            ) from exc

        attachments = match_parts(
            statements,
            parts,
            as_batch=as_batch,
            max_attachment_bytes=limits.max_attachment_bytes,
        )
        prepared = [
            _prepare(
                s,
                submitter=submitter,
                assigned_id=put_id,
                version=version,
                signature=_check_signature(s, attachments, prefix=f"[{i}]." if as_batch else ""),
            )
            for i, s in enumerate(statements)
        ]
        _check_batch(prepared, prefix_index=as_batch)
        prepared = self._routed(prepared)
        for _attempt in range(_INSERT_ATTEMPTS):
            new = self._without_stored_duplicates(prepared)
            self._check_voiding_targets(new, submitter)
            try:
                self._store.insert(new, attachments=list(attachments.values()))
                break
            except DuplicateStatementIds:
                continue  # another writer stored one of these ids meanwhile: compare again
        else:
            raise Conflict("statements with these ids are being stored concurrently; retry")
        if new and self._on_stored is not None:
            self._on_stored(new)
        return [p.new.id for p in prepared]

    def absorb(
        self,
        statements: Sequence[Any],
        *,
        submitter: Submitter,
        version: str,
        parts: Sequence[AttachmentPart] = (),
        dry_run: bool = False,
    ) -> Absorbed:
        """Store what can be stored of statements from elsewhere (another LRS, a file),
        one by one: unlike `post`, a bad statement is reported and the others kept.

        Each statement is new (stored), a duplicate (its id is stored with the same
        content: nothing to do), a conflict (its id is stored with other content: the
        stored one is kept) or rejected (invalid, with the path and rule). The new ones
        are inserted together, atomically. `parts` are attachment data offered with them;
        a statement whose attachment has neither data nor a fileUrl is rejected.
        `dry_run` makes every check, against the store too, but stores nothing: what would
        be stored is reported as `new`, and `on_stored` is not called.
        """
        limits = self._limits
        if len(statements) > limits.max_batch_statements:
            raise PayloadTooLarge(
                f"a batch may hold at most {limits.max_batch_statements} statements",
                path="",
                rule=f"at most {limits.max_batch_statements} statements (max_batch_statements)",
            )
        result = Absorbed()
        usable_parts = _checked_parts(parts)
        candidates: list[_Candidate] = []
        seen: dict[str, _Prepared] = {}
        for index, raw in enumerate(statements):
            try:
                prepared, attachments = self._prepare_one(raw, submitter, version, usable_parts)
            except InvalidInput as exc:
                given = raw.get("id") if isinstance(raw, dict) else None
                result.rejected.append(
                    Rejected(
                        index=index,
                        id=given if isinstance(given, str) else None,
                        path=exc.path or "",
                        rule=exc.rule or "",
                        message=str(exc),
                    )
                )
                continue
            earlier = seen.get(prepared.new.id)
            if earlier is not None:
                # The same id twice in what was given: a copy is a duplicate, a different
                # statement under that id a conflict; the first one stands.
                same = statements_match(earlier.statement, prepared.statement)
                (result.duplicate if same else result.conflicts).append(prepared.new.id)
                continue
            seen[prepared.new.id] = prepared
            candidates.append(_Candidate(index, prepared, attachments))
        # Routed together: the router reads the destinations once per call.
        routed = self._routed([c.prepared for c in candidates])
        candidates = [
            dataclasses.replace(c, prepared=p) for c, p in zip(candidates, routed, strict=True)
        ]
        for _attempt in range(_INSERT_ATTEMPTS):
            sorted_out = Absorbed()
            insert = self._sort_stored(candidates, sorted_out, submitter)
            if not insert or dry_run:
                break
            try:
                self._store.insert(
                    [c.prepared.new for c in insert],
                    attachments=[a for c in insert for a in c.attachments.values()],
                )
                break
            except DuplicateStatementIds:
                continue  # another writer stored one of these ids meanwhile: sort again
        else:
            raise Conflict("statements with these ids are being stored concurrently; retry")
        result.duplicate.extend(sorted_out.duplicate)
        result.known.extend(sorted_out.known)
        result.conflicts.extend(sorted_out.conflicts)
        result.rejected.extend(sorted_out.rejected)
        result.rejected.sort(key=lambda r: r.index)
        result.new.extend(c.prepared.new.id for c in insert)
        if insert and self._on_stored is not None and not dry_run:
            self._on_stored([c.prepared.new for c in insert])
        return result

    def _prepare_one(
        self,
        raw: Any,
        submitter: Submitter,
        version: str,
        parts: Mapping[str, AttachmentPart],
    ) -> tuple[_Prepared, dict[str, AttachmentData]]:
        """Check and normalise one statement for `absorb`; raises InvalidInput."""
        check_json_limits(raw, self._limits.json)
        try:
            validate_statements(raw, version=version)
        except SchemaViolation as exc:
            raise InvalidStatement(
                f"{exc.path or 'statement'} {exc.rule}", path=exc.path, rule=exc.rule
            ) from exc
        wanted = {str(a["sha2"]).lower() for _path, a in attachment_objects(raw, "")}
        attachments = match_parts(
            [raw],
            [part for sha2, part in parts.items() if sha2 in wanted],
            as_batch=False,
            max_attachment_bytes=self._limits.max_attachment_bytes,
        )
        prepared = _prepare(
            raw,
            submitter=submitter,
            assigned_id=None,
            version=version,
            signature=_check_signature(raw, attachments, prefix=""),
        )
        _check_batch([prepared], prefix_index=False)
        return prepared, attachments

    def _sort_stored(
        self,
        candidates: Sequence[_Candidate],
        result: Absorbed,
        submitter: Submitter,
    ) -> list[_Candidate]:
        """Move candidates whose id is stored into duplicates or conflicts, and voiding
        statements the rules refuse into rejected; return the rest, to insert."""
        existing = self._store.get_many([c.prepared.new.id for c in candidates])
        unstored = []
        for candidate in candidates:
            record = existing.get(candidate.prepared.new.id)
            if record is None:
                unstored.append(candidate)
            elif statements_match(candidate.prepared.statement, orjson.loads(record.body)):
                result.duplicate.append(candidate.prepared.new.id)
                result.known.append(candidate.prepared.new)
            else:
                result.conflicts.append(candidate.prepared.new.id)
        voiding_here = {c.prepared.new.id for c in unstored if c.prepared.new.index.voids}
        insert = []
        for candidate in unstored:
            new = candidate.prepared.new
            try:
                if new.index.voids in voiding_here:
                    raise InvalidStatement(
                        f"statement {new.id} voids {new.index.voids}, a voiding statement",
                        path="object.id",
                        rule="must not refer to a voiding statement",
                    )
                self._check_voiding_targets([new], submitter)
            except (InvalidInput, Forbidden) as exc:
                result.rejected.append(
                    Rejected(
                        index=candidate.index,
                        id=new.id,
                        path=getattr(exc, "path", None) or "object.id",
                        rule=getattr(exc, "rule", None) or "may void only its own statements",
                        message=str(exc),
                    )
                )
                continue
            insert.append(candidate)
        return insert

    def _routed(self, prepared: list[_Prepared]) -> list[_Prepared]:
        if self._router is None or not prepared:
            return prepared
        routes = self._router([(p.statement, p.new.index) for p in prepared])
        return [
            p if not names else _Prepared(p.statement, dataclasses.replace(p.new, forward_to=names))
            for p, names in zip(prepared, routes, strict=True)
        ]

    def _without_stored_duplicates(self, prepared: Sequence[_Prepared]) -> list[NewStatement]:
        """The statements still to insert; raises Conflict if a stored one differs."""
        existing = self._store.get_many([p.new.id for p in prepared])
        if not existing:
            return [p.new for p in prepared]
        to_insert = []
        for p in prepared:
            record = existing.get(p.new.id)
            if record is None:
                to_insert.append(p.new)
            elif not statements_match(p.statement, orjson.loads(record.body)):
                raise Conflict(f"statement {p.new.id} is already stored with different content")
        return to_insert

    def _check_voiding_targets(
        self, statements: Sequence[NewStatement], submitter: Submitter
    ) -> None:
        """Data 2.3.2: a voiding statement cannot be voided, and voiding needs authority.

        A voiding statement may target a statement the LRS does not hold (yet): it is
        stored, and voids its target if that arrives later (Data 2.3.2.s2.b5) and this
        sender may void it: the same client sends the target, or this one may void others.
        Otherwise the target is stored unvoided (the store applies the rule, as it learns
        who sends the target only when it arrives).
        """
        targets = {s.index.voids: s for s in statements if s.index.voids}
        if not targets:
            return
        in_batch = {s.id for s in statements if s.index.voids}
        stored = self._store.get_many(list(targets))
        for target, voiding in targets.items():
            record = stored.get(target)
            if target in in_batch or (record is not None and record.voids is not None):
                raise InvalidStatement(
                    f"statement {voiding.id} voids {target}, which is itself a voiding"
                    " statement; a voiding statement cannot be voided",
                    path="object.id",
                    rule="must not refer to a voiding statement",
                )
            if (
                record is not None
                and record.authority_client != submitter.client_key
                and not submitter.may_void_others
            ):
                raise Forbidden(
                    f"statement {target} was sent by another client; voiding it needs the"
                    " `all` scope"
                )


@dataclass(frozen=True)
class _Prepared:
    statement: dict[str, Any]
    new: NewStatement


@dataclass(frozen=True)
class _Candidate:
    """A statement `absorb` has checked: where it was, and its attachment data."""

    index: int
    prepared: _Prepared
    attachments: dict[str, AttachmentData]


def _checked_parts(parts: Sequence[AttachmentPart]) -> dict[str, AttachmentPart]:
    """The parts whose bytes hash to their X-Experience-API-Hash, by lower-case sha2.
    A part that does not is dropped: the statement needing it is then rejected."""
    usable = {}
    for part in parts:
        declared = (part.sha2 or "").strip().lower()
        algorithm = HASHES.get(len(declared))
        if algorithm is not None and algorithm(part.data).hexdigest() == declared:
            usable[declared] = part
    return usable


def _check_signature(
    statement: Mapping[str, Any], attachments: Mapping[str, AttachmentData], *, prefix: str
) -> dict[str, Any] | None:
    """Verify a signed statement's JWS (Data 2.6); None when it is not signed."""
    check = None
    for i, attachment in enumerate(statement.get("attachments") or ()):
        if attachment["usageType"] != SIGNATURE_USAGE:
            continue
        path = f"{prefix}attachments[{i}]"
        if attachment["contentType"].split(";")[0].strip().lower() != "application/octet-stream":
            raise InvalidStatement(
                "a signature attachment's contentType must be application/octet-stream",
                path=f"{path}.contentType",
                rule="must be application/octet-stream for a signature (Data 2.6.s4.b1)",
            )
        data = attachments.get(str(attachment["sha2"]).lower())
        if data is None:
            raise InvalidStatement(
                "a signature must be sent as an attachment part: the LRS has to check it",
                path=path,
                rule="signature must be sent as a multipart part, not only by fileUrl",
            )
        check = verify_signature(statement, data.content, path=path)
    return None if check is None else check.to_json()


def _prepare(
    raw: Mapping[str, Any],
    *,
    submitter: Submitter,
    assigned_id: str | None,
    version: str,
    signature: dict[str, Any] | None,
) -> _Prepared:
    """Normalise a validated statement and extract its index."""
    statement = dict(raw)
    statement["id"] = str(raw.get("id") or assigned_id or uuid.uuid4()).lower()
    # Communication 4.1.6 / Data 2.4.9: the LRS records the authority from the
    # credentials used; cpdfolio has no "strong trust" clients, so it always overwrites.
    statement["authority"] = dict(submitter.authority)
    statement.setdefault("version", DEFAULT_STATEMENT_VERSION[version[0]])
    statement.pop("stored", None)  # Data 2.4.8: set by the LRS, whatever was sent
    # Data 4.5.s1.b6 and xAPI 2.0.0: timestamps are kept and returned in UTC.
    if "timestamp" in statement:
        statement["timestamp"] = to_utc(statement["timestamp"])
    obj = statement["object"]
    if obj.get("objectType") == "SubStatement" and "timestamp" in obj:
        statement["object"] = {**obj, "timestamp": to_utc(obj["timestamp"])}
    context = statement.get("context")
    if context and "contextActivities" in context:
        statement["context"] = {
            **context,
            "contextActivities": {
                key: value if isinstance(value, list) else [value]
                for key, value in context["contextActivities"].items()
            },
        }
    index = extract_index(statement)
    new = NewStatement(
        id=statement["id"],
        body=orjson.dumps(statement),
        index=index,
        authority_client=submitter.client_key,
        timestamp_from_stored="timestamp" not in statement,
        signature=signature,
        definitions=tuple(defined_activities(statement)) if submitter.may_define else (),
        # Kept with a voiding statement: whether it voids a target that arrives later
        # depends on who sent it (Data 2.3.2.s2.b4; StatementStore.insert).
        may_void_others=submitter.may_void_others and index.voids is not None,
    )
    return _Prepared(statement=statement, new=new)


def _check_batch(prepared: Sequence[_Prepared], *, prefix_index: bool) -> None:
    """Rules across the statements of one request."""
    seen: set[str] = set()
    for i, p in enumerate(prepared):
        prefix = f"[{i}]." if prefix_index else ""
        if p.new.id in seen:
            # Communication 2.1.2.s2.b6: the same id twice in one batch is a 400.
            raise InvalidStatement(
                f"statement id {p.new.id} appears more than once in the batch",
                path=f"{prefix}id",
                rule="must be unique within the batch",
            )
        seen.add(p.new.id)
        if (
            p.new.index.verb == VOIDED_VERB
            and p.statement["object"].get("objectType") != "StatementRef"
        ):
            # Data 2.3.2.s2.b1: the object of a voiding statement is a StatementRef.
            raise InvalidStatement(
                "a voiding statement's object must be a StatementRef",
                path=f"{prefix}object.objectType",
                rule="must be StatementRef in a voiding statement",
            )
