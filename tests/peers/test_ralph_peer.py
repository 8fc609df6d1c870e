"""The Ralph fixture itself: a real, separate Ralph server that takes statements over more
than one POST, pages them out to our client and to tincan's, checks passwords and keeps its
store across restarts."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from tincan import RemoteLRS

from tests.peers import ralph as ralph_module
from tests.peers.ralph import Ralph
from tests.support import make_statement

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def statements(count: int, first: int = 0) -> list[dict[str, Any]]:
    """Statements with ids and aware timestamps that rise in posting order: Ralph's `since`
    compares timestamps, and a zoneless one breaks its later queries."""
    return [
        make_statement(timestamp=(START + timedelta(seconds=first + i)).isoformat())
        for i in range(count)
    ]


def ids(statements: list[dict[str, Any]]) -> list[str]:
    return [statement["id"] for statement in statements]


def test_statements_posted_in_two_posts_are_read_back_in_order(ralph: Ralph) -> None:
    sent = statements(250)

    # The second POST is the one Ralph 5.1.0's fs backend refuses without the launcher's fix.
    assert ralph.post(sent[:100]) == ids(sent[:100])
    assert ralph.post(sent[100:]) == ids(sent[100:])

    assert ids(ralph.all_statements()) == ids(sent)


def test_a_long_list_goes_in_batches_and_a_full_last_page_is_read(ralph: Ralph) -> None:
    sent = statements(600)  # two POSTs of 500 and 100; six full pages, then an empty one

    assert ralph.post(sent) == ids(sent)
    assert ralph.post(sent) == []  # all known: 204, no body

    assert ids(ralph.all_statements()) == ids(sent)


def test_tincan_remote_lrs_pages_through_ralph(ralph: Ralph) -> None:
    sent = statements(120)
    ralph.post(sent)
    lrs = RemoteLRS(
        endpoint=ralph.endpoint, version="1.0.3", username=ralph.username, password=ralph.password
    )

    response = lrs.query_statements({"limit": 50})
    assert response.success, response.data
    read = [str(statement.id) for statement in response.content.statements]
    while response.content.more:
        response = lrs.more_statements(response.content)
        assert response.success, response.data
        read += [str(statement.id) for statement in response.content.statements]

    assert read == ids(sent)


def test_each_user_signs_in_with_their_own_password(tmp_path: Path) -> None:
    server = Ralph(
        tmp_path / "ralph",
        users=[
            ("alice", "secret", "mailto:alice@example.org"),
            ("bob", "hunter2", "mailto:bob@example.org"),
        ],
    )
    server.start()
    try:
        url = server.endpoint + "statements"
        posted = requests.post(url, json=statements(1), auth=("bob", "hunter2"), timeout=10)
        assert posted.status_code == 200, posted.text

        wrong = requests.get(url, auth=("alice", "hunter2"), timeout=10)
        assert wrong.status_code == 401
        assert wrong.headers["WWW-Authenticate"] == "Basic"

        [stored] = server.all_statements()  # as alice
        assert stored["authority"]["mbox"] == "mailto:bob@example.org"
    finally:
        server.stop()


def test_the_store_survives_a_restart_and_a_kill(ralph: Ralph) -> None:
    sent = statements(30)
    ralph.post(sent[:10])
    endpoint = ralph.endpoint

    ralph.restart()
    ralph.post(sent[10:20])
    ralph.kill()  # idle: nothing is being written
    ralph.start()
    ralph.post(sent[20:])

    assert ralph.endpoint == endpoint
    assert ids(ralph.all_statements()) == ids(sent)


def test_a_port_taken_before_ralph_binds_it_is_picked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        picks = iter([taken, ralph_module.free_port()])
        monkeypatch.setattr(ralph_module, "free_port", lambda: next(picks))
        server = Ralph(tmp_path / "ralph")
        server.start()
        try:
            assert server.port != taken
            assert requests.get(server.endpoint + "statements", timeout=10).status_code == 401
        finally:
            server.stop()


def test_without_the_ralph_venv_the_fixture_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPDFOLIO_RALPH_PYTHON", str(tmp_path / "missing" / "python"))

    with pytest.raises(FileNotFoundError, match="make peers"):
        Ralph(tmp_path / "ralph")
