"""The JSON sources: JsonLinesSource (one statement, Learning Locker record,
StatementResult or array a line, read line by line) and JsonDocumentSource (one document
parsed whole), with the unwrapping of Learning Locker records and StatementResults they
share.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from lrs_adapters.files.records import (
    BOM,
    Format,
    Record,
    StatementSource,
    open_binary,
    row_error,
)

_LINE_1 = re.compile(r": line 1 column (\d+) \(char \d+\)$")


class JsonLinesSource(StatementSource):
    format: Format = "jsonl"

    def records(self) -> Iterator[Record]:
        with open_binary(self.path) as stream:
            for number, line in enumerate(stream, start=1):
                text = (line.removeprefix(BOM) if number == 1 else line).strip()
                if not text:
                    continue
                try:
                    value = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    # The parser counts lines within the line it was given.
                    where = _LINE_1.sub(r" at column \1", str(exc))
                    yield row_error(number, "", "must be valid JSON", f"not valid JSON: {where}")
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
    return row_error(
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
