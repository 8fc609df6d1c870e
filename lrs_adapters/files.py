"""Importing statements from files (issue 6): another LRS's export, or an LMS report.

Three kinds of file, told apart by their content (docs/import-file.md):
- JSON Lines: one statement a line, as LRSs and `mongoexport` write them. Read line by
  line, so the memory used does not grow with the file. A line may also hold a Learning
  Locker record (`{"statement": {...}, ...}`, unwrapped), a StatementResult
  (`{"statements": [...]}`) or an array of statements.
- one JSON document: an array of statements (or of Learning Locker records), a
  StatementResult, or a single statement. It is parsed whole: its size in memory is a few
  times its size on disk (convert a very large one to JSON Lines first).
- CSV: course completions, one a row, made into statements by a mapping file (`CsvMapping`).

Every statement goes through StatementIngest.absorb, the path and rules of
POST /xapi/statements, in chunks under its batch limit. A bad row is reported with its row
number and the rest imported; a statement whose id is stored already is a duplicate when
it is the same statement and a conflict (the stored one kept) when it is not, so
importing a file twice stores it once. Statements without an id, and every statement
made from a CSV row, get an id derived from their content (UUID v5), for the same reason.

A file or mapping that cannot be used at all raises FileRefused before anything is
imported.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import math
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from portfolio.errors import InvalidInput
from portfolio.lrs.compare import statements_match
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.storage.base import NewStatement
from schemas.xapi.primitives import check_iri, is_language_tag

# The namespace of the UUID v5 ids given to statements that come without one.
ID_NAMESPACE = uuid.UUID("79fde1db-17d8-45a7-89af-ce89f5627825")
# Statements per absorb call: under the ingest's batch limit, one insert each.
CHUNK = 500
_SNIFF_BYTES = 64 * 1024
_BOM = codecs.BOM_UTF8
_LINE_1 = re.compile(r": line 1 column (\d+) \(char \d+\)$")

Format = Literal["jsonl", "json", "csv"]

# What a row number means, by format (said in the command's output).
ROW_MEANING: dict[str, str] = {
    "jsonl": "line numbers count every line of the file, from 1",
    "json": "statement numbers are positions in the file, from 1",
    "csv": "row numbers are spreadsheet rows: the header is row 1, the first data row row 2",
}
ROW_UNIT: dict[str, str] = {"jsonl": "line", "json": "statement", "csv": "row"}


class FileRefused(InvalidInput):
    """The file cannot be imported at all (missing, binary, not JSON, empty, a CSV without
    a mapping); nothing was imported."""


class MappingInvalid(FileRefused):
    """The CSV mapping file is wrong; `path` names the mapping key."""


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class RowError:
    """A row that was not imported: where (`path` in the statement; `column` of a CSV)
    and why."""

    row: int
    path: str
    rule: str
    message: str
    id: str | None = None
    column: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "row": self.row,
            "path": self.path,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "id": self.id,
        }


@dataclass(frozen=True)
class RowConflict:
    """A row whose statement id is stored with other content: the stored one is kept."""

    row: int
    id: str

    def to_json(self) -> dict[str, object]:
        return {"row": self.row, "id": self.id}


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do) with each row of the file."""

    file: str
    format: Format
    dry_run: bool
    read: int = 0
    new: int = 0
    duplicate: int = 0
    conflicts: list[RowConflict] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every row is now stored (or already was)."""
        return not self.conflicts and not self.rejected

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "new": self.new,
            "duplicate": self.duplicate,
            "conflicts": len(self.conflicts),
            "rejected": len(self.rejected),
        }

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "format": self.format,
            "dry_run": self.dry_run,
            "rows": ROW_MEANING[self.format],
            **self.counts(),
            "errors": [e.to_json() for e in self.rejected],
            "conflicting": [c.to_json() for c in self.conflicts],
        }


# ------------------------------------------------------------------------------ sources


@dataclass(frozen=True)
class Record:
    """One statement read from a file, or the reason a row could not give one. `prefix`
    locates the statement inside its row (a line holding several)."""

    row: int
    statement: dict[str, Any] | None
    error: RowError | None = None
    prefix: str = ""


class StatementSource:
    """A file's statements, in order; `records` can be called again (a dry run does)."""

    format: Format = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> Iterator[Record]:
        raise NotImplementedError

    def column_of(self, path: str) -> str | None:
        """The CSV column a statement path was made from, if any."""
        return None


class JsonLinesSource(StatementSource):
    format: Format = "jsonl"

    def records(self) -> Iterator[Record]:
        with _open_binary(self.path) as stream:
            for number, line in enumerate(stream, start=1):
                text = (line.removeprefix(_BOM) if number == 1 else line).strip()
                if not text:
                    continue
                try:
                    value = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    # The parser counts lines within the line it was given.
                    where = _LINE_1.sub(r" at column \1", str(exc))
                    yield _row_error(number, "", "must be valid JSON", f"not valid JSON: {where}")
                    continue
                yield from _line_records(number, value)


