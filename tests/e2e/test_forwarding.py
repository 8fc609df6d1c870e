"""Forwarding between real cpdfolio processes: instance A forwards what it stores to
instance B (`cpdfolio serve`, an all-scope client of B), configured and run with the
`cpdfolio forward` commands (docs/forwarding.md).

The acceptance test of issue 6: forwarding to a destination that is down for a while
delivers everything once it is back, and nothing twice.

A and B are shared by the tests of a module (each worker starts its own); every test
has its own destinations and its own activity, so they see only their statements.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Instance
from tests.support import ATTEMPTED, COMPLETED, make_statement, voiding

pytestmark = pytest.mark.slow

# Retries due after 1 s, then 2 s: the outbox's backoff without the wait of production.
FAST_RETRIES = {
    "CPDFOLIO_FORWARD_BACKOFF_SECONDS": "1",
    "CPDFOLIO_FORWARD_BACKOFF_MAX_SECONDS": "2",
}


class Lrs:
    """A cpdfolio instance with an all-scope LRS client of its own."""

    def __init__(self, root: Path, **env: str) -> None:
        root.mkdir(exist_ok=True)
        self.instance = Instance(root)
        self.instance.env.update(env)
        assert self.cli("db", "init").returncode == 0
        created = self.cli("clients", "create", "--name", "forwarding", "--scope", "all", "--json")
        assert created.returncode == 0, created.stderr
        credentials = json.loads(created.stdout)
        self.session = requests.Session()
        self.session.auth = (credentials["key"], credentials["secret"])
        self.session.headers["X-Experience-API-Version"] = "1.0.3"
        self.key, self.secret = credentials["key"], credentials["secret"]
        self.endpoint = ""

    def cli(self, *args: str, stdin: str | None = None) -> Any:
        return self.instance.cli(*args, stdin=stdin)

    def serve(self, port: int | None = None) -> None:
        self.endpoint = self.instance.serve(workers=1, port=port) + "/xapi/"

    def stop(self) -> None:
        self.instance.stop()

    def post(self, statements: list[dict[str, Any]]) -> list[str]:
        reply = self.session.post(self.endpoint + "statements", json=statements, timeout=30)
        assert reply.status_code == 200, reply.text
        return list(reply.json())

    def ids_about(self, activity: str) -> list[str]:
        """The ids of the statements about `activity`, each as often as it is stored."""
        reply = self.session.get(
            self.endpoint + "statements",
            params={"activity": activity, "limit": "500", "ascending": "true"},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        assert not reply.json().get("more")
        return [s["id"] for s in reply.json()["statements"]]

    def add_destination(self, name: str, to: Lrs, *options: str, secret: str | None = None) -> Any:
        return self.cli(
            "forward",
            "add",
            name,
            "--endpoint",
            to.endpoint,
            "--key",
            to.key,
            "--secret-stdin",
            *options,
            stdin=(secret or to.secret) + "\n",
        )

    def status(self, name: str) -> dict[str, Any]:
        result = self.cli("forward", "status", "--json")
        assert result.returncode == 0, result.stderr
        [found] = [s for s in json.loads(result.stdout) if s["name"] == name]
        return dict(found)


def parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent commands at once (each `cpdfolio` start-up takes a second)."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    return [f.result() for f in futures]


@pytest.fixture(scope="module")
def lrs_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lrs, Lrs]]:
    """A (forwards, served so statements reach it over HTTP) and B (the destination)."""
    a, b = parallel(
        lambda: Lrs(tmp_path_factory.mktemp("a"), **FAST_RETRIES),
        lambda: Lrs(tmp_path_factory.mktemp("b")),
    )
    try:
        parallel(a.serve, b.serve)
        yield a, b
    finally:
        parallel(a.stop, b.stop)


def about(activity: str, kind: str, *, verb: str = COMPLETED, **extra: Any) -> dict[str, Any]:
    return make_statement(
        verb=verb,
        object={
            "objectType": "Activity",
            "id": activity,
            "definition": {"name": {"en-GB": "Forwarded"}, "type": kind},
        },
        **extra,
    )


def unique() -> tuple[str, str]:
    token = uuid.uuid4().hex[:12]
    return f"https://courses.example.org/{token}", f"https://types.example.org/{token}"


def test_statements_matching_the_filter_are_forwarded_once(lrs_pair: tuple[Lrs, Lrs]) -> None:
    a, b = lrs_pair
    activity, kind = unique()
    added = a.add_destination("completions", b, "--verb", COMPLETED, "--activity-type", kind)
    assert added.returncode == 0, added.stderr
    assert f"added destination completions -> {b.endpoint}" in added.stdout
    assert "accepts the credentials" in added.stdout
    assert b.secret not in added.stdout + added.stderr

    wanted = a.post([about(activity, kind) for _ in range(3)])
    a.post([about(activity, kind, verb=ATTEMPTED) for _ in range(2)])
    a.post([about(activity, "https://types.example.org/other")])

    run = a.cli("forward", "run", "--once", "--destination", "completions")
    assert run.returncode == 0, run.stderr
    assert "completions: sent 3, failed 0, dead 0" in run.stdout

    assert sorted(b.ids_about(activity)) == sorted(wanted)

    table, listed = parallel(
        lambda: a.cli("forward", "status"), lambda: a.cli("forward", "list", "--json")
    )
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:4] == ["DESTINATION", "PENDING", "SENT", "DEAD"]
    [row] = [r for r in rows if r.startswith("completions ")]
    assert row.split()[:4] == ["completions", "0", "3", "0"]

    [destination] = [d for d in json.loads(listed.stdout) if d["name"] == "completions"]
    assert destination["filter"] == {"verbs": [COMPLETED], "activity_types": [kind], "people": []}
    assert b.secret not in listed.stdout


def test_a_destination_down_for_a_while_gets_everything_once_it_is_back(
    lrs_pair: tuple[Lrs, Lrs],
) -> None:
    """The acceptance test; with it the dead-letter list and requeue. B is stopped, then
    served again at the same address."""
    a, b = lrs_pair
    port = int(b.endpoint.split(":")[2].split("/")[0])
    activity, kind = unique()
    # "patient" retries up to 10 times; "brittle" gives up after 2 failed attempts.
    added = parallel(
        lambda: a.add_destination("patient", b, "--verb", COMPLETED, "--activity-type", kind),
        lambda: a.add_destination(
            "brittle", b, "--verb", ATTEMPTED, "--activity-type", kind, "--max-attempts", "2"
        ),
    )
    assert [r.returncode for r in added] == [0, 0], [r.stderr for r in added]
    try:
        b.stop()
        completed = a.post([about(activity, kind) for _ in range(3)])
        attempted = a.post([about(activity, kind, verb=ATTEMPTED) for _ in range(2)])

        first = a.cli("forward", "run", "--once")
        first_failed = time.monotonic()
        assert first.returncode == 1
        assert "patient: sent 0, failed 3, dead 0" in first.stdout
        assert "brittle: sent 0, failed 2, dead 0" in first.stdout
        assert "cannot be reached" in first.stdout
        assert "Traceback" not in first.stderr
        status = a.status("patient")
        assert (status["pending"], status["sent"], status["dead"]) == (3, 0, 0)
        assert "cannot be reached" in status["last_error"]

        # Past the first backoff (1 s, +10% at most): tried again, still down.
        time.sleep(max(0.0, first_failed + 1.2 - time.monotonic()))
        second = a.cli("forward", "run", "--once")
        second_failed = time.monotonic()
        assert second.returncode == 1
        assert "patient: sent 0, failed 3, dead 0" in second.stdout
        assert "brittle: sent 0, failed 0, dead 2" in second.stdout

        dead = a.cli("forward", "dead", "brittle", "--json")
        assert dead.returncode == 0, dead.stderr
        letters = json.loads(dead.stdout)
        assert sorted(d["statement_id"] for d in letters) == sorted(attempted)
        assert all("cannot be reached" in d["error"] for d in letters)
        assert all(d["attempts"] == 2 for d in letters)

        # B comes back at the same address; the dead letters are put back in the queue.
        _, requeued = parallel(
            lambda: b.serve(port), lambda: a.cli("forward", "requeue", "brittle")
        )
        assert requeued.returncode == 0, requeued.stderr
        assert "requeued 2 statement(s) for brittle" in requeued.stdout

        time.sleep(max(0.0, second_failed + 2.3 - time.monotonic()))  # the second backoff
        back = a.cli("forward", "run", "--once")
        assert back.returncode == 0, back.stdout + back.stderr
        assert "patient: sent 3, failed 0, dead 0" in back.stdout
        assert "brittle: sent 2, failed 0, dead 0" in back.stdout

        held = b.ids_about(activity)
        assert len(held) == len(set(held)) == 5  # each statement once
        assert sorted(held) == sorted(completed + attempted)
        statuses = json.loads(a.cli("forward", "status", "--json").stdout)
        for name, sent in (("patient", 3), ("brittle", 2)):
            [status] = [s for s in statuses if s["name"] == name]
            assert (status["pending"], status["sent"], status["dead"]) == (0, sent, 0)
            assert status["next_attempt"] is None
    finally:
        if b.instance.process is None:  # the other tests of this worker need B
            b.serve(port)


def test_a_statement_the_destination_refuses_is_dead_and_the_rest_delivered(
    lrs_pair: tuple[Lrs, Lrs],
) -> None:
    a, b = lrs_pair
    activity, kind = unique()
    added = a.add_destination("strict", b, "--activity-type", kind)
    assert added.returncode == 0, added.stderr
    batch = [about(activity, kind) for _ in range(4)]
    # B already holds other content under one of the ids: it answers 409 for it.
    b.post([{**make_statement(actor="bob"), "id": batch[1]["id"]}])
    ids = a.post(batch)

    run = a.cli("forward", "run", "--once", "--destination", "strict")
    assert run.returncode == 0, run.stderr
    assert "strict: sent 3, failed 0, dead 1" in run.stdout

    assert sorted(b.ids_about(activity)) == sorted(ids[:1] + ids[2:])
    dead, table = parallel(
        lambda: a.cli("forward", "dead", "strict"), lambda: a.cli("forward", "status")
    )
    assert dead.returncode == 0, dead.stderr
    assert dead.stdout.startswith(ids[1])
    assert "409" in dead.stdout
    lines = table.stdout.splitlines()
    [at] = [n for n, line in enumerate(lines) if line.startswith("strict ")]
    assert lines[at].split()[:4] == ["strict", "0", "3", "1"]
    assert lines[at + 1].startswith("  last error: refused by the destination")
    assert "409" in lines[at + 1]


def test_voiding_reaches_a_destination_that_filters_by_verb(lrs_pair: tuple[Lrs, Lrs]) -> None:
    """A voiding statement's verb is `voided`: it follows its target, sent or still
    pending, to a destination filtered by verb and activity type, after the target."""
    a, b = lrs_pair
    activity, kind = unique()
    added = a.add_destination("voids", b, "--verb", COMPLETED, "--activity-type", kind)
    assert added.returncode == 0, added.stderr
    sent = a.post([about(activity, kind)])
    first = a.cli("forward", "run", "--once", "--destination", "voids")
    assert "voids: sent 1, failed 0, dead 0" in first.stdout, first.stdout + first.stderr
    pending = a.post([about(activity, kind)])

    voids = a.post([voiding(sent[0]), voiding(pending[0])])

    run = a.cli("forward", "run", "--once", "--destination", "voids")
    assert run.returncode == 0, run.stderr
    assert "voids: sent 3, failed 0, dead 0" in run.stdout  # the target, then both voids
    # Both targets voided there, as here: only the voids match, through their refs.
    assert sorted(b.ids_about(activity)) == sorted(voids)
    for voided in (sent[0], pending[0]):
        reply = b.session.get(
            b.endpoint + "statements", params={"voidedStatementId": voided}, timeout=30
        )
        assert reply.status_code == 200, reply.text


def test_bad_input_is_refused_with_a_message_and_nothing_stored(
    lrs_pair: tuple[Lrs, Lrs],
) -> None:
    a, b = lrs_pair

    def add(name: str, *args: str, stdin: str = b.secret + "\n") -> Any:
        return a.cli("forward", "add", name, "--key", b.key, *args, stdin=stdin)

    cases = {
        "unknown destination": (
            lambda: a.cli("forward", "requeue", "nope"),
            "no destination named 'nope'",
        ),
        "unknown destination to run": (
            lambda: a.cli("forward", "run", "--once", "--destination", "nope"),
            "no destination named 'nope'",
        ),
        "bad endpoint": (
            lambda: add("bad1", "--endpoint", "ftp://lrs.example.org/xapi", "--secret-stdin"),
            "--endpoint 'ftp://lrs.example.org/xapi' is not an http(s) URL",
        ),
        "wrong secret": (
            lambda: add("bad2", "--endpoint", b.endpoint, "--secret-stdin", stdin="wrong\n"),
            "--secret: " + b.endpoint + " refused the credentials",
        ),
        "no secret": (
            lambda: add("bad3", "--endpoint", b.endpoint, "--secret-stdin", stdin=""),
            "no secret on standard input",
        ),
    }
    results = dict(zip(cases, parallel(*(run for run, _message in cases.values())), strict=True))
    for label, (_run, message) in cases.items():
        result = results[label]
        assert result.returncode == 1, (label, result.stdout, result.stderr)
        assert message in result.stderr, (label, result.stderr)
        assert "Traceback" not in result.stderr, label
        assert b.secret not in result.stdout + result.stderr, label
    names = {d["name"] for d in json.loads(a.cli("forward", "list", "--json").stdout)}
    assert not names & {"bad1", "bad2", "bad3", "nope"}
