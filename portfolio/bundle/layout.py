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

A zip is read as untrusted input: the number of its entries is bounded before zipfile
reads its directory (MAX_ENTRIES), names are checked before anything is opened (no
absolute paths, no "..", no duplicates), every file is read as a stream that stops at the
size the manifest gives it, and the JSON files read whole have a hard cap of their own
(SMALL_FILE_LIMITS, FRAMEWORK_LIMIT) whatever the manifest says, so a lying zip cannot
make a reader use memory.
"""

from __future__ import annotations

import hashlib
import struct
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
_KIB = 1024
_MIB = 1024 * _KIB
#: The most a JSON file read whole may hold, far above what any real portfolio needs and
#: far below what would hurt a server; anything larger is refused before it is read, so a
#: small zip (a bomb) cannot make a reader inflate it.
SMALL_FILE_LIMITS: dict[str, int] = {
    MANIFEST: 16 * _MIB,  # about 180 bytes a file: some 90,000 files
    SIGNATURES: 64 * _KIB,  # two signatures: under 1 KiB
    KEYS: 1 * _MIB,  # thousands of keys; the sealed key is 300 bytes
    PERSON: 1 * _MIB,  # thousands of linked identities
    RULES: 4 * _MIB,  # thousands of mapping rules
    ATTACHMENT_INDEX: 16 * _MIB,  # one line per attachment file, as many as the manifest
}
#: The most a framework package (frameworks/<n>.json) may hold: the shipped ones are
#: under 40 KiB; a framework of thousands of items is a few MiB.
FRAMEWORK_LIMIT = 16 * _MIB
#: The most entries a bundle's zip may have: about as many as a manifest within its limit
#: lists (an attachment's line in it takes some 170 bytes), far more files than a
#: portfolio has (its statements are lines of one file). Checked before zipfile reads the
#: central directory, whose every entry costs it an object.
MAX_ENTRIES = 100_000
#: The longest line of a .jsonl file (a statement with its context, an entry).
LINE_LIMIT = 4 * 1024 * 1024
_CHUNK = 1024 * 1024
# What reading a damaged member raises: a bad CRC or header, a corrupt deflate stream.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError)
# The zip records that say where the central directory is (APPNOTE 4.3.14-4.3.16).
_END = struct.Struct("<4s4H2LH")  # end of central directory: ..., entries, size, offset
_END_SIGNATURE = b"PK\x05\x06"
_END64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory
_END64_SIGNATURE = b"PK\x06\x06"
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_CENTRAL_SIGNATURE = b"PK\x01\x02"  # starts every entry of the central directory
_MAX_COMMENT = 0xFFFF
# The longest central directory record of a bundle's entry: 46 fixed bytes, a name of at
# most 140 (attachments/ and a SHA-512), and room for extra fields other zip tools add.
_CENTRAL_RECORD_ALLOWANCE = 46 + 140 + 138

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
    """Open a bundle, refusing what is not a zip, has more entries than a bundle can
    (MAX_ENTRIES), or has unsafe or repeated names."""
    try:
        if isinstance(path, str):
            with open(path, "rb") as stream:
                _refuse_too_many_entries(stream)
        else:
            _refuse_too_many_entries(path)
            path.seek(0)
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, struct.error) as exc:
        raise BundleInvalid("the bundle", f"not a readable zip file ({exc})") from None
    if len(archive.infolist()) > MAX_ENTRIES:  # in case a zip got past the count above
        archive.close()
        raise BundleInvalid("the bundle", f"more than {MAX_ENTRIES} files in the zip")
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        if name in seen:
            raise BundleInvalid(name, "the zip holds this name twice")
        seen.add(name)
        if name.startswith("/") or "\\" in name or ".." in name.split("/") or name.endswith("/"):
            raise BundleInvalid(name, "not a safe file name for a bundle")
    return archive


def _refuse_too_many_entries(stream: IO[bytes]) -> None:
    """Refuse a zip whose central directory holds more than MAX_ENTRIES entries, reading
    only its end records and counting entry signatures in the directory's bytes, never
    making an object per entry (zipfile makes a ZipInfo of each: 500,000 of them cost
    seconds and hundreds of MB). zipfile reads as many entries as fit in the directory's
    size, whatever count the end record gives, so the size is bounded and the entries in
    it counted. A zip without an end record is left for zipfile to refuse."""
    directory = _central_directory(stream)
    if directory is None:
        return
    start, size, entries = directory
    too_many = f"more than {MAX_ENTRIES} files in the zip"
    if entries > MAX_ENTRIES or size > MAX_ENTRIES * _CENTRAL_RECORD_ALLOWANCE:
        raise BundleInvalid("the bundle", too_many)
    # Every entry zipfile reads starts with the signature: their count bounds the entries.
    # A signature across two chunks is in `window`; none fits in the 3 bytes carried over,
    # so none is counted twice.
    stream.seek(max(start, 0))
    remaining, found, carried = size, 0, b""
    while remaining > 0:
        chunk = stream.read(min(_CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        window = carried + chunk
        found += window.count(_CENTRAL_SIGNATURE)
        if found > MAX_ENTRIES:
            raise BundleInvalid("the bundle", too_many)
        carried = window[-3:]


def _central_directory(stream: IO[bytes]) -> tuple[int, int, int] | None:
    """Where zipfile will read the central directory from, its size and the number of
    entries the end record gives, found as zipfile finds them (zipfile._EndRecData): the
    end record is the last 22 bytes when they are one without a comment, else the last in
    the final 64 KiB; a zip64 end record is the one just before the zip64 locator."""
    stream.seek(0, 2)
    length = stream.tell()
    if length < _END.size:
        return None
    stream.seek(length - _END.size)
    record = stream.read(_END.size)
    position = length - _END.size
    if record[:4] != _END_SIGNATURE or record[-2:] != b"\x00\x00":
        start = max(length - _END.size - _MAX_COMMENT - 1, 0)
        stream.seek(start)
        tail = stream.read()
        found = tail.rfind(_END_SIGNATURE)
        if found < 0 or len(tail) - found < _END.size:
            return None
        record = tail[found : found + _END.size]
        position = start + found
    end = _END.unpack(record)
    entries, size = int(end[4]), int(end[5])
    directory_end = position
    zip64_at = position - _END64_LOCATOR.size - _END64.size
    if zip64_at >= 0:
        stream.seek(position - _END64_LOCATOR.size)
        locator = _END64_LOCATOR.unpack(stream.read(_END64_LOCATOR.size))
        if locator[0] == _END64_LOCATOR_SIGNATURE:
            stream.seek(zip64_at)
            end64 = _END64.unpack(stream.read(_END64.size))
            if end64[0] == _END64_SIGNATURE:
                entries, size, directory_end = int(end64[7]), int(end64[8]), zip64_at
    return directory_end - size, size, entries


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
        except _ZIP_ERRORS as exc:
            raise BundleInvalid(path, f"cannot be read from the zip ({exc})") from None

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


def small_file_limit(path: str) -> int:
    """The most the JSON file `path` of a bundle may hold when it is read whole."""
    if path.startswith(FRAMEWORKS_DIR):
        return FRAMEWORK_LIMIT
    return SMALL_FILE_LIMITS[path]


def read_small(
    archive: zipfile.ZipFile, path: str, *, listed: tuple[str, int] | None = None
) -> bytes:
    """A JSON file read whole, never more than its limit (small_file_limit) whatever the
    zip or the manifest says. With `listed` (its SHA-256 and size from the manifest) the
    size is checked against the limit before anything is read, and the digest and size
    after; without it (the manifest and its signatures, checked otherwise), the read stops
    one byte past the limit."""
    limit = small_file_limit(path)
    too_large = f"larger than {limit} bytes, the most a bundle's {path} may hold"
    if listed is not None:
        sha256, size = listed
        if size > limit:
            raise BundleInvalid(path, too_large)
        reader = DigestReader(archive, path, sha256=sha256, size=size)
        try:
            data = reader.read()
        finally:
            reader.close()
        reader.check()
        return data
    try:
        info = archive.getinfo(path)
    except KeyError:
        raise BundleInvalid(path, "missing from the bundle") from None
    if info.file_size > limit:
        raise BundleInvalid(path, too_large)
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except _ZIP_ERRORS as exc:
        raise BundleInvalid(path, f"cannot be read from the zip ({exc})") from None
    if len(data) > limit:
        raise BundleInvalid(path, too_large)
    return data
