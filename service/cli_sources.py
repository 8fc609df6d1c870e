"""`cpdfolio sources …` and `cpdfolio sync`: pulling statements from other LRSs."""

from __future__ import annotations

import json
import sys

import click

from lrs_adapters.pull import LISTED, SyncFailed, SyncProgress
from lrs_adapters.sources import add_source, describe, remove_source
from portfolio.errors import CpdfolioError
from service.cli import _domain_errors, _settings
from service.cli_people import _services
from service.exchange import connection, puller
from service.secrets import resolve_secret_key


def read_secret(secret: str | None, secret_stdin: bool) -> str:
    """A remote LRS secret, given exactly one way: from stdin (preferred: arguments show
    up in `ps`) or as --secret."""
    if secret_stdin == (secret is not None):
        raise click.UsageError("give the secret with --secret-stdin (or --secret), once")
    value = sys.stdin.readline().rstrip("\r\n") if secret_stdin else (secret or "")
    if not value:
        raise click.ClickException("--secret-stdin: no secret on standard input")
    return value


@click.group()
def sources() -> None:
    """Remote LRSs to pull statements from."""


@sources.command("add")
@click.argument("name")
@click.option("--endpoint", required=True, help="the remote xAPI endpoint, e.g. https://lrs/xAPI/")
@click.option("--key", required=True, help="the remote LRS client key (Basic auth username)")
@click.option("--secret", help="the secret (prefer --secret-stdin: arguments show up in ps)")
@click.option("--secret-stdin", is_flag=True, help="read the secret from standard input")
@click.option(
    "--xapi-version",
    default="1.0.3",
    show_default=True,
    type=click.Choice(["1.0.3", "2.0.0"]),
)
@click.option(
    "--agent",
    "agents",
    multiple=True,
    help='ask only for this agent, as JSON (repeatable), e.g. {"mbox":"mailto:a@b.org"};'
    " without it the source gives everything the credentials may read",
)
@click.option(
    "--since-field",
    default="stored",
    show_default=True,
    type=click.Choice(["stored", "timestamp"]),
    help="what the remote's `since` filters on: `stored` as xAPI says; `timestamp` for an"
    " LRS that compares timestamps instead (Ralph)",
)
@click.option("--no-check", is_flag=True, help="store it without signing in to the remote first")
@click.option("--replace", is_flag=True, help="change an existing source (its checkpoint stays)")
@_domain_errors
def sources_add(
    name: str,
    endpoint: str,
    key: str,
    secret: str | None,
    secret_stdin: bool,
    xapi_version: str,
    agents: tuple[str, ...],
    since_field: str,
    no_check: bool,
    replace: bool,
) -> None:
    """Add a source called NAME. The secret is kept sealed under the instance secret."""
    given = read_secret(secret, secret_stdin)
    settings = _settings()
    store = _services().accounts.store
    source = add_source(
        store,
        connection(settings, resolve_secret_key(settings)),
        name=name,
        endpoint=endpoint,
        key=key,
        secret=given,
        xapi_version=xapi_version,
        agents=agents,
        since_field=since_field,
        check=not no_check,
        replace=replace,
    )
    click.echo(
        f"source {source.name} {'changed' if replace else 'added'}: {source.remote.endpoint}"
    )
    click.echo(f"pull from it with: cpdfolio sync {source.name}")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@_domain_errors
def sources_list(as_json: bool) -> None:
    """The sources, their checkpoints and their last runs (never their secrets)."""
    store = _services().accounts.store
    described = [describe(store, s) for s in store.sources.list()]
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    if not described:
        click.echo("no sources: add one with `cpdfolio sources add`")
        return
    for item in described:
        run = item["last_run"]
        last = "never run"
        if isinstance(run, dict):
            last = (
                f"last run {run['status']} at {run['finished'] or run['started']}:"
                f" {run['fetched']} fetched, {run['new']} new"
            )
            if run["error"]:
                last += f" ({run['error']})"
        owner = f"  owner {item['owner']}" if item["owner"] else ""
        click.echo(f"{item['name']}  {item['endpoint']}  key {item['key']}{owner}  {last}")


