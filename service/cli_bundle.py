"""`cpdfolio export`, `cpdfolio verify` and `cpdfolio import`: moving a portfolio.

`verify` needs nothing but the file: no settings, no store, no server, so an assessor
or the next council can check a bundle anywhere cpdfolio is installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from portfolio.bundle.export import export_bundle
from portfolio.bundle.importer import Importer
from portfolio.bundle.layout import BundleInvalid
from portfolio.bundle.verify import verify_bundle
from portfolio.errors import AuthenticationRequired
from portfolio.record.keys import SealedKey, open_sealed
from service.cli import _domain_errors
from service.cli_people import _read_password, _services


@click.command("export")
@click.option("--person", "email", required=True, help="the owner's login e-mail")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin")
@_domain_errors
def export(email: str, out: Path, password_stdin: bool) -> None:
    """Export a portfolio as a signed bundle (a zip) that moves with its owner."""
    services = _services()
    accounts = services.accounts
    person = accounts.get(email)
    try:
        key = open_sealed(
            SealedKey.from_json(json.loads(person.sealed_key)), password=_read_password()
        )
    except AuthenticationRequired:
        raise click.ClickException("wrong password for this portfolio") from None
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as stream:
            result = export_bundle(
                accounts.store,
                person,
                stream,
                owner_key=key,
                instance_key=accounts.instance_key,
                instance_url=accounts.instance_url,
            )
        os.replace(partial, out)  # never a half-written bundle under the name asked for
    finally:
        partial.unlink(missing_ok=True)
    click.echo(
        f"exported {person.email}: {result.entries} entries, {result.statements} statements,"
        f" {result.attachments} attachments to {out}"
    )


@click.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def verify(bundle: str, as_json: bool) -> None:
    """Verify a bundle offline: signatures, digests, the chain, statements, JWS.

    Exit status 0 with a summary when it verifies; 1 naming the first failure."""
    try:
        verified = verify_bundle(bundle)
    except BundleInvalid as exc:
        raise click.ClickException(f"{bundle} does not verify: {exc.message}") from None
    summary = verified.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    signers = summary["signers"]
    click.echo(f"{bundle} verifies")
    click.echo(f"  person:      {summary['person']['name']} ({summary['person']['id']})")
    click.echo(f"  exported by: {summary['exported_by']} at {summary['exported']}")
    click.echo(f"  entries:     {summary['entries']} ({summary['from']} to {summary['to']})")
    click.echo(
        f"  statements:  {summary['statements']}, attachments: {summary['attachments']},"
        f" frameworks: {summary['frameworks']}"
    )
    click.echo(f"  owner keys:  {', '.join(k[:16] for k in signers['owner_keys'])}")
    for instance in signers["instances"]:
        click.echo(f"  instance:    {instance}")
    for name in signers["on_behalf_of"]:
        click.echo(f"  signed for:  {name}")
    for subject in signers["statement_signers"]:
        click.echo(f"  statements signed by: {subject}")


@click.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin")
@click.option("--json", "as_json", is_flag=True)
@_domain_errors
def import_(bundle: str, password_stdin: bool, as_json: bool) -> None:
    """Import a bundle: verified first, then taken in whole or not at all."""
    services = _services()
    accounts = services.accounts
    importer = Importer(
        accounts.store,
        instance_key=accounts.instance_key,
        instance_url=accounts.instance_url,
        kdf=accounts.kdf,
    )
    result = importer.import_bundle(bundle, password=_read_password())
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    click.echo(
        f"{result.outcome}: {result.person.email} ({result.person.id}),"
        f" {result.entries} entries, {result.statements} statements"
    )
    for statement_id in result.conflicts:
        click.echo(f"  statement {statement_id}: this LRS holds other content; kept its own")
