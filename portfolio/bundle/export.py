"""Exporting a portfolio as a bundle (the layout is in portfolio.bundle.layout).

The export streams: the record, the statements and the documents are read from the store
a page at a time and written straight into the zip, each file hashed as it is written;
the manifest, written last, lists those digests, and the owner's and the instance's
signatures over it close the bundle. What stays in memory is a statement id per witnessed
statement and a few small sets, so 100,000 statements export in well under 200 MB.

Exporting changes nothing in the store and appends nothing to the record: the bundle's
head is the record's head, so a later import elsewhere, or back here, continues the very
same chain.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from portfolio.bundle.layout import (
    ARCHIVED_ATTACHMENTS,
    ARCHIVED_STATEMENTS,
    ATTACHMENT_INDEX,
    ATTACHMENTS_DIR,
    DOCUMENTS,
    FOREIGN_INSTANCE_KEYS,
    FRAMEWORKS_DIR,
    KEYS,
    MANIFEST,
    OWN_FILES_COLLECTIONS,
    PERSON,
    RECORD,
    RULES,
    SIGNATURES,
    STATEMENTS,
)
from portfolio.clock import utc_now_iso
from portfolio.errors import Conflict, NotFound
from portfolio.evidence.rules import list_rules
from portfolio.mentoring import MINE as MENTORING
from portfolio.record.canonical import canonical_json
from portfolio.record.chain import iter_entries
from portfolio.record.keys import SigningKey, b64url
from portfolio.storage.base import (
    INSTANCE_DOCS,
    AttachmentData,
    PersonRecord,
    PortfolioDoc,
    Store,
)
from schemas.bundle import BUNDLE_FORMAT, BUNDLE_VERSION

_PAGE = 500


@dataclass(frozen=True)
class ExportResult:
    person: str
    entries: int
    statements: int
    attachments: int
    manifest_sha256: str


class _Sink:
    """A file being written into the zip, hashed on the way."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._raw.write(data)
        self.digest.update(data)
        self.size += len(data)


class _BundleWriter:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.files: list[dict[str, object]] = []

    @contextmanager
    def file(self, path: str) -> Iterator[_Sink]:
        info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with self.archive.open(info, "w", force_zip64=True) as raw:
            sink = _Sink(raw)
            yield sink
        self.files.append({"path": path, "sha256": sink.digest.hexdigest(), "size": sink.size})

    def whole(self, path: str, data: bytes) -> None:
        with self.file(path) as sink:
            sink.write(data)