class JsonDocumentSource(StatementSource):
    """A whole-file JSON document, parsed when opened (so a syntax error refuses the file
    before anything is imported)."""

    format: Format = "json"

    def __init__(self, path: Path, value: Any) -> None:
        super().__init__(path)
        self._value = value

    def records(self) -> Iterator[Record]:
        value = self._value
        if isinstance(value, dict) and _is_statement_result(value):
            value = value["statements"]
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield _record(index + 1, item)
        else:
            yield _record(1, value)


def _record(row: int, value: Any, prefix: str = "") -> Record:
    """The record of one statement, or of a Learning Locker record wrapping one."""
    if isinstance(value, dict) and _is_wrapper(value):
        return Record(row, value["statement"], prefix=prefix + "statement.")
    if isinstance(value, dict):
        return Record(row, value, prefix=prefix)
    where = prefix.rstrip(".")
    return _row_error(
        row,
        where,
        "must be a statement object",
        f"{where or 'the row'} is a JSON {_json_type(value)}, not a statement object",
    )


def _line_records(row: int, value: Any) -> Iterator[Record]:
    if isinstance(value, dict) and _is_statement_result(value):
        for index, item in enumerate(value["statements"]):
            yield _record(row, item, prefix=f"statements[{index}].")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield _record(row, item, prefix=f"[{index}].")
    else:
        yield _record(row, value)


def _is_wrapper(value: Mapping[str, Any]) -> bool:
    """A Learning Locker record: the statement under `statement`, with LL's own fields."""
    return isinstance(value.get("statement"), dict) and "actor" not in value


def _is_statement_result(value: Mapping[str, Any]) -> bool:
    return isinstance(value.get("statements"), list) and "actor" not in value


def _json_type(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "literal" if value is None else "boolean"
    return {str: "string", int: "number", float: "number", list: "array"}.get(
        type(value), type(value).__name__
    )


def _row_error(row: int, path: str, rule: str, message: str) -> Record:
    return Record(row, None, RowError(row=row, path=path, rule=rule, message=message))


def _open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror or exc}") from None


