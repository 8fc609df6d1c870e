"""`cpdfolio people erase` and `cpdfolio retention apply`: an administrator's erasure of
a portfolio on a verified request, and the instance's retention period
(portfolio.erasure).

Erasure cannot be undone: the command says what will go and how to export the portfolio
first, then asks for the person's e-mail to be typed (unless `--yes`). The administrator's
name and the request's reference are kept in the erasure's record, which holds no
personal data, so they must not name the person.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from portfolio.erasure import RequestedBy, apply_retention, erase_person, preview_erasure
from service.cli import _domain_errors, _store
from service.cli_people import _services


@click.command("erase")
@click.option("--person", "email", required=True, help="the owner's login e-mail")
@click.option("--administrator", required=True, help="who erases it: kept in the erasure's record")
@click.option(
    "--request",
    "reference",
    required=True,
    help="the verified request's reference (e.g. a ticket number): kept in the erasure's"
    " record, so it must not name the person",
)
@click.option("--yes", is_flag=True, help="erase without asking to type the e-mail")
@_domain_errors
def people_erase(email: str, administrator: str, reference: str, yes: bool) -> None:
    """Erase a person's portfolio and everything about them, for good (GDPR erasure)."""
    services = _services()
    store = services.accounts.store
    person = services.accounts.get(email)
    requested_by = RequestedBy.administrator_on_request(administrator, reference)
    preview = preview_erasure(store, person.id)
    click.echo(f"This erases the portfolio of {person.name} <{person.email}> ({person.id}):")
    click.echo(f"  its record ({preview.record_entries} entries), goals, reflections and keys;")
    click.echo(f"  {len(preview.identities)} identities: {', '.join(preview.identities)};")
    click.echo(
        f"  {preview.statements} statements naming them, with their attachments and"
        " State and Agent Profile documents;"
    )
    if preview.other_records:
        click.echo(
            f"  {preview.shared_statements} of those statements also leave the evidence of"
            f" {preview.other_records} other portfolio(s), whose records will say so."
        )
    click.echo(
        "It cannot be undone. To keep a copy, export the portfolio first:\n"
        f"  cpdfolio export --person {person.email} --out FILE --password-stdin"
    )
    if not yes:
        try:
            typed = click.prompt(f"Type {person.email} to erase it", default="", show_default=False)
        except click.Abort:
            typed = ""
        if typed.strip().lower() != person.email:
            raise click.ClickException("not confirmed: nothing was erased")
    erasure = erase_person(
        store, services.accounts.instance_key, person.id, requested_by=requested_by
    )
    counts = ", ".join(
        f"{n} {name.replace('_', ' ')}" for name, n in erasure.counts.to_json().items()
    )
    click.echo(f"erased the portfolio of {person.email}: {counts}")
    click.echo(f"erasure record {erasure.id} ({erasure.erased}, no personal data)")


@click.group()
def retention() -> None:
    """What the instance keeps only for a time."""


@retention.command("apply")
@click.option(
    "--before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="delete what the LRS received before this day (YYYY-MM-DD, UTC)",
)
@click.option("--dry-run", is_flag=True, help="count what would go; delete nothing")
@_domain_errors
def retention_apply(before: datetime, dry_run: bool) -> None:
    """Delete old statements that no portfolio witnesses (and the attachments only they
    used), and expired sessions, codes and one-time links. Never a portfolio: that is
    `cpdfolio people erase`."""
    cutoff = before.replace(tzinfo=UTC)
    if cutoff > datetime.now(UTC):
        raise click.ClickException(
            f"--before {before:%Y-%m-%d} is in the future: retention deletes only what is older"
        )
    report = apply_retention(_store(), before=cutoff, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    counts = report.to_json()["counts"]
    click.echo(
        f"{verb}: {counts['statements']} statements received before {before:%Y-%m-%d} that"
        f" no portfolio witnesses, {counts['attachments']} attachments,"
        f" {counts['sessions']} expired sessions, {counts['challenges']} expired codes,"
        f" {counts['links']} expired one-time links"
    )
