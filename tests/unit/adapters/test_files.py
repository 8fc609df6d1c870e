"""File import (lrs_adapters.files): formats, row numbers, the CSV mapping, dry runs."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrs_adapters.files import (
    CsvMapping,
    CsvSource,
    FileRefused,
    ImportResult,
    JsonDocumentSource,
    JsonLinesSource,
    MappingInvalid,
    import_statements,
    mapping_from_json,
    open_source,
)
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.storage.base import NewStatement
from portfolio.storage.sqlite import SqliteStore
from schemas.xapi import validate_statements

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "imports"
SAMPLE_CSV = ASSETS / "completions.csv"
SAMPLE_MAPPING = ASSETS / "completions.mapping.json"
SUBMITTER = Submitter(
    client_key="file-import",
    authority={"objectType": "Agent", "account": {"homePage": "http://lrs.test", "name": "f"}},
)
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"


def statement(n: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.UUID(int=n, version=4)),
        "actor": {"mbox": f"mailto:learner{n}@example.org", "name": f"Learner {n}"},
        "verb": {"id": COMPLETED, "display": {"en": "completed"}},
        "object": {"id": f"https://lms.example/course/{n}"},
        "timestamp": "2025-02-03T10:00:00Z",
    }
    body.update(changes)
    return body


def lines(*items: Any) -> bytes:
    return b"".join(
        (item if isinstance(item, bytes) else orjson.dumps(item)) + b"\n" for item in items
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "import.db")
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def ingest(store: SqliteStore) -> StatementIngest:
    return StatementIngest(store.statements)


def run(
    path: Path,
    ingest: StatementIngest,
    *,
    mapping: Path | None = None,
    dry_run: bool = False,
    chunk_size: int = 500,
) -> ImportResult:
    return import_statements(
        open_source(path, mapping=mapping),
        ingest,
        SUBMITTER,
        dry_run=dry_run,
        chunk_size=chunk_size,
    )


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# ---------------------------------------------------------------------- JSON formats


def test_a_json_array_is_imported_and_a_bad_statement_is_named_by_its_position(
    tmp_path: Path, ingest: StatementIngest, store: SqliteStore
) -> None:
    bad = statement(2, actor={"mbox": "learner2@example.org"})
    path = write(tmp_path, "export.json", json.dumps([statement(1), bad, statement(3)], indent=2))
    assert isinstance(open_source(path), JsonDocumentSource)
    result = run(path, ingest)
    assert result.counts() == {"read": 3, "new": 2, "duplicate": 0, "conflicts": 0, "rejected": 1}
    (error,) = result.rejected
    assert (error.row, error.path, error.rule) == (2, "actor.mbox", "must be a mailto: IRI")
    assert error.id == bad["id"]
    assert store.statements.count() == 2


def test_json_lines_skip_blank_lines_and_reject_a_broken_line_by_its_number(
    tmp_path: Path, ingest: StatementIngest
) -> None:
    data = lines(statement(1), b"", b"   ", b'{"actor": {', statement(2), b"\r", statement(3))
    data += lines(statement(4, verb={"id": "not an iri"}))
    path = write(tmp_path, "export.jsonl", data)
    assert isinstance(open_source(path), JsonLinesSource)
    result = run(path, ingest)
    assert result.counts() == {"read": 5, "new": 3, "duplicate": 0, "conflicts": 0, "rejected": 2}
    broken, bad_verb = result.rejected
    assert broken.row == 4 and broken.rule == "must be valid JSON"
    assert "not valid JSON" in broken.message
    assert (bad_verb.row, bad_verb.path) == (8, "verb.id")


def test_learning_locker_records_are_unwrapped(tmp_path: Path, ingest: StatementIngest) -> None:
    def wrapped(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "_id": {"$oid": "5f1d7a0e8c3b2a0012345678"},
            "lrs_id": {"$oid": "5f1d7a0e8c3b2a0087654321"},
            "statement": body,
            "voided": False,
            "timestamp": {"$date": "2025-02-03T10:00:00.000Z"},
        }

    bad = statement(2, timestamp="yesterday")
    path = write(tmp_path, "ll.jsonl", lines(wrapped(statement(1)), wrapped(bad)))
    result = run(path, ingest)
    assert result.counts()["new"] == 1
    (error,) = result.rejected
    assert (error.row, error.path) == (2, "statement.timestamp")
    # Also in an array.
    array = write(tmp_path, "ll.json", json.dumps([wrapped(statement(3))]))
    assert run(array, ingest).counts()["new"] == 1


def test_a_statement_result_is_a_whole_file_or_a_line(
    tmp_path: Path, ingest: StatementIngest
) -> None:
    page = {"statements": [statement(1), statement(2, verb={})], "more": ""}
    whole = write(tmp_path, "page.json", json.dumps(page, indent=2))
    result = run(whole, ingest)
    assert result.format == "json"
    assert (result.new, [(e.row, e.path) for e in result.rejected]) == (1, [(2, "verb.id")])
    pages = write(tmp_path, "pages.jsonl", lines(page, {"statements": [statement(3)]}))
    result = run(pages, ingest)
    assert result.format == "jsonl"
    assert result.counts() == {"read": 3, "new": 1, "duplicate": 1, "conflicts": 0, "rejected": 1}
    assert [(e.row, e.path) for e in result.rejected] == [(1, "statements[1].verb.id")]


def test_a_single_pretty_printed_statement_is_one_row(
    tmp_path: Path, ingest: StatementIngest
) -> None:
    path = write(tmp_path, "one.json", json.dumps(statement(1), indent=2))
    assert run(path, ingest).counts()["new"] == 1


def test_an_element_that_is_not_an_object_is_rejected(
    tmp_path: Path, ingest: StatementIngest
) -> None:
    path = write(tmp_path, "mixed.json", json.dumps([statement(1), "hello", 3]))
    result = run(path, ingest)
    assert [(e.row, e.rule) for e in result.rejected] == [
        (2, "must be a statement object"),
        (3, "must be a statement object"),
    ]
    assert "a JSON string" in result.rejected[0].message


def test_xapi_2_statements_are_checked_under_the_2_0_grammar(
    tmp_path: Path, ingest: StatementIngest, store: SqliteStore
) -> None:
    two = statement(1, version="2.0.0", timestamp="2025-02-03T10:00:00+00:00")
    path = write(tmp_path, "v2.jsonl", lines(statement(2), two, statement(3)))
    result = run(path, ingest)
    assert result.counts()["new"] == 3, result.rejected
    record = store.statements.get(two["id"])
    assert record is not None and orjson.loads(record.body)["version"] == "2.0.0"


def test_statements_without_an_id_get_one_from_their_content(
    tmp_path: Path, ingest: StatementIngest, store: SqliteStore
) -> None:
    first, second = statement(1), statement(2)
    del first["id"], second["id"]
    path = write(tmp_path, "no-ids.jsonl", lines(first, second))
    assert run(path, ingest).counts()["new"] == 2
    again = run(path, ingest)
    assert (again.new, again.duplicate) == (0, 2)
    assert store.statements.count() == 2


def test_importing_again_finds_duplicates_and_a_changed_statement_conflicts(
    tmp_path: Path, ingest: StatementIngest, store: SqliteStore
) -> None:
    path = write(tmp_path, "a.jsonl", lines(*(statement(n) for n in range(1, 6))))
    assert run(path, ingest).counts()["new"] == 5
    changed = statement(3, verb={"id": "http://adlnet.gov/expapi/verbs/attempted"})
    # Only the display differs: the same statement (Data 2.3.1).
    same = statement(4, verb={"id": COMPLETED, "display": {"en-GB": "finished"}})
    path = write(tmp_path, "b.jsonl", lines(statement(1), changed, same, statement(6)))
    result = run(path, ingest)
    assert result.counts() == {"read": 4, "new": 1, "duplicate": 2, "conflicts": 1, "rejected": 0}
    assert [(c.row, c.id) for c in result.conflicts] == [(2, changed["id"])]
    record = store.statements.get(changed["id"])
    assert record is not None and orjson.loads(record.body)["verb"]["id"] == COMPLETED


def test_repeats_within_a_file_are_duplicates_or_conflicts_whatever_the_chunks(
    tmp_path: Path, ingest: StatementIngest
) -> None:
    changed = statement(1, verb={"id": "http://adlnet.gov/expapi/verbs/attempted"})
    path = write(
        tmp_path, "repeats.jsonl", lines(statement(1), statement(2), statement(1), changed)
    )
    expected = {"read": 4, "new": 2, "duplicate": 1, "conflicts": 1, "rejected": 0}
    for chunk_size in (1, 2, 500):
        dry = run(path, ingest, dry_run=True, chunk_size=chunk_size)
        assert dry.counts() == expected, chunk_size
        assert [c.row for c in dry.conflicts] == [4]
    result = run(path, ingest, chunk_size=2)
    assert result.counts() == expected
    assert [c.row for c in result.conflicts] == [4]


def test_a_dry_run_compares_a_repeat_that_differs_only_where_statements_may(
    tmp_path: Path, ingest: StatementIngest, store: SqliteStore
) -> None:
    same = statement(1, verb={"id": COMPLETED, "display": {"en-GB": "finished"}})
    path = write(tmp_path, "r.jsonl", lines(statement(1), statement(2), same))
    dry = run(path, ingest, dry_run=True, chunk_size=1)
    assert dry.counts() == {"read": 3, "new": 2, "duplicate": 1, "conflicts": 0, "rejected": 0}
    assert store.statements.count() == 0


def test_a_dry_run_stores_nothing_and_says_what_would_happen(
    tmp_path: Path, ingest: StatementIngest, store: SqliteStore
) -> None:
    first = write(tmp_path, "first.jsonl", lines(statement(1), statement(2)))
    run(first, ingest)
    bad = statement(5, actor={})
    changed = statement(2, verb={"id": "http://adlnet.gov/expapi/verbs/attempted"})
    path = write(tmp_path, "more.jsonl", lines(statement(1), changed, statement(3), bad))
    dry = run(path, ingest, dry_run=True)
    assert dry.dry_run
    assert dry.counts() == {"read": 4, "new": 1, "duplicate": 1, "conflicts": 1, "rejected": 1}
    assert store.statements.count() == 2
    assert run(path, ingest).counts() == dry.counts()
    assert store.statements.count() == 3


def test_absorb_dry_run_neither_stores_nor_calls_on_stored(store: SqliteStore) -> None:
    seen: list[NewStatement] = []
    ingest = StatementIngest(store.statements, on_stored=seen.extend)
    absorbed = ingest.absorb([statement(1)], submitter=SUBMITTER, version="1.0.3", dry_run=True)
    assert absorbed.new == [statement(1)["id"]]
    assert (store.statements.count(), seen) == (0, [])
    ingest.absorb([statement(1)], submitter=SUBMITTER, version="1.0.3")
    assert store.statements.count() == 1 and len(seen) == 1


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("empty.jsonl", b"", "is empty"),
        ("blank.jsonl", b"  \n\n\t", "is empty"),
        ("image.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin.jsonl", '{"name": "Zoë"}'.encode("latin-1"), "not UTF-8"),
        ("notes.txt", b"hello world\n", "starts with 'h'"),
        ("report.csv", b"email,course\n", "give --mapping"),
        ("broken.json", b'[{"id": 1},\n', "not valid JSON"),
        ("pretty.json", b'{\n  "actor": \n', "not valid JSON"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_with_a_reason(
    tmp_path: Path, name: str, data: bytes, says: str
) -> None:
    with pytest.raises(FileRefused) as caught:
        open_source(write(tmp_path, name, data))
    assert says in caught.value.message


def test_an_empty_array_reads_nothing(tmp_path: Path, ingest: StatementIngest) -> None:
    assert run(write(tmp_path, "none.json", b"[]"), ingest).counts()["read"] == 0


def test_json_lines_are_read_a_line_at_a_time(tmp_path: Path) -> None:
    path = write(tmp_path, "s.jsonl", lines(statement(1), statement(2)))
    records = open_source(path).records()
    first = next(records)
    path.write_bytes(path.read_bytes() + lines(statement(3)))  # appended after the start
    assert first.statement == statement(1)
    assert [r.row for r in records] == [2, 3]


# ------------------------------------------------------------------------------ CSV


def sample_mapping() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE_MAPPING.read_text())
    return data


def mapping_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    return write(tmp_path, "mapping.json", json.dumps(data))


HEADER = "staff_no,learner,email,course_id,course_title,completed_on,score,hours,result"
GOOD_ROW = "E1,Ann Example,ann@council.example,FS101,Fire safety,03/02/2025,85,1.5,Passed"


def test_the_sample_csv_makes_these_statements(tmp_path: Path, ingest: StatementIngest) -> None:
    source = open_source(SAMPLE_CSV, mapping=SAMPLE_MAPPING)
    assert isinstance(source, CsvSource)
    records = list(source.records())
    assert [r.row for r in records] == [2, 3, 4, 5]
    first = records[0].statement
    assert first is not None
    assert first == {
        "id": first["id"],
        "actor": {
            "objectType": "Agent",
            "name": "Ann Example",
            "mbox": "mailto:ann@council.example",
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en": "passed"}},
        "object": {
            "objectType": "Activity",
            "id": "https://lms.council.example/course/FS101",
            "definition": {
                "name": {"en": "Fire safety"},
                "type": "http://adlnet.gov/expapi/activities/course",
            },
        },
        "timestamp": "2025-02-03T00:00:00Z",
        "result": {
            "score": {"raw": 85, "min": 0, "max": 100, "scaled": 0.85},
            "completion": True,
            "duration": "PT1H30M",
        },
        "context": {"platform": "Council LMS"},
    }
    # The id is a UUID v5 of the id_from columns: the same on every run.
    expected = uuid.uuid5(
        uuid.UUID("79fde1db-17d8-45a7-89af-ce89f5627825"),
        '[["staff_no","E1001"],["course_id","FS101"],["completed_on","03/02/2025"]]',
    )
    assert first["id"] == str(expected)
    third = records[2].statement
    assert third is not None
    # A blank optional score is left out; a date in British Summer Time moves to UTC.
    assert "score" not in third["result"]
    assert records[3].statement is not None
    assert records[3].statement["timestamp"] == "2025-07-10T23:00:00Z"
    assert [r.statement for r in open_source(SAMPLE_CSV, mapping=SAMPLE_MAPPING).records()] == [
        r.statement for r in records
    ]
    assert run(SAMPLE_CSV, ingest, mapping=SAMPLE_MAPPING).counts()["new"] == 4
    again = run(SAMPLE_CSV, ingest, mapping=SAMPLE_MAPPING)
    assert (again.new, again.duplicate) == (0, 4)


@pytest.mark.parametrize(
    ("row", "path", "column", "says"),
    [
        ("E2,Bob,,FS101,Fire safety,04/02/2025,92,1.5,Passed", "actor.mbox", "email", "is empty"),
        (
            "E2,Bob,not-an-email,FS101,Fire safety,04/02/2025,92,1.5,Passed",
            "actor.mbox",
            "email",
            "must be a mailto: IRI",
        ),
        (
            "E2,Bob,bob@x.example,FS101,Fire safety,31/02/2025,92,1.5,Passed",
            "timestamp",
            "completed_on",
            "not a date in the format %d/%m/%Y",
        ),
        (
            "E2,Bob,bob@x.example,FS101,Fire safety,2025-02-04,92,1.5,Passed",
            "timestamp",
            "completed_on",
            "not a date",
        ),
        (
            "E2,Bob,bob@x.example,FS101,Fire safety,04/02/2025,ninety,1.5,Passed",
            "result.score.raw",
            "score",
            "is not a number",
        ),
        (
            "E2,Bob,bob@x.example,FS101,Fire safety,04/02/2025,101,1.5,Passed",
            "result.score.raw",
            "score",
            "outside the range 0 to 100",
        ),
        (
            "E2,Bob,bob@x.example,FS101,Fire safety,04/02/2025,nan,1.5,Passed",
            "result.score.raw",
            "score",
            "is not a number",
        ),
        (
            "E2,Bob,bob@x.example,FS101,Fire safety,04/02/2025,92,an hour,Passed",
            "result.duration",
            "hours",
            "not a number of hours",
        ),
        (
            "E2,Bob,bob@x.example,FS101,Fire safety,04/02/2025,92,1.5,Failed",
            "verb",
            "result",
            "not in the mapping's verb.map",
        ),
        (
            "E2,Bob,bob@x.example,,Fire safety,04/02/2025,92,1.5,Passed",
            "object.id",
            "course_id",
            "is empty",
        ),
        ("E2,Bob,bob@x.example,FS101", "", None, "the row has 4 fields, the header 9"),
        (GOOD_ROW + ",extra", "", None, "the row has 10 fields, the header 9"),
    ],
)
def test_a_malformed_row_is_rejected_with_its_row_column_and_reason(
    tmp_path: Path,
    ingest: StatementIngest,
    store: SqliteStore,
    row: str,
    path: str,
    column: str | None,
    says: str,
) -> None:
    csv_path = write(tmp_path, "report.csv", f"{HEADER}\n{GOOD_ROW}\n{row}\n")
    result = run(csv_path, ingest, mapping=SAMPLE_MAPPING)
    assert result.counts() == {"read": 2, "new": 1, "duplicate": 0, "conflicts": 0, "rejected": 1}
    (error,) = result.rejected
    assert (error.row, error.path, error.column) == (3, path, column)
    assert says in error.message
    assert store.statements.count() == 1


def test_csv_rows_count_as_a_spreadsheet_shows_them(
    tmp_path: Path, ingest: StatementIngest
) -> None:
    quoted = 'E3,Cy,cy@x.example,FS101,"Fire\nsafety",05/02/2025,70,1,Passed'
    bad = "E4,Di,di@x.example,FS101,Fire safety,05/02/2025,70,1,Unknown"
    text = f"{HEADER}\n{GOOD_ROW}\n\n{quoted}\n,,,,,,,,\n{bad}\n"
    result = run(write(tmp_path, "r.csv", text), ingest, mapping=SAMPLE_MAPPING)
    # Row 3 is empty; the quoted cell spans two lines but is row 4; row 5 is empty cells.
    assert result.counts() == {"read": 3, "new": 2, "duplicate": 0, "conflicts": 0, "rejected": 1}
    assert [e.row for e in result.rejected] == [6]


def test_text_not_in_the_files_encoding_rejects_its_row_only(
    tmp_path: Path, ingest: StatementIngest
) -> None:
    latin = "E2,Zoë Example,zoe@x.example,FS101,Fire safety,04/02/2025,92,1.5,Passed"
    data = f"{HEADER}\n{GOOD_ROW}\n".encode() + f"{latin}\n".encode("cp1252")
    path = write(tmp_path, "excel.csv", data)
    result = run(path, ingest, mapping=SAMPLE_MAPPING)
    assert (result.new, [(e.row, e.column) for e in result.rejected]) == (1, [(3, "learner")])
    assert "encoding" in result.rejected[0].message
    windows = mapping_file(tmp_path, {**sample_mapping(), "encoding": "cp1252"})
    source = open_source(path, mapping=windows)
    names = [r.statement["actor"]["name"] for r in source.records() if r.statement]
    assert names[1] == "Zoë Example"


def test_a_tab_separated_utf_16_file_is_read_with_its_encoding_and_delimiter(
    tmp_path: Path,
) -> None:
    text = SAMPLE_CSV.read_text().replace(",", "\t")
    path = write(tmp_path, "unicode.txt", text.encode("utf-16"))
    mapping = mapping_file(tmp_path, {**sample_mapping(), "encoding": "utf-16", "delimiter": "\t"})
    made = [r.statement for r in open_source(path, mapping=mapping).records()]
    assert made == [r.statement for r in open_source(SAMPLE_CSV, mapping=SAMPLE_MAPPING).records()]
    assert len(made) == 4 and all(made)


def test_the_id_comes_from_the_whole_statement_without_id_from(tmp_path: Path) -> None:
    data = sample_mapping()
    del data["id_from"]
    mapping = mapping_from_json(json.dumps(data).encode(), "m.json")
    row = dict(zip(HEADER.split(","), GOOD_ROW.split(","), strict=True))
    one = mapping.statement(row)
    assert one == mapping.statement(dict(row))
    assert one["id"] != mapping.statement({**row, "score": "86"})["id"]


@pytest.mark.parametrize(
    ("unit", "value", "iso"),
    [
        ("hours", "1.5", "PT1H30M"),
        ("hours", "0", "PT0S"),
        ("hours", "36", "PT36H"),
        ("minutes", "90", "PT1H30M"),
        ("minutes", "2.5", "PT2M30S"),
        ("seconds", "3725.125", "PT1H2M5.12S"),
        ("h:mm", "1:05", "PT1H5M"),
        ("h:mm", "0:00:30.5", "PT30.5S"),
        ("iso", "PT45M", "PT45M"),
    ],
)
def test_durations_become_iso_8601(unit: str, value: str, iso: str) -> None:
    data = {**sample_mapping(), "duration": {"column": "hours", "unit": unit}}
    mapping = mapping_from_json(json.dumps(data).encode(), "m.json")
    row = dict(zip(HEADER.split(","), GOOD_ROW.split(","), strict=True))
    assert mapping.statement({**row, "hours": value})["result"]["duration"] == iso


def test_placeholders_in_an_iri_are_percent_encoded_unless_they_are_the_whole_iri() -> None:
    data = sample_mapping()
    row = dict(zip(HEADER.split(","), GOOD_ROW.split(","), strict=True))
    mapping = mapping_from_json(json.dumps(data).encode(), "m.json")
    made = mapping.statement({**row, "course_id": "FS 101/a"})
    assert made["object"]["id"] == "https://lms.council.example/course/FS%20101%2Fa"
    data["activity"]["id"] = "{course_id}"
    whole = mapping_from_json(json.dumps(data).encode(), "m.json")
    url = "https://moodle.example/course/view.php?id=7"
    assert whole.statement({**row, "course_id": url})["object"]["id"] == url


def test_an_account_actor_and_a_fixed_verb_and_flags() -> None:
    data = {
        "actor": {
            "account": {"homePage": "https://hr.council.example", "name": "{staff_no}"},
            "name": "{learner}",
        },
        "verb": {"id": COMPLETED, "display": {"en-GB": "completed", "cy": "cwblhawyd"}},
        "activity": {"id": "urn:course:{course_id}"},
        "date": {"column": "completed_on", "format": "%d/%m/%Y"},
        "success": {"column": "result", "true": ["Passed"], "false": ["Failed"]},
        "language": "en-GB",
    }
    mapping = mapping_from_json(json.dumps(data).encode(), "m.json")
    row = dict(zip(HEADER.split(","), GOOD_ROW.split(","), strict=True))
    made = mapping.statement(row)
    assert made["actor"] == {
        "objectType": "Agent",
        "name": "Ann Example",
        "account": {"homePage": "https://hr.council.example", "name": "E1"},
    }
    assert made["verb"] == data["verb"]
    assert made["result"] == {"success": True}
    assert made["timestamp"] == "2025-02-03T00:00:00Z"
    validate_statements(made)


def mutate(change: str) -> dict[str, Any]:
    data = copy.deepcopy(sample_mapping())
    exec(change, {"m": data})
    return data


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        ("m['score']['colum'] = 'score'", "score.colum", "is not a mapping key"),
        ("m['colour'] = 'red'", "colour", "is not a mapping key"),
        ("del m['actor']", "actor", "is required"),
        ("del m['activity']['id']", "activity.id", "is required"),
        ("m['actor']['openid'] = 'https://id.example/{staff_no}'", "actor", "exactly one of"),
        ("m['actor'] = {'name': '{learner}'}", "actor", "exactly one of"),
        ("m['verb'] = 'completed'", "verb.id", "not an absolute IRI"),
        ("m['verb'] = {'column': 'result'}", "verb.map", "must be an object"),
        ("m['activity']['id'] = 'https://x.example/{course_id'", "activity.id", "unmatched"),
        ("m['activity']['name'] = 'Course {}'", "activity.name", "empty placeholder"),
        ("m['date']['timezone'] = 'Mars/Olympus'", "date.timezone", "not a time zone"),
        ("m['date']['format'] = 'dd/mm/yyyy'", "date.format", "strptime format"),
        ("m['score']['max'] = 'a hundred'", "score.max", "must be a number"),
        ("m['score']['min'] = 100", "score.max", "greater than score.min"),
        ("m['duration']['unit'] = 'days'", "duration.unit", "must be one of"),
        ("del m['duration']['unit']", "duration.unit", "is required"),
        ("m['id_from'] = 'email'", "id_from", "list of column names"),
        ("m['language'] = 'english!'", "language", "not a language tag"),
        ("m['encoding'] = 'klingon-8'", "encoding", "not a known encoding"),
        ("m['delimiter'] = ';;'", "delimiter", "one character"),
        ("m['completion'] = 'yes'", "completion", "must be a JSON object"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_key(
    tmp_path: Path, change: str, key: str, says: str
) -> None:
    with pytest.raises(MappingInvalid) as caught:
        open_source(SAMPLE_CSV, mapping=mapping_file(tmp_path, mutate(change)))
    assert caught.value.path == key
    assert key in caught.value.message and says in caught.value.message


@pytest.mark.parametrize(
    ("change", "key", "column"),
    [
        ("m['actor']['name'] = '{learner_name}'", "actor.name", "learner_name"),
        ("m['date']['column'] = 'completed'", "date.column", "completed"),
        ("m['id_from'] = ['email', 'course']", "id_from", "course"),
        ("m['verb']['column'] = 'status'", "verb.column", "status"),
    ],
)
def test_a_mapping_naming_a_column_the_csv_lacks_is_refused_before_anything_is_read(
    tmp_path: Path, change: str, key: str, column: str
) -> None:
    with pytest.raises(MappingInvalid) as caught:
        open_source(SAMPLE_CSV, mapping=mapping_file(tmp_path, mutate(change)))
    assert caught.value.path == key
    assert repr(column) in caught.value.message and "its columns: staff_no" in caught.value.message


def test_a_mapping_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", "actor: email\n")
    with pytest.raises(MappingInvalid, match="not valid JSON"):
        open_source(SAMPLE_CSV, mapping=path)


def test_a_csv_without_a_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="is empty"):
        open_source(write(tmp_path, "e.csv", ""), mapping=SAMPLE_MAPPING)
    with pytest.raises(FileRefused, match="no header row"):
        open_source(write(tmp_path, "h.csv", ",,\n"), mapping=SAMPLE_MAPPING)


# ----------------------------------------------------------------------- properties

cells = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s.strip() != ""
)
rows = st.fixed_dictionaries(
    {
        "staff_no": st.from_regex(r"E[0-9]{1,6}", fullmatch=True),
        "learner": cells,
        "email": st.emails(),
        "course_id": cells,
        "course_title": cells,
        "completed_on": st.dates(date(1971, 1, 1), date(2099, 12, 31)).map(
            lambda d: d.strftime("%d/%m/%Y")
        ),
        "score": st.one_of(
            st.just(""),
            st.integers(0, 100).map(str),
            st.decimals(0, 100, places=2).map(str),
        ),
        "hours": st.one_of(st.just(""), st.decimals(0, 10_000, places=2).map(str)),
        "result": st.sampled_from(["Passed", "passed", " Completed ", "COMPLETED"]),
    }
)
with_and_without_id_from = st.booleans()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, with_and_without_id_from)
def test_valid_rows_make_valid_statements_with_stable_ids(
    row: dict[str, str], id_from: bool
) -> None:
    data = sample_mapping()
    if not id_from:
        del data["id_from"]
    mapping = mapping_from_json(json.dumps(data).encode(), "m.json")
    made = mapping.statement(row)
    validate_statements(made)
    validate_statements(made, version="2.0.0")
    again = mapping_from_json(json.dumps(data).encode(), "m.json").statement(dict(row))
    assert made == again
    assert uuid.UUID(made["id"]).version == 5
    assert made["timestamp"].endswith("Z")


def test_mapping_keys_are_documented() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "import-file.md").read_text()
    for key in CsvMapping.TOP_KEYS:
        assert f"`{key}`" in doc, key