def open_source(path: Path, *, mapping: Path | None = None) -> StatementSource:
    """The statements of a file, its format told by its content (a CSV by its mapping or
    its .csv extension). Raises FileRefused (MappingInvalid) when it cannot be imported."""
    if not path.is_file():
        raise FileRefused(f"{path} is not a file")
    with _open_binary(path) as stream:
        head = stream.read(_SNIFF_BYTES)
    csv_mapping = load_mapping(mapping) if mapping is not None else None
    wide = csv_mapping is not None and codecs.lookup(csv_mapping.encoding).name.startswith(
        ("utf-16", "utf-32")
    )
    if b"\x00" in head and not wide:
        raise FileRefused(
            f"{path.name} is a binary file, not JSON, JSON Lines or CSV text (it holds NUL bytes)"
        )
    first = _first_character(path, head)
    if first is None and not wide:
        raise FileRefused(f"{path.name} is empty: nothing to import")
    if csv_mapping is not None:
        return CsvSource(path, csv_mapping)
    if path.suffix.lower() == ".csv":
        raise FileRefused(
            f"{path.name} is a CSV file: give --mapping to say how its columns make statements"
            " (docs/import-file.md)"
        )
    assert first is not None  # empty is allowed only with a mapping
    if not _is_utf8(head, complete=len(head) < _SNIFF_BYTES):
        raise FileRefused(f"{path.name} is not UTF-8 text: JSON and JSON Lines must be UTF-8")
    if first not in (b"{", b"["):
        shown = first.decode("utf-8", "replace")
        raise FileRefused(
            f"{path.name} is neither JSON nor JSON Lines: it starts with {shown!r}, not '{{'"
            " or '['. A CSV file needs --mapping."
        )
    line = _first_line(path)
    line_value: Any = None
    line_error = ""
    try:
        line_value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        line_error = str(exc)
    if first == b"{" and isinstance(line_value, dict):
        return JsonLinesSource(path)
    try:
        with _open_binary(path) as stream:
            document = orjson.loads(stream.read().removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        if isinstance(line_value, list):  # an array a line
            return JsonLinesSource(path)
        raise FileRefused(
            f"{path.name} is not valid JSON ({exc}); nor JSON Lines (line 1: {line_error})"
        ) from None
    return JsonDocumentSource(path, document)


def _is_utf8(data: bytes, *, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _first_character(path: Path, head: bytes) -> bytes | None:
    """The first byte that is not white space (nor the BOM), reading on past `head`."""
    text = head.removeprefix(_BOM).lstrip()
    if text:
        return text[:1]
    with _open_binary(path) as stream:
        stream.seek(len(head))
        while chunk := stream.read(_SNIFF_BYTES):
            if chunk.strip():
                return chunk.lstrip()[:1]
    return None


def _first_line(path: Path) -> bytes:
    """The first line that is not blank."""
    with _open_binary(path) as stream:
        for number, line in enumerate(stream, start=1):
            text = (line.removeprefix(_BOM) if number == 1 else line).strip()
            if text:
                return text
    return b""


# ----------------------------------------------------------------------------- import


def import_statements(
    source: StatementSource,
    ingest: StatementIngest,
    submitter: Submitter,
    *,
    dry_run: bool = False,
    on_known: Callable[[Sequence[NewStatement]], object] | None = None,
    chunk_size: int = CHUNK,
) -> ImportResult:
    """Take in every statement of `source`; see the module docstring.

    `on_known` is given the statements found stored already, to witness them again in
    case an interrupted earlier import stored them but did not witness them. A dry run
    checks everything, against the store too, and stores nothing.
    """
    run = _Run(source, ingest, submitter, dry_run=dry_run, on_known=on_known)
    chunk: list[tuple[Record, dict[str, Any]]] = []
    ids: set[str] = set()
    grammar = ""
    for record in source.records():
        run.result.read += 1
        if record.error is not None or record.statement is None:
            if record.error is not None:
                run.result.rejected.append(record.error)
            continue
        statement = record.statement
        _ensure_id(statement)
        key = _id_key(statement)
        version = _grammar(statement)
        # One absorb call per chunk; a chunk holds an id once, so that each conflict it
        # reports belongs to one row.
        if chunk and (len(chunk) >= chunk_size or version != grammar or key in ids):
            run.absorb(chunk, grammar)
            chunk, ids = [], set()
        grammar = version
        chunk.append((record, statement))
        if key is not None:
            ids.add(key)
    if chunk:
        run.absorb(chunk, grammar)
    run.finish()
    run.result.rejected.sort(key=lambda e: e.row)
    run.result.conflicts.sort(key=lambda c: c.row)
    return run.result


class _Run:
    def __init__(
        self,
        source: StatementSource,
        ingest: StatementIngest,
        submitter: Submitter,
        *,
        dry_run: bool,
        on_known: Callable[[Sequence[NewStatement]], object] | None,
    ) -> None:
        self.source = source
        self.ingest = ingest
        self.submitter = submitter
        self.dry_run = dry_run
        self.on_known = on_known
        self.result = ImportResult(file=source.path.name, format=source.format, dry_run=dry_run)
        # A dry run stores nothing, so a statement repeated in a later chunk is not found
        # stored: it remembers what it would have stored (id → digest, row), and compares
        # the repeats that differ from the first copy once the file is read.
        self._planned: dict[str, tuple[bytes, int]] = {}
        self._repeats: list[tuple[int, str, dict[str, Any], int]] = []

    def absorb(self, chunk: Sequence[tuple[Record, dict[str, Any]]], version: str) -> None:
        absorbed = self.ingest.absorb(
            [statement for _record, statement in chunk],
            submitter=self.submitter,
            version=version,
            dry_run=self.dry_run,
        )
        by_id = {key: item for item in chunk if (key := _id_key(item[1])) is not None}
        for rejected in absorbed.rejected:
            record = chunk[rejected.index][0]
            path = record.prefix + rejected.path
            generic = rejected.message in (
                f"{rejected.path or 'statement'} {rejected.rule}",
                rejected.rule,
            )
            detail = rejected.rule if generic else rejected.message
            self.result.rejected.append(
                RowError(
                    row=record.row,
                    path=path,
                    rule=rejected.rule,
                    message=f"{path or 'statement'}: {detail}",
                    id=rejected.id,
                    column=self.source.column_of(rejected.path),
                )
            )
        for statement_id in absorbed.conflicts:
            self.result.conflicts.append(RowConflict(by_id[statement_id][0].row, statement_id))
        self.result.duplicate += len(absorbed.duplicate)
        if not self.dry_run:
            self.result.new += len(absorbed.new)
            if absorbed.known and self.on_known is not None:
                self.on_known(absorbed.known)
            return
        for statement_id in absorbed.new:
            record, statement = by_id[statement_id]
            digest = _digest(statement)
            planned = self._planned.get(statement_id)
            if planned is None:
                self._planned[statement_id] = (digest, record.row)
                self.result.new += 1
            elif planned[0] == digest:
                self.result.duplicate += 1
            else:
                self._repeats.append((record.row, statement_id, statement, planned[1]))

    def finish(self) -> None:
        """Sort the dry run's differing repeats into duplicates and conflicts, comparing
        each with the first copy (read again from the file)."""
        if not self._repeats:
            return
        wanted = {(first_row, statement_id) for _row, statement_id, _s, first_row in self._repeats}
        firsts: dict[tuple[int, str], dict[str, Any]] = {}
        for record in self.source.records():
            if record.statement is None:
                continue
            _ensure_id(record.statement)
            key = (record.row, _id_key(record.statement) or "")
            if key in wanted:
                firsts.setdefault(key, record.statement)
        for row, statement_id, statement, first_row in self._repeats:
            first = firsts.get((first_row, statement_id))
            if first is not None and statements_match(first, statement):
                self.result.duplicate += 1
            else:
                self.result.conflicts.append(RowConflict(row, statement_id))


def _ensure_id(statement: dict[str, Any]) -> None:
    """Give a statement without an id one derived from its content, so that importing
    the file again finds it stored instead of storing it twice."""
    if "id" not in statement:
        content = {k: v for k, v in statement.items() if k not in ("authority", "stored")}
        statement["id"] = _uuid5(orjson.dumps(content, option=_SORTED))


_SORTED = orjson.OPT_SORT_KEYS


def _uuid5(name: bytes) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, name.decode()))


