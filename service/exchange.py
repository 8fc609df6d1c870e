"""What the exchange commands and routes share: the ingest every statement from elsewhere
goes through (the same rules, witnessing and forwarding as POST /xapi/statements), and
the Connection that opens remote LRSs with this instance's secret."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence

from lrs_adapters.connections import Connection
from lrs_adapters.pull import CHUNK, Puller, PullSettings
from lrs_adapters.remote import Retry
from lrs_adapters.sources import about_owner
from portfolio.lrs.ingest import IngestLimits, StatementIngest, Submitter
from portfolio.lrs.limits import JsonLimits
from portfolio.lrs.routing import ForwardRouter
from portfolio.people.witness import witness_new_statements
from portfolio.record.keys import SigningKey
from portfolio.storage.base import NewStatement, Store
from portfolio.storage.exchange import SourceRecord
from service.config import Settings

log = logging.getLogger(__name__)


def ingest_limits(settings: Settings) -> IngestLimits:
    return IngestLimits(
        max_batch_statements=settings.max_batch_statements,
        max_attachment_bytes=settings.max_attachment_bytes,
        json=JsonLimits(
            max_depth=settings.max_json_depth, max_string_length=settings.max_string_length
        ),
    )


def statement_ingest(
    store: Store,
    settings: Settings,
    instance_key: SigningKey,
    *,
    origin: str | None = None,
    witness_only: Collection[str] | None = None,
) -> StatementIngest:
    """The ingest for statements from elsewhere. `origin` is the endpoint of the LRS they
    were pulled from: they are never forwarded back to it. `witness_only` (identity keys)
    limits witnessing to the records of those identities (an owner's source)."""

    return StatementIngest(
        store.statements,
        limits=ingest_limits(settings),
        on_stored=_witnessing(store, instance_key, only=witness_only),
        router=ForwardRouter(store, origin=origin),
    )


def connection(settings: Settings, secret: bytes) -> Connection:
    return Connection(
        instance_secret=secret,
        timeout=float(settings.remote_timeout_seconds),
        retry=Retry(attempts=settings.remote_attempts),
        owner_hosts=settings.owner_hosts,
        max_response_bytes=settings.remote_max_response_bytes,
    )


def instance_submitter(settings: Settings, name: str, *, label: str) -> Submitter:
    """The authority cpdfolio records for statements it takes in itself (a source, a
    file): an account on this instance named after where they came from."""
    return Submitter(
        client_key=name,
        authority={
            "objectType": "Agent",
            "name": label,
            "account": {"homePage": settings.public_url, "name": name},
        },
        may_void_others=False,
        may_define=False,
    )


def puller(store: Store, settings: Settings, secret: bytes, instance_key: SigningKey) -> Puller:
    """The Puller for this instance: each source's statements go through the ingest with
    the source's endpoint as their origin, under the source's own authority, in chunks
    the ingest's batch limit allows.

    An owner's source is a remote the owner chose, perhaps one they run: what it says
    about anyone else is only the owner's word, so its statements are witnessed in the
    owner's record alone, never signed into the record of someone they name. An
    administrator's source is witnessed for everyone its statements are about."""

    def witness_only(source: SourceRecord) -> frozenset[str] | None:
        # The owner's identities as linked now, like the streams the run asks for.
        identities = about_owner(store, source)
        return None if identities is None else frozenset(identities)

    return Puller(
        store,
        connection(settings, secret),
        ingest_for=lambda source: statement_ingest(
            store,
            settings,
            instance_key,
            origin=source.remote.endpoint,
            witness_only=witness_only(source),
        ),
        submitter_for=lambda source: instance_submitter(
            settings, f"source:{source.name}", label=f"Source {source.name}"
        ),
        witness_for=lambda source: _witnessing(store, instance_key, only=witness_only(source)),
        settings=PullSettings(
            page_size=settings.pull_page_size,
            chunk_size=min(CHUNK, settings.max_batch_statements),
        ),
    )


def _witnessing(
    store: Store, instance_key: SigningKey, *, only: Collection[str] | None = None
) -> Callable[[Sequence[NewStatement]], None]:
    """Witness statements in their owners' records; with `only`, in the records of those
    identities alone. As over HTTP, the statements are stored whatever happens here: a
    failure is logged, and a later run witnesses what was missed (pulls witness their
    duplicates again)."""

    def witness(statements: Sequence[NewStatement]) -> None:
        try:
            witness_new_statements(store, instance_key, statements, only=only)
        except Exception:
            log.exception("witnessing %d statements failed; they are stored", len(statements))

    return witness
