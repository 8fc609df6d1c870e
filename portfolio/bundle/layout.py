"""What is where in a bundle, and reading it safely.

A bundle is a zip of these files (see schemas/bundle.py for the shapes of the JSON ones):

    manifest.json      format, person, exporting instance, record head, every file's digest
    signatures.json    the owner's and the instance's signatures over manifest.json
    keys.json          public keys (owner's past and present, instances'), sealed owner key
    person.json        the account: id, name, login e-mail, linked identities
    record.jsonl       the signed record, one entry per line (SignedEntry.to_json)
    statements.jsonl   every witnessed statement, one per line, byte for byte as stored
    attachments.json   sha2 → content type and length of each attachment
    attachments/<sha2> attachment data
    frameworks/<n>.json  the CASE packages of the frameworks the record refers to
    rules.json         the mapping rules the record refers to
    documents.jsonl    the portfolio's documents (goals, reflections, coverage...)

A zip is read as untrusted input: names are checked before anything is opened (no
absolute paths, no "..", no duplicates), and every file is read as a stream that stops
at the size the manifest gives it, so a lying zip cannot make a reader use memory.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from portfolio.errors import InvalidInput
from portfolio.record.chain import FOREIGN_INSTANCE_KEYS as FOREIGN_INSTANCE_KEYS

MANIFEST = "manifest.json"
SIGNATURES = "signatures.json"
KEYS = "keys.json"
PERSON = "person.json"
RECORD = "record.jsonl"
STATEMENTS = "statements.jsonl"
ATTACHMENT_INDEX = "attachments.json"
ATTACHMENTS_DIR = "attachments/"
FRAMEWORKS_DIR = "frameworks/"
RULES = "rules.json"
DOCUMENTS = "documents.jsonl"

#: Files every bundle has, besides the manifest and its signatures.
REQUIRED = (KEYS, PERSON, RECORD, STATEMENTS, ATTACHMENT_INDEX, RULES, DOCUMENTS)
#: Small JSON files read whole; anything larger than this is refused before it is read.
SMALL_FILE_LIMIT = 16 * 1024 * 1024
#: The longest line of a .jsonl file (a statement with its context, an entry).
LINE_LIMIT = 4 * 1024 * 1024
_CHUNK = 1024 * 1024
# What reading a damaged member raises: a bad CRC or header, a corrupt deflate stream.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError)

#: Portfolio document collections kept in their own files, not in documents.jsonl.
ARCHIVED_STATEMENTS = "statement"  # statements that arrived in a bundle: exact bytes
ARCHIVED_ATTACHMENTS = "attachment"  # their attachment data
OWN_FILES_COLLECTIONS = frozenset(
    {ARCHIVED_STATEMENTS, ARCHIVED_ATTACHMENTS, FOREIGN_INSTANCE_KEYS}
)


class BundleInvalid(InvalidInput):
    """The bundle does not verify: `place` names where (a file, and an entry or line in
    it), `reason` what is wrong. The first failure found is the one reported. Over HTTP,
    a 400 whose `path` is the place and `rule` the reason."""

    slug = "bundle invalid"

    def __init__(self, place: str, reason: str) -> None:
        super().__init__(f"{place}: {reason}", path=place, rule=reason)
        self.place = place
        self.reason = reason


def open_zip(path: str | IO[bytes]) -> zipfile.ZipFile:
    """Open a bundle, refusing what is not a zip or has unsafe or repeated names."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleInvalid("the bundle", f"not a readable zip file ({exc})") from None
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        if name in seen:
            raise BundleInvalid(name, "the zip holds this name twice")
        seen.add(name)
        if name.startswith("/") or "\\" in name or ".." in name.split("/") or name.endswith("/"):
            raise BundleInvalid(name, "not a safe file name for a bundle")
    return archive


class DigestReader:
    """A file of the bundle read as a stream, its SHA-256 and size checked against the
    manifest once the stream is done (`check`) and its size never exceeded on the way."""

    def __init__(self, archive: zipfile.ZipFile, path: str, *, sha256: str, size: int) -> None:
        self.path = path
        self._expected = (sha256, size)
        self._digest = hashlib.sha256()
        self._read = 0
        try:
            self._stream: IO[bytes] = archive.open(path)
        except KeyError:
            raise BundleInvalid(
                path, "listed in the manifest but missing from the bundle"
            ) from None

    def chunks(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._stream.read(_CHUNK)
            except _ZIP_ERRORS as exc:
                raise BundleInvalid(self.path, f"cannot be read from the zip ({exc})") from None
            if not chunk:
                return
            self._read += len(chunk)
            if self._read > self._expected[1]:
                raise BundleInvalid(self.path, "larger than the manifest says")
            self._digest.update(chunk)
            yield chunk

    def lines(self) -> Iterator[bytes]:
        """The file's lines without their line ends; every line must end with "\\n"."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from complete
            if len(pending) > LINE_LIMIT:
                raise BundleInvalid(self.path, f"a line is longer than {LINE_LIMIT} bytes")
        if pending:
            raise BundleInvalid(self.path, "the last line does not end with a newline")

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def check(self) -> None:
        """Raise BundleInvalid unless what was read is the file the manifest describes."""
        sha256, size = self._expected
        if self._read != size:
            raise BundleInvalid(self.path, f"{self._read} bytes where the manifest says {size}")
        if self._digest.hexdigest() != sha256:
            raise BundleInvalid(self.path, "its SHA-256 is not the one in the manifest")

    def close(self) -> None:
        self._stream.close()


def read_small(archive: zipfile.ZipFile, path: str) -> bytes:
    """A small file whose digest is checked elsewhere (the manifest and its signatures)."""
    try:
        info = archive.getinfo(path)
    except KeyError:
        raise BundleInvalid(path, "missing from the bundle") from None
    if info.file_size > SMALL_FILE_LIMIT:
        raise BundleInvalid(path, f"larger than {SMALL_FILE_LIMIT} bytes")
    try:
        with archive.open(info) as stream:
            data = stream.read(SMALL_FILE_LIMIT + 1)
    except _ZIP_ERRORS as exc:
        raise BundleInvalid(path, f"cannot be read from the zip ({exc})") from None
    if len(data) > SMALL_FILE_LIMIT:
        raise BundleInvalid(path, f"larger than {SMALL_FILE_LIMIT} bytes")
    return data
