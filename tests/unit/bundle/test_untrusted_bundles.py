"""A bundle is untrusted input until its signatures, its signers and its contents say
otherwise, and even a genuine one speaks only for its own portfolio. What a bundle cannot
make an instance do: spend an Argon2 cost of its choosing, inflate a small zip into a
large file, make zipfile build an object per entry of a huge directory, change the
instance's frameworks without pinned keys, name a pinned key after another instance, or
leave keys behind that it listed but never signed with. And what a genuine one must not
be refused for: an owner key an administrator's password reset rotated to."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest

import portfolio.bundle.layout as layout
import portfolio.record.keys as keys_module
from portfolio.bundle.export import export_bundle
from portfolio.bundle.importer import BUNDLE_KDF_LIMIT
from portfolio.bundle.layout import BundleInvalid, open_zip
from portfolio.bundle.verify import UntrustedInstance, load_trusted, verify_bundle
from portfolio.errors import Conflict
from portfolio.record.chain import (
    FOREIGN_INSTANCE_KEYS,
    Draft,
    append_with_retry,
    published_instance_keys,
    verify_portfolio_record,
)
from portfolio.record.entry import Role
from portfolio.record.keys import KdfCost, SigningKey, seal_with_password
from portfolio.record.verify import RecordVerificationFailed
from portfolio.standards import import_package
from portfolio.standards.catalogue import get_framework
from tests.bundle_support import CHEAP, EMAIL, PASSWORD, Council, rich_portfolio
from tests.unit.bundle.crafted import (
    STANDARD,
    edited_keys,
    resigned,
    self_made,
    standard_version,
)

MIB = 1024 * 1024


@pytest.fixture
def a(tmp_path: Path) -> Council:
    return Council(tmp_path / "a", url="https://a.example")


@pytest.fixture
def b(tmp_path: Path) -> Council:
    return Council(tmp_path / "b", url="https://b.example")


def published(council: Council, url: str | None = None) -> bytes:
    return orjson.dumps(published_instance_keys(council.store.records, url or council.url))


def exported(council: Council, path: Path) -> Path:
    rich_portfolio(council, statements=1)
    council.export(path)
    return path


def argon2_spy(monkeypatch: pytest.MonkeyPatch) -> list[KdfCost]:
    """Record every Argon2 cost asked for; refuse (as a machine would, slowly) any
    beyond the bound, run the others."""
    asked: list[KdfCost] = []
    real = keys_module._argon2

    def spy(password: str, salt: bytes, cost: KdfCost) -> bytes:
        asked.append(cost)
        if not cost.within(BUNDLE_KDF_LIMIT):
            raise MemoryError(f"Argon2 asked for {cost}")
        return real(password, salt, cost)

    monkeypatch.setattr(keys_module, "_argon2", spy)
    return asked


# ------------------------------------------------------------------ 1. Argon2's cost


@pytest.mark.parametrize(
    "cost",
    [
        {"memory_kib": 64 * 1024 * 1024, "iterations": 2, "lanes": 1},
        {"memory_kib": 64, "iterations": 2**31 - 1, "lanes": 1},
        {"memory_kib": 1024, "iterations": 1, "lanes": 64},
        {"memory_kib": 64, "iterations": 1, "lanes": "1"},
        {"memory_kib": 64.0, "iterations": 1, "lanes": 1},
        {"memory_kib": 8, "iterations": 1, "lanes": 4},  # Argon2: 8 KiB a lane at least
    ],
    ids=["64-GiB", "2^31-passes", "64-lanes", "lanes-a-string", "memory-a-float", "8-KiB-4-lanes"],
)
def test_a_bundles_argon2_cost_out_of_bounds_is_refused_before_any_password_is_tried(
    a: Council, b: Council, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cost: dict[str, Any]
) -> None:
    """A genuine bundle from A, its sealed key's cost changed (and signed again): the
    cost is spent before the seal proves anything, so it is bounded, never run."""
    good = exported(a, tmp_path / "ann.zip")

    def set_cost(keys: dict[str, Any]) -> None:
        keys["owner"]["sealed"]["cost"] = cost

    bundle = resigned(
        good,
        tmp_path / "costly.zip",
        {"keys.json": edited_keys(good, set_cost)},
        owner=a.owner().key,
        instance=a.key,
    )
    asked = argon2_spy(monkeypatch)
    before = b.tables()
    with pytest.raises(BundleInvalid) as refused:
        b.import_(bundle)
    assert refused.value.place == "keys.json"
    assert "owner.sealed.cost" in refused.value.reason
    assert asked == []
    assert b.tables() == before
    with pytest.raises(BundleInvalid, match=r"^keys.json: malformed: owner.sealed.cost"):
        verify_bundle(str(bundle))


def test_the_password_is_tried_only_once_the_exporting_instance_is_trusted(
    a: Council, b: Council, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = exported(a, tmp_path / "ann.zip")
    asked = argon2_spy(monkeypatch)
    with pytest.raises(UntrustedInstance):
        b.importer.import_bundle(str(good), password=PASSWORD, trusted={})
    assert asked == []
    imported = b.importer.import_bundle(
        str(good), password=PASSWORD, trusted=load_trusted([published(a)])
    )
    assert imported.outcome == "imported"
    assert asked  # the password was tried, once A's keys were pinned


# ---------------------------------------------------- 2. small files stay small


def test_an_untrusted_bundle_is_refused_before_its_keys_json_is_read(b: Council) -> None:
    """With pinned keys the manifest's signer is checked first: keys.json (here not even
    JSON) is never read for a bundle from an instance nobody trusts."""
    bundle, _, _ = self_made(b"not JSON at all")
    path = b.root / "self-made.zip"
    path.write_bytes(bundle)
    with pytest.raises(UntrustedInstance) as refused:
        verify_bundle(str(path), trusted={})
    assert refused.value.place == "signatures.json"
    assert refused.value.instance == "https://anyone.example"


def test_a_keys_json_bomb_is_refused_without_being_inflated(b: Council) -> None:
    """32 MiB of JSON whitespace, deflated to some 32 KiB and listed truthfully in a
    manifest its sender signed: refused by keys.json's own cap, never read."""
    bundle, _, _ = self_made(b" " * (32 * MIB))
    path = b.root / "bomb.zip"
    path.write_bytes(bundle)
    assert path.stat().st_size < MIB
    tracemalloc.start()
    try:
        with pytest.raises(BundleInvalid) as refused:
            verify_bundle(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.place == "keys.json"
    assert refused.value.reason.startswith(f"larger than {layout.SMALL_FILE_LIMITS['keys.json']}")
    assert peak < 4 * MIB, f"verification held {peak / MIB:.0f} MiB of a 32 MiB keys.json"


@pytest.mark.parametrize(
    "member", ["keys.json", "person.json", "rules.json", "attachments.json", "frameworks/1.json"]
)
def test_every_json_file_read_whole_has_a_cap_whatever_the_manifest_says(
    a: Council, tmp_path: Path, member: str
) -> None:
    good = exported(a, tmp_path / "ann.zip")
    limit = layout.small_file_limit(member)
    bundle = resigned(
        good,
        tmp_path / "large.zip",
        {member: b" " * (limit + 1)},
        owner=a.owner().key,
        instance=a.key,
    )
    with pytest.raises(BundleInvalid) as refused:
        verify_bundle(str(bundle))
    assert (refused.value.place, refused.value.reason) == (
        member,
        f"larger than {limit} bytes, the most a bundle's {member} may hold",
    )


# --------------------------------------------------------- 3. entries in the zip


def _zip_of(count: int, *, zip64: bool = False) -> bytes:
    out = io.BytesIO()
    limit = zipfile.ZIP_FILECOUNT_LIMIT
    if zip64:  # zipfile writes zip64 end records past this many entries
        zipfile.ZIP_FILECOUNT_LIMIT = 4  # type: ignore[misc]
    try:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            for number in range(count):
                archive.writestr(f"{number:05x}", b"")
    finally:
        zipfile.ZIP_FILECOUNT_LIMIT = limit  # type: ignore[misc]
    return out.getvalue()


def _claiming(data: bytes, entries: int) -> bytes:
    """`data` with every end record's entry counts changed to `entries` (a lie zipfile
    does not check: it reads as many entries as the directory's size holds)."""
    edited = bytearray(data)
    end = edited.rfind(b"PK\x05\x06")
    struct.pack_into("<2H", edited, end + 8, min(entries, 0xFFFF), min(entries, 0xFFFF))
    end64 = edited.rfind(b"PK\x06\x06")
    if end64 >= 0:
        struct.pack_into("<2Q", edited, end64 + 24, entries, entries)
    return bytes(edited)


@pytest.mark.parametrize(
    ("count", "claimed", "zip64"),
    [(51, 51, False), (51, 1, False), (51, 1, True), (51, 51, True)],
    ids=["honest", "lying-count", "zip64-lying-count", "zip64-honest"],
)
def test_a_zip_with_more_entries_than_a_bundle_has_is_refused_before_zipfile_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, claimed: int, zip64: bool
) -> None:
    path = tmp_path / "many.zip"
    path.write_bytes(_claiming(_zip_of(count, zip64=zip64), claimed))
    monkeypatch.setattr(layout, "MAX_ENTRIES", 50)
    read: list[object] = []

    def zipfile_reads_it(*args: object, **kwargs: object) -> None:
        read.append(args)
        raise AssertionError("zipfile read the directory")

    monkeypatch.setattr(zipfile, "ZipFile", zipfile_reads_it)
    with path.open("rb") as stream:
        for source in (str(path), stream):
            with pytest.raises(BundleInvalid) as refused:
                open_zip(source)
            assert refused.value.message == "the bundle: more than 50 files in the zip"
    assert read == []


