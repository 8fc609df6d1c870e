"""`cpdfolio import-file`: statements from another LRS's export, or an LMS's CSV report.

The parsing and mapping are in lrs_adapters.files; every statement then takes the path of
POST /xapi/statements (StatementIngest), with witnessing and forwarding.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import click

from lrs_adapters.files import (
    CHUNK,
    ROW_MEANING,
    ROW_UNIT,
    FileRefused,
    ImportResult,
    import_statements,
    open_source,
)
from portfolio.people.witness import witness_new_statements
from portfolio.record.chain import instance_key
from portfolio.storage import open_store
from portfolio.storage.base import NewStatement
from service.cli import _domain_errors, _settings
from service.exchange import instance_submitter, statement_ingest
from service.secrets import resolve_secret_key

log = logging.getLogger(__name__)

# The client key (and authority account) of every statement a file brought in.
CLIENT_KEY = "file-import"
_SHOWN = 20


class _Refused(click.ClickException):
    """Nothing was imported: the file or the mapping cannot be used."""

    exit_code = 2


@click.command("import-file")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a CSV mapping file (JSON): how the CSV's columns make statements",
)
@click.option(
    "--dry-run", is_flag=True, help="check every row, against the store too; store nothing"
)
@click.option("--json", "as_json", is_flag=True, help="print the whole result as JSON")
@_domain_errors
def import_file(file: Path, mapping: Path | None, dry_run: bool, as_json: bool) -> None:
    """Import xAPI statements, or CSV course completions, from FILE.

    FILE is a JSON array of statements, JSON Lines (a statement a line: another LRS's or
    Learning Locker's export) or, with --mapping, a CSV with a header row. Each row is
    checked as POST /xapi/statements checks it: bad rows are reported with their row
    number and the others imported; a statement stored already is a duplicate, or a
    conflict (the stored one kept) when its content differs. Importing a file again
    stores nothing twice. Formats and the mapping file: docs/import-file.md.

    \b
    Exit status:
      0  every row is stored (new or already there)
      1  some rows were rejected or conflict with stored statements; the valid rows
         were imported (with --dry-run: would be). Also any other error, such as a
         store not set up (`cpdfolio db init`); a message says which
      2  nothing was imported: bad usage, or the file or mapping cannot be used
    """
    try:
        source = open_source(file, mapping=mapping)
    except FileRefused as exc:
        raise _Refused(exc.message) from None
    settings = _settings()
    store = open_store(settings.database_url)
    store.ping()  # a clear message when `db init` has not been run
    signing_key = instance_key(store.records, resolve_secret_key(settings))

    def witness_again(statements: Sequence[NewStatement]) -> None:
        # Statements an interrupted earlier import stored may not have been witnessed:
        # witnessing is idempotent, so the duplicates are witnessed again.
        try:
            witness_new_statements(store, signing_key, statements)
        except Exception:
            log.exception("witnessing %d statements failed; they are stored", len(statements))

    try:
        result = import_statements(
            source,
            statement_ingest(store, settings, signing_key),
            instance_submitter(settings, CLIENT_KEY, label="File import"),
            dry_run=dry_run,
            on_known=witness_again,
            chunk_size=min(CHUNK, settings.max_batch_statements),
        )
    except FileRefused as exc:
        raise _Refused(exc.message) from None
    except OSError as exc:
        raise click.ClickException(
            f"reading {file} failed: {exc.strerror or exc}. What was read before is stored;"
            " importing the file again adds the rest"
        ) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        _report(result)
    if not result.complete:
        raise click.exceptions.Exit(1)


def _report(result: ImportResult) -> None:
    counts = result.counts()
    new = "would be new" if result.dry_run else "new"
    head = f"dry run of {result.file} (nothing stored)" if result.dry_run else result.file
    verb = "" if result.dry_run else "imported "
    click.echo(
        f"{verb}{head}: {counts['read']:,} read, {counts['new']:,} {new},"
        f" {counts['duplicate']:,} duplicate, {counts['conflicts']:,}"
        f" {'conflict' if counts['conflicts'] == 1 else 'conflicts'},"
        f" {counts['rejected']:,} rejected"
    )
    problems = [(e.row, _describe(e.message, e.column)) for e in result.rejected]
    kept = "is kept" if not result.dry_run else "would be kept"
    problems += [
        (c.row, f"conflict: statement {c.id} is stored with other content; the stored one {kept}")
        for c in result.conflicts
    ]
    if not problems:
        return
    problems.sort(key=lambda p: p[0])
    unit = ROW_UNIT[result.format]
    click.echo(f"({ROW_MEANING[result.format]})")
    for row, text in problems[:_SHOWN]:
        click.echo(f"  {unit} {row}: {text}")
    if len(problems) > _SHOWN:
        click.echo(f"  … and {len(problems) - _SHOWN:,} more (use --json)")


def _describe(message: str, column: str | None) -> str:
    if column and f"column {column}" not in message:
        return f"{message} (column {column})"
    return message