def _id_key(statement: Mapping[str, Any]) -> str | None:
    given = statement.get("id")
    return given.lower() if isinstance(given, str) else None


def _grammar(statement: Mapping[str, Any]) -> str:
    version = statement.get("version")
    return "2.0.0" if isinstance(version, str) and version.startswith("2.") else "1.0.3"


def _digest(statement: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(orjson.dumps(statement, option=_SORTED)).digest()[:16]


# -------------------------------------------------------------------------------- CSV


class CsvSource(StatementSource):
    """A CSV file with a header row, one statement a row by a CsvMapping. The header is
    read, and checked against the mapping, when the source is made."""

    format: Format = "csv"

    def __init__(self, path: Path, mapping: CsvMapping) -> None:
        super().__init__(path)
        self.mapping = mapping
        with self._reader() as (_stream, reader):
            try:
                header = next(reader, None)
            except csv.Error as exc:
                raise FileRefused(f"{path.name}: the header row is not valid CSV: {exc}") from None
        if not header or not any(cell.strip() for cell in header):
            raise FileRefused(f"{path.name} has no header row: the first row must name the columns")
        self.header = [_clean_header(cell, first=i == 0) for i, cell in enumerate(header)]
        bad = [cell for cell in self.header if _has_surrogates(cell)]
        if bad:
            raise FileRefused(
                f'{path.name}: the header is not {mapping.encoding} text; set "encoding" in'
                ' the mapping (for a file saved by Excel, often "cp1252")'
            )
        mapping.check_header(self.header, path.name)

    def _reader(self) -> _CsvReader:
        return _CsvReader(self.path, self.mapping)

    def records(self) -> Iterator[Record]:
        width = len(self.header)
        with self._reader() as (_stream, reader):
            next(reader, None)  # the header
            row = 1
            while True:
                row += 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield _row_error(row, "", "must be a well-formed CSV row", f"not CSV: {exc}")
                    continue
                if not any(cell.strip() for cell in fields):
                    continue  # an empty row
                if len(fields) != width:
                    yield _row_error(
                        row,
                        "",
                        "must have as many fields as the header",
                        f"the row has {len(fields)} fields, the header {width}",
                    )
                    continue
                yield self.mapping.record(row, dict(zip(self.header, fields, strict=True)))

    def column_of(self, path: str) -> str | None:
        return self.mapping.column_of(path)


class _CsvReader:
    """Opens the CSV as text; undecodable bytes are kept as surrogates, so that the row
    holding them is rejected and the others read."""

    def __init__(self, path: Path, mapping: CsvMapping) -> None:
        self._path = path
        self._mapping = mapping

    def __enter__(self) -> tuple[Any, Iterator[list[str]]]:
        try:
            self._stream = self._path.open(
                encoding=self._mapping.encoding, errors="surrogateescape", newline=""
            )
        except OSError as exc:
            raise FileRefused(f"cannot read {self._path}: {exc.strerror or exc}") from None
        return self._stream, csv.reader(self._stream, delimiter=self._mapping.delimiter)

    def __exit__(self, *exc: object) -> None:
        self._stream.close()


def _clean_header(cell: str, *, first: bool) -> str:
    return (cell.removeprefix("\ufeff") if first else cell).strip()


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


# ---------------------------------------------------------------------------- mapping


class _RowProblem(Exception):
    """A row the mapping cannot make a statement of."""

    def __init__(self, path: str, column: str | None, rule: str) -> None:
        super().__init__(rule)
        self.path = path
        self.column = column
        self.rule = rule


class _Blank(Exception):
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


class _Problem(Exception):
    """A mistake in the mapping file, at `key`."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class _Template:
    """A mapping value with `{column}` placeholders (`{{` and `}}` are braces). In an IRI,
    a placeholder among other text is percent-encoded (a course code with a space still
    makes a valid IRI); one that is the whole value is taken as it is."""

    key: str
    parts: tuple[str | tuple[str], ...]
    iri: bool = False

    @classmethod
    def parse(cls, key: str, value: object, *, iri: bool = False) -> _Template:
        if not isinstance(value, str):
            raise _Problem(key, "must be a string")
        parts: list[str | tuple[str]] = []
        position = 0
        for match in _TOKEN.finditer(value):
            if match.start() > position:
                parts.append(value[position : match.start()])
            token = match.group(0)
            if token in ("{{", "}}"):
                parts.append(token[0])
            elif token in ("{", "}"):
                raise _Problem(key, f"has an unmatched {token!r} (write {token * 2} for a brace)")
            else:
                name = match.group(1).strip()
                if not name:
                    raise _Problem(key, "has an empty placeholder {}")
                parts.append((name,))
            position = match.end()
        if position < len(value):
            parts.append(value[position:])
        if not parts:
            raise _Problem(key, "must not be empty")
        return cls(key, tuple(parts), iri)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(p[0] for p in self.parts if isinstance(p, tuple))

    @property
    def constant(self) -> str | None:
        if self.columns:
            return None
        return "".join(p for p in self.parts if isinstance(p, str))

    def render(self, row: Mapping[str, str]) -> str:
        """The value for a row; raises _Blank naming an empty column it needs."""
        whole = len(self.parts) == 1
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = row[part[0]].strip()
            if not value:
                raise _Blank(part[0])
            if _has_surrogates(value):
                raise _RowProblem("", part[0], "is not valid text in the file's encoding")
            out.append(quote(value, safe="-._~") if self.iri and not whole else value)
        return "".join(out)


@dataclass(frozen=True)
class _Field:
    """A value read from one column ({"column": ...}), with whether a blank is an error."""

    key: str
    column: str
    required: bool

    def cell(self, row: Mapping[str, str]) -> str | None:
        value = row[self.column].strip()
        if _has_surrogates(value):
            raise _RowProblem(self.key, self.column, "is not valid text in the file's encoding")
        if not value:
            if self.required:
                raise _RowProblem(self.key, self.column, f"column {self.column} is empty")
            return None
        return value


_DURATION_UNITS = {"hours": 3600, "minutes": 60, "seconds": 1}
_CLOCK = re.compile(r"(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d+)?))?")
_TRUE = ("true", "yes", "y", "1", "pass", "passed", "complete", "completed")
_FALSE = ("false", "no", "n", "0", "fail", "failed", "incomplete")
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


class CsvMapping:
    """How the columns of a CSV make a statement (docs/import-file.md, "Mapping file").

    Each row becomes: actor (an e-mail address or an account), verb, the activity, a
    timestamp from a date column, and optionally a score, a duration, success and
    completion, and context.platform. The statement id is a UUID v5 of the values of the
    `id_from` columns (or of the whole statement), so a row imported twice is one
    statement.
    """

    TOP_KEYS = (
        "actor",
        "verb",
        "activity",
        "date",
        "score",
        "duration",
        "success",
        "completion",
        "platform",
        "language",
        "id_from",
        "delimiter",
        "encoding",
        "comment",
    )

    def __init__(self, data: object) -> None:
        """Raises _Problem naming the key at fault."""
        spec = _keys(data, "", self.TOP_KEYS, required=("actor", "verb", "activity", "date"))
        self.references: list[tuple[str, str]] = []  # (mapping key, column)
        self._paths: dict[str, str] = {}  # statement path → column, for error messages
        self.language = _string(spec.get("language", "en"), "language")
        if not is_language_tag(self.language):
            raise _Problem("language", f"{self.language!r} is not a language tag (e.g. en-GB)")
        delimiter = spec.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise _Problem("delimiter", "must be one character")
        self.delimiter: str = delimiter
        self.encoding = _string(spec.get("encoding", "utf-8-sig"), "encoding")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise _Problem("encoding", f"{self.encoding!r} is not a known encoding") from None
        self._actor = self._compile_actor(spec["actor"])
        self._verb = self._compile_verb(spec["verb"])
        self._activity = self._compile_activity(spec["activity"])
        self._date = self._compile_date(spec["date"])
        self._score = self._compile_score(spec.get("score"))
        self._duration = self._compile_duration(spec.get("duration"))
        self._flags = {
            name: self._compile_flag(spec[name], name)
            for name in ("success", "completion")
            if name in spec
        }
        self._platform = (
            self._template("platform", spec["platform"], "context.platform")
            if "platform" in spec
            else None
        )
        self._id_from = self._compile_id_from(spec.get("id_from"))

    # -- compiling

    def _template(self, key: str, value: object, path: str, *, iri: bool = False) -> _Template:
        template = _Template.parse(key, value, iri=iri)
        for column in template.columns:
            self.references.append((key, column))
            self._paths.setdefault(path, column)
        constant = template.constant
        if iri and constant is not None and check_iri(constant) is not None:
            raise _Problem(key, f"{constant!r} is not an absolute IRI")
        return template

    def _column(self, spec: Mapping[str, Any], key: str, path: str) -> _Field:
        column = _string(spec.get("column"), f"{key}.column")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise _Problem(f"{key}.required", "must be true or false")
        self.references.append((f"{key}.column", column))
        self._paths.setdefault(path, column)
        return _Field(key=path, column=column, required=required)

    def _compile_actor(self, value: object) -> dict[str, Any]:
        spec = _keys(value, "actor", ("name", *_IFIS))
        ifis = [k for k in _IFIS if k in spec]
        if len(ifis) != 1:
            raise _Problem(
                "actor", "must have exactly one of mbox, mbox_sha1sum, openid or account"
            )
        actor: dict[str, Any] = {}
        if "name" in spec:
            actor["name"] = self._template("actor.name", spec["name"], "actor.name")
        ifi = ifis[0]
        if ifi == "account":
            account = _keys(
                spec["account"],
                "actor.account",
                ("homePage", "name"),
                required=("homePage", "name"),
            )
            actor["account"] = {
                "homePage": self._template(
                    "actor.account.homePage",
                    account["homePage"],
                    "actor.account.homePage",
                    iri=True,
                ),
                "name": self._template("actor.account.name", account["name"], "actor.account.name"),
            }
        else:
            actor[ifi] = self._template(f"actor.{ifi}", spec[ifi], f"actor.{ifi}", iri=False)
        return actor

    def _compile_verb(self, value: object) -> _VerbSpec:
        if isinstance(value, str):
            return _VerbSpec(fixed=self._verb_object("verb", value))
        spec = _keys(value, "verb", ("id", "display", "column", "map"))
        if "column" in spec:
            if "id" in spec or "display" in spec:
                raise _Problem("verb", "has either id (one verb) or column and map, not both")
            column = _string(spec["column"], "verb.column")
            self.references.append(("verb.column", column))
            self._paths.setdefault("verb", column)
            table = spec.get("map")
            if not isinstance(table, dict) or not table:
                raise _Problem("verb.map", "must be an object from column values to verbs")
            verbs = {
                str(name).strip().casefold(): self._verb_object(f"verb.map.{name}", verb)
                for name, verb in table.items()
            }
            return _VerbSpec(column=column, table=verbs)
        if "id" not in spec:
            raise _Problem("verb.id", "is required (or give column and map)")
        return _VerbSpec(fixed=self._verb_object("verb", spec))

    def _verb_object(self, key: str, value: object) -> dict[str, Any]:
        if isinstance(value, str):
            value = {"id": value}
        spec = _keys(value, key, ("id", "display"), required=("id",))
        verb_id = _string(spec["id"], f"{key}.id")
        if check_iri(verb_id) is not None:
            raise _Problem(f"{key}.id", f"{verb_id!r} is not an absolute IRI")
        display = spec.get("display")
        if display is None:
            last = re.split(r"[/#]", verb_id.rstrip("/#"))[-1]
            display = {self.language: last} if last else None
        elif isinstance(display, str):
            display = {self.language: display}
        elif not (isinstance(display, dict) and all(isinstance(v, str) for v in display.values())):
            raise _Problem(f"{key}.display", "must be a string or a language map")
        return {"id": verb_id, **({"display": display} if display else {})}

    def _compile_activity(self, value: object) -> dict[str, _Template]:
        spec = _keys(value, "activity", ("id", "name", "description", "type"), required=("id",))
        activity = {"id": self._template("activity.id", spec["id"], "object.id", iri=True)}
        for key in ("name", "description"):
            if key in spec:
                activity[key] = self._template(
                    f"activity.{key}", spec[key], f"object.definition.{key}"
                )
        if "type" in spec:
            activity["type"] = self._template(
                "activity.type", spec["type"], "object.definition.type", iri=True
            )
        return activity

    def _compile_date(self, value: object) -> tuple[_Field, str, tzinfo]:
        spec = _keys(value, "date", ("column", "format", "timezone"), required=("column",))
        date = self._column({**spec, "required": True}, "date", "timestamp")
        form = _string(spec.get("format", "iso"), "date.format")
        if form != "iso" and "%" not in form:
            raise _Problem("date.format", 'must be "iso" or a strptime format such as "%d/%m/%Y"')
        name = _string(spec.get("timezone", "UTC"), "date.timezone")
        try:
            zone: tzinfo = UTC if name.upper() == "UTC" else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise _Problem(
                "date.timezone", f"{name!r} is not a time zone (an IANA name: Europe/London)"
            ) from None
        return date, form, zone

    def _compile_score(self, value: object) -> tuple[_Field, float | None, float | None] | None:
        if value is None:
            return None
        spec = _keys(value, "score", ("column", "min", "max", "required"), required=("column",))
        bounds = []
        for key in ("min", "max"):
            bound = spec.get(key)
            if bound is not None and (
                isinstance(bound, bool)
                or not isinstance(bound, int | float)
                or not math.isfinite(bound)
            ):
                raise _Problem(f"score.{key}", "must be a number")
            bounds.append(bound)
        low, high = bounds
        if high is not None and low is None:
            low = 0
        if low is not None and high is not None and low >= high:
            raise _Problem("score.max", "must be greater than score.min")
        return self._column(spec, "score", "result.score"), low, high

    def _compile_duration(self, value: object) -> tuple[_Field, str] | None:
        if value is None:
            return None
        spec = _keys(value, "duration", ("column", "unit", "required"), required=("column", "unit"))
        unit = spec["unit"]
        units = (*_DURATION_UNITS, "h:mm", "iso")
        if unit not in units:
            raise _Problem("duration.unit", f"must be one of {', '.join(units)}")
        return self._column(spec, "duration", "result.duration"), unit

    def _compile_flag(self, value: object, name: str) -> bool | tuple[_Field, set[str], set[str]]:
        if isinstance(value, bool):
            return value
        spec = _keys(value, name, ("column", "true", "false", "required"), required=("column",))
        words = []
        for key, default in (("true", _TRUE), ("false", _FALSE)):
            given = spec.get(key, list(default))
            if not isinstance(given, list) or not all(isinstance(w, str) for w in given):
                raise _Problem(f"{name}.{key}", "must be a list of strings")
            words.append({w.strip().casefold() for w in given})
        return self._column(spec, name, f"result.{name}"), words[0], words[1]

    def _compile_id_from(self, value: object) -> tuple[str, ...] | None:
        if value is None:
            return None
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(c, str) and c.strip() for c in value)
        ):
            raise _Problem("id_from", "must be a list of column names")
        columns = tuple(c.strip() for c in value)
        self.references.extend(("id_from", c) for c in columns)
        return columns

    # -- using

    def check_header(self, header: Sequence[str], file_name: str) -> None:
        """Raises MappingInvalid when a column the mapping names is not in the header (or
        is named twice there)."""
        names = set(header)
        for key, column in self.references:
            if column not in names:
                shown = ", ".join(h for h in header if h) or "(none)"
                raise MappingInvalid(
                    f"mapping key {key} names the column {column!r}, which {file_name} does"
                    f" not have (its columns: {shown})",
                    path=key,
                    rule="must name a column of the CSV header",
                )
            if header.count(column) > 1:
                raise MappingInvalid(
                    f"{file_name} has two columns named {column!r}, which mapping key {key}"
                    " uses: rename one",
                    path=key,
                    rule="must name a column that appears once in the header",
                )

    def column_of(self, path: str) -> str | None:
        """The column a statement path was made from (the longest known prefix)."""
        while path:
            if path in self._paths:
                return self._paths[path]
            path = path.rpartition(".")[0]
        return None

    def record(self, row: int, values: Mapping[str, str]) -> Record:
        """The statement of one CSV row, or why it has none."""
        try:
            return Record(row, self.statement(values))
        except _RowProblem as exc:
            column = exc.column
            where = exc.path or (f"column {column}" if column else "")
            message = f"{where}: {exc.rule}" if where else exc.rule
            if column and f"column {column}" not in message:
                message += f" (column {column})"
            return Record(
                row,
                None,
                RowError(row=row, path=exc.path, rule=exc.rule, message=message, column=column),
            )

    def statement(self, row: Mapping[str, str]) -> dict[str, Any]:
        """Raises _RowProblem."""
        statement: dict[str, Any] = {
            "actor": self._make_actor(row),
            "verb": self._make_verb(row),
            "object": self._make_activity(row),
            "timestamp": self._make_timestamp(row),
        }
        result: dict[str, Any] = {}
        if self._score is not None:
            score = self._make_score(row, *self._score)
            if score is not None:
                result["score"] = score
        for name, flag in self._flags.items():
            value = flag if isinstance(flag, bool) else _make_flag(row, *flag)
            if value is not None:
                result[name] = value
        if self._duration is not None:
            duration = _make_duration(row, *self._duration)
            if duration is not None:
                result["duration"] = duration
        if result:
            statement["result"] = result
        if self._platform is not None:
            platform = _optional(self._platform, row, "context.platform")
            if platform is not None:
                statement["context"] = {"platform": platform}
        return {"id": self._make_id(row, statement), **statement}

    def _make_actor(self, row: Mapping[str, str]) -> dict[str, Any]:
        actor: dict[str, Any] = {"objectType": "Agent"}
        name = self._actor.get("name")
        if name is not None:
            value = _optional(name, row, "actor.name")
            if value is not None:
                actor["name"] = value
        for ifi, spec in self._actor.items():
            if ifi == "name":
                continue
            if ifi == "account":
                actor["account"] = {
                    "homePage": _required(spec["homePage"], row, "actor.account.homePage"),
                    "name": _required(spec["name"], row, "actor.account.name"),
                }
                continue
            value = _required(spec, row, f"actor.{ifi}")
            if ifi == "mbox" and not value.lower().startswith("mailto:"):
                value = "mailto:" + value
            elif ifi == "mbox":
                value = "mailto:" + value[len("mailto:") :]
            actor[ifi] = value
        return actor

    def _make_verb(self, row: Mapping[str, str]) -> dict[str, Any]:
        spec = self._verb
        if spec.fixed is not None:
            return dict(spec.fixed)
        assert spec.column is not None
        value = row[spec.column].strip()
        if not value:
            raise _RowProblem("verb", spec.column, f"column {spec.column} is empty")
        verb = spec.table.get(value.casefold())
        if verb is None:
            raise _RowProblem("verb", spec.column, f"{value!r} is not in the mapping's verb.map")
        return dict(verb)

    def _make_activity(self, row: Mapping[str, str]) -> dict[str, Any]:
        activity: dict[str, Any] = {
            "objectType": "Activity",
            "id": _required(self._activity["id"], row, "object.id"),
        }
        definition: dict[str, Any] = {}
        for key in ("name", "description"):
            if key in self._activity:
                value = _optional(self._activity[key], row, f"object.definition.{key}")
                if value is not None:
                    definition[key] = {self.language: value}
        if "type" in self._activity:
            value = _optional(self._activity["type"], row, "object.definition.type")
            if value is not None:
                definition["type"] = value
        if definition:
            activity["definition"] = definition
        return activity

    def _make_timestamp(self, row: Mapping[str, str]) -> str:
        date, form, zone = self._date
        text = date.cell(row)
        assert text is not None  # the date is required
        try:
            if form == "iso":
                parsed = datetime.fromisoformat(text)
            else:
                parsed = datetime.strptime(text, form)
        except ValueError:
            wanted = "an ISO 8601 date" if form == "iso" else f"a date in the format {form}"
            raise _RowProblem("timestamp", date.column, f"{text!r} is not {wanted}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        moment = parsed.astimezone(UTC)
        spec = "milliseconds" if moment.microsecond else "seconds"
        return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"

    def _make_score(
        self, row: Mapping[str, str], field: _Field, low: float | None, high: float | None
    ) -> dict[str, Any] | None:
        text = field.cell(row)
        if text is None:
            return None
        raw = _number(text)
        if raw is None:
            raise _RowProblem("result.score.raw", field.column, f"{text!r} is not a number")
        if (low is not None and raw < low) or (high is not None and raw > high):
            raise _RowProblem(
                "result.score.raw",
                field.column,
                f"{text} is outside the range {_bound(low)} to {_bound(high)}",
            )
        score: dict[str, Any] = {"raw": raw}
        if low is not None:
            score["min"] = _plain(low)
        if high is not None:
            score["max"] = _plain(high)
            score["scaled"] = (raw - (low or 0)) / (high - (low or 0))
        return score

    def _make_id(self, row: Mapping[str, str], statement: Mapping[str, Any]) -> str:
        if self._id_from is not None:
            name = orjson.dumps([[c, row[c].strip()] for c in self._id_from])
        else:
            name = orjson.dumps(statement, option=_SORTED)
        return _uuid5(name)


@dataclass(frozen=True)
class _VerbSpec:
    fixed: dict[str, Any] | None = None
    column: str | None = None
    table: dict[str, dict[str, Any]] = field(default_factory=dict)


def _required(template: _Template, row: Mapping[str, str], path: str) -> str:
    try:
        return template.render(row)
    except _Blank as exc:
        raise _RowProblem(path, exc.column, f"column {exc.column} is empty") from None
    except _RowProblem as exc:
        raise _RowProblem(path, exc.column, exc.rule) from None


def _optional(template: _Template, row: Mapping[str, str], path: str) -> str | None:
    try:
        return template.render(row)
    except _Blank:
        return None
    except _RowProblem as exc:
        raise _RowProblem(path, exc.column, exc.rule) from None


def _make_flag(
    row: Mapping[str, str], field: _Field, true: set[str], false: set[str]
) -> bool | None:
    text = field.cell(row)
    if text is None:
        return None
    word = text.casefold()
    if word in true:
        return True
    if word in false:
        return False
    raise _RowProblem(
        field.key,
        field.column,
        f"{text!r} is neither true ({', '.join(sorted(true))}) nor false"
        f" ({', '.join(sorted(false))})",
    )


def _make_duration(row: Mapping[str, str], field: _Field, unit: str) -> str | None:
    text = field.cell(row)
    if text is None:
        return None
    if unit == "iso":
        return text  # checked by the statement schema
    if unit == "h:mm":
        match = _CLOCK.fullmatch(text)
        if match is None:
            raise _RowProblem(field.key, field.column, f"{text!r} is not a duration h:mm[:ss]")
        hours, minutes, seconds = match.groups()
        total = Decimal(hours) * 3600 + Decimal(minutes) * 60 + Decimal(seconds or 0)
    else:
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0:
            raise _RowProblem(
                field.key, field.column, f"{text!r} is not a number of {unit} (0 or more)"
            )
        total = amount * _DURATION_UNITS[unit]
    return _iso_duration(total)


def _iso_duration(seconds: Decimal) -> str:
    """An ISO 8601 duration, to the hundredth of a second xAPI keeps (Data 4.6)."""
    seconds = seconds.quantize(Decimal("0.01"))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{int(hours)}H"
    if minutes:
        text += f"{int(minutes)}M"
    if secs or text == "PT":
        text += f"{format(secs.normalize(), 'f')}S"
    return text


def _number(text: str) -> int | float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return _plain(value)


def _bound(value: float | None) -> str:
    return "…" if value is None else str(_plain(value))


def _plain(value: float) -> int | float:
    """3.0 as 3: a whole number is written without a fraction."""
    return int(value) if float(value).is_integer() else value


def _keys(
    value: object, key: str, allowed: Sequence[str], *, required: Sequence[str] = ()
) -> dict[str, Any]:
    where = f"{key}." if key else ""
    if not isinstance(value, dict):
        raise _Problem(key or "(the mapping)", "must be a JSON object")
    for name in value:
        if name not in allowed:
            raise _Problem(
                f"{where}{name}", f"is not a mapping key (allowed here: {', '.join(allowed)})"
            )
    for name in required:
        if name not in value:
            raise _Problem(f"{where}{name}", "is required")
    return value


def _string(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem(key, "must be a non-empty string")
    return value.strip() if key.endswith("column") else value


def mapping_from_json(data: bytes, name: str) -> CsvMapping:
    """A CsvMapping from a mapping file's bytes; raises MappingInvalid naming the key."""
    try:
        value = orjson.loads(data.removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        raise MappingInvalid(
            f"mapping {name} is not valid JSON: {exc}", path="", rule="must be JSON"
        ) from None
    try:
        return CsvMapping(value)
    except _Problem as exc:
        raise MappingInvalid(
            f"mapping {name}: {exc.key}: {exc.problem}", path=exc.key, rule=exc.problem
        ) from None


def load_mapping(path: Path) -> CsvMapping:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileRefused(f"cannot read the mapping {path}: {exc.strerror or exc}") from None
    return mapping_from_json(data, path.name)
