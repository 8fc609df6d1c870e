"""What the other modules of lrs_adapters.files share: the results of an import, the
Record a source yields for each statement (or bad row) and the StatementSource they all
are, the exceptions that refuse a file, and the content-derived statement ids (UUID v5).

It imports nothing else of the package, so every other module can import it.
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson

from portfolio.errors import InvalidInput

# The namespace of the UUID v5 ids given to statements that come without one.
ID_NAMESPACE = uuid.UUID("79fde1db-17d8-45a7-89af-ce89f5627825")
BOM = codecs.BOM_UTF8
# Statements are serialised with sorted keys for their ids (and a dry run's digests).
SORTED = orjson.OPT_SORT_KEYS


def uuid5(name: bytes) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, name.decode()))


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


def row_error(row: int, path: str, rule: str, message: str) -> Record:
    return Record(row, None, RowError(row=row, path=path, rule=rule, message=message))


def open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror or exc}") from None
