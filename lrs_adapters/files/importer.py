"""The two entry points: open_source, which tells a file's format by its content and
refuses a file that cannot be imported, and import_statements, which takes a source's
statements through StatementIngest.absorb in chunks (the rules are in the package
docstring, lrs_adapters.files). _Run keeps the counts of one import, and a dry run's
bookkeeping of the statements it would have stored.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from lrs_adapters.files.csv_source import CsvSource, load_mapping
from lrs_adapters.files.json_sources import JsonDocumentSource, JsonLinesSource
from lrs_adapters.files.records import (
    BOM,
    SORTED,
    FileRefused,
    ImportResult,
    Record,
    RowConflict,
    RowError,
    StatementSource,
    open_binary,
    uuid5,
)
from portfolio.lrs.compare import statements_match
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.storage.base import NewStatement

# Statements per absorb call: under the ingest's batch limit, one insert each.
CHUNK = 500
_SNIFF_BYTES = 64 * 1024


def open_source(path: Path, *, mapping: Path | None = None) -> StatementSource:
    """The statements of a file, its format told by its content (a CSV by its mapping or
    its .csv extension). Raises FileRefused (MappingInvalid) when it cannot be imported."""
    if not path.is_file():
        raise FileRefused(f"{path} is not a file")
    with open_binary(path) as stream:
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
        with open_binary(path) as stream:
            document = orjson.loads(stream.read().removeprefix(BOM))
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
    text = head.removeprefix(BOM).lstrip()
    if text:
        return text[:1]
    with open_binary(path) as stream:
        stream.seek(len(head))
        while chunk := stream.read(_SNIFF_BYTES):
            if chunk.strip():
                return chunk.lstrip()[:1]
    return None


def _first_line(path: Path) -> bytes:
    """The first line that is not blank."""
    with open_binary(path) as stream:
        for number, line in enumerate(stream, start=1):
            text = (line.removeprefix(BOM) if number == 1 else line).strip()
            if text:
                return text
    return b""


def import_statements(
    source: StatementSource,
    ingest: StatementIngest,
    submitter: Submitter,
    *,
    dry_run: bool = False,
    on_known: Callable[[Sequence[NewStatement]], object] | None = None,
    chunk_size: int = CHUNK,
) -> ImportResult:
    """Take in every statement of `source`; see the package docstring.

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
        statement["id"] = uuid5(orjson.dumps(content, option=SORTED))


def _id_key(statement: Mapping[str, Any]) -> str | None:
    given = statement.get("id")
    return given.lower() if isinstance(given, str) else None


def _grammar(statement: Mapping[str, Any]) -> str:
    version = statement.get("version")
    return "2.0.0" if isinstance(version, str) and version.startswith("2.") else "1.0.3"


def _digest(statement: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(orjson.dumps(statement, option=SORTED)).digest()[:16]
