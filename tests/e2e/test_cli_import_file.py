"""`cpdfolio import-file` as a real process: exact counts, idempotence, dry runs, conflicts,
and clear refusals of bad input."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from portfolio.storage.sqlite import SqliteStore
from tests.e2e.conftest import Instance

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "imports"
MAPPING = ASSETS / "completions.mapping.json"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"


def statement(n: int, verb: str = COMPLETED) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=n, version=4)),
        "actor": {"objectType": "Agent", "mbox": f"mailto:learner{n % 997}@council.example"},
        "verb": {"id": verb, "display": {"en-GB": verb.rsplit("/", 1)[-1]}},
        "object": {"id": f"https://lms.council.example/course/{n % 50}"},
        "result": {"completion": True},
        "timestamp": f"2025-02-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
    }


def stored(instance: Instance) -> SqliteStore:
    return SqliteStore(instance.root / "var" / "cpdfolio.db")


def ready(instance: Instance) -> None:
    done = instance.cli("db", "init")
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_ten_thousand_json_lines_import_exactly_once(instance: Instance, tmp_path: Path) -> None:
    ready(instance)
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(orjson.dumps(statement(n)) + b"\n" for n in range(1, 10_001)))
    done = instance.cli("import-file", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "imported export.jsonl: 10,000 read, 10,000 new, 0 duplicate, 0 conflicts, 0 rejected"
    ]
    again = instance.cli("import-file", str(path), "--json")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert {k: result[k] for k in ("read", "new", "duplicate", "conflicts", "rejected")} == {
        "read": 10_000,
        "new": 0,
        "duplicate": 10_000,
        "conflicts": 0,
        "rejected": 0,
    }
    store = stored(instance)
    assert store.statements.count() == 10_000
    record = store.statements.get(statement(1)["id"])
    assert record is not None
    assert orjson.loads(record.body)["authority"]["account"]["name"] == "file-import"


CSV_HEADER = "staff_no,learner,email,course_id,course_title,completed_on,score,hours,result"


def csv_rows() -> tuple[str, list[int]]:
    """Twelve data rows (spreadsheet rows 2-13), four of them malformed."""
    rows = [
        f"E{n},Learner {n},learner{n}@council.example,FS101,Fire safety,0{n % 9 + 1}/03/2025,"
        f"{60 + n},1.5,Passed"
        for n in range(1, 13)
    ]
    rows[2] = "E3,Learner 3,,FS101,Fire safety,03/03/2025,63,1.5,Passed"  # row 4: no e-mail
    rows[5] = "E6,Learner 6,learner6@council.example,FS101,Fire safety,30/02/2025,66,1,Passed"
    rows[8] = "E9,Learner 9,learner9@council.example,FS101,Fire safety,09/03/2025,lots,1,Passed"
    rows[10] = "E11,Learner 11,learner11-at-council,FS101,Fire safety,02/03/2025,71,1,Passed"
    return "\n".join([CSV_HEADER, *rows]) + "\n", [4, 7, 10, 12]


def test_a_csv_with_malformed_rows_imports_the_rest_after_a_dry_run(
    instance: Instance, tmp_path: Path
) -> None:
    ready(instance)
    text, bad_rows = csv_rows()
    path = tmp_path / "report.csv"
    path.write_text(text)
    dry = instance.cli("import-file", str(path), "--mapping", str(MAPPING), "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert dry.stdout.splitlines()[0] == (
        "dry run of report.csv (nothing stored): 12 read, 8 would be new, 0 duplicate,"
        " 0 conflicts, 4 rejected"
    )
    assert stored(instance).statements.count() == 0

    done = instance.cli("import-file", str(path), "--mapping", str(MAPPING))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("imported report.csv: 12 read, 8 new, 0 duplicate, 0 conflicts, 4 rejected")
    assert "the header is row 1" in lines[1]
    assert lines[2:] == [
        "  row 4: actor.mbox: column email is empty",
        "  row 7: timestamp: '30/02/2025' is not a date in the format %d/%m/%Y"
        " (column completed_on)",
        "  row 10: result.score.raw: 'lots' is not a number (column score)",
        "  row 12: actor.mbox: must be a mailto: IRI (column email)",
    ]
    assert [int(line.split()[1].rstrip(":")) for line in lines[2:]] == bad_rows
    assert stored(instance).statements.count() == 8

    again = instance.cli("import-file", str(path), "--mapping", str(MAPPING), "--json")
    result = json.loads(again.stdout)
    assert (result["new"], result["duplicate"], result["rejected"]) == (0, 8, 4)
    assert [(e["row"], e["column"]) for e in result["errors"]] == [
        (4, "email"),
        (7, "completed_on"),
        (10, "score"),
        (12, "email"),
    ]
    assert stored(instance).statements.count() == 8


def test_the_sample_csv_imports_cleanly(instance: Instance) -> None:
    ready(instance)
    done = instance.cli("import-file", str(ASSETS / "completions.csv"), "--mapping", str(MAPPING))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "imported completions.csv: 4 read, 4 new, 0 duplicate, 0 conflicts, 0 rejected"
    )


def test_a_conflicting_statement_is_reported_and_the_stored_one_kept(
    instance: Instance, tmp_path: Path
) -> None:
    ready(instance)
    first = tmp_path / "first.jsonl"
    first.write_bytes(b"".join(orjson.dumps(statement(n)) + b"\n" for n in (1, 2, 3)))
    assert instance.cli("import-file", str(first)).returncode == 0
    changed = statement(2, verb="http://adlnet.gov/expapi/verbs/attempted")
    second = tmp_path / "second.jsonl"
    second.write_bytes(
        b"\n".join(orjson.dumps(s) for s in (statement(1), changed, statement(4))) + b"\n"
    )
    done = instance.cli("import-file", str(second))
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "imported second.jsonl: 3 read, 1 new, 1 duplicate, 1 conflict, 0 rejected",
        "(line numbers count every line of the file, from 1)",
        f"  line 2: conflict: statement {changed['id']} is stored with other content;"
        " the stored one is kept",
    ]
    record = stored(instance).statements.get(changed["id"])
    assert record is not None
    assert orjson.loads(record.body)["verb"]["id"] == COMPLETED
    assert stored(instance).statements.count() == 4


def test_bad_input_is_a_clear_message_and_exit_status_2(instance: Instance, tmp_path: Path) -> None:
    ready(instance)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    binary = tmp_path / "photo.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    bad_mapping = tmp_path / "mapping.json"
    bad_mapping.write_text(json.dumps({**json.loads(MAPPING.read_text()), "scor": {}}))
    wrong_column = tmp_path / "columns.json"
    wrong_column.write_text(
        json.dumps({**json.loads(MAPPING.read_text()), "platform": "{lms_name}"})
    )
    csv = str(ASSETS / "completions.csv")
    cases = [
        ((str(tmp_path / "missing.jsonl"),), "does not exist"),
        ((str(empty),), "empty.jsonl is empty: nothing to import"),
        ((str(binary),), "photo.jsonl is a binary file"),
        ((csv,), "give --mapping"),
        ((csv, "--mapping", str(bad_mapping)), "mapping mapping.json: scor: is not a mapping key"),
        ((csv, "--mapping", str(wrong_column)), "mapping key platform names the column 'lms_name'"),
        ((csv, "--mapping", str(tmp_path / "nope.json")), "does not exist"),
    ]
    for args, message in cases:
        done = instance.cli("import-file", *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert stored(instance).statements.count() == 0


def test_a_store_not_set_up_is_a_message(instance: Instance) -> None:
    done = instance.cli("import-file", str(ASSETS / "completions.csv"), "--mapping", str(MAPPING))
    assert done.returncode == 1
    assert "cpdfolio db init" in done.stderr and "Traceback" not in done.stderr
