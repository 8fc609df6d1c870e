"""The remote client against remotes that misbehave, over real HTTP: answers cut off
mid-body, URLs that cannot be asked, `more` URLs that would take the credentials off the
endpoint's scheme, and answers too big to hold in memory. Each must end in one of
lrs_adapters.remote's typed errors, which the sync and forwarding workers handle, and none
may carry the credentials."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask, Response, request

from lrs_adapters.connections import Connection, check_endpoint
from lrs_adapters.pull import SyncFailed
from lrs_adapters.remote import (
    RemoteClient,
    RemoteError,
    RemoteNotConformant,
    RemoteUnreachable,
    Retry,
)
from lrs_adapters.sources import add_source
from portfolio.errors import InvalidInput
from portfolio.storage.base import Store
from tests.conftest import LiveServer
from tests.unit.adapters.test_pull import SECRET, puller

PASSWORD = "correct horse battery staple"
EMPTY_RESULT = b'{"statements": [], "more": ""}'


@pytest.fixture
def serve() -> Iterator[Callable[[Flask], str]]:
    """Serve apps over real HTTP; the xAPI endpoint of each is returned."""
    servers: list[LiveServer] = []

    def start(app: Flask) -> str:
        server = LiveServer(app)
        server.start()
        servers.append(server)
        return server.url + "/xapi/"

    yield start
    for server in servers:
        server.stop()


def client_of(
    endpoint: str,
    *,
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
    host_check: Callable[[str], None] | None = None,
    timeout: float = 30.0,
    max_response_bytes: int = 64 * 1024 * 1024,
) -> RemoteClient:
    return RemoteClient(
        endpoint,
        username="key",
        password=PASSWORD,
        retry=retry or Retry(attempts=1),
        sleep=sleep,
        host_check=host_check,
        timeout=timeout,
        max_response_bytes=max_response_bytes,
    )


def assert_tells_no_secret(error: RemoteError, client: RemoteClient) -> None:
    assert PASSWORD not in str(error)
    assert client.auth and client.auth not in str(error)
    assert client.auth.split()[-1] not in str(error)  # the base64 of key:password


def dropping_app(*, drops: int | None = None) -> Flask:
    """Statements answered by a connection that closes mid-body: the first `drops`
    times, or always."""
    app = Flask("dropping")
    asked: list[int] = []

    @app.get("/xapi/statements")
    def statements() -> Response:
        asked.append(1)
        if drops is not None and len(asked) > drops:
            return Response(EMPTY_RESULT, content_type="application/json")

        def cut_off() -> Iterator[bytes]:
            yield b'{"statements": ['
            raise RuntimeError("the connection drops here")

        # Chunked, since there is no length: the answer ends before its last chunk.
        return Response(cut_off(), content_type="application/json")

    return app


# ------------------------------------------------------------ transport failures


def test_an_answer_cut_off_mid_body_is_retried_then_the_remote_is_unreachable(
    serve: Callable[[Flask], str],
) -> None:
    slept: list[float] = []
    client = client_of(
        serve(dropping_app()), retry=Retry(attempts=3, first_delay=0.5), sleep=slept.append
    )
    with pytest.raises(RemoteUnreachable, match=r"cannot be reached .* after 3 attempts") as raised:
        client.statements({"limit": "1"})
    assert slept == [0.5, 1.0]
    assert_tells_no_secret(raised.value, client)
    client.close()


def test_an_answer_cut_off_once_is_asked_again(serve: Callable[[Flask], str]) -> None:
    slept: list[float] = []
    client = client_of(serve(dropping_app(drops=1)), retry=Retry(attempts=2), sleep=slept.append)
    assert client.statements({"limit": "1"}).statements == []
    assert len(slept) == 1
    client.close()


def test_a_busy_remote_is_asked_again_after_its_retry_after(serve: Callable[[Flask], str]) -> None:
    app = Flask("busy")
    asked: list[int] = []

    @app.get("/xapi/statements")
    def statements() -> Response:
        asked.append(1)
        if len(asked) == 1:
            return Response("busy", status=503, headers={"Retry-After": "2"})
        return Response(EMPTY_RESULT, content_type="application/json")

    slept: list[float] = []
    client = client_of(serve(app), retry=Retry(attempts=2, first_delay=0.5), sleep=slept.append)
    assert client.statements({"limit": "1"}).statements == []
    assert slept == [2.0]
    client.close()


def test_a_sync_from_a_remote_that_cuts_answers_off_fails_and_is_recorded(
    here: Store, serve: Callable[[Flask], str]
) -> None:
    """Not left "running" with a traceback: the run is failed, with a reason."""
    connection = Connection(instance_secret=SECRET, retry=Retry(attempts=1))
    add_source(
        here,
        connection,
        name="dropping",
        endpoint=serve(dropping_app()),
        key="key",
        secret=PASSWORD,
        check=False,
    )
    with pytest.raises(SyncFailed, match="cannot be reached"):
        puller(here, connection).sync("dropping")
    run = here.sources.last_run("dropping")
    assert run is not None and run.status == "failed"
    assert PASSWORD not in str(run)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:99999/xapi/",  # stored before the endpoint's port was checked
        "http://[::1/xapi/",
        "http://lrs example.org/xapi/",
        "http://" + "a" * 70 + ".example.org/xapi/",  # a DNS label too long
    ],
)
def test_an_unusable_url_is_a_typed_error_and_is_not_retried(endpoint: str) -> None:
    slept: list[float] = []
    client = client_of(endpoint, retry=Retry(attempts=3), sleep=slept.append)
    with pytest.raises(RemoteNotConformant, match="not a usable URL") as raised:
        client.statements({"limit": "1"})
    assert slept == []
    assert_tells_no_secret(raised.value, client)
    client.close()


# ------------------------------------------------------------------------ more


def result_app() -> Flask:
    app = Flask("paging")

    @app.get("/xapi/statements")
    def statements() -> Response:
        page = request.args.get("page", "1")
        more = "" if page == "2" else "/xapi/statements?page=2"
        body = f'{{"statements": [], "more": "{more}"}}'
        return Response(body, content_type="application/json")

    return app


def test_more_is_followed_on_the_endpoints_own_scheme_and_server(
    serve: Callable[[Flask], str],
) -> None:
    endpoint = serve(result_app())
    client = client_of(endpoint)
    first = client.statements({"limit": "1"})
    assert first.more == "/xapi/statements?page=2"
    assert client.more(first.more).more is None
    server = endpoint.removesuffix("/xapi/")
    assert client.more(server + "/xapi/statements?page=2").more is None
    client.close()


@pytest.mark.parametrize(
    ("endpoint", "more"),
    [
        # The Basic auth header would cross the network in clear text.
        ("https://lrs.example.org/xapi/", "http://lrs.example.org/xapi/statements?page=2"),
        ("https://lrs.example.org/xapi/", "http://lrs.example.org:443/xapi/statements?page=2"),
        ("http://lrs.example.org/xapi/", "https://lrs.example.org/xapi/statements?page=2"),
        ("https://lrs.example.org/xapi/", "https://elsewhere.example.org/xapi/statements"),
        ("https://lrs.example.org/xapi/", "//elsewhere.example.org/xapi/statements"),
        ("https://lrs.example.org/xapi/", "http://[lrs.example.org/xapi/statements"),
    ],
)
def test_more_off_the_endpoints_scheme_or_server_is_not_asked(endpoint: str, more: str) -> None:
    asked: list[str] = []
    client = client_of(endpoint, host_check=asked.append)  # sees each URL before its request
    with pytest.raises(RemoteNotConformant, match="`more` URL"):
        client.more(more)
    assert asked == []
    client.close()


# ------------------------------------------------------------------ endpoint ports


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://lrs.example.org:99999/xapi/",
        "https://lrs.example.org:0/xapi/",
        "https://lrs.example.org:x443/xapi/",
        "https://[::1/xapi/",
    ],
)
def test_an_endpoint_with_an_unusable_port_or_host_is_refused(endpoint: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_endpoint(endpoint)
    assert refused.value.path == "endpoint"
    assert refused.value.rule


def test_an_endpoint_with_a_port_is_kept() -> None:
    assert check_endpoint(" https://lrs.example.org:8443/xapi ") == (
        "https://lrs.example.org:8443/xapi/"
    )


def test_an_owners_source_with_an_out_of_range_port_is_refused_as_input(here: Store) -> None:
    """What POST /api/me/sources does: InvalidInput (a 400), not a ValueError (a 500)."""
    with pytest.raises(InvalidInput) as refused:
        add_source(
            here,
            Connection(instance_secret=SECRET, retry=Retry(attempts=1)),
            name="remote",
            endpoint="https://lrs.example.org:99999/xapi/",
            key="key",
            secret=PASSWORD,
            owner="someone",
        )
    assert refused.value.path == "endpoint"
    assert here.sources.list() == []


# ------------------------------------------------------------------- answer size

CAP = 1000


def sized_app(body: Callable[[], Response]) -> Flask:
    app = Flask("sized")
    app.add_url_rule("/xapi/statements", "statements", body)
    return app


def padded_result(size: int) -> bytes:
    head = b'{"statements": []'
    return head + b" " * (size - len(head) - 1) + b"}"


def test_an_answer_up_to_the_cap_is_read(serve: Callable[[Flask], str]) -> None:
    def exactly_the_cap() -> Response:
        return Response(padded_result(CAP), content_type="application/json")

    client = client_of(serve(sized_app(exactly_the_cap)), max_response_bytes=CAP)
    assert client.statements({"limit": "1"}).statements == []
    client.close()


def test_a_streamed_answer_past_the_cap_is_refused(serve: Callable[[Flask], str]) -> None:
    def endless() -> Response:
        def chunks() -> Iterator[bytes]:
            yield b'{"statements": ['
            for _ in range(100):
                yield b" " * 500

        return Response(chunks(), content_type="application/json")  # chunked: no length

    client = client_of(serve(sized_app(endless)), max_response_bytes=CAP)
    with pytest.raises(RemoteNotConformant, match=f"answered with more than {CAP} bytes"):
        client.statements({"limit": "1"})
    client.close()


def test_a_compressed_answer_is_measured_as_it_unpacks(serve: Callable[[Flask], str]) -> None:
    """A small body that inflates past the cap (a compression bomb) is refused too."""

    def bomb() -> Response:
        packed = gzip.compress(padded_result(100 * CAP))
        assert len(packed) < CAP
        return Response(
            packed, content_type="application/json", headers={"Content-Encoding": "gzip"}
        )

    client = client_of(serve(sized_app(bomb)), max_response_bytes=CAP)
    with pytest.raises(RemoteNotConformant, match=f"answered with more than {CAP} bytes"):
        client.statements({"limit": "1"})
    client.close()


def test_a_declared_length_past_the_cap_is_refused_before_reading(
    serve: Callable[[Flask], str],
) -> None:
    """The body is not waited for: this remote would never finish sending it."""
    finish = threading.Event()

    def huge() -> Response:
        def slowly() -> Iterator[bytes]:
            yield b'{"statements": ['
            finish.wait(10)

        return Response(
            slowly(), content_type="application/json", headers={"Content-Length": "10000000000"}
        )

    client = client_of(serve(sized_app(huge)), max_response_bytes=CAP, timeout=5.0)
    started = time.monotonic()
    try:
        with pytest.raises(RemoteNotConformant, match=f"answered with more than {CAP} bytes"):
            client.statements({"limit": "1"})
    finally:
        finish.set()
    assert time.monotonic() - started < 4
    client.close()


def test_the_connection_gives_its_clients_its_cap(serve: Callable[[Flask], str]) -> None:
    assert Connection(instance_secret=SECRET).max_response_bytes == 64 * 1024 * 1024

    def too_big() -> Response:
        return Response(padded_result(CAP + 1), content_type="application/json")

    connection = Connection(instance_secret=SECRET, retry=Retry(attempts=1), max_response_bytes=CAP)
    remote = connection.seal(
        name="sized",
        endpoint=serve(sized_app(too_big)),
        username="key",
        secret=PASSWORD,
        xapi_version="1.0.3",
    )
    client = connection.client("sized", remote)
    with pytest.raises(RemoteNotConformant, match=f"answered with more than {CAP} bytes"):
        client.statements({"limit": "1"})
    client.close()
