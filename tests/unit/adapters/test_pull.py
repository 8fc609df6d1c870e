"""The Puller's dense parts, against a real LRS (a cpdfolio app served over HTTP in a
thread): the checkpoint with a remote that ignores `ascending`, an owner's source that is
sent other people's statements, a run interrupted part-way, and the client's retries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask, request

from lrs_adapters.connections import Connection
from lrs_adapters.network import HostPolicy
from lrs_adapters.pull import Puller, PullSettings, SyncFailed, SyncProgress
from lrs_adapters.remote import RemoteAuthFailed, RemoteClient, RemoteUnreachable, Retry
from lrs_adapters.sources import add_source, not_the_owners_own
from portfolio.clock import parse_iso8601
from portfolio.errors import InvalidInput
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.people.accounts import Accounts
from portfolio.record.chain import instance_key
from portfolio.record.keys import KdfCost
from portfolio.storage import open_store
from portfolio.storage.base import PersonRecord, StatementQuery, Store
from portfolio.storage.exchange import ALL_STREAM, Checkpoint
from service import create_app, exchange
from service.config import Settings
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


def an_owner(store: Store) -> PersonRecord:
    """Ann, a portfolio owner here (her login mailbox is her identity)."""
    accounts = Accounts(
        store,
        instance_key=instance_key(store.records, SECRET),
        instance_url="http://here.test",
        kdf=KdfCost(memory_kib=8, iterations=1),
    )
    return accounts.create(email="ann@example.org", name="Ann", password="a long passphrase")


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
    ann = an_owner(here)
    remote.post([make_statement(actor="ann") for _ in range(3)])
    remote.post([make_statement(actor="bob") for _ in range(2)])
    connection = Dropping("agent")  # the remote ignores the agent filter: sends Bob's too
    connect(here, remote, connection, owner=ann.id)
    totals = puller(here, connection).sync("remote")
    assert (totals.fetched, totals.new, len(totals.rejected)) == (5, 3, 2)
    assert {r.rule for r in totals.rejected} == {
        "must be the owner: an Agent that is one of their identities (an owner's source)"
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


# ------------------------------------------------------------ reviewed defects (pull.py)


class NewestFirst:
    """An LRS that ignores `ascending` and always pages newest first (cpdfolio cannot be
    made to), filtering on `stored` as asked; it answers 503 to one page, once."""

    def __init__(self, statements: list[dict[str, Any]], *, failing_page: int) -> None:
        self.statements = sorted(statements, key=lambda s: str(s["stored"]), reverse=True)
        self.failing_page: int | None = failing_page
        self.asked_since: list[str | None] = []
        app = Flask("newest-first")
        app.add_url_rule("/xapi/statements", view_func=self._get)
        self.server = LiveServer(app)
        self.server.start()
        self.endpoint = self.server.url + "/xapi/"

    def _get(self) -> Any:
        since = request.args.get("since")
        limit = int(request.args.get("limit", "100"))
        offset = int(request.args.get("offset", "0"))
        if offset == 0:
            self.asked_since.append(since)
        if self.failing_page == offset // limit + 1:
            self.failing_page = None
            return "down for a moment", 503
        chosen = [
            s
            for s in self.statements
            if since is None or parse_iso8601(str(s["stored"])) > parse_iso8601(since)
        ]
        more = ""
        if offset + limit < len(chosen):
            query = {
                "limit": limit,
                "offset": offset + limit,
                **({"since": since} if since else {}),
            }
            more = "/xapi/statements?" + urlencode(query)
        return {"statements": chosen[offset : offset + limit], "more": more}


def test_a_failed_page_from_a_remote_that_pages_newest_first_loses_nothing(
    here: Store,
) -> None:
    """200 old statements and 300 from a bulk import (their `stored` within the overlap
    of each other), served newest first; page 4 fails. Pages that only look close
    together must not move the checkpoint: the next run asks for everything again."""
    now = datetime.now(UTC)

    def at(when: datetime) -> dict[str, Any]:
        return {**make_statement(), "stored": when.isoformat().replace("+00:00", "Z")}

    old = [at(now - timedelta(days=2, seconds=n)) for n in range(200)]
    recent = [at(now - timedelta(milliseconds=100 * n)) for n in range(300)]
    remote = NewestFirst(old + recent, failing_page=4)
    try:
        connection = Connection(instance_secret=SECRET, retry=Retry(attempts=1))
        add_source(
            here,
            connection,
            name="remote",
            endpoint=remote.endpoint,
            key="k",
            secret="s",
            check=False,
        )
        with pytest.raises(SyncFailed, match="HTTP 503"):
            puller(here, connection, page_size=100).sync("remote")
        assert len(ids(here)) == 300
        assert here.sources.checkpoint("remote", ALL_STREAM) == Checkpoint()
        totals = puller(here, connection, page_size=100).sync("remote")
        assert remote.asked_since == [None, None]
    finally:
        remote.server.stop()
    assert (totals.new, totals.duplicate) == (200, 300)
    assert ids(here) == sorted(s["id"] for s in old + recent)


def test_every_run_that_stops_is_recorded_as_failed(here: Store, remote: Remote) -> None:
    """Not only a remote error: anything that stops a run (here, an error of the
    caller's, and credentials sealed under another instance secret) leaves it "failed"
    with the message, never "running"."""
    remote.post([make_statement() for _ in range(12)])
    connection = Connection(instance_secret=SECRET)
    connect(here, remote, connection)
    with pytest.raises(Interrupt):
        puller(here, connection).sync("remote", progress=interrupt_after(1))
    run = here.sources.last_run("remote")
    assert run is not None
    assert (run.status, run.fetched, run.new) == ("failed", 5, 5)
    assert run.finished is not None and run.error is not None and "Interrupt" in run.error

    elsewhere = Connection(instance_secret=b"another instance secret")
    with pytest.raises(InvalidInput, match="cannot be opened"):
        puller(here, elsewhere).sync("remote")
    run = here.sources.last_run("remote")
    assert run is not None and run.status == "failed"
    assert run.error is not None and "cannot be opened" in run.error
    assert remote.secret not in run.error


def test_pages_are_taken_in_chunks_the_ingest_accepts(tmp_path: Path, remote: Remote) -> None:
    """CPDFOLIO_MAX_BATCH_STATEMENTS below the page size: each page is absorbed in
    several chunks rather than refused whole (as the instance's puller is wired)."""
    url = f"sqlite:///{tmp_path / 'wired.db'}"
    store = open_store(url)
    store.migrate()
    try:
        sent = [make_statement() for _ in range(12)]
        remote.post(sent)
        settings = Settings.from_mapping(
            {"database_url": url, "max_batch_statements": 3, "pull_page_size": 5}
        )
        connect(store, remote, exchange.connection(settings, SECRET))
        pull = exchange.puller(store, settings, SECRET, instance_key(store.records, SECRET))
        totals = pull.sync("remote")
        assert (totals.pages, totals.new, totals.rejected_total) == (3, 12, 0)
        assert ids(store) == sorted(s["id"] for s in sent)
    finally:
        store.close()


def test_a_run_keeps_the_first_100_conflicts_and_rejections_and_counts_them_all(
    here: Store, remote: Remote
) -> None:
    ann = an_owner(here)
    hers = [make_statement(actor="ann") for _ in range(101)]
    remote.post(hers)
    remote.post([make_statement(actor="bob") for _ in range(105)])
    # Here already holds each of Ann's ids with other content: 101 conflicts.
    attempted = "http://adlnet.gov/expapi/verbs/attempted"
    submitter = Submitter("local", {"objectType": "Agent", "mbox": "mailto:lms@x.org"})
    StatementIngest(here.statements).post(
        [{**s, "verb": {"id": attempted}} for s in hers], submitter=submitter, version="1.0.3"
    )
    connection = Dropping("agent")  # the remote sends Bob's too: 105 rejected
    connect(here, remote, connection, owner=ann.id)
    totals = puller(here, connection, page_size=50).sync("remote")
    assert (totals.conflicts_total, len(totals.conflicts)) == (101, 100)
    assert (totals.rejected_total, len(totals.rejected)) == (105, 100)
    summary = totals.to_json()
    assert (summary["conflicts_total"], summary["conflicts_truncated"]) == (101, True)
    assert (summary["rejected_total"], summary["rejected_truncated"]) == (105, True)
    assert summary["conflicts"] == totals.conflicts
    run = here.sources.last_run("remote")
    assert run is not None and (run.conflicts, run.rejected) == (101, 105)


ANN_KEY = "mbox:mailto:ann@example.org"
ANN_AGENT = {"mbox": "mailto:ann@example.org"}
BOB_AGENT = {"objectType": "Agent", "mbox": "mailto:bob@example.org"}
COURSE = {"id": "https://learning.example.org/course"}


@pytest.mark.parametrize(
    ("statement", "where"),
    [
        ({"actor": ANN_AGENT, "object": COURSE}, None),
        ({"actor": ANN_AGENT, "object": {"objectType": "StatementRef", "id": "x"}}, None),
        ({"actor": ANN_AGENT, "object": {**ANN_AGENT, "objectType": "Agent"}}, None),
        ({"actor": BOB_AGENT, "object": COURSE}, "actor"),
        ({"actor": {"objectType": "Group", "member": [ANN_AGENT]}, "object": COURSE}, "actor"),
        ({"actor": {**ANN_AGENT, "member": [BOB_AGENT]}, "object": COURSE}, "actor"),
        ({"actor": ANN_AGENT, "object": BOB_AGENT}, "object"),
        ({"actor": ANN_AGENT, "object": {"objectType": "Group", "member": [ANN_AGENT]}}, "object"),
        (
            {
                "actor": ANN_AGENT,
                "object": {"objectType": "SubStatement", "actor": ANN_AGENT, "object": COURSE},
            },
            None,
        ),
        (
            {
                "actor": ANN_AGENT,
                "object": {"objectType": "SubStatement", "actor": ANN_AGENT, "object": BOB_AGENT},
            },
            "object.object",
        ),
        (
            {
                "actor": ANN_AGENT,
                "object": {"objectType": "SubStatement", "actor": BOB_AGENT, "object": COURSE},
            },
            "object.actor",
        ),
    ],
)
def test_an_owners_source_keeps_only_the_owners_own_word(
    statement: dict[str, Any], where: str | None
) -> None:
    assert not_the_owners_own(statement, {ANN_KEY}) == where
