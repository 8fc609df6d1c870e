"""The tampering suite of the portfolio bundle (issue 5, acceptance).

"For every file kind in the bundle, a changed byte, a removed file, an added file,
reordered entries and a swapped key each make `cpdfolio verify` exit 1 with a message
naming the place; import refuses the same bundles and leaves B's store unchanged."

Council A exports one good bundle (tests.bundle_support.rich_portfolio puts something in
every file kind). Each case rewrites it member by member, in the same order, with only
the change the case names, so what fails is the change and not the rewriting (a control
test shows that a faithful rewrite still verifies). For every case:

- verify_bundle raises BundleInvalid whose place is the tampered file, with its entry or
  line where the check is per entry or line;
- `cpdfolio verify` exits 1 with "FILE does not verify: <place>: <reason>" (click's
  runner for every case; the installed command, as a process, for one case a file kind);
- council B's importer refuses it, and every row of every table of B's SQLite database
  is as it was.

The manifest is trusted only through its signatures, so a change to it that leaves it a
well-formed manifest shows as a signature that does not verify over it: for a changed
manifest, "manifest.json" and "signatures.json" both name the place.
"""

from __future__ import annotations

import hashlib
import io
import struct
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from portfolio.bundle.layout import BundleInvalid
from portfolio.bundle.verify import verify_bundle
from portfolio.errors import AuthenticationRequired
from portfolio.record.canonical import canonical_json
from portfolio.record.keys import SigningKey, b64url, seal_with_password
from service.cli import main
from tests.bundle_support import CHEAP, PASSWORD, Council, rich_portfolio

CPDFOLIO = Path(sys.executable).parent / "cpdfolio"
MIB = 1024 * 1024

# Members whose names differ from run to run, written in the cases as these aliases.
PLAIN = "{plain}"  # attachments/<sha2> of the certificate
JWS = "{jws}"  # attachments/<sha2> of the signed statement's JWS
FRAMEWORK = "frameworks/1.json"

Members = list[tuple[str, bytes]]
Json = dict[str, Any]


# ----------------------------------------------------------------------- the bundles


@dataclass(frozen=True)
class Good:
    """The untampered bundle: its file, and its members in zip order."""

    path: Path
    members: tuple[tuple[str, bytes], ...]
    aliases: dict[str, str]

    def name(self, member: str) -> str:
        return self.aliases.get(member, member)

    def content(self, member: str) -> bytes:
        name = self.name(member)
        return next(data for path, data in self.members if path == name)

    def json(self, member: str) -> Any:
        return orjson.loads(self.content(member))


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Good:
    council = Council(tmp_path_factory.mktemp("council-a"), url="https://a.example.org")
    try:
        rich_portfolio(council)
        path = council.root / "good.cpdfolio.zip"
        council.export(path)
    finally:
        council.store.close()
    with zipfile.ZipFile(path) as archive:
        members = tuple((info.filename, archive.read(info)) for info in archive.infolist())
    plain = next(n for n, d in members if n.startswith("attachments/") and d.startswith(b"%PDF"))
    (jws,) = {n for n, _ in members if n.startswith("attachments/")} - {plain}
    return Good(path=path, members=members, aliases={PLAIN: plain, JWS: jws})


@pytest.fixture(scope="module")
def council_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Council]:
    """The council every tampered bundle is offered to: nothing may ever arrive in it."""
    council = Council(tmp_path_factory.mktemp("council-b"), url="https://b.example.org")
    yield council
    council.store.close()


# ---------------------------------------------------------------- rewriting the zip


def _zip(members: Members, *, stored: frozenset[str] = frozenset()) -> bytes:
    """A zip of `members` in the order given; a name given twice is written twice."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: one case's point
        with zipfile.ZipFile(out, "w") as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
    return out.getvalue()


def rebuilt(
    good: Good,
    *,
    replace: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    add: Members | None = None,
    stored: tuple[str, ...] = (),
) -> bytes:
    """The good bundle with members replaced (in place), dropped, or added at the end."""
    changes = {good.name(k): v for k, v in (replace or {}).items()}
    gone = {good.name(m) for m in drop}
    members = [(n, changes.get(n, d)) for n, d in good.members if n not in gone]
    members += [(good.name(n), d) for n, d in add or []]
    return _zip(members, stored=frozenset(good.name(m) for m in stored))


def changed(member: str, change: Callable[[bytes], bytes]) -> Callable[[Good], bytes]:
    """A tamper that rewrites one member's bytes."""
    return lambda good: rebuilt(good, replace={member: change(good.content(member))})


