"""The signed record (portfolio.record): keys, canonical bytes, signing, verification.

Properties (STYLE 18): a record built by any sequence of operations verifies; flipping any
byte of any stored entry, or swapping two entries, makes verification fail at that entry.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.errors import AuthenticationRequired, InvalidInput
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.people.accounts import Accounts
from portfolio.people.identities import Identities
from portfolio.people.outbox import FileOutbox
from portfolio.people.witness import witness_new_statements
from portfolio.record.canonical import canonical_json
from portfolio.record.chain import Draft, build, instance_key, iter_entries, verify_stored_record
from portfolio.record.entry import Role, SignedEntry
from portfolio.record.keys import (
    KdfCost,
    PublicKey,
    SealedKey,
    SigningKey,
    open_sealed,
    seal_with_password,
    seal_with_secret,
)
from portfolio.record.verify import RecordVerificationFailed, verify_record
from portfolio.storage import open_store
from portfolio.storage.base import Store
from tests.support import make_statement

# Argon2id at its lowest cost: the property tests create many people.
CHEAP = KdfCost(memory_kib=64, iterations=1, lanes=1)
OWNER = SigningKey.generate()
INSTANCE = SigningKey.generate()
TRUSTED = {INSTANCE.public.id: INSTANCE.public}


def a_record(n_owner: int, n_witness: int, person: str = "p-1") -> list[SignedEntry]:
    drafts = [
        Draft(
            "opened",
            {"name": "Ann", "owner_key": OWNER.public.to_json(), "instance": "x"},
            OWNER,
            Role.OWNER,
        )
    ]
    drafts += [
        Draft(
            "identity-linked",
            {"identity": f"mbox:mailto:a{i}@x.org", "proof": "one-time code"},
            OWNER,
            Role.OWNER,
        )
        for i in range(n_owner)
    ]
    drafts += [
        Draft(
            "statement-witnessed",
            {
                "statement": f"00000000-0000-4000-8000-{i:012d}",
                "sha256": "ab" * 32,
                "stored": "2026-11-23T10:00:00.000000Z",
                "identity": "mbox:mailto:a0@x.org",
            },
            INSTANCE,
            Role.INSTANCE,
        )
        for i in range(n_witness)
    ]
    return build(person, drafts, head=None)


# ------------------------------------------------------------------------------- keys


def test_a_sealed_key_opens_only_with_its_password() -> None:
    sealed = seal_with_password(OWNER, "right password", cost=CHEAP)
    assert open_sealed(sealed, password="right password").public == OWNER.public
    with pytest.raises(AuthenticationRequired):
        open_sealed(sealed, password="wrong password")
    # The sealed form holds no private key material in the clear.
    assert "right password" not in json.dumps(sealed.to_json())
    again = SealedKey.from_json(json.loads(json.dumps(sealed.to_json())))
    assert open_sealed(again, password="right password").public == OWNER.public


def test_a_seal_cannot_be_moved_to_another_public_key() -> None:
    sealed = seal_with_secret(OWNER, b"s" * 32)
    moved = dataclasses.replace(sealed, public=INSTANCE.public)
    with pytest.raises(AuthenticationRequired):
        open_sealed(moved, secret=b"s" * 32)


def test_a_public_key_id_must_be_the_digest_of_the_key() -> None:
    value = OWNER.public.to_json()
    assert PublicKey.from_json(value) == OWNER.public
    with pytest.raises(InvalidInput):
        PublicKey.from_json({**value, "id": "0" * 64})


def test_values_rfc_8785_cannot_represent_are_refused() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'.encode()
    for bad in (float("nan"), 2**60, {1: 2}, b"bytes"):
        with pytest.raises(InvalidInput):
            canonical_json({"x": bad})


def test_the_instance_key_is_made_once_and_a_new_secret_makes_a_new_one(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db'}")
    store.migrate()
    first = instance_key(store.records, b"secret one")
    assert instance_key(store.records, b"secret one").public == first.public
    second = instance_key(store.records, b"secret two")
    assert second.public != first.public
    assert [k.id for k in store.records.instance_keys()] == [first.public.id, second.public.id]


# ------------------------------------------------------------------------ verification


def test_a_record_verifies_and_says_what_it_holds() -> None:
    summary = verify_record("p-1", a_record(2, 3), instance_keys=TRUSTED)
    assert summary.entries == 6
    assert summary.kinds == {"opened": 1, "identity-linked": 2, "statement-witnessed": 3}
    assert summary.owner_keys == [OWNER.public.id]
    assert len(summary.statements) == 3


def test_an_empty_record_does_not_verify() -> None:
    with pytest.raises(RecordVerificationFailed, match="no entries"):
        verify_record("p-1", [], instance_keys=TRUSTED)


def test_an_untrusted_instance_key_fails_at_its_first_entry() -> None:
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_record("p-1", a_record(1, 2), instance_keys={})
    assert failed.value.seq == 3
    assert "not trusted" in failed.value.reason


def test_an_entry_signed_by_a_key_other_than_the_owners_fails() -> None:
    intruder = SigningKey.generate()
    entries = a_record(1, 0)
    forged = build(
        "p-1",
        [
            Draft(
                "identity-linked",
                {"identity": "mbox:mailto:evil@x.org", "proof": "one-time code"},
                intruder,
                Role.OWNER,
            )
        ],
        head=entries[-1],
    )
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_record("p-1", [*entries, *forged], instance_keys=TRUSTED)
    assert (failed.value.seq, "not the owner's current key" in failed.value.reason) == (3, True)


def test_an_owner_cannot_sign_what_only_the_instance_witnesses() -> None:
    entries = a_record(0, 0)
    forged = build(
        "p-1",
        [
            Draft(
                "statement-witnessed",
                {
                    "statement": "00000000-0000-4000-8000-000000000001",
                    "sha256": "ab" * 32,
                    "stored": "2026-11-23T10:00:00.000000Z",
                    "identity": "mbox:mailto:a@x.org",
                },
                OWNER,
                Role.OWNER,
            )
        ],
        head=entries[-1],
    )
    with pytest.raises(RecordVerificationFailed, match="may not sign"):
        verify_record("p-1", [*entries, *forged], instance_keys=TRUSTED)


def test_an_unknown_kind_fails_closed() -> None:
    entries = a_record(0, 0)
    odd = build("p-1", [Draft("mystery", {}, OWNER, Role.OWNER)], head=entries[-1])
    with pytest.raises(RecordVerificationFailed, match="unknown kind"):
        verify_record("p-1", [*entries, *odd], instance_keys=TRUSTED)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flipping_any_byte_of_any_entry_fails_verification_at_that_entry(
    data: st.DataObject,
) -> None:
    entries = a_record(2, 2)
    index = data.draw(st.integers(0, len(entries) - 1), label="entry")
    field = data.draw(st.sampled_from(["canonical", "hash", "signature"]), label="field")
    original = entries[index]
    raw = original.canonical if field == "canonical" else getattr(original, field).encode()
    position = data.draw(st.integers(0, len(raw) - 1), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")
    flipped = bytearray(raw)
    flipped[position] ^= mask
    if field == "canonical":
        changed = dataclasses.replace(original, canonical=bytes(flipped))
    else:
        text = bytes(flipped).decode("latin-1")
        changed = dataclasses.replace(original, **{field: text})
    entries[index] = changed
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_record("p-1", entries, instance_keys=TRUSTED)
    assert failed.value.seq == index + 1


@given(data=st.data())
def test_swapping_two_entries_fails_verification_at_the_first_of_them(data: st.DataObject) -> None:
    entries = a_record(2, 3)
    i = data.draw(st.integers(0, len(entries) - 2), label="i")
    j = data.draw(st.integers(i + 1, len(entries) - 1), label="j")
    entries[i], entries[j] = entries[j], entries[i]
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_record("p-1", entries, instance_keys=TRUSTED)
    assert failed.value.seq == i + 1


def test_dropping_an_entry_fails_at_its_place() -> None:
    entries = a_record(2, 2)
    del entries[2]
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_record("p-1", entries, instance_keys=TRUSTED)
    assert failed.value.seq == 3


# ---------------------------------------------------- any sequence of operations


OPERATIONS = st.lists(
    st.sampled_from(
        [
            "statement about me",
            "statement about someone else",
            "link by admin",
            "link by code",
            "reset password",
            "batch about me",
        ]
    ),
    min_size=1,
    max_size=8,
)


class World:
    """A store with one person, and the operations a portfolio goes through."""

    def __init__(self, tmp: Path) -> None:
        self.store: Store = open_store(f"sqlite:///{tmp / 'cpdfolio.db'}")
        self.store.migrate()
        self.key = instance_key(self.store.records, b"secret")
        self.accounts = Accounts(self.store, instance_key=self.key, instance_url="x", kdf=CHEAP)
        self.outbox = FileOutbox(tmp / "outbox", sender="test")
        self.identities = Identities(self.accounts, outbox=self.outbox)
        self.ingest = StatementIngest(
            self.store.statements,
            on_stored=lambda new: witness_new_statements(self.store, self.key, new),
        )
        self.submitter = Submitter(client_key="k", authority={"mbox": "mailto:lms@x.org"})
        self.password = "first password"
        self.person = self.accounts.create(
            email="ann@example.org", name="Ann", password=self.password
        )
        self.linked = 0

    def run(self, op: str) -> None:
        if op == "statement about me":
            self.ingest.post(make_statement(actor="ann"), submitter=self.submitter, version="1.0.3")
        elif op == "batch about me":
            batch = [make_statement(actor="ann"), make_statement(actor=f"ann{self.linked}")]
            self.ingest.post(batch, submitter=self.submitter, version="1.0.3")
        elif op == "statement about someone else":
            self.ingest.post(make_statement(actor="zed"), submitter=self.submitter, version="1.0.3")
        elif op == "link by admin":
            self.linked += 1
            self.identities.confirm_by_administrator(
                "ann@example.org", f"mbox:mailto:ann{self.linked}@example.org", administrator="A"
            )
        elif op == "link by code":
            self.linked += 1
            owner = self.accounts.authenticate(
                self.accounts.login("ann@example.org", self.password).token
            )
            address = f"mbox:mailto:ann{self.linked}@example.org"
            challenge = self.identities.start(owner, address)
            import email as email_lib
            import re

            newest = sorted((self.outbox.directory).glob("*.eml"))[-1]
            text = email_lib.message_from_bytes(newest.read_bytes()).get_payload()
            code = re.search(r"The code is (\d{8})", text).group(1)  # type: ignore[union-attr]
            self.identities.confirm(owner, challenge.id, code)
        elif op == "reset password":
            self.password = f"password {self.linked} reset"
            self.accounts.reset_password("ann@example.org", self.password, administrator="A")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=OPERATIONS)
def test_the_record_verifies_after_any_sequence_of_operations(
    tmp_path_factory: pytest.TempPathFactory, operations: list[str]
) -> None:
    world = World(tmp_path_factory.mktemp("world"))
    for op in operations:
        world.run(op)
    summary = verify_stored_record(world.store.records, world.person.id)
    entries = list(iter_entries(world.store.records, world.person.id))
    assert summary.entries == len(entries)
    about_me = sum(1 for op in operations if op == "statement about me")
    about_me += sum(1 for op in operations if op == "batch about me")  # the "ann" one at least
    assert len(summary.statements) >= about_me
    assert summary.kinds.get("key-rotated", 0) == operations.count("reset password")
    world.store.close()
