"""Importing statements from files (issue 6): another LRS's export, or an LMS report.

Three kinds of file, told apart by their content (docs/import-file.md; open_source, in
importer.py, tells them apart):
- JSON Lines: one statement a line, as LRSs and `mongoexport` write them. Read line by
  line, so the memory used does not grow with the file. A line may also hold a Learning
  Locker record (`{"statement": {...}, ...}`, unwrapped), a StatementResult
  (`{"statements": [...]}`) or an array of statements. (JsonLinesSource, json_sources.py)
- one JSON document: an array of statements (or of Learning Locker records), a
  StatementResult, or a single statement. It is parsed whole: its size in memory is a few
  times its size on disk (convert a very large one to JSON Lines first).
  (JsonDocumentSource, json_sources.py)
- CSV: course completions, one a row, made into statements by a mapping file (`CsvMapping`,
  csv_mapping.py; the pieces it is built of in csv_fields.py). CsvSource and the reading
  of the mapping file are in csv_source.py.

Every statement goes through StatementIngest.absorb, the path and rules of
POST /xapi/statements, in chunks under its batch limit (import_statements, importer.py).
A bad row is reported with its row number and the rest imported; a statement whose id is
stored already is a duplicate when it is the same statement and a conflict (the stored
one kept) when it is not, so importing a file twice stores it once. Statements without an
id, and every statement made from a CSV row, get an id derived from their content
(UUID v5), for the same reason.

A file or mapping that cannot be used at all raises FileRefused before anything is
imported. FileRefused, the results (ImportResult) and what every source shares
(StatementSource, Record) are in records.py, which the other modules all import.
"""

from lrs_adapters.files.csv_mapping import CsvMapping
from lrs_adapters.files.csv_source import CsvSource, load_mapping, mapping_from_json
from lrs_adapters.files.importer import CHUNK, import_statements, open_source
from lrs_adapters.files.json_sources import JsonDocumentSource, JsonLinesSource
from lrs_adapters.files.records import (
    ID_NAMESPACE,
    ROW_MEANING,
    ROW_UNIT,
    FileRefused,
    Format,
    ImportResult,
    MappingInvalid,
    Record,
    RowConflict,
    RowError,
    StatementSource,
)

__all__ = [
    "CHUNK",
    "ID_NAMESPACE",
    "ROW_MEANING",
    "ROW_UNIT",
    "CsvMapping",
    "CsvSource",
    "FileRefused",
    "Format",
    "ImportResult",
    "JsonDocumentSource",
    "JsonLinesSource",
    "MappingInvalid",
    "Record",
    "RowConflict",
    "RowError",
    "StatementSource",
    "import_statements",
    "load_mapping",
    "mapping_from_json",
    "open_source",
]