def _data_offset(bundle: bytes, name: str) -> tuple[int, zipfile.ZipInfo]:
    """Where `name`'s (compressed) data starts in the zip, after its local header."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        info = archive.getinfo(name)
    name_length, extra_length = struct.unpack_from("<HH", bundle, info.header_offset + 26)
    return info.header_offset + 30 + name_length + extra_length, info


def _bit_rot(member: str) -> Callable[[Good], bytes]:
    """The member stored uncompressed and a byte of it flipped in the zip itself: its
    CRC-32 no longer matches (a disk or a download changed a byte)."""

    def tamper(good: Good) -> bytes:
        bundle = bytearray(rebuilt(good, stored=(member,)))
        start, info = _data_offset(bytes(bundle), good.name(member))
        bundle[start + info.file_size // 2] ^= 0x01
        return bytes(bundle)

    return tamper


def _broken_deflate(member: str) -> Callable[[Good], bytes]:
    """The member's deflate stream starts with a block of the reserved type."""

    def tamper(good: Good) -> bytes:
        bundle = bytearray(rebuilt(good))
        start, _ = _data_offset(bytes(bundle), good.name(member))
        bundle[start] = 0b111  # BFINAL=1, BTYPE=11: "reserved (error)" (RFC 1951 3.2.3)
        return bytes(bundle)

    return tamper


