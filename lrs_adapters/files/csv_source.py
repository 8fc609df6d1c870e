"""The CSV side that touches files: CsvSource, a CSV file read row by row (_CsvReader
opens it in the mapping's encoding and delimiter), each row made a statement by its
CsvMapping; and mapping_from_json / load_mapping, which read a mapping file into a
CsvMapping. Kept apart from csv_mapping.py, whose class knows nothing of files.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from lrs_adapters.files.csv_fields import Problem, has_surrogates
from lrs_adapters.files.csv_mapping import CsvMapping
from lrs_adapters.files.records import (
    BOM,
    FileRefused,
    Format,
    MappingInvalid,
    Record,
    StatementSource,
    row_error,
)


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
        bad = [cell for cell in self.header if has_surrogates(cell)]
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
                    yield row_error(row, "", "must be a well-formed CSV row", f"not CSV: {exc}")
                    continue
                if not any(cell.strip() for cell in fields):
                    continue  # an empty row
                if len(fields) != width:
                    yield row_error(
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


def mapping_from_json(data: bytes, name: str) -> CsvMapping:
    """A CsvMapping from a mapping file's bytes; raises MappingInvalid naming the key."""
    try:
        value = orjson.loads(data.removeprefix(BOM))
    except orjson.JSONDecodeError as exc:
        raise MappingInvalid(
            f"mapping {name} is not valid JSON: {exc}", path="", rule="must be JSON"
        ) from None
    try:
        return CsvMapping(value)
    except Problem as exc:
        raise MappingInvalid(
            f"mapping {name}: {exc.key}: {exc.problem}", path=exc.key, rule=exc.problem
        ) from None


def load_mapping(path: Path) -> CsvMapping:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileRefused(f"cannot read the mapping {path}: {exc.strerror or exc}") from None
    return mapping_from_json(data, path.name)