@pytest.mark.parametrize("zip64", [False, True])
def test_a_zip_with_as_many_entries_as_a_bundle_may_have_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zip64: bool
) -> None:
    monkeypatch.setattr(layout, "MAX_ENTRIES", 50)
    path = tmp_path / "enough.zip"
    path.write_bytes(_zip_of(50, zip64=zip64))
    with open_zip(str(path)) as archive:
        assert len(archive.infolist()) == 50


def test_the_real_cap_refuses_a_directory_of_tiny_entries_that_claims_one(tmp_path: Path) -> None:
    """Over the real MAX_ENTRIES: a central directory of minimal records (no local files,
    which zipfile does not read on opening) whose end record says it has one."""
    names = [f"{n:06x}".encode() for n in range(layout.MAX_ENTRIES + 1)]
    record = struct.Struct("<4s4B4HL2L5H2L")  # APPNOTE 4.3.12, as zipfile reads it
    directory = b"".join(
        record.pack(b"PK\x01\x02", 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, len(n), 0, 0, 0, 0, 0, 0) + n
        for n in names
    )
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), 0, 0)
    path = tmp_path / "tiny.zip"
    path.write_bytes(directory + end)
    with pytest.raises(BundleInvalid, match="more than 100000 files in the zip"):
        open_zip(str(path))


