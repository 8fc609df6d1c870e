"""`cpdfolio forward ...`: the LRSs statements are forwarded to, their outboxes, and the
sender (lrs_adapters.forward; docs/forwarding.md).

A destination's secret is read from standard input (`--secret-stdin`), never echoed and
never printed again: the store keeps it sealed with the instance secret.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import ParamSpec, TypeVar

import click

from lrs_adapters.connections import Connection
from lrs_adapters.destinations import MAX_ATTEMPTS, MAX_BATCH_SIZE, add_destination
from lrs_adapters.forward import Backoff, Forwarder
from lrs_adapters.remote import Retry
from portfolio.clock import utc_now_iso
from portfolio.errors import InvalidInput, NotFound
from portfolio.storage.base import Store
from portfolio.storage.exchange import DestinationRecord, OutboxState
from service.cli import _domain_errors, _settings, _store
from service.cli_sources import read_secret
from service.config import Settings
from service.secrets import resolve_secret_key

P = ParamSpec("P")
R = TypeVar("R")

# The sender's own retries of one request are few and quick: the outbox does the long
# retrying, with a backoff that survives restarts.
_SENDER_ATTEMPTS = 2


def _field_errors(func: Callable[P, R]) -> Callable[P, R]:
    """InvalidInput names the option that was wrong (--endpoint ...) and the rule."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InvalidInput as exc:
            raise click.ClickException(_field_message(exc)) from exc

    return wrapper


def _field_message(exc: InvalidInput) -> str:
    message = exc.message
    if exc.path and exc.path != "name":  # NAME is the argument, not an option
        option = "--" + exc.path.replace("_", "-")
        if message.startswith(exc.path + " "):
            message = option + message[len(exc.path) :]
        else:
            message = f"{option}: {message}"
    if exc.rule and exc.rule != exc.message:
        message += f" ({exc.rule})"
    return message


def _open() -> tuple[Settings, Store]:
    return _settings(), _store()


def _connection(settings: Settings, *, attempts: int | None = None) -> Connection:
    return Connection(
        instance_secret=resolve_secret_key(settings),
        timeout=float(settings.remote_timeout_seconds),
        retry=Retry(attempts=attempts or settings.remote_attempts, first_delay=0.5, max_delay=5.0),
        max_response_bytes=settings.remote_max_response_bytes,
    )


def _destination(store: Store, name: str) -> DestinationRecord:
    found = store.outbox.get_destination(name)
    if found is None:
        raise NotFound(f"no destination named {name!r} (see `cpdfolio forward list`)")
    return found


@click.group()
def forward() -> None:
    """Forwarding: push stored statements to other LRSs (docs/forwarding.md)."""


# ------------------------------------------------------------------ destinations


@forward.command("add")
@click.argument("name")
@click.option("--endpoint", required=True, help="the destination's xAPI endpoint URL")
@click.option("--key", required=True, help="the key (Basic auth username) it gave this instance")
@click.option("--secret-stdin", is_flag=True, help="read the secret from standard input")
@click.option("--secret", "secret_arg", help="the secret (visible to other users: prefer stdin)")
@click.option("--xapi-version", default="1.0.3", show_default=True)
@click.option("--verb", "verbs", multiple=True, help="forward only this verb IRI; repeatable")
@click.option(
    "--activity-type", "activity_types", multiple=True, help="forward only this activity type"
)
@click.option(
    "--person", "people", multiple=True, help="forward only statements about this person (e-mail)"
)
@click.option(
    "--batch-size", default=100, show_default=True, type=click.IntRange(1, MAX_BATCH_SIZE)
)
@click.option(
    "--max-attempts",
    default=10,
    show_default=True,
    type=click.IntRange(1, MAX_ATTEMPTS),
    help="failed attempts before a statement moves to the dead-letter list",
)
@click.option("--backfill", is_flag=True, help="also queue the matching statements stored so far")
@click.option("--no-check", is_flag=True, help="add it without signing in to it first")
@click.option("--replace", is_flag=True, help="change an existing destination (keeps its outbox)")
@_domain_errors
@_field_errors
def forward_add(
    name: str,
    endpoint: str,
    key: str,
    secret_stdin: bool,
    secret_arg: str | None,
    xapi_version: str,
    verbs: tuple[str, ...],
    activity_types: tuple[str, ...],
    people: tuple[str, ...],
    batch_size: int,
    max_attempts: int,
    backfill: bool,
    no_check: bool,
    replace: bool,
) -> None:
    """Forward the statements that match the filters to another LRS.

    With no --verb, --activity-type or --person every statement is forwarded; each one
    given narrows it (a statement must match one value of each)."""
    secret = read_secret(secret_arg, secret_stdin)
    settings, store = _open()
    added = add_destination(
        store,
        _connection(settings),
        name=name,
        endpoint=endpoint,
        key=key,
        secret=secret,
        xapi_version=xapi_version,
        verbs=verbs,
        activity_types=activity_types,
        people_emails=people,
        batch_size=batch_size,
        max_attempts=max_attempts,
        replace=replace,
        backfill=backfill,
        check=not no_check,
    )
    record = added.record
    click.echo(
        f"{'replaced' if replace else 'added'} destination {record.name} ->"
        f" {record.remote.endpoint} ({_describe_filter(record)})"
    )
    if added.checked:
        click.echo(f"checked: {added.checked}")
    if backfill:
        click.echo(f"queued {added.backfilled} statement(s) stored so far")


def _describe_filter(record: DestinationRecord) -> str:
    f = record.filter
    if not (f.verbs or f.activity_types or f.people):
        return "every statement"
    parts = []
    if f.verbs:
        parts.append("verb " + " or ".join(f.verbs))
    if f.activity_types:
        parts.append("activity type " + " or ".join(f.activity_types))
    if f.people:
        parts.append(f"about {len(f.people)} person(s)")
    return "; ".join(parts)


