"""The `cpdfolio` command: serve, set up the store, manage LRS clients.

Every command reads its settings from CPDFOLIO_* variables. Errors from the domain become a
one-line message on stderr and exit status 1; usage errors exit 2 (click's convention).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import click

from portfolio.clients import SCOPES, create_client, revoke_client
from portfolio.errors import CpdfolioError
from portfolio.standards import ImportOutcome, install_shipped
from portfolio.storage import open_store
from portfolio.storage.base import Store
from service.cli_frameworks import frameworks
from service.config import Settings

P = ParamSpec("P")
R = TypeVar("R")


def _domain_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors into a clear message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CpdfolioError as exc:
            raise click.ClickException(exc.message) from exc
        except ValueError as exc:  # bad settings
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


def _store() -> Store:
    """The store, ready for use: an uninitialised one is a message (run `cpdfolio db
    init`), not a traceback from the first query."""
    store = open_store(_settings().database_url)
    store.ping()
    return store


@click.group()
def main() -> None:
    """cpdfolio: a portable CPD portfolio with a built-in xAPI Learning Record Store."""


# ----------------------------------------------------------------------------- serve


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=lambda: os.cpu_count() or 1,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes [default: one per core]",
)
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64))
@_domain_errors
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the HTTP API with gunicorn."""
    settings = _settings()
    store = open_store(settings.database_url)
    store.ping()  # fails with a clear message when `db init` has not been run
    has_clients = bool(store.clients.list())
    has_people = bool(store.people.list())
    store.close()
    url = f"http://{host}:{port}"
    click.echo(
        f"cpdfolio serving on {url}  (xAPI endpoint {url}/xapi/, store {settings.database_url})"
    )
    if not has_clients:
        click.echo(
            "No LRS clients yet. Create one for your platform with:\n"
            "  .venv/bin/cpdfolio clients create --name 'My LMS' "
            "--scope statements/write --scope statements/read --json"
        )
    if not has_people:
        click.echo(
            "No portfolios yet. Create one (the password is read from stdin) with:\n"
            "  echo 'a long passphrase' | .venv/bin/cpdfolio people create "
            "--email you@council.example --name 'Your Name' --password-stdin"
        )
    from service.wsgi import run_gunicorn

    run_gunicorn(host=host, port=port, workers=workers, threads=threads)


# -------------------------------------------------------------------------------- db


@main.group()
def db() -> None:
    """The store: create or migrate it."""


@db.command("init")
@_domain_errors
def db_init() -> None:
    """Create the store, or apply the migrations it lacks."""
    settings = _settings()
    store = open_store(settings.database_url)
    applied = store.migrate()
    if applied:
        for name in applied:
            click.echo(f"applied migration {name}")
    for result in install_shipped(store.frameworks):  # the frameworks the product ships
        if result.outcome is ImportOutcome.IMPORTED:
            fw = result.framework
            click.echo(f"installed framework {fw.uri} version {fw.version} ({fw.title})")
    where = _without_password(settings.database_url)
    click.echo(f"store ready at schema version {store.schema_version()} ({where})")


def _without_password(url: str) -> str:
    """A database URL fit to print: its password (mongodb://user:pass@host) replaced, since
    what `db init` prints ends up in container logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


# --------------------------------------------------------------------------- clients


@main.group()
def clients() -> None:
    """LRS clients: the credentials platforms use to send and read statements."""


@clients.command("create")
@click.option("--name", required=True, help="who the client is, e.g. 'Council LMS'")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="an xAPI scope; repeat for several",
)
@click.option("--json", "as_json", is_flag=True, help="print {key, secret} as JSON")
@_domain_errors
def clients_create(name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Register a client. Its secret is printed once and stored only as a hash."""
    created = create_client(_store().clients, name=name, scopes=list(scopes))
    if as_json:
        click.echo(json.dumps({"key": created.record.key, "secret": created.secret}))
        return
    click.echo(f"key:    {created.record.key}")
    click.echo(f"secret: {created.secret}")
    click.echo(f"scopes: {' '.join(created.record.scopes)}")
    click.echo("The secret is shown only now; store it in the platform's LRS settings.", err=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@_domain_errors
def clients_list(as_json: bool) -> None:
    """Every client, with its scopes and whether it is revoked (never its secret)."""
    records = _store().clients.list()
    rows: list[dict[str, Any]] = [
        {
            "key": r.key,
            "name": r.name,
            "scopes": list(r.scopes),
            "created": r.created,
            "revoked": r.revoked,
        }
        for r in records
    ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no clients")
        return
    for row in rows:
        state = f"revoked {row['revoked']}" if row["revoked"] else "active"
        click.echo(f"{row['key']}  {row['name']}  [{' '.join(row['scopes'])}]  {state}")


@clients.command("revoke")
@click.argument("key")
@_domain_errors
def clients_revoke(key: str) -> None:
    """Revoke a client: its credentials stop working at once."""
    revoke_client(_store().clients, key)
    click.echo(f"revoked {key}")


def _register_groups() -> None:
    # Imported here: these modules import this one for its helpers.
    from service.cli_bundle import export, import_, instance_keys, verify
    from service.cli_erasure import people_erase, retention
    from service.cli_forward import forward
    from service.cli_import import import_file
    from service.cli_people import people, record
    from service.cli_rules import rules
    from service.cli_sources import sources, sync

    main.add_command(people)
    main.add_command(record)
    main.add_command(rules)
    for command in (export, verify, import_, instance_keys):
        main.add_command(command)
    people.add_command(people_erase)
    main.add_command(retention)
    main.add_command(forward)
    main.add_command(sources)
    main.add_command(sync)
    main.add_command(import_file)


_register_groups()
main.add_command(frameworks)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