def _bomb(member: str, size: int, *, lying_headers: bool = False) -> Callable[[Good], bytes]:
    """`member` replaced by `size` zero bytes (a few KiB deflated) while the manifest still
    gives its old size; with `lying_headers` the zip's own headers give the old size too."""

    def tamper(good: Good) -> bytes:
        name = good.name(member)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for path, data in good.members:
                info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                if path != name:
                    zf.writestr(info, data)
                    continue
                with zf.open(info, "w") as stream:
                    for _ in range(size // MIB):
                        stream.write(bytes(MIB))
        bundle = bytearray(out.getvalue())
        if lying_headers:
            listed = len(good.content(member))
            _, info = _data_offset(bytes(bundle), name)
            struct.pack_into("<I", bundle, info.header_offset + 22, listed)  # local header
            central = bundle.index(b"PK\x01\x02")
            while bundle[central + 46 : central + 46 + len(name)] != name.encode():
                central = bundle.index(b"PK\x01\x02", central + 4)
            struct.pack_into("<I", bundle, central + 24, listed)  # central directory
        return bytes(bundle)

    return tamper


# ------------------------------------------------------------ changing bytes and lines


def flip(data: bytes, position: int) -> bytes:
    """One bit of one byte flipped (an ASCII byte stays ASCII and is never a newline)."""
    out = bytearray(data)
    out[position] ^= 0x01
    return bytes(out)


def flip_position(member: str, data: bytes) -> int:
    """The middle byte; in the manifest, the middle of the digest it lists for
    record.jsonl (its listing of keys.json is a case of its own)."""
    if member == "manifest.json":
        listing = b'{"path":"record.jsonl","sha256":"'
        return data.index(listing) + len(listing) + 32
    return len(data) // 2


def line_at(data: bytes, position: int) -> int:
    """The number (from 1) of the line that holds byte `position`."""
    return data[:position].count(b"\n") + 1


def edit(data: bytes, old: bytes, new: bytes, *, line: int | None = None) -> bytes:
    """`old` replaced by `new`, of the same length, once; in `line` (from 1) if given."""
    assert len(old) == len(new)
    lines = data.split(b"\n") if line is not None else [data]
    index = 0 if line is None else line - 1
    assert old in lines[index], f"{old!r} is not there: the case is out of date"
    lines[index] = lines[index].replace(old, new, 1)
    return b"\n".join(lines)


def still_json(member: str, data: bytes) -> bytes:
    """`data`, checked to be as well-formed as its kind of file: the change that made it
    is one only a digest, a hash or a signature can find."""
    if member.endswith(".jsonl"):
        for line in data.split(b"\n")[:-1]:
            orjson.loads(line)
    elif member.endswith(".json"):
        orjson.loads(data)
    return data


def other_b64(text: str) -> str:
    """A base64url string with its middle character changed."""
    middle = len(text) // 2
    return text[:middle] + ("B" if text[middle] != "B" else "C") + text[middle + 1 :]


def other_hex(digest: str) -> str:
    return ("1" if digest[0] != "1" else "2") + digest[1:]


def lines_in(data: bytes) -> int:
    return data.count(b"\n")


def swap_lines(data: bytes, first: int, second: int) -> bytes:
    lines = data.split(b"\n")
    lines[first - 1], lines[second - 1] = lines[second - 1], lines[first - 1]
    return b"\n".join(lines)


def drop_line(data: bytes, number: int) -> bytes:
    lines = data.split(b"\n")
    del lines[number - 1]
    return b"\n".join(lines)


def indented(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2)


def _owner_signature_changed(data: bytes) -> bytes:
    signatures = orjson.loads(data)
    signatures["owner"]["signature"] = other_b64(signatures["owner"]["signature"])
    return indented(signatures)


def _jws_payload_changed(data: bytes) -> bytes:
    header, payload, signature = data.split(b".")
    return b".".join([header, other_b64(payload.decode()).encode(), signature])


# ------------------------------------------------------------------------- the cases


Places = Callable[[Good], tuple[str, ...]]


def at(*members: str) -> Places:
    return lambda good: tuple(good.name(m) for m in members)


MANIFEST_PLACES = at("manifest.json", "signatures.json")


@dataclass(frozen=True)
class Case:
    """A tampered bundle, and the places verification may name for it."""

    id: str
    tamper: Callable[[Good], bytes]
    places: Places
    # import may refuse it before verifying: the owner's password does not open its key
    sealed_for_someone_else: bool = False


@dataclass(frozen=True)
class Kind:
    """A file kind: a member, and a change to it that keeps it well-formed JSON."""

    member: str
    edit: Callable[[bytes], bytes]
    edited_at: Places

    @property
    def label(self) -> str:
        return self.member.strip("{}")

    def flipped_at(self, good: Good) -> tuple[str, ...]:
        """Where a flipped byte is named: its entry or line where the check is per entry
        or line (documents.jsonl's lines are only parsed, so a still-parsing line is found
        by the file's digest)."""
        data = good.content(self.member)
        line = line_at(data, flip_position(self.member, data))
        if self.member == "record.jsonl":
            return (f"record.jsonl, entry {line}",)
        if self.member == "statements.jsonl":
            return (f"statements.jsonl, line {line}",)
        if self.member == "documents.jsonl":
            return (f"documents.jsonl, line {line}", "documents.jsonl")
        if self.member == "manifest.json":
            return MANIFEST_PLACES(good)
        return (good.name(self.member),)


KINDS = [
    Kind("manifest.json", lambda d: edit(d, b'"created":"2', b'"created":"3'), MANIFEST_PLACES),
    Kind("signatures.json", _owner_signature_changed, at("signatures.json")),
    Kind(
        "keys.json",
        lambda d: edit(d, b'"https://a.example.org"', b'"https://a.example.orh"'),
        at("keys.json"),
    ),
    Kind("person.json", lambda d: edit(d, b'"Ann Jones"', b'"Ann Jonez"'), at("person.json")),
    Kind(
        "record.jsonl",
        lambda d: edit(d, b'{\\"at\\":\\"2', b'{\\"at\\":\\"3', line=3),
        at("record.jsonl, entry 3"),
    ),
    Kind(
        "statements.jsonl",
        lambda d: edit(d, b"Safeguarding basics", b"Safeguarding basicz", line=2),
        at("statements.jsonl, line 2"),
    ),
    Kind(
        "attachments.json", lambda d: edit(d, b"text/plain", b"text/plaim"), at("attachments.json")
    ),
    Kind(PLAIN, lambda d: edit(d, b"certificate", b"certificatf"), at(PLAIN)),
    Kind(JWS, _jws_payload_changed, at(JWS)),
    Kind(FRAMEWORK, lambda d: edit(d, b"Knowledge & Skills", b"Knowledge & Skillz"), at(FRAMEWORK)),
    Kind("rules.json", lambda d: edit(d, b'"hours":2.0', b'"hours":3.0'), at("rules.json")),
    # well-formed lines: only the file's digest, checked at its end, finds the change
    Kind(
        "documents.jsonl",
        lambda d: edit(d, b"Preparation matters.", b"Preparation matterz."),
        at("documents.jsonl"),
    ),
]


EDITS = {kind.member: kind.edit for kind in KINDS}


def _flipped(member: str) -> Callable[[Good], bytes]:
    return changed(member, lambda data: flip(data, flip_position(member, data)))


def _edited(kind: Kind) -> Callable[[Good], bytes]:
    return changed(kind.member, lambda data: still_json(kind.member, kind.edit(data)))


def _removed(member: str) -> Callable[[Good], bytes]:
    return lambda good: rebuilt(good, drop=(member,))


def _per_kind_cases() -> Iterator[Case]:
    for kind in KINDS:
        member = kind.member
        yield Case(f"{kind.label}/changed-byte", _flipped(member), kind.flipped_at)
        yield Case(f"{kind.label}/changed-byte-well-formed", _edited(kind), kind.edited_at)
        yield Case(f"{kind.label}/removed", _removed(member), at(member))
        yield Case(f"{kind.label}/bit-rot-in-the-zip", _bit_rot(member), at(member))
        yield Case(f"{kind.label}/broken-deflate-stream", _broken_deflate(member), at(member))


PLANTED = "attachments/" + hashlib.sha256(b"planted").hexdigest()

ADDED_FILE_CASES = [
    Case("added/extra.txt", lambda g: rebuilt(g, add=[("extra.txt", b"hello")]), at("extra.txt")),
    Case(
        "added/unlisted-attachment",
        lambda g: rebuilt(g, add=[(PLANTED, b"planted")]),
        at(PLANTED),
    ),
    Case(
        "added/unlisted-framework",
        lambda g: rebuilt(g, add=[("frameworks/2.json", g.content(FRAMEWORK))]),
        at("frameworks/2.json"),
    ),
    Case(
        "added/duplicate-record",
        lambda g: rebuilt(g, add=[("record.jsonl", g.content("record.jsonl"))]),
        at("record.jsonl"),
    ),
    Case(
        "added/duplicate-manifest",
        lambda g: rebuilt(
            g, add=[("manifest.json", EDITS["manifest.json"](g.content("manifest.json")))]
        ),
        at("manifest.json"),
    ),
    Case(
        "added/directory-entry",
        lambda g: rebuilt(g, add=[("attachments/", b"")]),
        at("attachments/"),
    ),
    Case(
        "added/path-traversal",
        lambda g: rebuilt(g, add=[("../record.jsonl", g.content("record.jsonl"))]),
        at("../record.jsonl"),
    ),
    Case(
        "added/absolute-path",
        lambda g: rebuilt(g, add=[("/etc/cpdfolio", b"x")]),
        at("/etc/cpdfolio"),
    ),
]


def _manifest_changed(change: Callable[[Json], None]) -> Callable[[Good], bytes]:
    def tamper(good: Good) -> bytes:
        manifest = good.json("manifest.json")
        change(manifest)
        return rebuilt(good, replace={"manifest.json": canonical_json(manifest)})

    return tamper


def _listing_changed(member: str, field: str) -> Callable[[Good], bytes]:
    """The manifest's listing of `member` changed; `member` itself is intact."""

    def change(manifest: Json) -> None:
        (listed,) = [f for f in manifest["files"] if f["path"] == member]
        listed[field] = other_hex(listed[field]) if field == "sha256" else listed[field] - 1

    return _manifest_changed(change)


def _last_entry(g: Good) -> int:
    return lines_in(g.content("record.jsonl"))


REORDERED_CASES = [
    Case(
        "record.jsonl/entries-2-and-3-swapped",
        changed("record.jsonl", lambda d: swap_lines(d, 2, 3)),
        at("record.jsonl, entry 2"),
    ),
    Case(
        "record.jsonl/last-two-entries-swapped",
        changed("record.jsonl", lambda d: swap_lines(d, lines_in(d) - 1, lines_in(d))),
        lambda g: (f"record.jsonl, entry {_last_entry(g) - 1}",),
    ),
    Case(
        "record.jsonl/entry-5-removed",
        changed("record.jsonl", lambda d: drop_line(d, 5)),
        at("record.jsonl, entry 5"),
    ),
    Case(
        # the file is then longer than the manifest says, which the stream finds first
        "record.jsonl/last-entry-repeated",
        changed("record.jsonl", lambda d: d + d.split(b"\n")[-2] + b"\n"),
        lambda g: ("record.jsonl", f"record.jsonl, entry {_last_entry(g) + 1}"),
    ),
    Case(
        # each statement is still the one its entry witnessed: the file's digest finds it
        "statements.jsonl/lines-1-and-2-swapped",
        changed("statements.jsonl", lambda d: swap_lines(d, 1, 2)),
        at("statements.jsonl"),
    ),
    Case(
        "statements.jsonl/line-3-removed",
        changed("statements.jsonl", lambda d: drop_line(d, 3)),
        at("statements.jsonl"),
    ),
    Case(
        "documents.jsonl/lines-1-and-2-swapped",
        changed("documents.jsonl", lambda d: swap_lines(d, 1, 2)),
        at("documents.jsonl"),
    ),
    Case(
        "manifest.json/files-reversed",
        _manifest_changed(lambda m: m["files"].reverse()),
        MANIFEST_PLACES,
    ),
]

# The manifest's listing of a file changed, the file intact: keys.json is read before
# the manifest's signatures are checked, person.json and record.jsonl after.
MANIFEST_LISTING_CASES = [
    Case(
        f"manifest.json/{member}-{field}-changed", _listing_changed(member, field), MANIFEST_PLACES
    )
    for member in ("keys.json", "person.json", "record.jsonl")
    for field in ("sha256", "size")
]


ATTACKER_KEY = SigningKey.generate()
ATTACKER_INSTANCE_KEY = SigningKey.generate()


def _keys_changed(change: Callable[[Json], None]) -> Callable[[bytes], bytes]:
    def rewrite(data: bytes) -> bytes:
        keys = orjson.loads(data)
        change(keys)
        return indented(keys)

    return rewrite


def _owner_key_swapped(keys: Json) -> None:
    keys["owner"]["keys"][0] = ATTACKER_KEY.public.to_json()


def _sealed_key_swapped(password: str) -> Callable[[Json], None]:
    """The owner's key and the sealed key both the attacker's, sealed under `password`."""

    def change(keys: Json) -> None:
        keys["owner"]["keys"][0] = ATTACKER_KEY.public.to_json()
        keys["owner"]["sealed"] = seal_with_password(ATTACKER_KEY, password, cost=CHEAP).to_json()

    return change


def _instance_key_swapped(keys: Json) -> None:
    url = keys["instances"][0]["instance"]
    keys["instances"][0] = {**ATTACKER_INSTANCE_KEY.public.to_json(), "instance": url}


def _opened_entry_key_swapped(good: Good) -> bytes:
    owner = good.json("keys.json")["owner"]["keys"][0]["public"].encode()
    attacker = ATTACKER_KEY.public.public.encode()
    return rebuilt(
        good, replace={"record.jsonl": edit(good.content("record.jsonl"), owner, attacker, line=1)}
    )


def _signatures_swapped(data: bytes) -> bytes:
    signatures = orjson.loads(data)
    signatures["owner"], signatures["instance"] = signatures["instance"], signatures["owner"]
    return indented(signatures)


def _manifest_instance_swapped(manifest: Json) -> None:
    manifest["instance"]["key"] = ATTACKER_INSTANCE_KEY.public.id


SWAPPED_KEY_CASES = [
    Case(
        "keys.json/owner-key-swapped",
        changed("keys.json", _keys_changed(_owner_key_swapped)),
        at("keys.json"),
    ),
    Case(
        # the owner's password opens the swapped seal: verification must refuse it anyway
        "keys.json/sealed-key-swapped",
        changed("keys.json", _keys_changed(_sealed_key_swapped(PASSWORD))),
        at("keys.json"),
    ),
    Case(
        "keys.json/sealed-key-swapped-other-password",
        changed("keys.json", _keys_changed(_sealed_key_swapped("the attacker's password"))),
        at("keys.json"),
        sealed_for_someone_else=True,
    ),
    Case(
        "keys.json/instance-key-swapped",
        changed("keys.json", _keys_changed(_instance_key_swapped)),
        at("keys.json"),
    ),
    Case(
        "record.jsonl/opened-entry-key-swapped",
        _opened_entry_key_swapped,
        at("record.jsonl, entry 1"),
    ),
    Case(
        "signatures.json/owner-and-instance-swapped",
        changed("signatures.json", _signatures_swapped),
        at("signatures.json"),
    ),
    Case(
        "manifest.json/instance-key-swapped",
        _manifest_changed(_manifest_instance_swapped),
        MANIFEST_PLACES,
    ),
]


def _resigned(
    good: Good,
    replace: dict[str, bytes],
    *,
    owner: SigningKey | None = None,
    instance: SigningKey | None = None,
    manifest_change: Callable[[Json], None] | None = None,
) -> bytes:
    """The bundle with files replaced and the manifest's digests recomputed for them,
    signed again by the keys given; the signatures of the others are kept."""
    manifest = good.json("manifest.json")
    for listed in manifest["files"]:
        if listed["path"] in replace:
            data = replace[listed["path"]]
            listed.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    if manifest_change is not None:
        manifest_change(manifest)
    manifest_bytes = canonical_json(manifest)
    signatures = good.json("signatures.json")
    for role, key in (("owner", owner), ("instance", instance)):
        if key is not None:
            signatures[role] = {
                "key": key.public.id,
                "public": key.public.public,
                "signature": b64url(key.sign(manifest_bytes)),
            }
    return rebuilt(
        good,
        replace={
            **replace,
            "manifest.json": manifest_bytes,
            "signatures.json": indented(signatures),
        },
    )


def _statement_changed_digests_recomputed(good: Good) -> bytes:
    statements = EDITS["statements.jsonl"](good.content("statements.jsonl"))
    return _resigned(good, {"statements.jsonl": statements})


def _attackers_keys(good: Good, *, instance: bool) -> dict[str, bytes]:
    # sealed under the owner's password, so that import gets as far as verification
    change = _sealed_key_swapped(PASSWORD)

    def also_instance(keys: Json) -> None:
        change(keys)
        if instance:
            keys["instances"].append(
                {**ATTACKER_INSTANCE_KEY.public.to_json(), "instance": "https://evil.example.org"}
            )

    return {"keys.json": _keys_changed(also_instance)(good.content("keys.json"))}


def _signed_as_owner(good: Good) -> bytes:
    return _resigned(good, _attackers_keys(good, instance=False), owner=ATTACKER_KEY)


def _signed_as_owner_and_instance(good: Good) -> bytes:
    def exported_by_attacker(manifest: Json) -> None:
        manifest["instance"] = {
            "url": "https://evil.example.org",
            "key": ATTACKER_INSTANCE_KEY.public.id,
        }

    return _resigned(
        good,
        _attackers_keys(good, instance=True),
        owner=ATTACKER_KEY,
        instance=ATTACKER_INSTANCE_KEY,
        manifest_change=exported_by_attacker,
    )


RESIGNED_CASES = [
    Case(
        "resigned/statement-changed-manifest-digests-recomputed",
        _statement_changed_digests_recomputed,
        at("signatures.json"),
    ),
    # without council A's key the instance signature cannot be made again
    Case("resigned/attacker-signs-as-owner", _signed_as_owner, at("signatures.json")),
    # both signatures verify, but the record introduces the owner's key, not the attacker's
    Case(
        "resigned/attacker-signs-as-owner-and-instance",
        _signed_as_owner_and_instance,
        at("keys.json"),
    ),
]


CONTAINER_CASES = [
    Case(
        "zip/truncated-to-half",
        lambda g: g.path.read_bytes()[: g.path.stat().st_size // 2],
        at("the bundle"),
    ),
    Case("zip/end-of-central-directory-cut", lambda g: g.path.read_bytes()[:-10], at("the bundle")),
    Case("zip/empty-file", lambda g: b"", at("the bundle")),
    Case("zip/not-a-zip", lambda g: b"%PDF-1.4 not a bundle at all\n", at("the bundle")),
    Case("zip/empty-zip", lambda g: _zip([]), at("manifest.json")),
    Case("bomb/attachment-32-MiB-listed-as-34-bytes", _bomb(PLAIN, 32 * MIB), at(PLAIN)),
    Case(
        "bomb/attachment-32-MiB-zip-headers-lie-too",
        _bomb(PLAIN, 32 * MIB, lying_headers=True),
        at(PLAIN),
    ),
    Case("bomb/record-32-MiB-one-line", _bomb("record.jsonl", 32 * MIB), at("record.jsonl")),
    Case("bomb/manifest-17-MiB", _bomb("manifest.json", 17 * MIB), at("manifest.json")),
]


CASES: list[Case] = [
    *_per_kind_cases(),
    *ADDED_FILE_CASES,
    *REORDERED_CASES,
    *MANIFEST_LISTING_CASES,
    *SWAPPED_KEY_CASES,
    *RESIGNED_CASES,
    *CONTAINER_CASES,
]
assert len({case.id for case in CASES}) == len(CASES)

# Run as processes of the installed command: one case a file kind, and each of the
# acceptance's kinds of tampering (click's runner runs every case in-process).
PROCESS_CASES = {
    "manifest.json/changed-byte-well-formed",
    "signatures.json/changed-byte-well-formed",
    "keys.json/sealed-key-swapped",
    "person.json/removed",
    "record.jsonl/entries-2-and-3-swapped",
    "statements.jsonl/changed-byte-well-formed",
    "attachments.json/changed-byte-well-formed",
    "plain/changed-byte",
    "jws/changed-byte-well-formed",
    "frameworks/1.json/removed",
    "rules.json/changed-byte-well-formed",
    "documents.jsonl/changed-byte",
    "added/unlisted-attachment",
    "zip/truncated-to-half",
}
assert PROCESS_CASES.issubset(case.id for case in CASES)


# -------------------------------------------------------------------------- ways

VERIFY, CLI, IMPORT = "verify", "cli", "import"


def cases_for(way: str, cases: list[Case] = CASES) -> list[Any]:
    return [pytest.param(case, id=case.id) for case in cases]


@pytest.fixture(scope="module")
def made(good: Good) -> Callable[[Case], bytes]:
    """Each case's bundle, made once a worker (a bomb takes a moment to deflate)."""
    bundles: dict[str, bytes] = {}

    def make(case: Case) -> bytes:
        if case.id not in bundles:
            bundles[case.id] = case.tamper(good)
            assert bundles[case.id] != good.path.read_bytes()
        return bundles[case.id]

    return make


@pytest.fixture
def tampered(
    request: pytest.FixtureRequest, tmp_path: Path, made: Callable[[Case], bytes]
) -> tuple[Case, Path]:
    case: Case = request.param
    path = tmp_path / "tampered.cpdfolio.zip"
    path.write_bytes(made(case))
    return case, path


# ------------------------------------------------------------------------ the tests


def refusal(call: Callable[[], object], *, allowed: tuple[type[Exception], ...]) -> Exception:
    """The exception `call` refuses with, which must be one `allowed`. Anything else fails
    the test with a one-line message (pytest's traceback of a crash deep in zipfile costs
    more than the rest of the suite)."""
    try:
        call()
    except allowed as exc:
        return exc
    except Exception as exc:
        pytest.fail(f"not refused with {allowed}, but crashed: {exc!r}", pytrace=False)
    pytest.fail("the tampered bundle was accepted", pytrace=False)


def names_a_place(refused: Exception, case: Case, good: Good) -> None:
    if isinstance(refused, BundleInvalid) and refused.place not in case.places(good):
        pytest.fail(f"{refused.message!r} does not name {case.places(good)}", pytrace=False)


def says_a_place(stderr: str, path: Path, case: Case, good: Good) -> None:
    prefixes = [f"Error: {path} does not verify: {place}: " for place in case.places(good)]
    if not any(stderr.startswith(prefix) for prefix in prefixes):
        pytest.fail(f"{stderr!r} does not start with any of {prefixes}", pytrace=False)


@pytest.mark.parametrize("tampered", cases_for(VERIFY), indirect=True)
def test_verify_names_the_place_of_the_tampering(tampered: tuple[Case, Path], good: Good) -> None:
    case, path = tampered
    refused = refusal(lambda: verify_bundle(str(path)), allowed=(BundleInvalid,))
    names_a_place(refused, case, good)


@pytest.mark.parametrize("tampered", cases_for(CLI), indirect=True)
def test_cpdfolio_verify_exits_1_naming_the_place(tampered: tuple[Case, Path], good: Good) -> None:
    case, path = tampered
    result = CliRunner().invoke(main, ["verify", str(path)])
    if not isinstance(result.exception, SystemExit):
        pytest.fail(f"crashed: {result.exception!r}", pytrace=False)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    says_a_place(result.stderr, path, case, good)


@pytest.mark.parametrize("tampered", cases_for(IMPORT), indirect=True)
def test_import_refuses_and_leaves_b_unchanged(
    tampered: tuple[Case, Path], good: Good, council_b: Council
) -> None:
    case, path = tampered
    before = council_b.tables()
    allowed: tuple[type[Exception], ...] = (BundleInvalid,)
    if case.sealed_for_someone_else:
        allowed += (AuthenticationRequired,)
    try:
        refused = refusal(lambda: council_b.import_(path), allowed=allowed)
    finally:
        assert council_b.tables() == before  # refused or crashed, nothing arrived
    names_a_place(refused, case, good)


@pytest.mark.parametrize(
    "tampered", cases_for(CLI, [c for c in CASES if c.id in PROCESS_CASES]), indirect=True
)
def test_installed_cpdfolio_verify_exits_1_naming_the_place(
    tampered: tuple[Case, Path], good: Good
) -> None:
    """The command as a user runs it: its own process, no settings, no store."""
    case, path = tampered
    done = subprocess.run(
        [str(CPDFOLIO), "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    says_a_place(done.stderr, path, case, good)


def test_every_file_kind_is_in_the_good_bundle(good: Good) -> None:
    """The suite is only as wide as the bundle: every kind it tampers with is there."""
    names = [name for name, _ in good.members]
    assert sorted(names) == sorted(good.name(kind.member) for kind in KINDS)
    assert good.json("rules.json") and len(good.json("attachments.json")) == 2
    assert lines_in(good.content("statements.jsonl")) >= 3
    assert lines_in(good.content("documents.jsonl")) >= 2
    assert b"statement-witnessed" in good.content("record.jsonl")


def test_a_faithful_rewrite_of_the_good_bundle_still_verifies(good: Good, tmp_path: Path) -> None:
    """The cases' rewriting changes only what each case says it changes; and the order
    of a zip's members, or their compression, is not part of what is signed."""
    path = tmp_path / "rewritten.cpdfolio.zip"
    path.write_bytes(rebuilt(good))
    assert path.read_bytes() != good.path.read_bytes()
    verify_bundle(str(path))
    path.write_bytes(
        _zip(list(reversed(good.members)), stored=frozenset(n for n, _ in good.members))
    )
    verify_bundle(str(path))


def test_the_good_bundle_verifies_and_imports(good: Good, tmp_path: Path) -> None:
    """Not vacuous: the untampered bundle passes the same checks, with the same command,
    and arrives in a council like B."""
    done = subprocess.run(
        [str(CPDFOLIO), "verify", str(good.path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{good.path} verifies")
    verified = verify_bundle(str(good.path))
    assert verified.statements == lines_in(good.content("statements.jsonl"))
    assert (verified.attachments, verified.frameworks) == (2, 1)

    like_b = Council(tmp_path / "like-b", url="https://b.example.org")
    try:
        before = like_b.tables()
        result = like_b.import_(good.path)
        after = like_b.tables()
    finally:
        like_b.store.close()
    assert result.outcome == "imported"
    assert result.statements == verified.statements
    assert len(after["people"]) == len(before["people"]) + 1
    # the bundle's entries, then "moved" and "arrival-witnessed"
    assert len(after["record_entries"]) == len(before["record_entries"]) + result.entries + 2


def test_a_zip_bomb_is_refused_without_inflating_it(
    good: Good, made: Callable[[Case], bytes], tmp_path: Path
) -> None:
    """A member far larger than the manifest says is refused once it reads past its
    listed size, not once it is all read (portfolio.bundle.layout: "a lying zip cannot
    make a reader use memory")."""
    (bomb,) = [c for c in CASES if c.id == "bomb/attachment-32-MiB-listed-as-34-bytes"]
    path = tmp_path / "bomb.cpdfolio.zip"
    path.write_bytes(made(bomb))
    tracemalloc.start()
    try:
        with pytest.raises(BundleInvalid) as refused:
            verify_bundle(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.place == good.name(PLAIN)
    assert refused.value.reason == "larger than the manifest says"
    assert peak < 8 * MIB, f"verification held {peak / MIB:.0f} MiB of a 32 MiB bomb"