def _destination_json(record: DestinationRecord) -> dict[str, object]:
    return {
        "name": record.name,
        "endpoint": record.remote.endpoint,
        "key": record.remote.username,
        "xapi_version": record.remote.xapi_version,
        "filter": record.filter.to_json(),
        "batch_size": record.batch_size,
        "max_attempts": record.max_attempts,
        "created": record.created,
    }


@forward.command("list")
@click.option("--json", "as_json", is_flag=True)
@_domain_errors
def forward_list(as_json: bool) -> None:
    """Every destination with its endpoint, key and filter (never its secret)."""
    store = _store()
    records = store.outbox.destinations()
    if as_json:
        click.echo(json.dumps([_destination_json(r) for r in records], indent=2))
        return
    if not records:
        click.echo("no destinations")
        return
    for r in records:
        click.echo(
            f"{r.name}  {r.remote.endpoint}  key {r.remote.username}  xAPI"
            f" {r.remote.xapi_version}  batch {r.batch_size}  max attempts {r.max_attempts}"
        )
        click.echo(f"  forwards: {_describe_filter(r)}")


@forward.command("remove")
@click.argument("name")
@_domain_errors
def forward_remove(name: str) -> None:
    """Stop forwarding to a destination; its outbox goes with it."""
    store = _store()
    if not store.outbox.remove_destination(name):
        raise NotFound(f"no destination named {name!r}")
    click.echo(f"removed destination {name}")


# ------------------------------------------------------------------------ outbox


@forward.command("status")
@click.option("--json", "as_json", is_flag=True)
@_domain_errors
def forward_status(as_json: bool) -> None:
    """Each destination's outbox: pending, sent, dead, the next attempt and last error."""
    store = _store()
    statuses = store.outbox.status()
    if as_json:
        click.echo(json.dumps([s.to_json() for s in statuses], indent=2))
        return
    if not statuses:
        click.echo("no destinations (add one with `cpdfolio forward add`)")
        return
    now = utc_now_iso()
    header = ("DESTINATION", "PENDING", "SENT", "DEAD", "NEXT ATTEMPT", "LAST SENT")
    rows = [
        (
            s.name,
            str(s.pending),
            str(s.sent),
            str(s.dead),
            "-"
            if s.next_attempt is None
            else "due now"
            if s.next_attempt <= now
            else s.next_attempt,
            s.last_sent or "-",
        )
        for s in statuses
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    numeric = {1, 2, 3}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    click.echo(line(header))
    for status, row in zip(statuses, rows, strict=True):
        click.echo(line(row))
        if status.last_error and (status.pending or status.dead):
            click.echo(f"  last error: {status.last_error}")


@forward.command("dead")
@click.argument("name")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True)
@_domain_errors
def forward_dead(name: str, limit: int, as_json: bool) -> None:
    """The dead-letter list: statements that will not be sent again unless requeued."""
    store = _store()
    _destination(store, name)
    items = store.outbox.items(name, OutboxState.DEAD, limit=limit)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "statement_id": i.statement_id,
                        "attempts": i.attempts,
                        "queued": i.queued,
                        "error": i.last_error,
                    }
                    for i in items
                ],
                indent=2,
            )
        )
        return
    if not items:
        click.echo(f"no dead statements for {name}")
        return
    for i in items:
        click.echo(f"{i.statement_id}  {i.attempts} attempt(s)  queued {i.queued}")
        click.echo(f"  {i.last_error}")


@forward.command("requeue")
@click.argument("name")
@click.option(
    "--statement", "statement_ids", multiple=True, help="only this statement id; repeatable"
)
@_domain_errors
def forward_requeue(name: str, statement_ids: tuple[str, ...]) -> None:
    """Move dead statements (all, or those given) back to pending, due now."""
    store = _store()
    _destination(store, name)
    count = store.outbox.requeue(name, list(statement_ids) or None, at=utc_now_iso())
    click.echo(f"requeued {count} statement(s) for {name}")
    if statement_ids and count < len(statement_ids):
        click.echo(
            f"{len(statement_ids) - count} of the ids given were not dead for {name}", err=True
        )


# ------------------------------------------------------------------------ sender


@forward.command("run")
@click.option("--once", is_flag=True, help="send what is due now, then exit")
@click.option("--destination", "destination_name", help="only this destination")
@click.option(
    "--poll",
    "poll_seconds",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="seconds between looks at the outbox when nothing is due sooner",
)
@_domain_errors
def forward_run(once: bool, destination_name: str | None, poll_seconds: float) -> None:
    """Send the outbox: with --once what is due now (exit status 1 when a destination
    could not take it), otherwise until SIGTERM or SIGINT, logging each delivery."""
    settings, store = _open()
    if destination_name is not None:
        _destination(store, destination_name)
    forwarder = Forwarder(
        store,
        _connection(settings, attempts=min(_SENDER_ATTEMPTS, settings.remote_attempts)),
        backoff=Backoff(
            first=float(settings.forward_backoff_seconds),
            maximum=float(settings.forward_backoff_max_seconds),
        ),
    )
    if once:
        reports = forwarder.run_once(destination_name)
        if not reports:
            click.echo("no destinations")
        for report in reports:
            click.echo(str(report))
        if any(not r.ok for r in reports):
            sys.exit(1)
        return
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logging.getLogger(__name__).info(
        "forwarding %s every %.1f s at most; SIGTERM or Ctrl-C stops",
        destination_name or "to every destination",
        poll_seconds,
    )
    forwarder.run(stop, poll_seconds=poll_seconds, destination_name=destination_name)
    logging.getLogger(__name__).info("stopped")
