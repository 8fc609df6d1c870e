"""Verifying a bundle offline: no server, no database, only the zip.

The checks, in order; the first that fails is reported with its place (file, and entry
or line) and reason, as BundleInvalid:

1. the zip: readable, not more entries than a bundle has, safe names, each name once;
2. the manifest: its shape; the exporting instance's and the owner's Ed25519 signatures
   over its exact bytes; with pinned keys, that the exporting instance's key is trusted
   and the manifest names the instance the trusted key document does (before anything
   else is read: an untrusted bundle costs no more than its manifest);
3. the files: every file the manifest lists is in the zip, and nothing else is;
4. keys.json: its shape (the sealed key's Argon2 cost within bounds), that it lists the
   key the instance signed with, under the instance's trusted name when pinned, and that
   the owner signed with their current key;
5. each file, as a stream: its contents, and then its SHA-256 and size against the
   manifest (contents first, so a changed entry is named by its number):
   - person.json: whose portfolio it is, matching the manifest;
   - record.jsonl: every entry's place, hash, link and signature (portfolio.record.verify),
     instance entries by the instance keys in keys.json, ending at the manifest's head;
   - statements.jsonl: each statement's SHA-256 is the one its witness entry recorded,
     each witnessed statement is there once (unless the record says it was erased), and
     no statement is there that the record does not witness;
   - attachments: each file's SHA-2 is its name and the index lists it; signed
     statements' JWS still verify against their statements (Data 2.6);
   - frameworks, rules, documents: well-formed JSON of their shape.

Memory stays small: files are streamed, the JSON files read whole have hard caps
(portfolio.bundle.layout), and what is kept is one digest per statement.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import orjson
from marshmallow import Schema, ValidationError

from portfolio.bundle.layout import (
    ATTACHMENT_INDEX,
    ATTACHMENTS_DIR,
    DOCUMENTS,
    FRAMEWORKS_DIR,
    KEYS,
    MANIFEST,
    PERSON,
    RECORD,
    REQUIRED,
    RULES,
    SIGNATURES,
    STATEMENTS,
    BundleInvalid,
    DigestReader,
    open_zip,
    read_small,
)
from portfolio.errors import InvalidInput, InvalidStatement
from portfolio.lrs.attachments import SIGNATURE_USAGE
from portfolio.lrs.signatures import verify_signature
from portfolio.record.entry import SignedEntry
from portfolio.record.keys import InvalidSignature, PublicKey, unb64url
from portfolio.record.verify import ChainSummary, RecordVerificationFailed, verify_record
from schemas.bundle import (
    AttachmentIndexSchema,
    DocumentLineSchema,
    KeysSchema,
    ManifestSchema,
    PersonFileSchema,
    SignaturesSchema,
)

_SHA2 = {64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


@dataclass(frozen=True)
class InstanceKey:
    key: PublicKey
    instance: str  # its URL


@dataclass(frozen=True)
class TrustedKey:
    """An instance key someone chose to trust, and the URLs of the instance that
    published it (its key documents): a bundle may name it by those only."""

    key: PublicKey
    instances: frozenset[str]


#: Called with keys.json once it and the manifest's signatures are checked, before the
#: rest of the bundle is read (the importer tries the owner's password there).
KeysCheck = Callable[[dict[str, Any]], None]


@dataclass
class VerifiedBundle:
    """What a verified bundle holds: its summary, and the small files an import reads."""

    manifest: dict[str, Any]
    manifest_sha256: str
    person: dict[str, Any]
    keys: dict[str, Any]
    instance_keys: dict[str, InstanceKey]
    record: ChainSummary
    files: dict[str, tuple[str, int]]  # path → (sha256, size), as the manifest lists them
    statements: int = 0
    attachments: int = 0
    frameworks: int = 0
    signed_statements: list[str] = field(default_factory=list)  # certificate subjects
    on_behalf_of: set[str] = field(default_factory=set)
    pinned: bool = False  # instance keys checked against trusted ones, not the bundle's

    def file(self, path: str) -> tuple[str, int]:
        return self.files[path]

    def manifest_paths(self) -> list[str]:
        return sorted(self.files)

    def summary(self) -> dict[str, Any]:
        """What `cpdfolio verify` prints: whose, how much, when, and who signed."""
        used = self.record.instance_keys | {self.manifest["instance"]["key"]}
        return {
            "person": {"id": self.record.person, "name": self.record.name},
            "exported_by": self.manifest["instance"]["url"],
            "exported": self.manifest["created"],
            "entries": self.record.entries,
            "statements": self.statements,
            "attachments": self.attachments,
            "frameworks": self.frameworks,
            "from": self.record.first_at,
            "to": self.record.last_at,
            "instance_keys_pinned": self.pinned,
            "signers": {
                "owner_keys": list(self.record.owner_keys),
                "instances": sorted(
                    {f"{self.instance_keys[k].instance} (key {k[:16]})" for k in used}
                ),
                "on_behalf_of": sorted(self.on_behalf_of),
                "statement_signers": sorted(set(self.signed_statements)),
            },
        }


def verify_bundle(
    source: str | IO[bytes],
    *,
    trusted: Mapping[str, TrustedKey] | None = None,
    on_keys: KeysCheck | None = None,
) -> VerifiedBundle:
    """Verify the bundle at `source` (a path or a binary file); raise BundleInvalid.

    `trusted` pins the instance keys: every instance signature in the record and over the
    manifest must then be by one of them, and the bundle must name each by the instance
    URL its key document gives. Without it, the instance keys are the ones the bundle
    lists, which proves the bundle intact and consistent but not which instances signed
    it: an owner could sign with a key of their own making and label it with a council's
    URL. The keys an instance signs with are published at /.well-known/cpdfolio-keys and
    by `cpdfolio instance-keys`.

    `on_keys`, when given, is called with keys.json as soon as it is checked, before the
    record and the other files are read; what it raises ends the verification.
    """
    with open_zip(source) as archive:
        return _Verifier(archive, trusted, on_keys).run()


class UntrustedInstance(BundleInvalid):
    """The bundle was exported by an instance whose key is not among those trusted."""

    def __init__(self, place: str, reason: str, *, instance: str) -> None:
        super().__init__(place, reason)
        self.instance = instance


def load_trusted(documents: Iterable[bytes]) -> dict[str, TrustedKey]:
    """The instance keys in published key documents ({"instance", "keys": [{id, public}]}),
    each with the instance URL its document names (a key in several documents keeps every
    URL). Raises InvalidInput for a document that is not one."""
    trusted: dict[str, TrustedKey] = {}
    for number, data in enumerate(documents, start=1):
        try:
            value = orjson.loads(data)
            instance = value["instance"]
            if not isinstance(instance, str) or not instance:
                raise TypeError("its instance is not a URL")
            for key in value["keys"]:
                public = PublicKey.from_json({"id": key["id"], "public": key["public"]})
                known = trusted.get(public.id)
                urls = frozenset({instance}) | (known.instances if known else frozenset())
                trusted[public.id] = TrustedKey(key=public, instances=urls)
        except (orjson.JSONDecodeError, KeyError, TypeError, InvalidInput) as exc:
            raise InvalidInput(
                f"trusted keys file {number} is not a published key document ({exc})",
                path="trust",
                rule='must be {"instance": URL, "keys": [{"id", "public"}]}',
            ) from None
    return trusted


def _load(schema: Schema, value: Any, place: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(value)
    except ValidationError as exc:
        raise BundleInvalid(place, f"malformed: {_first_error(exc.messages)}") from None
    return loaded


def _json(data: bytes, place: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BundleInvalid(place, "not JSON") from None


def _first_error(messages: object, path: str = "") -> str:
    if isinstance(messages, dict):
        for key, inner in messages.items():
            return _first_error(inner, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], path)
    return f"{path}: {messages}" if path else str(messages)


class _Verifier:
    def __init__(
        self,
        archive: zipfile.ZipFile,
        trusted: Mapping[str, TrustedKey] | None = None,
        on_keys: KeysCheck | None = None,
    ) -> None:
        self.archive = archive
        self.trusted = trusted
        self.on_keys = on_keys
        self.files: dict[str, tuple[str, int]] = {}
        # statement id → (sha256, seq of its witness entry), from the record
        self.witnessed: dict[str, tuple[str, int]] = {}
        self.erased: set[str] = set()
        self.on_behalf_of: set[str] = set()
        self.declared: set[str] = set()  # attachment sha2s the statements declare
        self.signed: list[tuple[int, dict[str, Any], str]] = []  # (line, statement, sha2)

    def run(self) -> VerifiedBundle:
        manifest_bytes = read_small(self.archive, MANIFEST)
        manifest = _load(ManifestSchema(), _json(manifest_bytes, MANIFEST), MANIFEST)
        signatures = self._signatures(manifest_bytes, manifest)
        self._exporter_is_trusted(manifest, signatures)
        self._check_names(manifest)
        keys, instance_keys = self._keys()
        self._signers_are_the_bundles(signatures, keys, instance_keys)
        if self.on_keys is not None:
            self.on_keys(keys)
        person = self._person(manifest)
        record = self._record(manifest, instance_keys)
        if record.owner_key_history != [k["id"] for k in keys["owner"]["keys"]]:
            raise BundleInvalid(KEYS, "the owner's keys are not the ones the record introduces")
        statements = self._statements()
        attachments = self._attachments()
        frameworks = self._other_files()
        return VerifiedBundle(
            manifest=manifest,
            manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
            person=person,
            keys=keys,
            instance_keys=instance_keys,
            record=record,
            files=self.files,
            statements=statements,
            attachments=attachments,
            frameworks=frameworks,
            signed_statements=[s for s in self._verify_jws() if s],
            on_behalf_of=self.on_behalf_of,
            pinned=self.trusted is not None,
        )

    # ------------------------------------------------------------------ structure

    def _check_names(self, manifest: dict[str, Any]) -> None:
        for listed in manifest["files"]:
            path = listed["path"]
            if path in self.files or path in (MANIFEST, SIGNATURES):
                raise BundleInvalid(MANIFEST, f"lists {path} twice")
            if not _allowed(path):
                raise BundleInvalid(MANIFEST, f"lists {path}, which is not a file a bundle has")
            self.files[path] = (listed["sha256"], listed["size"])
        for required in REQUIRED:
            if required not in self.files:
                raise BundleInvalid(MANIFEST, f"does not list {required}")
        names = set(self.archive.namelist())
        for name in sorted(names - set(self.files) - {MANIFEST, SIGNATURES}):
            raise BundleInvalid(name, "in the bundle but not in the manifest")
        for path in sorted(set(self.files) | {SIGNATURES}):
            if path not in names:
                raise BundleInvalid(path, "listed in the manifest, missing from the bundle")

    def _reader(self, path: str) -> DigestReader:
        sha256, size = self.files[path]
        return DigestReader(self.archive, path, sha256=sha256, size=size)

    def _whole(self, path: str) -> bytes:
        reader = self._reader(path)
        data = reader.read()
        reader.check()
        return data

    def _small(self, path: str) -> bytes:
        """A JSON file read whole, within its hard cap (layout.small_file_limit)."""
        return read_small(self.archive, path, listed=self.files[path])

    # ---------------------------------------------------------- keys, signatures

    def _keys(self) -> tuple[dict[str, Any], dict[str, InstanceKey]]:
        keys = _load(KeysSchema(), _json(self._small(KEYS), KEYS), KEYS)
        instance_keys: dict[str, InstanceKey] = {}
        for number, value in enumerate(keys["instances"]):
            place = f"{KEYS}, instance key {number + 1}"
            key = _public_key({"id": value["id"], "public": value["public"]}, place)
            instance_keys[key.id] = InstanceKey(key=key, instance=value["instance"])
        owner = [_public_key(k, f"{KEYS}, owner key") for k in keys["owner"]["keys"]]
        if not owner:
            raise BundleInvalid(KEYS, "no owner key")
        if keys["owner"]["sealed"]["public"] != owner[-1].to_json():
            raise BundleInvalid(KEYS, "the sealed key is not the owner's current key")
        return keys, instance_keys

    def _signatures(self, manifest_bytes: bytes, manifest: dict[str, Any]) -> dict[str, Any]:
        """Both signatures over the manifest's exact bytes, checked before anything the
        manifest lists is trusted (a changed listing is the manifest's fault, not the
        file's). Whose keys they are is checked once keys.json is read."""
        signatures = _load(
            SignaturesSchema(), _json(read_small(self.archive, SIGNATURES), SIGNATURES), SIGNATURES
        )
        for role in ("instance", "owner"):
            signed = signatures[role]
            key = _public_key({"id": signed["key"], "public": signed["public"]}, SIGNATURES)
            _check_signature(key, signed["signature"], manifest_bytes, role)
        if signatures["instance"]["key"] != manifest["instance"]["key"]:
            raise BundleInvalid(SIGNATURES, "the instance signature is not by the exporting key")
        return signatures

    def _exporter_is_trusted(self, manifest: dict[str, Any], signatures: dict[str, Any]) -> None:
        """With pinned keys, the instance that signed the manifest must be trusted, and
        named as its key document names it, before anything else of the bundle is read."""
        if self.trusted is None:
            return
        signed = signatures["instance"]
        url = manifest["instance"]["url"]
        trusted = self.trusted.get(signed["key"])
        if trusted is None or trusted.key.public != signed["public"]:
            raise UntrustedInstance(
                SIGNATURES,
                f"the exporting instance's key {signed['key'][:16]}… is not one you trust",
                instance=url,
            )
        if url not in trusted.instances:
            raise BundleInvalid(
                MANIFEST,
                f"names its exporting instance {url}, but the trusted key document of the"
                f" key that signed it names {_names(trusted.instances)}",
            )

    def _signers_are_the_bundles(
        self,
        signatures: dict[str, Any],
        keys: dict[str, Any],
        instance_keys: dict[str, InstanceKey],
    ) -> None:
        instance = signatures["instance"]
        listed = instance_keys.get(instance["key"])
        if listed is None or listed.key.public != instance["public"]:
            raise BundleInvalid(KEYS, "does not list the key the exporting instance signed with")
        for number, value in enumerate(keys["instances"], start=1):
            trusted = None if self.trusted is None else self.trusted.get(value["id"])
            if trusted is not None and value["instance"] not in trusted.instances:
                raise BundleInvalid(
                    f"{KEYS}, instance key {number}",
                    f"lists key {value['id'][:16]}… as {value['instance']}'s, but its"
                    f" trusted key document names {_names(trusted.instances)}",
                )
        current = keys["owner"]["keys"][-1]
        owner = signatures["owner"]
        if (owner["key"], owner["public"]) != (current["id"], current["public"]):
            raise BundleInvalid(SIGNATURES, "the owner signature is not by the owner's current key")

    # ---------------------------------------------------------------------- files

    def _person(self, manifest: dict[str, Any]) -> dict[str, Any]:
        person = _load(PersonFileSchema(), _json(self._small(PERSON), PERSON), PERSON)
        if person["id"] != manifest["person"]["id"] or person["name"] != manifest["person"]["name"]:
            raise BundleInvalid(PERSON, "not the person the manifest names")
        return person

    def _record(
        self, manifest: dict[str, Any], instance_keys: dict[str, InstanceKey]
    ) -> ChainSummary:
        person_id = manifest["person"]["id"]
        reader = self._reader(RECORD)
        trusted = {
            k: v.key
            for k, v in instance_keys.items()
            if self.trusted is None or _is_trusted(self.trusted.get(k), v.key)
        }
        try:
            summary = verify_record(person_id, self._entries(reader), instance_keys=trusted)
        except RecordVerificationFailed as exc:
            raise BundleInvalid(f"{RECORD}, entry {exc.seq}", exc.reason) from None
        reader.check()
        if summary.entries != manifest["record"]["entries"]:
            raise BundleInvalid(RECORD, f"{summary.entries} entries; the manifest says more")
        if summary.head != manifest["record"]["head"]:
            raise BundleInvalid(RECORD, "its last entry is not the head the manifest names")
        return summary

    def _entries(self, reader: DigestReader) -> Iterator[SignedEntry]:
        for number, line in enumerate(reader.lines(), start=1):
            place = f"{RECORD}, entry {number}"
            value = _json(line, place)
            if not isinstance(value, dict) or set(value) != {"entry", "hash", "signature"}:
                raise BundleInvalid(place, "must be {entry, hash, signature}")
            if not all(isinstance(v, str) for v in value.values()):
                raise BundleInvalid(place, "entry, hash and signature must be strings")
            canonical = value["entry"].encode()
            entry = _json(canonical, place)
            if not isinstance(entry, dict):
                raise BundleInvalid(place, "its entry is not a JSON object")
            self._note(entry, number)
            seq = entry.get("seq")
            yield SignedEntry(
                person=str(entry.get("person")),
                seq=seq if isinstance(seq, int) else -1,
                canonical=canonical,
                hash=value["hash"],
                signature=value["signature"],
            )

    def _note(self, entry: dict[str, Any], number: int) -> None:
        """Remember what later checks need. Only used once the record has verified."""
        body = entry.get("body") if isinstance(entry.get("body"), dict) else {}
        assert isinstance(body, dict)
        kind = entry.get("kind")
        if kind == "statement-witnessed":
            self.witnessed[str(body.get("statement"))] = (str(body.get("sha256")), number)
        elif kind == "statement-erased":
            self.erased.add(str(body.get("statement")))
        signer = entry.get("signer")
        if isinstance(signer, dict) and isinstance(signer.get("on_behalf_of"), dict):
            self.on_behalf_of.add(str(signer["on_behalf_of"].get("name")))

    def _statements(self) -> int:
        reader = self._reader(STATEMENTS)
        seen: set[str] = set()
        for number, line in enumerate(reader.lines(), start=1):
            place = f"{STATEMENTS}, line {number}"
            statement = _json(line, place)
            if not isinstance(statement, dict) or not isinstance(statement.get("id"), str):
                raise BundleInvalid(place, "not a statement with an id")
            statement_id = statement["id"]
            if statement_id in seen:
                raise BundleInvalid(place, f"statement {statement_id} is there twice")
            seen.add(statement_id)
            if statement_id not in self.witnessed:
                raise BundleInvalid(place, f"statement {statement_id} is not in the record")
            sha256, seq = self.witnessed[statement_id]
            if hashlib.sha256(line).hexdigest() != sha256:
                raise BundleInvalid(
                    place, f"statement {statement_id} is not the one entry {seq} witnessed"
                )
            self._note_attachments(statement, number)
        reader.check()
        for statement_id, (_sha, seq) in self.witnessed.items():
            if statement_id not in seen and statement_id not in self.erased:
                raise BundleInvalid(
                    STATEMENTS, f"statement {statement_id}, witnessed by entry {seq}, is missing"
                )
        return len(seen)

    def _note_attachments(self, statement: dict[str, Any], line: int) -> None:
        attachments = statement.get("attachments")
        if not isinstance(attachments, list):
            return
        for attachment in attachments:
            if not isinstance(attachment, dict) or not isinstance(attachment.get("sha2"), str):
                continue
            self.declared.add(attachment["sha2"])
            if attachment.get("usageType") == SIGNATURE_USAGE:
                self.signed.append((line, statement, attachment["sha2"]))

    def _attachments(self) -> int:
        index = _json(self._small(ATTACHMENT_INDEX), ATTACHMENT_INDEX)
        if not isinstance(index, dict):
            raise BundleInvalid(ATTACHMENT_INDEX, "must be an object of sha2 → attachment")
        files = {p[len(ATTACHMENTS_DIR) :] for p in self.files if p.startswith(ATTACHMENTS_DIR)}
        for sha2 in sorted(set(index) | files):
            place = f"{ATTACHMENTS_DIR}{sha2}"
            if sha2 not in files:
                raise BundleInvalid(place, "in attachments.json but not in the bundle")
            if sha2 not in index:
                raise BundleInvalid(place, "not in attachments.json")
            if sha2 not in self.declared:
                raise BundleInvalid(place, "no statement in the bundle declares it")
            entry = _load(AttachmentIndexSchema(), index[sha2], f"{ATTACHMENT_INDEX}, {sha2}")
            content = self._whole(place)
            hasher = _SHA2.get(len(sha2))
            if hasher is None or hasher(content).hexdigest() != sha2:
                raise BundleInvalid(place, "its SHA-2 is not its name")
            if len(content) != entry["length"]:
                raise BundleInvalid(place, "its length is not the one attachments.json gives")
        return len(files)

    def _verify_jws(self) -> list[str]:
        subjects = []
        for line, statement, sha2 in self.signed:
            place = f"{STATEMENTS}, line {line}"
            path = ATTACHMENTS_DIR + sha2
            if path not in self.files:
                raise BundleInvalid(place, "a signed statement without its signature attachment")
            try:
                check = verify_signature(statement, self._whole(path), path=path)
            except InvalidStatement as exc:
                raise BundleInvalid(place, f"statement {statement['id']}: {exc.message}") from None
            subjects.append(check.subject or "")
        return subjects

    def _other_files(self) -> int:
        frameworks = [p for p in sorted(self.files) if p.startswith(FRAMEWORKS_DIR)]
        for path in frameworks:
            value = _json(self._small(path), path)
            if not isinstance(value, dict) or "CFDocument" not in value:
                raise BundleInvalid(path, "not a CASE framework package")
        rules = _json(self._small(RULES), RULES)
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise BundleInvalid(RULES, "must be a list of mapping rules")
        reader = self._reader(DOCUMENTS)
        schema = DocumentLineSchema()
        for number, line in enumerate(reader.lines(), start=1):
            place = f"{DOCUMENTS}, line {number}"
            _load(schema, _json(line, place), place)
        reader.check()
        return len(frameworks)


def _is_trusted(trusted: TrustedKey | None, key: PublicKey) -> bool:
    return trusted is not None and trusted.key == key


def _names(urls: frozenset[str]) -> str:
    return " or ".join(sorted(urls))


def _allowed(path: str) -> bool:
    if path in REQUIRED:
        return True
    if path.startswith(ATTACHMENTS_DIR):
        name = path[len(ATTACHMENTS_DIR) :]
        return len(name) in _SHA2 and all(c in "0123456789abcdef" for c in name)
    if path.startswith(FRAMEWORKS_DIR):
        name = path[len(FRAMEWORKS_DIR) :]
        return name.endswith(".json") and name[:-5].isdigit()
    return False


def _public_key(value: object, place: str) -> PublicKey:
    try:
        return PublicKey.from_json(value)
    except InvalidInput as exc:
        raise BundleInvalid(place, f"bad public key: {exc.message}") from None


def _check_signature(key: PublicKey, signature: str, data: bytes, role: str) -> None:
    try:
        key.verify(unb64url(signature), data)
    except (InvalidSignature, ValueError):
        reason = f"the {role} signature over the manifest does not verify"
        raise BundleInvalid(SIGNATURES, reason) from None