# --------------------------------------------------------------- 4. frameworks


@pytest.fixture
def with_new_standard(tmp_path: Path) -> tuple[Council, Path]:
    """An instance anyone could run, whose Standard has a version 99.0, and a portfolio
    exported from it (its rule maps to an item of the Standard: both versions go along)."""
    anyone = Council(tmp_path / "anyone", url="https://anyone.example")
    import_package(anyone.store.frameworks, standard_version("99.0", "The Standard (withdrawn)"))
    return anyone, exported(anyone, tmp_path / "ann.zip")


def test_a_bundle_without_pinned_keys_installs_no_framework_version(
    b: Council, with_new_standard: tuple[Council, Path]
) -> None:
    _, bundle = with_new_standard
    result = b.import_(bundle)
    assert result.outcome == "imported"
    assert result.frameworks_installed == []
    assert result.frameworks_skipped == [f"{STANDARD} 99.0"]
    assert result.to_json()["frameworks_skipped"] == [f"{STANDARD} 99.0"]
    assert get_framework(b.store.frameworks, STANDARD).version == "1.0"


def test_a_bundle_with_pinned_keys_installs_the_versions_it_brings(
    b: Council, with_new_standard: tuple[Council, Path]
) -> None:
    anyone, bundle = with_new_standard
    result = b.importer.import_bundle(
        str(bundle), password=PASSWORD, trusted=load_trusted([published(anyone)])
    )
    assert result.frameworks_installed == [f"{STANDARD} 99.0"]
    assert result.frameworks_skipped == []
    assert get_framework(b.store.frameworks, STANDARD).version == "99.0"


def test_a_framework_version_installed_here_with_other_content_refuses_the_whole_import(
    b: Council, with_new_standard: tuple[Council, Path]
) -> None:
    anyone, bundle = with_new_standard
    import_package(b.store.frameworks, standard_version("99.0", "Another 99.0"))
    before = b.tables()
    for trusted in (None, load_trusted([published(anyone)])):
        with pytest.raises(Conflict, match=r"frameworks/\d+.json: framework .* version 99.0"):
            b.importer.import_bundle(str(bundle), password=PASSWORD, trusted=trusted)
        assert b.tables() == before  # the portfolio did not arrive


# ------------------------------------------------------- 5. instances' names


def test_a_pinned_key_cannot_be_shown_under_another_instances_name(tmp_path: Path) -> None:
    """A's key, but A's public URL set to B's: the key document A publishes (and the
    verifier pinned) names A, so the bundle's claim to be B's is refused."""
    a = Council(tmp_path / "a", url="https://cpdfolio.council-b.gov.uk")
    bundle = exported(a, tmp_path / "ann.zip")
    trusted = load_trusted([published(a, "https://cpdfolio.council-a.gov.uk")])
    assert {k.instances for k in trusted.values()} == {
        frozenset({"https://cpdfolio.council-a.gov.uk"})
    }
    with pytest.raises(BundleInvalid) as refused:
        verify_bundle(str(bundle), trusted=trusted)
    assert refused.value.place == "manifest.json"
    assert "names its exporting instance https://cpdfolio.council-b.gov.uk" in refused.value.reason
    assert "https://cpdfolio.council-a.gov.uk" in refused.value.reason
    # Its own document, naming it as the bundle does, is fine.
    verify_bundle(str(bundle), trusted=load_trusted([published(a)]))


