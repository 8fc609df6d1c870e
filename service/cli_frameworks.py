"""`cpdfolio frameworks`: list the stored frameworks, import and export CASE packages.

Errors from the domain become a one-line message on stderr and exit status 1 (an invalid
package names the path and the rule; nothing is written); usage errors exit 2.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from portfolio.errors import CpdfolioError, InvalidInput
from portfolio.standards import ImportOutcome, export_package, get_framework, import_package
from portfolio.storage import open_store
from portfolio.storage.base import Store
from service.config import Settings

P = ParamSpec("P")
R = TypeVar("R")


def _domain_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors and bad settings into a clear message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CpdfolioError as exc:
            raise click.ClickException(exc.message) from exc
        except ValueError as exc:
            raise click.ClickException(f"configuration: {exc}") from exc

    return wrapper


@contextmanager
def _store() -> Iterator[Store]:
    """The configured store, initialised (else StorageUnavailable says to run db init)."""
    store = open_store(Settings.from_env().database_url)
    try:
        store.ping()
        yield store
    finally:
        store.close()


@click.group()
def frameworks() -> None:
    """Competency frameworks (the Standard and others) as versioned CASE packages."""


@frameworks.command("list")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
@_domain_errors
def frameworks_list(as_json: bool) -> None:
    """Every stored framework version: its URI, version and title."""
    with _store() as store:
        summaries = store.frameworks.list()
    if as_json:
        rows = [
            {
                "uri": s.uri,
                "version": s.version,
                "title": s.title,
                "items": s.item_count,
                "imported": s.imported,
            }
            for s in summaries
        ]
        click.echo(json.dumps(rows))
        return
    if not summaries:
        click.echo("no frameworks (`cpdfolio db init` installs the shipped ones)")
        return
    uri_width = max(len(s.uri) for s in summaries)
    version_width = max(len(s.version) for s in summaries)
    for s in summaries:
        click.echo(
            f"{s.uri:<{uri_width}}  {s.version:<{version_width}}  {s.title}  ({s.item_count} items)"
        )


@frameworks.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_domain_errors
def frameworks_import(file: Path) -> None:
    """Import a CASE package (JSON). A stored version is never changed: the same version
    with other content is refused, and must be published as a new version."""
    data = file.read_bytes()
    with _store() as store:
        try:
            result = import_package(store.frameworks, data)
        except InvalidInput as exc:
            raise click.ClickException(f"{file}: {exc.message}; nothing was imported") from exc
    framework = result.framework
    what = f"{framework.uri} version {framework.version} ({framework.title}, "
    what += f"{len(framework.items)} items)"
    if result.outcome is ImportOutcome.IMPORTED:
        click.echo(f"imported {what}")
    else:
        click.echo(f"already present, identical: {what}; nothing changed")


@frameworks.command("export")
@click.argument("uri")
@click.option("--version", "version", default=None, help="the version [default: the latest]")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="the file to write, or - for standard output",
)
@_domain_errors
def frameworks_export(uri: str, version: str | None, out: Path) -> None:
    """Export a framework version as a CASE package: canonical JSON, the same bytes on
    every export."""
    with _store() as store:
        framework = get_framework(store.frameworks, uri, version=version)
    data = export_package(framework)
    if str(out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
    click.echo(f"exported {framework.uri} version {framework.version} to {out}")