@dataclass
class _Seen:
    """What the record refers to, gathered while it is written."""

    entries: int = 0
    head: str = ""
    statements: list[str] = field(default_factory=list)
    owner_keys: list[dict[str, str]] = field(default_factory=list)
    instance_keys: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)
    frameworks: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)

    def note(self, entry: dict[str, Any]) -> None:
        body = entry["body"]
        kind = entry["kind"]
        if kind == "opened":
            self.owner_keys.append(body["owner_key"])
        elif kind == "key-rotated":
            self.owner_keys.append(body["new_key"])
        elif kind == "statement-witnessed":
            self.statements.append(body["statement"])
            for mapped in body.get("evidence", ()):
                self.rules.update(mapped["rules"])
        if entry["signer"]["role"] == "instance":
            self.instance_keys.add(entry["signer"]["key"])
        self._references(body)

    def _references(self, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "item" and isinstance(inner, str):
                    self.items.add(inner)
                elif key == "items" and isinstance(inner, list):
                    self.items.update(i for i in inner if isinstance(i, str))
                elif key == "framework" and isinstance(inner, str):
                    self.frameworks.add(inner)
                elif key == "framework" and isinstance(inner, dict):
                    self.frameworks.add(str(inner.get("uri")))
                else:
                    self._references(inner)
        elif isinstance(value, list):
            for inner in value:
                self._references(inner)


def export_bundle(
    store: Store,
    person: PersonRecord,
    out: IO[bytes],
    *,
    owner_key: SigningKey,
    instance_key: SigningKey,
    instance_url: str,
) -> ExportResult:
    """Write the bundle of `person`'s portfolio to `out` (a binary file, seekable or not).

    `owner_key` is the owner's key, open (their password or session): it must be the
    record's current owner key, since the owner signs the manifest. Raises Conflict when
    it is not, NotFound when the person has no record.
    """
    with (
        store.streaming() as store,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive,
    ):
        writer = _BundleWriter(archive)
        seen = _write_record(writer, store, person.id)
        if not seen.owner_keys or seen.owner_keys[-1]["id"] != owner_key.public.id:
            raise Conflict("the key given is not the owner's current key")
        attachments = _write_statements(writer, store, person.id, seen.statements)
        _write_attachments(writer, store, person.id, attachments)
        _write_frameworks(writer, store, seen)
        writer.whole(
            RULES,
            orjson.dumps([r.to_json() for r in list_rules(store) if r.id in seen.rules]),
        )
        _write_documents(writer, store, person.id)
        writer.whole(PERSON, _person_file(store, person))
        writer.whole(KEYS, _keys_file(store, person, seen, instance_key, instance_url))
        manifest = canonical_json(
            {
                "format": BUNDLE_FORMAT,
                "version": BUNDLE_VERSION,
                "created": utc_now_iso(),
                "person": {"id": person.id, "name": person.name},
                "instance": {"url": instance_url, "key": instance_key.public.id},
                "record": {"entries": seen.entries, "head": seen.head},
                "statements": len(seen.statements),
                "files": sorted(writer.files, key=lambda f: str(f["path"])),
            }
        )
        archive.writestr(MANIFEST, manifest)
        signatures = {
            role: {
                "key": key.public.id,
                "public": key.public.public,
                "signature": b64url(key.sign(manifest)),
            }
            for role, key in (("owner", owner_key), ("instance", instance_key))
        }
        archive.writestr(SIGNATURES, orjson.dumps(signatures, option=orjson.OPT_INDENT_2))
    return ExportResult(
        person=person.id,
        entries=seen.entries,
        statements=len(seen.statements),
        attachments=len(attachments),
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
    )


def _write_record(writer: _BundleWriter, store: Store, person_id: str) -> _Seen:
    seen = _Seen()
    with writer.file(RECORD) as sink:
        for entry in iter_entries(store.records, person_id):
            sink.write(orjson.dumps(entry.to_json()) + b"\n")
            seen.note(entry.parsed())
            seen.entries = entry.seq
            seen.head = entry.hash
    if not seen.entries:
        raise NotFound(f"no record for {person_id}")
    return seen


def _write_statements(
    writer: _BundleWriter, store: Store, person_id: str, statement_ids: list[str]
) -> set[str]:
    """Every witnessed statement, in the record's order, exactly as the witness entry
    hashed it: the LRS's copy, or the portfolio's own copy of one that arrived in a bundle.
    A statement erased since (another person's erasure) is left out; its record says so.
    Returns the sha2 of every attachment the statements declare."""
    attachments: set[str] = set()
    with writer.file(STATEMENTS) as sink:
        for start in range(0, len(statement_ids), _PAGE):
            page = statement_ids[start : start + _PAGE]
            stored = store.statements.get_many(page)
            for statement_id in page:
                record = stored.get(statement_id)
                if record is not None:
                    data = record.to_json()
                else:
                    archived = store.portfolio.get_doc(person_id, ARCHIVED_STATEMENTS, statement_id)
                    if archived is None:
                        continue
                    data = archived.body
                sink.write(data + b"\n")
                for attachment in orjson.loads(data).get("attachments") or ():
                    if isinstance(attachment, dict) and isinstance(attachment.get("sha2"), str):
                        attachments.add(attachment["sha2"])
    return attachments


def _write_attachments(
    writer: _BundleWriter, store: Store, person_id: str, sha2s: set[str]
) -> None:
    index: dict[str, dict[str, object]] = {}
    for sha2 in sorted(sha2s):  # one at a time: attachments can be large
        data = store.statements.get_attachments([sha2]).get(sha2) or _archived_attachment(
            store, person_id, sha2
        )
        if data is None:  # declared with a fileUrl only: the LRS never had the bytes
            continue
        writer.whole(ATTACHMENTS_DIR + sha2, data.content)
        index[sha2] = {"content_type": data.content_type, "length": len(data.content)}
    writer.whole(ATTACHMENT_INDEX, orjson.dumps(index, option=orjson.OPT_SORT_KEYS))


def _archived_attachment(store: Store, person_id: str, sha2: str) -> AttachmentData | None:
    doc = store.portfolio.get_doc(person_id, ARCHIVED_ATTACHMENTS, sha2)
    if doc is None:
        return None
    value = orjson.loads(doc.body)
    return AttachmentData(
        sha2=sha2,
        content_type=value["content_type"],
        content=base64.b64decode(value["content"]),
    )


def _write_frameworks(writer: _BundleWriter, store: Store, seen: _Seen) -> None:
    versions: set[tuple[str, str]] = set()
    for item in sorted(seen.items):
        versions.update((f.uri, f.version) for f in store.frameworks.containing(item))
    for uri in sorted(seen.frameworks):
        versions.update((f.uri, f.version) for f in store.frameworks.versions(uri))
    for number, (uri, version) in enumerate(sorted(versions), start=1):
        record = store.frameworks.get(uri, version)
        if record is not None:
            writer.whole(f"{FRAMEWORKS_DIR}{number}.json", record.package)


def _write_documents(writer: _BundleWriter, store: Store, person_id: str) -> None:
    with writer.file(DOCUMENTS) as sink:
        for doc in iter_docs(store, person_id):
            if doc.collection in OWN_FILES_COLLECTIONS:
                continue
            body = orjson.loads(doc.body)
            if doc.collection == MENTORING and not body:
                # A pointer to a session kept instance-wide here: the session travels in it.
                session = store.portfolio.get_doc(INSTANCE_DOCS, MENTORING, doc.key)
                body = {} if session is None else orjson.loads(session.body)
            line = {
                "collection": doc.collection,
                "key": doc.key,
                "updated": doc.updated,
                "body": body,
            }
            sink.write(orjson.dumps(line) + b"\n")


def iter_docs(store: Store, person_id: str) -> Iterator[PortfolioDoc]:
    """Every document of a person's portfolio, by (collection, key), a page at a time."""
    after: tuple[str, str] | None = None
    while True:
        page = store.portfolio.docs_of(person_id, after=after, limit=_PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after = (page[-1].collection, page[-1].key)


def _person_file(store: Store, person: PersonRecord) -> bytes:
    return orjson.dumps(
        {
            "id": person.id,
            "name": person.name,
            "email": person.email,
            "created": person.created,
            "identities": [
                {"identity": link.identity, "linked": link.linked, "proof": link.proof}
                for link in store.people.identities(person.id)
            ],
        },
        option=orjson.OPT_INDENT_2,
    )


def _keys_file(
    store: Store,
    person: PersonRecord,
    seen: _Seen,
    instance_key: SigningKey,
    instance_url: str,
) -> bytes:
    """The keys a verifier needs: instance keys come from this instance's key store or,
    for entries signed elsewhere before the portfolio moved here, from those it brought."""
    known: dict[str, dict[str, str]] = {
        key.id: {"id": key.id, "public": key.public, "instance": instance_url}
        for key in store.records.instance_keys()
    }
    for doc in store.portfolio.list_docs(person.id, FOREIGN_INSTANCE_KEYS):
        known.setdefault(doc.key, orjson.loads(doc.body))
    wanted = seen.instance_keys | {instance_key.public.id}
    missing = wanted - set(known)
    if missing:
        raise Conflict(f"the record names instance keys this instance does not have: {missing}")
    return orjson.dumps(
        {
            "owner": {"keys": seen.owner_keys, "sealed": orjson.loads(person.sealed_key)},
            "instances": [known[key_id] for key_id in sorted(wanted)],
        },
        option=orjson.OPT_INDENT_2,
    )
