"""Configuring the LRSs statements are forwarded to (portfolio.storage.exchange).

A destination is stored with its filter; from then on every statement stored that
matches it is queued for it (portfolio.lrs.routing, inside the insert). Statements stored
before it was added are queued only when asked (`backfill`), through the same matching.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from lrs_adapters.connections import Connection, check_name
from lrs_adapters.remote import RemoteAuthFailed, RemoteError, RemoteUnreachable
from portfolio.clock import utc_now_iso
from portfolio.errors import Conflict, InvalidInput
from portfolio.lrs.index import extract_index
from portfolio.lrs.routing import ForwardRouter, same_endpoint
from portfolio.storage.base import StatementQuery, Store
from portfolio.storage.exchange import DestinationRecord, ForwardFilter

MAX_BATCH_SIZE = 1000
MAX_ATTEMPTS = 1000
_BACKFILL_PAGE = 500
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


@dataclass(frozen=True)
class AddedDestination:
    record: DestinationRecord
    # Statements already stored that were queued for it (backfill).
    backfilled: int = 0
    # What the check found out, to tell the administrator (None: not checked).
    checked: str | None = None


def add_destination(
    store: Store,
    connection: Connection,
    *,
    name: str,
    endpoint: str,
    key: str,
    secret: str,
    xapi_version: str = "1.0.3",
    verbs: Sequence[str] = (),
    activity_types: Sequence[str] = (),
    people_emails: Sequence[str] = (),
    batch_size: int = 100,
    max_attempts: int = 10,
    replace: bool = False,
    backfill: bool = False,
    check: bool = True,
) -> AddedDestination:
    """Check, seal and store a destination; raises InvalidInput naming the field, or
    Conflict when the name is taken and `replace` is false.

    With `check`, the destination is asked for a statement first, so a wrong endpoint or
    credentials are reported now rather than by the first failed delivery. Replacing
    keeps the destination's outbox; the new filter applies to statements stored from now
    on (and to the backfill)."""
    check_name(name)
    if not replace and store.outbox.get_destination(name) is not None:
        raise Conflict(f"a destination named {name!r} already exists (--replace to change it)")
    remote = connection.seal(
        name=name, endpoint=endpoint, username=key, secret=secret, xapi_version=xapi_version
    )
    wanted = ForwardFilter(
        verbs=_iris(verbs, "verb"),
        activity_types=_iris(activity_types, "activity_type"),
        people=tuple(_person_ids(store, people_emails)),
    )
    _bounded("batch_size", batch_size, MAX_BATCH_SIZE)
    _bounded("max_attempts", max_attempts, MAX_ATTEMPTS)
    record = DestinationRecord(
        name=name,
        remote=remote,
        filter=wanted,
        created=utc_now_iso(),
        batch_size=batch_size,
        max_attempts=max_attempts,
    )
    checked = check_destination(connection, record) if check else None
    store.outbox.add_destination(record, replace=replace)
    queued = backfill_destination(store, name) if backfill else 0
    return AddedDestination(record=record, backfilled=queued, checked=checked)


def check_destination(connection: Connection, destination: DestinationRecord) -> str:
    """Sign in to the destination by reading one statement: raises InvalidInput saying
    what is wrong. A 403 is fine (the credentials are good; a forwarding key needs only
    statements/write). Returns a line saying what was found."""
    endpoint = destination.remote.endpoint
    client = connection.client(destination.name, destination.remote)
    try:
        if not client.may_read():
            return f"{endpoint} accepts the credentials (they may not read statements)"
    except RemoteAuthFailed as exc:
        raise InvalidInput(
            str(exc), path="secret", rule="the destination must accept them"
        ) from None
    except RemoteUnreachable as exc:
        raise InvalidInput(
            str(exc), path="endpoint", rule="must be the xAPI endpoint of a running LRS"
        ) from None
    except RemoteError as exc:
        raise InvalidInput(
            f"{endpoint} does not answer as an xAPI LRS: {exc}",
            path="endpoint",
            rule="must be the xAPI endpoint of a running LRS",
        ) from None
    finally:
        client.close()
    return f"{endpoint} accepts the credentials"


def backfill_destination(store: Store, name: str) -> int:
    """Queue the statements already stored that match the destination's filter, oldest
    first; returns how many were added (ones queued already are left). Voided statements
    are not sent, and statements pulled from the destination's own LRS are not sent back
    to it."""
    destination = store.outbox.get_destination(name)
    if destination is None:
        raise InvalidInput(f"no destination named {name!r}", path="name")
    own = {
        s.name
        for s in store.sources.list()
        if same_endpoint(s.remote.endpoint, destination.remote.endpoint)
    }
    router = ForwardRouter(store)
    at = utc_now_iso()
    added = 0
    after = None
    while True:
        page = store.statements.query(
            StatementQuery(ascending=True, limit=_BACKFILL_PAGE, after=after)
        )
        statements = [orjson.loads(r.body) for r in page.statements]
        routes = router([(s, extract_index(s)) for s in statements])
        ids = [r.id for r, names in zip(page.statements, routes, strict=True) if name in names]
        if own and ids:
            pulled = store.sources.provenance(ids)
            ids = [i for i in ids if not any(p.source in own for p in pulled.get(i, ()))]
        if ids:
            added += store.outbox.enqueue(name, ids, at=at)
        if page.more is None:
            return added
        after = page.more


def _iris(values: Sequence[str], field: str) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        iri = value.strip()
        if not _IRI.match(iri):
            raise InvalidInput(
                f"{value!r} is not an IRI", path=field, rule="must be an absolute IRI"
            )
        if iri not in found:
            found.append(iri)
    return tuple(found)


def _person_ids(store: Store, emails: Sequence[str]) -> list[str]:
    ids: list[str] = []
    for email in emails:
        person = store.people.by_email(email.strip().lower())
        if person is None:
            raise InvalidInput(
                f"no person with the e-mail {email!r} on this instance",
                path="person",
                rule="must be the login e-mail of a person here",
            )
        if person.id not in ids:
            ids.append(person.id)
    return ids


def _bounded(field: str, value: int, maximum: int) -> None:
    if not 1 <= value <= maximum:
        raise InvalidInput(
            f"{field} must be between 1 and {maximum}, not {value}",
            path=field,
            rule=f"must be between 1 and {maximum}",
        )
