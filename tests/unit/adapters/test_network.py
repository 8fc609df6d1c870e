"""Where an owner's source may point (lrs_adapters.network), and redirects never being
followed (lrs_adapters.remote): the server-side request forgery an owner could otherwise
make the instance do."""

from __future__ import annotations

import ipaddress

import pytest
from flask import Flask, redirect
from hypothesis import given
from hypothesis import strategies as st

from lrs_adapters.connections import Connection
from lrs_adapters.network import HostNotAllowed, HostPolicy
from lrs_adapters.pull import SyncFailed
from lrs_adapters.remote import RemoteClient, RemoteForbidden, RemoteRefused, Retry
from portfolio.errors import InvalidInput
from portfolio.storage.base import Store
from service.config import Settings
from tests.conftest import LiveServer
from tests.support import make_statement
from tests.unit.adapters.test_pull import SECRET, Remote, an_owner, connect, puller

OPEN = HostPolicy()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/xapi/",
        "http://127.8.9.10/xapi/",
        "http://localhost:8000/xapi/",
        "http://LOCALHOST./xapi/",
        "http://[::1]:8000/xapi/",
        "http://[::ffff:127.0.0.1]/xapi/",  # IPv4 in IPv6 clothing
        "http://[fe80::1%25eth0]/xapi/",  # link-local, with a zone
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://10.0.0.8/xapi/",
        "http://172.16.4.4/xapi/",
        "https://192.168.1.20/xapi/",
        "http://100.64.0.1/xapi/",  # carrier-grade NAT
        "http://0.0.0.0/xapi/",
        "http://[fd00::5]/xapi/",  # unique local
    ],
)
def test_private_loopback_and_reserved_hosts_are_refused(url: str) -> None:
    with pytest.raises(HostNotAllowed, match="owner's source may not reach"):
        OPEN.check(url)


@pytest.mark.parametrize(
    "url", ["https://8.8.8.8/xapi/", "http://[2001:4860:4860::8888]/xapi/", "https://1.1.1.1:8443/"]
)
def test_public_addresses_are_allowed(url: str) -> None:
    OPEN.check(url)


def test_the_administrator_allows_hosts_by_name_address_or_network() -> None:
    policy = HostPolicy.parse(
        ["lrs.council.internal", " 10.20.0.0/16 ", "192.168.1.20", "", "LOCALHOST"]
    )
    policy.check("http://lrs.council.internal/xapi/")  # by name, not resolved
    policy.check("http://LRS.Council.Internal./xapi/")
    policy.check("http://10.20.3.4/xapi/")
    policy.check("http://192.168.1.20/xapi/")
    policy.check("http://localhost:9000/xapi/")
    with pytest.raises(HostNotAllowed):
        policy.check("http://10.21.0.1/xapi/")
    with pytest.raises(HostNotAllowed):
        policy.check("http://127.0.0.1/xapi/")  # localhost by name, not its address


@pytest.mark.parametrize("entry", ["lrs/xapi", "http://lrs.example/", "a..b", "300.1.2.3/40"])
def test_an_entry_that_is_no_host_is_refused_by_the_settings(entry: str) -> None:
    with pytest.raises(ValueError, match="owner_source_hosts"):
        Settings.from_mapping({"owner_source_hosts": f"lrs.council.internal,{entry}"})
    assert Settings.from_mapping({"owner_source_hosts": "lrs.a, 10.0.0.0/8"}).owner_hosts == (
        HostPolicy(frozenset({"lrs.a"}), (ipaddress.ip_network("10.0.0.0/8"),))
    )


@pytest.mark.parametrize(
    "url",
    ["http://8.8.8.8:99999/xapi/", "http://8.8.8.8:x80/xapi/", "http://[2001:4860::8888/xapi/"],
)
def test_a_url_with_an_unusable_port_or_host_is_not_allowed(url: str) -> None:
    """Refused as not allowed (the sync fails, the API answers 400), not a ValueError."""
    with pytest.raises(HostNotAllowed, match="not a usable URL"):
        OPEN.check(url)


@given(st.ip_addresses())
def test_an_address_is_allowed_exactly_when_it_is_global(address: object) -> None:
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    host = f"[{address}]" if address.version == 6 else str(address)
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    expected = (mapped or address).is_global
    try:
        OPEN.check(f"http://{host}/xapi/")
    except HostNotAllowed:
        assert not expected
    else:
        assert expected


# --------------------------------------------------------------- through the adapters


def test_an_owners_source_on_a_private_host_is_refused_before_any_request(
    here: Store, remote: Remote
) -> None:
    connection = Connection(instance_secret=SECRET, retry=Retry(attempts=1))
    with pytest.raises(InvalidInput) as refused:
        connect(here, remote, connection, owner="someone")
    assert refused.value.path == "endpoint"
    assert "CPDFOLIO_OWNER_SOURCE_HOSTS" in (refused.value.rule or "")
    assert here.sources.list() == []
    # The same endpoint is an administrator's to use.
    connect(here, remote, connection)


def test_an_owners_source_that_now_resolves_to_a_private_host_stops_its_sync(
    here: Store, remote: Remote
) -> None:
    """Allowed when connected, not at the sync (the administrator took the host off the
    list, or its name now resolves elsewhere): the sync fails before any request."""
    ann = an_owner(here)
    remote.post([make_statement(actor="ann")])
    allowed = Connection(
        instance_secret=SECRET,
        retry=Retry(attempts=1),
        owner_hosts=HostPolicy.parse(["127.0.0.0/8"]),
    )
    connect(here, remote, allowed, owner=ann.id)
    assert puller(here, allowed).sync("remote").new == 1
    closed = Connection(instance_secret=SECRET, retry=Retry(attempts=1))
    with pytest.raises(SyncFailed, match="owner's source may not reach"):
        puller(here, closed).sync("remote")
    run = here.sources.last_run("remote")
    assert run is not None and run.status == "failed"
    assert here.statements.count() == 1


def test_redirects_are_not_followed() -> None:
    """A remote that redirects is told apart, and the place it names is not asked."""
    asked: list[str] = []
    app = Flask("redirecting")

    @app.get("/xapi/statements")
    def statements() -> object:
        return redirect("/elsewhere/statements", code=302)

    @app.get("/elsewhere/statements")
    def elsewhere() -> object:  # pragma: no cover - must never be reached
        asked.append("elsewhere")
        return {"statements": []}

    server = LiveServer(app)
    server.start()
    try:
        client = RemoteClient(server.url + "/xapi/", username="k", password="s")
        redirected = r"HTTP 302: redirected to \S*/elsewhere/statements"
        with pytest.raises(RemoteRefused, match=redirected):
            client.statements({"limit": "1"})
        client.close()
    finally:
        server.stop()
    assert asked == []


def test_a_client_with_a_host_check_asks_nothing_of_a_refused_host(remote: Remote) -> None:
    client = RemoteClient(
        remote.endpoint, username=remote.key, password=remote.secret, host_check=OPEN.check
    )
    with pytest.raises(RemoteForbidden, match=r"127\.0\.0\.1 is a private, loopback or reserved"):
        client.statements({"limit": "1"})
