"""The signed record: append-and-sign rate and verification rate (issue 4 benchmarks).

Against a fresh SQLite store (synchronous=FULL) in a temporary directory, in-process (no
HTTP: what is measured is the record, not Flask):
- sign only: entries built, canonicalised (RFC 8785) and signed, nothing stored;
- append one at a time: each entry read-head → sign → one durable transaction (the way
  an owner's action lands);
- append in batches of 100: witness entries as a batch of statements produces them;
- verify: a whole 10,000-entry record read from the store and verified (hashes, links,
  signatures, body schemas).

    .venv/bin/python bench/record.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from portfolio.record.chain import Draft, append_with_retry, build, verify_stored_record
from portfolio.record.entry import Role
from portfolio.record.keys import SigningKey
from portfolio.storage import open_store
from portfolio.storage.base import IdentityLink, PersonRecord
from portfolio.storage.sqlite import SqliteStore

OWNER = SigningKey.generate()


def witness(i: int, key: SigningKey) -> Draft:
    return Draft(
        "statement-witnessed",
        {
            "statement": str(uuid.UUID(int=i, version=4)),
            "sha256": f"{i:064x}",
            "stored": "2026-11-23T10:00:00.000000Z",
            "identity": "mbox:mailto:ann@example.org",
        },
        key,
        Role.INSTANCE,
    )


def opened() -> Draft:
    body = {"name": "Ann", "owner_key": OWNER.public.to_json(), "instance": "bench"}
    return Draft("opened", body, OWNER, Role.OWNER)


def new_person(store: SqliteStore, person: str) -> None:
    """A stored person and the first entry of their record (records belong to people)."""
    store.people.create(
        PersonRecord(person, "Ann", f"{person}@example.org", "2026", sealed_key="{}"),
        identity=IdentityLink(f"mbox:mailto:{person}@example.org", person, "2026", "first"),
        entries=build(person, [opened()], head=None),
    )


def one_run(entries: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        assert isinstance(store, SqliteStore)
        store.migrate()
        instance = SigningKey.generate()
        from portfolio.storage.base import InstanceKeyRecord

        store.records.add_instance_key(
            InstanceKeyRecord(instance.public.id, instance.public.public, "{}", "2026")
        )
        results: dict[str, float] = {}

        started = time.perf_counter()
        build("sign-only", [opened(), *(witness(i, instance) for i in range(5000))], head=None)
        results["sign_only_per_s"] = 5001 / (time.perf_counter() - started)

        person = "p-single"
        new_person(store, person)
        started = time.perf_counter()
        for i in range(1000):
            append_with_retry(store.records, person, [witness(i, instance)])
        results["append_single_per_s"] = 1000 / (time.perf_counter() - started)

        person = "p-batch"
        new_person(store, person)
        started = time.perf_counter()
        for start in range(0, entries - 1, 100):
            batch = [witness(i, instance) for i in range(start, min(start + 100, entries - 1))]
            append_with_retry(store.records, person, batch)
        results["append_batch100_per_s"] = (entries - 1) / (time.perf_counter() - started)

        started = time.perf_counter()
        summary = verify_stored_record(store.records, person)
        elapsed = time.perf_counter() - started
        assert summary.entries == entries
        results["verify_entries_per_s"] = entries / elapsed
        results["verify_10k_seconds"] = elapsed * 10_000 / entries
        store.close()
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        runs.append(one_run(args.entries))
        print(json.dumps(runs[-1]), flush=True)
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(json.dumps({"median": medians, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