def test_keys_json_must_name_each_pinned_key_as_its_key_document_does(
    a: Council, b: Council, tmp_path: Path
) -> None:
    """B's bundle of a portfolio that came from A lists A's key under A's URL; a verifier
    who pinned A's key under another name refuses it, at that key."""
    exported(a, tmp_path / "to-b.zip")
    b.import_(tmp_path / "to-b.zip")
    b.export(tmp_path / "from-b.zip")
    listed = json.loads(zipfile.ZipFile(tmp_path / "from-b.zip").read("keys.json"))["instances"]
    number = next(n for n, k in enumerate(listed, start=1) if k["instance"] == a.url)
    renamed = load_trusted([published(a, "https://elsewhere.example"), published(b)])
    with pytest.raises(BundleInvalid) as refused:
        verify_bundle(str(tmp_path / "from-b.zip"), trusted=renamed)
    assert refused.value.place == f"keys.json, instance key {number}"
    assert "https://elsewhere.example" in refused.value.reason
    verify_bundle(str(tmp_path / "from-b.zip"), trusted=load_trusted([published(a), published(b)]))


# -------------------------------------------------------- 6. the owner's key


def test_an_export_after_an_administrators_password_reset_imports(
    a: Council, b: Council, tmp_path: Path
) -> None:
    person = rich_portfolio(a, statements=2)
    a.accounts.reset_password(EMAIL, "new password 123", administrator="Dana")
    a.export(tmp_path / "ann.zip", password="new password 123")
    verified = verify_bundle(str(tmp_path / "ann.zip"))
    new_key = a.owner(password="new password 123").key.public.id
    assert verified.record.current_owner_key == new_key
    assert new_key not in verified.record.owner_keys  # it has signed nothing yet
    result = b.import_(tmp_path / "ann.zip", password="new password 123")
    assert result.outcome == "imported"
    assert b.owner(password="new password 123").person.id == person.id
    assert verify_portfolio_record(b.store, person.id).current_owner_key == new_key


def test_opened_is_only_ever_the_first_entry(a: Council, tmp_path: Path) -> None:
    """A second "opened", signed by the owner's key, would rename the record and name an
    owner key no rotation introduced (the bundle's keys.json and manifest signed by it)."""
    person = rich_portfolio(a, statements=1)
    owner = a.owner()
    other = SigningKey.generate()
    body = {"name": "Someone Else", "instance": a.url, "owner_key": other.public.to_json()}
    append_with_retry(a.store.records, person.id, [Draft("opened", body, owner.key, Role.OWNER)])
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_portfolio_record(a.store, person.id)
    assert failed.value.reason == "'opened' may only be the first entry"
    seq = failed.value.seq
    assert seq > 1

    with (tmp_path / "ann.zip").open("wb") as out:
        export_bundle(a.store, person, out, owner_key=other, instance_key=a.key, instance_url=a.url)

    def seal_other(keys: dict[str, Any]) -> None:
        keys["owner"]["sealed"] = seal_with_password(other, PASSWORD, cost=CHEAP).to_json()

    bundle = resigned(
        tmp_path / "ann.zip",
        tmp_path / "renamed.zip",
        {"keys.json": edited_keys(tmp_path / "ann.zip", seal_other)},
        owner=other,
        instance=a.key,
    )
    with pytest.raises(BundleInvalid) as refused:
        verify_bundle(str(bundle))
    assert refused.value.place == f"record.jsonl, entry {seq}"


# ------------------------------------------------ 7. the instance keys kept


def _foreign_keys(council: Council, person_id: str) -> set[str]:
    return {d.key for d in council.store.portfolio.list_docs(person_id, FOREIGN_INSTANCE_KEYS)}


@pytest.mark.parametrize("pinned", [False, True], ids=["unpinned", "pinned"])
def test_only_instance_keys_that_signed_entries_are_kept_with_the_portfolio(
    a: Council, b: Council, tmp_path: Path, pinned: bool
) -> None:
    good = exported(a, tmp_path / "ann.zip")
    extra = SigningKey.generate()

    def list_extra(keys: dict[str, Any]) -> None:
        keys["instances"].append({**extra.public.to_json(), "instance": a.url})

    bundle = resigned(
        good,
        tmp_path / "extra.zip",
        {"keys.json": edited_keys(good, list_extra)},
        owner=a.owner().key,
        instance=a.key,
    )
    trusted = load_trusted([published(a)]) if pinned else None
    result = b.importer.import_bundle(str(bundle), password=PASSWORD, trusted=trusted)
    assert _foreign_keys(b, result.person.id) == {a.key.public.id}
    verify_portfolio_record(b.store, result.person.id)
