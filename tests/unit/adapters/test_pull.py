"""The Puller's dense parts, against a real LRS (a cpdfolio app served over HTTP in a
thread): the checkpoint with a remote that ignores `ascending`, an owner's source that is
sent other people's statements, a run interrupted part-way, and the client's retries."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lrs_adapters.connections import Connection
from lrs_adapters.network import HostPolicy
from lrs_adapters.pull import Puller, PullSettings, SyncProgress
from lrs_adapters.remote import RemoteAuthFailed, RemoteClient, RemoteUnreachable, Retry
from lrs_adapters.sources import add_source
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.people.accounts import Accounts
from portfolio.record.chain import instance_key
from portfolio.record.keys import KdfCost
from portfolio.storage import open_store
from portfolio.storage.base import StatementQuery, Store
from portfolio.storage.exchange import ALL_STREAM, Checkpoint
from service import create_app
from tests.conftest import LiveServer, Xapi, make_client
from tests.support import make_statement

SECRET = b"instance-secret"
LOOPBACK_ALLOWED = HostPolicy.parse(["127.0.0.0/8"])
OVERLAP = PullSettings().overlap


class Remote:
    def __init__(self, root: Path) -> None:
        url = f"sqlite:///{root / 'remote.db'}"
        self.store = open_store(url)
        self.store.migrate()
        app = create_app({"database_url": url, "secret_key": "remote"}, store_=self.store)
        self.server = LiveServer(app)
        self.server.start()
        self.key, self.secret = make_client(app, "all")
        self.endpoint = self.server.url + "/xapi/"
        self.xapi = Xapi(self.server.url + "/xapi", (self.key, self.secret))

    def post(self, statements: list[dict[str, Any]]) -> None:
        assert self.xapi.post("/statements", json=statements).status_code == 200

    def stop(self) -> None:
        self.server.stop()
        self.store.close()


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    server = Remote(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'here.db'}")
    store.migrate()
    yield store
    store.close()


class Dropping(Connection):
    """A connection whose client leaves some query parameters out: what a remote that
    ignores them would answer, over real HTTP."""

    def __init__(self, *dropped: str) -> None:
        # The remote is on loopback: owners' sources may reach it here.
        super().__init__(
            instance_secret=SECRET, retry=Retry(attempts=1), owner_hosts=LOOPBACK_ALLOWED
        )
        object.__setattr__(self, "dropped", dropped)

    def client(self, name: str, remote: Any, *, for_owner: bool = False) -> RemoteClient:
        client = super().client(name, remote, for_owner=for_owner)
        dropped = self.dropped  # type: ignore[attr-defined]
        original = client.statements

        def statements(params: Mapping[str, str]) -> Any:
            return original({k: v for k, v in params.items() if k not in dropped})

        object.__setattr__(client, "statements", statements)
        return client


def puller(
    store: Store, connection: Connection, *, page_size: int = 5, overlap: timedelta = OVERLAP
) -> Puller:
    submitter = Submitter("source:test", {"objectType": "Agent", "mbox": "mailto:src@x.org"})
    return Puller(
        store,
        connection,
        ingest_for=lambda _source: StatementIngest(store.statements),
        submitter_for=lambda _source: submitter,
        settings=PullSettings(page_size=page_size, overlap=overlap),
    )


def connect(store: Store, remote: Remote, connection: Connection, **kwargs: Any) -> None:
    add_source(
        store,
        connection,
        name="remote",
        endpoint=remote.endpoint,
        key=remote.key,
        secret=remote.secret,
        check=False,
        **kwargs,
    )


class Interrupt(Exception):
    pass


def interrupt_after(pages: int) -> Any:
    def progress(totals: SyncProgress) -> None:
        if totals.pages == pages:
            raise Interrupt

    return progress


def ids(store: Store) -> list[str]:
    return sorted(r.id for r in store.statements.query(StatementQuery(limit=1000)).statements)


def test_an_interrupted_run_is_finished_by_the_next_one(here: Store, remote: Remote) -> None:
    sent = [make_statement() for _ in range(23)]
    remote.post(sent)
    connection = Connection(instance_secret=SECRET)
    connect(here, remote, connection)
    with pytest.raises(Interrupt):
        puller(here, connection).sync("remote", progress=interrupt_after(3))
    assert len(ids(here)) == 15
    assert here.sources.checkpoint("remote", ALL_STREAM).since is not None
    totals = puller(here, connection).sync("remote")
    assert ids(here) == sorted(s["id"] for s in sent)
    assert totals.new == 8


def test_a_remote_that_ignores_ascending_moves_the_checkpoint_only_at_the_end(
    here: Store, remote: Remote
) -> None:
    remote.post([make_statement() for _ in range(12)])
    connection = Dropping("ascending")  # the remote answers newest first
    connect(here, remote, connection)
    # No overlap: these statements were stored within milliseconds of each other, and
    # with the usual overlap every checkpoint would re-ask for all of them (safe, but
    # then the order cannot be seen).
    with pytest.raises(Interrupt):
        puller(here, connection, overlap=timedelta(0)).sync("remote", progress=interrupt_after(2))
    # Two pages stored, but the oldest statements are still to come: no checkpoint yet.
    assert len(ids(here)) == 10
    assert here.sources.checkpoint("remote", ALL_STREAM) == Checkpoint()
    puller(here, connection, overlap=timedelta(0)).sync("remote")
    assert len(ids(here)) == 12
    assert here.sources.checkpoint("remote", ALL_STREAM).since is not None


def test_an_owners_source_keeps_only_statements_about_the_owner(
    here: Store, remote: Remote
) -> None:
    accounts = Accounts(
        here,
        instance_key=instance_key(here.records, SECRET),
        instance_url="http://here.test",
        kdf=KdfCost(memory_kib=8, iterations=1),
    )
    ann = accounts.create(email="ann@example.org", name="Ann", password="a long passphrase")
    remote.post([make_statement(actor="ann") for _ in range(3)])
    remote.post([make_statement(actor="bob") for _ in range(2)])
    connection = Dropping("agent")  # the remote ignores the agent filter: sends Bob's too
    connect(here, remote, connection, owner=ann.id)
    totals = puller(here, connection).sync("remote")
    assert (totals.fetched, totals.new, len(totals.rejected)) == (5, 3, 2)
    assert {r.rule for r in totals.rejected} == {
        "must be one of the owner's identities (an owner's source)"
    }


def test_the_client_retries_with_backoff_then_says_the_remote_cannot_be_reached(
    remote: Remote,
) -> None:
    endpoint = remote.endpoint
    remote.server.stop()
    slept: list[float] = []
    client = RemoteClient(
        endpoint,
        username="k",
        password="s",
        retry=Retry(attempts=4, first_delay=0.5, max_delay=1.5),
        sleep=slept.append,
    )
    with pytest.raises(RemoteUnreachable, match=r"cannot be reached .* after 4 attempts"):
        client.statements({"limit": "1"})
    assert slept == [0.5, 1.0, 1.5]


def test_refused_credentials_are_not_retried(remote: Remote) -> None:
    slept: list[float] = []
    client = RemoteClient(
        remote.endpoint, username=remote.key, password="wrong", sleep=slept.append
    )
    with pytest.raises(RemoteAuthFailed, match="refused the credentials"):
        client.statements({"limit": "1"})
    assert slept == []