@sources.command("remove")
@click.argument("name")
@_domain_errors
def sources_remove(name: str) -> None:
    """Remove a source. What was pulled from it stays, with its provenance."""
    remove_source(_services().accounts.store, name)
    click.echo(f"source {name} removed; the statements pulled from it stay")


@click.command("sync")
@click.argument("source", required=False)
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@_domain_errors
def sync(source: str | None, as_json: bool) -> None:
    """Pull new statements from SOURCE (or from every source), with a progress line and a
    summary of fetched, new, duplicate, conflicting and rejected statements.

    Exit status: 0 when every source synced; 1 when one failed (what was pulled before
    the failure is kept, and the next run continues from there). Without SOURCE, a
    source that fails for any reason is reported and the others still sync.

    With --json, `conflicts` and `rejected` list the first 100 of each; `conflicts_total`
    and `rejected_total` count them all, and `*_truncated` says when the list is short."""
    settings = _settings()
    services = _services()
    store = services.accounts.store
    names = [source] if source else [s.name for s in store.sources.list()]
    if not names:
        raise click.ClickException("no sources: add one with `cpdfolio sources add`")
    pull = puller(store, settings, resolve_secret_key(settings), services.accounts.instance_key)
    results: list[dict[str, object]] = []
    failed = False
    for name in names:
        show = _Progress(enabled=not as_json)
        try:
            totals = pull.sync(name, progress=show)
            error = None
        except SyncFailed as exc:
            totals, error, failed = exc.progress, str(exc), True
        except CpdfolioError as exc:
            if source:
                raise  # one source asked for: its error is the command's (exit 1)
            # E.g. credentials that cannot be opened since CPDFOLIO_SECRET_KEY changed:
            # one source's trouble, not every source's. The run is recorded as failed.
            totals = show.latest or SyncProgress(source=name)
            error, failed = exc.message, True
        show.done()
        results.append({**totals.to_json(), "status": "failed" if error else "ok", "error": error})
        if not as_json:
            _summary(totals, error)
    if as_json:
        click.echo(json.dumps(results if not source else results[0], indent=2))
    if failed:
        sys.exit(1)


class _Progress:
    """One line, redrawn after each page on a terminal; on a pipe, a line every 10 pages
    (a log should show progress without a line per page)."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._tty = sys.stderr.isatty()
        self._drawn = False
        # The totals so far, for a run that stops with an error that does not carry them.
        self.latest: SyncProgress | None = None

    def __call__(self, totals: SyncProgress) -> None:
        self.latest = totals
        if not self._enabled or (not self._tty and totals.pages % 10):
            return
        line = (
            f"{totals.source}: page {totals.pages}, {totals.fetched:,} fetched,"
            f" {totals.new:,} new, {totals.duplicate:,} duplicate"
        )
        if self._tty:
            click.echo(f"\r\x1b[2K{line}", nl=False, err=True)
            self._drawn = True
        else:
            click.echo(line, err=True)

    def done(self) -> None:
        if self._drawn:
            click.echo("", err=True)


def _summary(totals: SyncProgress, error: str | None) -> None:
    status = f"FAILED: {error}" if error else "done"
    click.echo(
        f"{totals.source}: {status}. {totals.fetched:,} fetched, {totals.new:,} new,"
        f" {totals.duplicate:,} duplicate, {totals.conflicts_total:,} conflicts,"
        f" {totals.rejected_total:,} rejected"
    )
    for statement_id in totals.conflicts[:20]:
        click.echo(f"  conflict: {statement_id} is stored here with other content (kept)")
    for rejected in totals.rejected[:20]:
        click.echo(f"  rejected: {rejected.id or '(no id)'}: {rejected.message}")
    hidden = max(0, totals.conflicts_total - 20) + max(0, totals.rejected_total - 20)
    if hidden:
        click.echo(f"  … and {hidden:,} more (--json lists up to {LISTED} of each)")
