"""`cpdfolio people ...` and `cpdfolio record verify`: portfolio owners from the command line.

Passwords are read from standard input (`--password-stdin`), never from arguments,
which other users of the machine can see.
"""

from __future__ import annotations

import json
import sys

import click

from portfolio.errors import InvalidInput
from portfolio.lrs.params import parse_agent
from portfolio.record.chain import verify_portfolio_record
from portfolio.record.verify import RecordVerificationFailed
from service.cli import _domain_errors, _settings, _store
from service.people import PeopleServices, build_services
from service.secrets import resolve_secret_key


def _services() -> PeopleServices:
    settings = _settings()
    return build_services(_store(), settings, resolve_secret_key(settings))


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("no password on standard input (use --password-stdin)")
    return password


@click.group()
def people() -> None:
    """Portfolio owners."""


@people.command("create")
@click.option(
    "--email", required=True, help="the owner's work e-mail: their login and first identity"
)
@click.option("--name", required=True, help="the owner's name as it appears on their record")
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin")
@_domain_errors
def people_create(email: str, name: str, password_stdin: bool) -> None:
    """Create a person, their first identity and their signed record."""
    person = _services().accounts.create(email=email, name=name, password=_read_password())
    click.echo(f"created {person.email} ({person.id})")


@people.command("list")
@click.option("--json", "as_json", is_flag=True)
@_domain_errors
def people_list(as_json: bool) -> None:
    """Every person on this instance."""
    services = _services()
    rows = [
        {
            "id": p.id,
            "email": p.email,
            "name": p.name,
            "created": p.created,
            "identities": [i.identity for i in services.accounts.store.people.identities(p.id)],
        }
        for p in services.accounts.store.people.list()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['email']}  {row['name']}  {row['id']}  {len(row['identities'])} identities"
        )


@people.command("reset-password")
@click.option("--email", required=True)
@click.option("--administrator", required=True, help="who resets it: named in the record")
@click.option("--password-stdin", is_flag=True, required=True)
@_domain_errors
def people_reset_password(email: str, administrator: str, password_stdin: bool) -> None:
    """Give a person a new password and a new key (a signed, visible entry)."""
    _services().accounts.reset_password(email, _read_password(), administrator=administrator)
    click.echo(f"reset the password of {email}; their key was rotated and their sessions ended")


@people.command("link")
@click.option("--email", required=True, help="whose portfolio")
@click.option(
    "--identity", "agent", required=True, help="an xAPI Agent as JSON, e.g. '{\"account\": {...}}'"
)
@click.option("--administrator", required=True, help="who confirms it: named in the record")
@_domain_errors
def people_link(email: str, agent: str, administrator: str) -> None:
    """Link an identity on an administrator's confirmation."""
    try:
        _, identity = parse_agent(agent, version="1.0.3", name="--identity")
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from exc
    result = _services().identities.confirm_by_administrator(
        email, identity, administrator=administrator
    )
    click.echo(f"linked {identity} to {email}; {result.witnessed} statements witnessed")


@click.group()
def record() -> None:
    """Signed records."""


@record.command("verify")
@click.option("--person", "email", required=True, help="the owner's e-mail")
@_domain_errors
def record_verify(email: str) -> None:
    """Check every entry of a person's record; exit 1 naming the first that fails."""
    services = _services()
    person = services.accounts.get(email)
    try:
        summary = verify_portfolio_record(services.accounts.store, person.id)
    except RecordVerificationFailed as exc:
        click.echo(f"FAILED: entry {exc.seq}: {exc.reason}", err=True)
        sys.exit(1)
    click.echo(
        f"verified the record of {summary.name} <{person.email}>: {summary.entries} entries"
        f" ({summary.first_at} to {summary.last_at}), {len(summary.statements)} statements"
        f" witnessed, {len(summary.owner_keys)} owner key(s)"
    )
