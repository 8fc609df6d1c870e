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
from portfolio.bundle.verify import TrustedKey, load_trusted, verify_bundle
from portfolio.errors import AuthenticationRequired, InvalidInput
from portfolio.record.chain import published_instance_keys
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
    if not out.parent.is_dir():
        raise click.ClickException(f"--out: the directory {out.parent} does not exist")
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
    except OSError as exc:
        raise click.ClickException(f"--out: cannot write {out}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    click.echo(
        f"exported {person.email}: {result.entries} entries, {result.statements} statements,"
        f" {result.attachments} attachments to {out}"
    )


_TRUST = click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="pin instance keys: a key document an instance publishes (/.well-known/cpdfolio-keys"
    " or `cpdfolio instance-keys`); repeatable",
)


def _trusted(trust: tuple[Path, ...]) -> dict[str, TrustedKey] | None:
    if not trust:
        return None
    try:
        return load_trusted(path.read_bytes() for path in trust)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None


@click.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@_TRUST
def verify(bundle: str, as_json: bool, trust: tuple[Path, ...]) -> None:
    """Verify a bundle offline: signatures, digests, the chain, statements, JWS.

    Exit status 0 with a summary when it verifies; 1 naming the first failure."""
    try:
        verified = verify_bundle(bundle, trusted=_trusted(trust))
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
    if not summary["instance_keys_pinned"]:
        click.echo(
            "  note: instance keys were taken from the bundle; pin them with --trust to know"
            " which instances signed it"
        )
    for name in signers["on_behalf_of"]:
        click.echo(f"  signed for:  {name}")
    for subject in signers["statement_signers"]:
        click.echo(f"  statements signed by: {subject}")


@click.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin")
@click.option("--json", "as_json", is_flag=True)
@_TRUST
@_domain_errors
def import_(bundle: str, password_stdin: bool, as_json: bool, trust: tuple[Path, ...]) -> None:
    """Import a bundle: verified first, then taken in whole or not at all."""
    services = _services()
    accounts = services.accounts
    importer = Importer(
        accounts.store,
        instance_key=accounts.instance_key,
        instance_url=accounts.instance_url,
        kdf=accounts.kdf,
    )
    result = importer.import_bundle(bundle, password=_read_password(), trusted=_trusted(trust))
    if not trust:
        # The import links the identities the bundle claims: without pinned keys nothing
        # says which instance proved them (POST /api/arrivals refuses such a bundle).
        click.echo(
            "note: instance keys were taken from the bundle, not pinned with --trust; the"
            f" identities it linked ({len(result.identities)}) are only as good as your"
            " check of who brought it",
            err=True,
        )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    click.echo(
        f"{result.outcome}: {result.person.email} ({result.person.id}),"
        f" {result.entries} entries, {result.statements} statements"
    )
    for statement_id in result.conflicts:
        click.echo(f"  statement {statement_id}: this LRS holds other content; kept its own")
    for framework in result.frameworks_installed:
        click.echo(f"  framework {framework}: installed")
    for framework in result.frameworks_skipped:
        click.echo(
            f"  framework {framework}: not installed, as the bundle's instance keys were not"
            " pinned with --trust; install it with `cpdfolio frameworks import` after"
            " checking it"
        )


@click.command("instance-keys")
@_domain_errors
def instance_keys() -> None:
    """This instance's public keys as a key document, for verifiers to pin (--trust)."""
    accounts = _services().accounts
    document = published_instance_keys(accounts.store.records, accounts.instance_url)
    click.echo(json.dumps(document, indent=2))
