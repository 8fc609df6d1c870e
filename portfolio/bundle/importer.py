"""Importing a bundle: the portfolio arrives at this instance, whole or not at all.

1. The bundle is verified offline first (portfolio.bundle.verify); nothing is written for
   a bundle that does not verify. With pinned keys, a bundle from an instance not
   trusted is refused from its manifest alone.
2. The owner's password must open the key sealed in the bundle: only the owner moves
   their portfolio. It is tried once keys.json is verified (signed, trusted when pinned,
   its Argon2 cost within bounds), before the rest of the bundle is read. The key must
   be the owner's current key as the record's rotations define it. It is sealed again
   here under the same password.
3. Where the person is already here (they moved away and are coming back), the record
   here must be a beginning of the bundle's: the bundle continues the same chain. If the
   record here has the bundle's head already, the import is a no-op.
4. The statements keep their ids, `stored` times and signatures: each is kept byte for
   byte as the portfolio's own copy (so every witness digest still matches), unless this
   instance's LRS holds the very same bytes already. A statement id the LRS holds with
   different content is reported, and the LRS's statement is left as it is. The
   imported statements are the person's, not this instance's LRS clients': they are not
   put into the LRS, whose `stored` order they would break and whose clients have no
   business reading another council's records.
5. Frameworks are instance-wide: each the bundle brings is checked against what is
   installed before anything is written (the same id and version with other content
   refuses the import). New versions are installed only when every instance key that
   signed the bundle was pinned or is this instance's own; otherwise they are left out
   and reported (ImportResult.frameworks_skipped), for an administrator to check and
   install with `cpdfolio frameworks import`: a bundle anyone can make must not change
   which version of the Standard everyone here sees.
6. One transaction (PortfolioStore.arrive) creates the person, links their identities,
   appends the bundle's entries and the two that record the move: "moved", signed by the
   owner, naming this instance's key (the owner vouches for it), and "arrival-witnessed",
   signed by this instance. The files are read again inside the transaction and their
   digests checked again, so a bundle changed on disk meanwhile is refused, not half-read.
   The other instances' keys kept with the portfolio (to verify its record here later)
   are the ones that signed its entries, never merely listed ones.
7. After it: the new frameworks are installed (when vouched for, as in 5), and statements
   this LRS already had about the person's identities are witnessed.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterator, Mapping
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
    OWN_FILES_COLLECTIONS,
    RECORD,
    RULES,
    STATEMENTS,
    BundleInvalid,
    DigestReader,
    open_zip,
    read_small,
)
from portfolio.bundle.verify import TrustedKey, VerifiedBundle, verify_bundle
from portfolio.clock import utc_now_iso
from portfolio.errors import AuthenticationRequired, Conflict, InvalidInput
from portfolio.people.witness import witness_identity
from portfolio.record.chain import Draft, build
from portfolio.record.entry import Role, SignedEntry
from portfolio.record.keys import (
    KdfCost,
    PublicKey,
    SealedKey,
    SigningKey,
    open_sealed,
    seal_with_password,
)
from portfolio.standards import Framework, import_package, parse_package
from portfolio.storage.base import Arrival, IdentityLink, PersonRecord, PortfolioDoc, Store
from schemas.bundle import KDF_MAX_ITERATIONS, KDF_MAX_LANES, KDF_MAX_MEMORY_KIB

_PAGE = 500
BUNDLE_RULES = "bundle-rule"  # the mapping rules that mapped the evidence, as they were
#: The most Argon2id cost a bundle's sealed key may make this instance spend on a password
#: (schemas.bundle bounds keys.json the same way; checked here again where it is spent).
BUNDLE_KDF_LIMIT = KdfCost(
    memory_kib=KDF_MAX_MEMORY_KIB, iterations=KDF_MAX_ITERATIONS, lanes=KDF_MAX_LANES
)


@dataclass(frozen=True)
class ImportResult:
    person: PersonRecord
    outcome: str  # "imported" | "moved back" | "already here"
    entries: int = 0  # entries of the bundle appended here
    statements: int = 0  # statements kept as the portfolio's own copies
    conflicts: list[str] = field(default_factory=list)  # ids the LRS has with other content
    identities: list[str] = field(default_factory=list)  # identities linked by the import
    # framework versions the bundle brought that were not here: "<uri> <version>"
    frameworks_installed: list[str] = field(default_factory=list)
    frameworks_skipped: list[str] = field(default_factory=list)  # its keys were not pinned

    def to_json(self) -> dict[str, object]:
        return {
            "person": {"id": self.person.id, "name": self.person.name, "email": self.person.email},
            "outcome": self.outcome,
            "entries": self.entries,
            "statements": self.statements,
            "conflicts": self.conflicts,
            "identities": self.identities,
            "frameworks_installed": self.frameworks_installed,
            "frameworks_skipped": self.frameworks_skipped,
        }


@dataclass(frozen=True)
class Importer:
    """Imports bundles into one store, as one instance."""

    store: Store
    instance_key: SigningKey
    instance_url: str
    kdf: KdfCost

    def import_bundle(
        self,
        source: str | IO[bytes],
        *,
        password: str,
        trusted: Mapping[str, TrustedKey] | None = None,
    ) -> ImportResult:
        """Verify and import the bundle at `source`, pinning the instance keys to
        `trusted` when given (portfolio.bundle.verify). Raises BundleInvalid (it does not
        verify), AuthenticationRequired (the password does not open the owner's key),
        Conflict (the email, an identity, the record or a framework version here is
        another)."""
        if trusted is not None:  # an instance trusts its own keys (a portfolio moving back)
            trusted = _with_own_keys(trusted, self._own_keys())
        opened: list[SigningKey] = []
        verified = verify_bundle(
            source,
            trusted=trusted,
            on_keys=lambda keys: opened.append(_open_owner_key(keys, password)),
        )
        (key,) = opened
        if key.public.id != verified.record.current_owner_key:
            raise AuthenticationRequired("the key in this bundle is not the owner's current key")
        if not isinstance(source, str):
            source.seek(0)
        with open_zip(source) as archive:
            return self._arrive(archive, verified, key, password)

    def _own_keys(self) -> dict[str, TrustedKey]:
        return {
            k.id: TrustedKey(
                key=PublicKey(id=k.id, public=k.public), instances=frozenset({self.instance_url})
            )
            for k in self.store.records.instance_keys()
        }

    def _vouched_for(self, verified: VerifiedBundle) -> bool:
        """Whether every instance key that signed the bundle (the manifest, an entry) was
        pinned, or is this instance's own: only then is what it brings for the whole
        instance (a framework version) taken on its word."""
        if verified.pinned:  # verification took no other instance key
            return True
        signers = verified.record.instance_keys | {verified.manifest["instance"]["key"]}
        return signers <= set(self._own_keys())

    def _arrive(
        self, archive: zipfile.ZipFile, verified: VerifiedBundle, key: SigningKey, password: str
    ) -> ImportResult:
        info = verified.person
        person_id = info["id"]
        here = self.store.people.get(person_id)
        head = self.store.records.head(person_id) if here is not None else None
        after_seq = 0 if head is None else head.seq
        bundle_entries = verified.record.entries
        if here is None:
            taken = self.store.people.by_email(info["email"])
            if taken is not None:
                raise Conflict(f"a portfolio with the email {info['email']} exists here already")
        else:
            at = _entry_hash_at(archive, verified, min(after_seq, bundle_entries))
            mine = self.store.records.entries(
                person_id, after=min(after_seq, bundle_entries) - 1, limit=1
            )
            if not mine or mine[0].hash != at:
                raise Conflict(
                    "the record here and the bundle's part ways at or before entry "
                    f"{min(after_seq, bundle_entries)}: this is not a continuation of it"
                )
            if after_seq >= bundle_entries:
                return ImportResult(person=here, outcome="already here")
        links = self._identities_to_link(person_id, info["identities"])
        archived, conflicts = self._statements_to_keep(archive, verified)
        new_frameworks = self._frameworks_not_here(archive, verified)
        vouched = self._vouched_for(verified)

        sealed = seal_with_password(key, password, cost=self.kdf)
        person = PersonRecord(
            id=person_id,
            name=info["name"],
            email=info["email"],
            created=info["created"] if here is None else here.created,
            sealed_key=orjson.dumps(sealed.to_json()).decode(),
        )
        bundle_head = SignedEntry(
            person=person_id,
            seq=bundle_entries,
            canonical=b"",
            hash=verified.manifest["record"]["head"],
            signature="",
        )
        move = build(
            person_id,
            [
                Draft(
                    "moved",
                    {
                        "from": verified.manifest["instance"]["url"],
                        "to": self.instance_url,
                        "bundle": verified.manifest_sha256,
                        "instance_key": self.instance_key.public.to_json(),
                    },
                    key,
                    Role.OWNER,
                ),
                Draft(
                    "arrival-witnessed",
                    {
                        "bundle": verified.manifest_sha256,
                        "entries": bundle_entries - after_seq,
                        "statements": verified.statements,
                        "conflicts": conflicts,
                    },
                    self.instance_key,
                    Role.INSTANCE,
                ),
            ],
            head=bundle_head,
        )
        own_keys = {k.id for k in self.store.records.instance_keys()}
        # Only the keys that signed entries are kept: verifying the record here later
        # trusts every key kept with it. (With pinned keys those were all pinned; without,
        # the administrator who imported it took them, as the CLI's note says.)
        signers = verified.record.instance_keys - own_keys

        def entries() -> Iterator[SignedEntry]:
            for entry in _bundle_entries(archive, verified):
                if entry.seq > after_seq:
                    yield entry
            yield from move

        def docs() -> Iterator[PortfolioDoc]:
            yield from _documents(archive, verified, person_id)
            yield from _archive(archive, verified, person_id, archived)
            for key_id in sorted(signers):
                instance_key = verified.instance_keys[key_id]
                body = {**instance_key.key.to_json(), "instance": instance_key.instance}
                yield _doc(person_id, FOREIGN_INSTANCE_KEYS, key_id, orjson.dumps(body))
            rules = orjson.loads(_read_small(archive, verified, RULES))
            for rule in rules:
                yield _doc(person_id, BUNDLE_RULES, str(rule.get("id")), orjson.dumps(rule))

        self.store.portfolio.arrive(
            Arrival(
                person=person,
                new=here is None,
                end_sessions=here is not None and _key_changed(here, key),
                identities=links,
                after_seq=after_seq,
                entries=entries,
                docs=docs,
            )
        )
        installed: list[str] = []
        skipped: list[str] = []
        for framework in new_frameworks:
            name = _framework_name(framework)
            if not vouched:
                skipped.append(name)
                continue
            try:
                import_package(self.store.frameworks, framework.package)
            except Conflict:  # another writer installed other content meanwhile: theirs stays
                skipped.append(name)
            else:
                installed.append(name)
        for link in self.store.people.identities(person_id):
            witness_identity(self.store, self.instance_key, person_id, link.identity)
        return ImportResult(
            person=person,
            outcome="imported" if here is None else "moved back",
            entries=bundle_entries - after_seq,
            statements=len(archived),
            conflicts=conflicts,
            identities=[link.identity for link in links],
            frameworks_installed=installed,
            frameworks_skipped=skipped,
        )

    def _frameworks_not_here(
        self, archive: zipfile.ZipFile, verified: VerifiedBundle
    ) -> list[Framework]:
        """The framework versions the bundle brings that are not installed here. Raises
        BundleInvalid for a package that is not a valid framework, and Conflict for a
        version installed here with other content (a stored version never changes), before
        anything is written."""
        new: dict[tuple[str, str], Framework] = {}
        for path in verified.manifest_paths():
            if not path.startswith(FRAMEWORKS_DIR):
                continue
            try:
                framework = parse_package(_read_small(archive, verified, path))
            except InvalidInput as exc:
                raise BundleInvalid(path, f"not a valid CASE package: {exc.message}") from None
            version = (framework.uri, framework.version)
            if version in new and new[version].digest != framework.digest:
                raise BundleInvalid(path, "another file of the bundle has this version")
            stored = self.store.frameworks.get(*version)
            if stored is None:
                new[version] = framework
            elif stored.digest != framework.digest:
                raise Conflict(
                    f"{path}: framework {framework.uri} version {framework.version} is"
                    " installed here with other content, and a version never changes once"
                    " installed: nothing was imported"
                )
        return list(new.values())

    def _identities_to_link(
        self, person_id: str, identities: list[dict[str, str]]
    ) -> list[IdentityLink]:
        owners = self.store.people.owners([i["identity"] for i in identities])
        links = []
        for identity in identities:
            owner = owners.get(identity["identity"])
            if owner is not None and owner != person_id:
                raise Conflict(
                    f"the identity {identity['identity']} belongs to another portfolio here"
                )
            if owner is None:
                links.append(
                    IdentityLink(
                        identity=identity["identity"],
                        person_id=person_id,
                        linked=identity["linked"],
                        proof=identity["proof"],
                    )
                )
        return links

    def _statements_to_keep(
        self, archive: zipfile.ZipFile, verified: VerifiedBundle
    ) -> tuple[set[str], list[str]]:
        """The statements to keep as the portfolio's own copies (those this LRS does not
        hold byte for byte), and the ids it holds with different content."""
        keep: set[str] = set()
        conflicts: list[str] = []
        page: list[tuple[str, bytes]] = []

        def flush() -> None:
            stored = self.store.statements.get_many([i for i, _ in page])
            for statement_id, line in page:
                record = stored.get(statement_id)
                if record is None or record.to_json() != line:
                    keep.add(statement_id)
                if record is not None and record.to_json() != line:
                    conflicts.append(statement_id)
            page.clear()

        for line in _lines(archive, verified, STATEMENTS):
            page.append((str(orjson.loads(line)["id"]), line))
            if len(page) == _PAGE:
                flush()
        flush()
        return keep, sorted(conflicts)


# ----------------------------------------------------------------------- helpers


def _with_own_keys(
    trusted: Mapping[str, TrustedKey], own: Mapping[str, TrustedKey]
) -> dict[str, TrustedKey]:
    merged = dict(trusted)
    for key_id, key in own.items():
        known = merged.get(key_id)
        urls = key.instances | (known.instances if known else frozenset())
        merged[key_id] = TrustedKey(key=key.key, instances=urls)
    return merged


def _open_owner_key(keys: dict[str, Any], password: str) -> SigningKey:
    """The owner's key, opened with `password` from keys.json (verified by then). The
    Argon2 cost is the bundle's own: it is spent before the seal proves anything, so
    one beyond BUNDLE_KDF_LIMIT is refused, not tried."""
    try:
        sealed = SealedKey.from_json(keys["owner"]["sealed"])
    except InvalidInput as exc:
        raise BundleInvalid(KEYS, f"the sealed key is malformed: {exc.message}") from None
    if sealed.cost is None or not sealed.cost.within(BUNDLE_KDF_LIMIT):
        raise BundleInvalid(
            KEYS,
            "the sealed key's Argon2 cost is beyond what this instance spends on a password"
            f" (at most {BUNDLE_KDF_LIMIT.memory_kib} KiB, {BUNDLE_KDF_LIMIT.iterations}"
            f" passes, {BUNDLE_KDF_LIMIT.lanes} lanes)",
        )
    try:
        return open_sealed(sealed, password=password)
    except AuthenticationRequired:
        raise AuthenticationRequired(
            "the password does not open the owner's key in this bundle"
        ) from None
    except ValueError as exc:  # a salt or nonce Argon2 or AES-GCM cannot take
        raise BundleInvalid(KEYS, f"the sealed key is malformed: {exc}") from None


def _framework_name(framework: Framework) -> str:
    return f"{framework.uri} {framework.version}"


def _key_changed(person: PersonRecord, key: SigningKey) -> bool:
    return bool(orjson.loads(person.sealed_key)["public"]["id"] != key.public.id)


def _reader(archive: zipfile.ZipFile, verified: VerifiedBundle, path: str) -> DigestReader:
    sha256, size = verified.file(path)
    return DigestReader(archive, path, sha256=sha256, size=size)


def _lines(archive: zipfile.ZipFile, verified: VerifiedBundle, path: str) -> Iterator[bytes]:
    """The lines of a file, its digest checked again at the end (the zip may have changed
    since it was verified: then the stream raises, and the transaction writes nothing)."""
    reader = _reader(archive, verified, path)
    yield from reader.lines()
    reader.check()


def _read(archive: zipfile.ZipFile, verified: VerifiedBundle, path: str) -> bytes:
    reader = _reader(archive, verified, path)
    data = reader.read()
    reader.check()
    return data


def _read_small(archive: zipfile.ZipFile, verified: VerifiedBundle, path: str) -> bytes:
    """A JSON file read whole, within its cap, its digest checked again."""
    return read_small(archive, path, listed=verified.file(path))


def _bundle_entries(archive: zipfile.ZipFile, verified: VerifiedBundle) -> Iterator[SignedEntry]:
    person_id = verified.record.person
    for seq, line in enumerate(_lines(archive, verified, RECORD), start=1):
        value = orjson.loads(line)
        canonical = value["entry"].encode()
        entry = orjson.loads(canonical)
        statement = (
            entry["body"].get("statement") if entry["kind"] == "statement-witnessed" else None
        )
        yield SignedEntry(
            person=person_id,
            seq=seq,
            canonical=canonical,
            hash=value["hash"],
            signature=value["signature"],
            statement_id=None if statement is None else str(statement),
        )


def _entry_hash_at(archive: zipfile.ZipFile, verified: VerifiedBundle, seq: int) -> str:
    for entry in _bundle_entries(archive, verified):
        if entry.seq == seq:
            return entry.hash
    return ""


def _doc(person_id: str, collection: str, key: str, body: bytes) -> PortfolioDoc:
    return PortfolioDoc(
        person_id=person_id, collection=collection, key=key, body=body, updated=utc_now_iso()
    )


def _documents(
    archive: zipfile.ZipFile, verified: VerifiedBundle, person_id: str
) -> Iterator[PortfolioDoc]:
    for line in _lines(archive, verified, DOCUMENTS):
        value = orjson.loads(line)
        if value["collection"] in OWN_FILES_COLLECTIONS:
            continue
        yield PortfolioDoc(
            person_id=person_id,
            collection=value["collection"],
            key=value["key"],
            body=orjson.dumps(value["body"]),
            updated=value["updated"],
        )


def _archive(
    archive: zipfile.ZipFile, verified: VerifiedBundle, person_id: str, keep: set[str]
) -> Iterator[PortfolioDoc]:
    """The portfolio's own copies of statements, exact bytes, and their attachments."""
    attachments: set[str] = set()
    for line in _lines(archive, verified, STATEMENTS):
        statement = orjson.loads(line)
        if statement["id"] not in keep:
            continue
        yield _doc(person_id, ARCHIVED_STATEMENTS, statement["id"], line)
        for attachment in statement.get("attachments") or ():
            if isinstance(attachment, dict) and isinstance(attachment.get("sha2"), str):
                attachments.add(attachment["sha2"])
    index = orjson.loads(_read_small(archive, verified, ATTACHMENT_INDEX))
    for sha2 in sorted(attachments & set(index)):
        content = _read(archive, verified, ATTACHMENTS_DIR + sha2)
        body = {
            "content_type": index[sha2]["content_type"],
            "content": base64.b64encode(content).decode(),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        yield _doc(person_id, ARCHIVED_ATTACHMENTS, sha2, orjson.dumps(body))
