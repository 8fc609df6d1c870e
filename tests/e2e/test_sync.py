"""Pulling from other LRSs through the installed command, as real processes: Ralph (an
independently written LRS, tests/peers) and a second cpdfolio instance.

What is checked is what a user of `cpdfolio sync` relies on: the exact remote set
arrives, runs continue where the last one stopped, a run killed with SIGKILL at any
point leaves nothing lost and nothing twice, and conflicts are reported, not applied.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from portfolio.storage.sqlite import SqliteStore
from tests.e2e.conftest import CPDFOLIO, Instance, free_port
from tests.peers.ralph import Ralph

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# Ralph's `since` compares timestamps, not `stored` (docs/research/ralph-peer.md).
RALPH = ("--since-field", "timestamp")


def statements(
    count: int, *, first: int = 0, mbox: str = "mailto:learner@council.example"
) -> list[dict[str, Any]]:
    """Distinct statements whose timestamps rise in order (Ralph's `since` compares them)."""
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"statement-{mbox}-{n}")),
            "actor": {"objectType": "Agent", "mbox": mbox, "name": "A Learner"},
            "verb": {"id": COMPLETED, "display": {"en-GB": "completed"}},
            "object": {
                "objectType": "Activity",
                "id": f"https://lms.example/course/{n}",
                "definition": {"name": {"en-GB": f"Course {n}"}},
            },
            "result": {"completion": True, "duration": "PT1H"},
            "timestamp": (START + timedelta(minutes=n)).isoformat().replace("+00:00", "Z"),
        }
        for n in range(first, first + count)
    ]


def stored_ids(instance: Instance) -> list[str]:
    """Every statement id in the instance's store, read from the SQLite file itself."""
    store = SqliteStore(instance.root / "var" / "cpdfolio.db")
    try:
        con = store.connection()
        return [str(row[0]) for row in con.execute("SELECT id FROM statements")]
    finally:
        store.close()


def add_source(
    instance: Instance, name: str, endpoint: str, key: str, secret: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return instance.cli(
        "sources",
        "add",
        name,
        "--endpoint",
        endpoint,
        "--key",
        key,
        "--secret-stdin",
        *extra,
        stdin=secret + "\n",
    )


@pytest.fixture
def here(tmp_path: Path) -> Instance:
    inst = Instance(tmp_path / "here")
    inst.root.mkdir()
    assert inst.cli("db", "init").returncode == 0
    return inst


# ---------------------------------------------------------------------------- Ralph


def test_pull_from_ralph_brings_the_exact_set_and_continues_from_the_checkpoint(
    ralph: Ralph, here: Instance
) -> None:
    first = statements(250)
    ralph.post(first)
    added = add_source(here, "ralph", ralph.endpoint, ralph.username, ralph.password, *RALPH)
    assert added.returncode == 0, added.stderr
    assert "source ralph added" in added.stdout

    run = here.cli("sync", "ralph")
    assert run.returncode == 0, run.stderr + run.stdout
    assert "250 fetched, 250 new, 0 duplicate, 0 conflicts, 0 rejected" in run.stdout
    assert sorted(stored_ids(here)) == sorted(s["id"] for s in first)

    # Provenance: Ralph's `stored` and authority are kept beside each statement.
    remote = {s["id"]: s for s in ralph.all_statements()}
    store = SqliteStore(here.root / "var" / "cpdfolio.db")
    try:
        provenance = store.sources.provenance([first[0]["id"]])[first[0]["id"]][0]
        ours = json.loads(store.statements.get(first[0]["id"]).to_json())  # type: ignore[union-attr]
    finally:
        store.close()
    assert provenance.source == "ralph"
    assert provenance.remote_stored == remote[first[0]["id"]]["stored"]
    assert provenance.remote_authority == remote[first[0]["id"]]["authority"]
    assert ours["authority"]["account"]["name"] == "source:ralph"

    # More arrive at Ralph: the next run fetches from the checkpoint, not from the start.
    more = statements(40, first=250)
    ralph.post(more)
    run = here.cli("sync", "ralph", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["new"] == 40
    assert summary["fetched"] < 250  # only the overlap is fetched again
    assert sorted(stored_ids(here)) == sorted(s["id"] for s in first + more)

    listed = json.loads(here.cli("sources", "list", "--json").stdout)
    assert listed[0]["last_run"]["status"] == "ok"
    assert listed[0]["last_run"]["new"] == 40
    assert "secret" not in json.dumps(listed)


def test_a_sync_killed_mid_run_ends_with_exactly_the_remote_set(
    ralph: Ralph, here: Instance
) -> None:
    """SIGKILL at several points of one long run; each next run continues, and the end is
    the remote set exactly: nothing lost, nothing twice."""
    remote = statements(800)
    ralph.post(remote)
    assert (
        add_source(here, "ralph", ralph.endpoint, ralph.username, ralph.password, *RALPH).returncode
        == 0
    )
    here.env["CPDFOLIO_PULL_PAGE_SIZE"] = "10"  # 80 pages: many points to be killed at
    kills = 0
    for target in (150, 350, 550):
        process = subprocess.Popen(
            [CPDFOLIO, "sync", "ralph"],
            env=here.env,
            cwd=here.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if len(stored_ids(here)) >= target:
                process.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.02)
        process.wait(timeout=30)
        assert len(stored_ids(here)) < len(remote), "the run ended before it could be killed"
    assert kills == 3
    final = here.cli("sync", "ralph", "--json")
    assert final.returncode == 0, final.stderr
    ids = stored_ids(here)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(s["id"] for s in remote)
    assert json.loads(final.stdout)["conflicts"] == []


def test_pull_errors_are_clear_and_store_nothing(ralph: Ralph, here: Instance) -> None:
    wrong = add_source(here, "ralph", ralph.endpoint, ralph.username, "not-the-secret")
    assert wrong.returncode == 1
    assert "refused the credentials" in wrong.stderr
    assert here.cli("sources", "list", "--json").stdout.strip() == "[]"

    bad = add_source(here, "ftp", "ftp://lrs.example/xapi/", "k", "s")
    assert bad.returncode == 1 and "endpoint" in bad.stderr and "http" in bad.stderr

    # An endpoint nobody answers at: added without the check, the sync fails clearly.
    dead_port = free_port()
    added = add_source(here, "gone", f"http://127.0.0.1:{dead_port}/xapi/", "k", "s", "--no-check")
    assert added.returncode == 0, added.stderr
    here.env["CPDFOLIO_REMOTE_ATTEMPTS"] = "2"
    run = here.cli("sync", "gone")
    assert run.returncode == 1
    assert "gone: FAILED" in run.stdout and "cannot be reached" in run.stdout
    listed = json.loads(here.cli("sources", "list", "--json").stdout)
    gone = next(s for s in listed if s["name"] == "gone")
    assert gone["last_run"]["status"] == "failed"
    assert "cannot be reached" in gone["last_run"]["error"]

    unknown = here.cli("sync", "nope")
    assert unknown.returncode == 1 and "no source named 'nope'" in unknown.stderr


# ------------------------------------------------------------ a second cpdfolio instance


@pytest.fixture
def there(tmp_path: Path) -> Any:
    inst = Instance(tmp_path / "there")
    inst.root.mkdir()
    assert inst.cli("db", "init").returncode == 0
    created = json.loads(
        inst.cli("clients", "create", "--name", "puller", "--scope", "all", "--json").stdout
    )
    inst.serve(workers=1)
    yield inst, created["key"], created["secret"]
    inst.stop()


def test_pull_from_another_cpdfolio_with_attachments_and_a_conflict(
    there: Any, here: Instance
) -> None:
    remote, key, secret = there
    endpoint = remote.url + "/xapi/"
    auth = (key, secret)
    headers = {"X-Experience-API-Version": "1.0.3"}
    plain = statements(30)
    assert requests.post(endpoint + "statements", json=plain, auth=auth, headers=headers).ok

    # One statement with an attachment, sent as multipart/mixed.
    data = b"certificate of completion\n"
    sha2 = hashlib.sha256(data).hexdigest()
    with_file = statements(1, first=30)[0]
    with_file["attachments"] = [
        {
            "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
            "display": {"en-GB": "Certificate"},
            "contentType": "text/plain",
            "length": len(data),
            "sha2": sha2,
        }
    ]
    boundary = "xyzzy"
    body = (
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        + json.dumps(with_file).encode()
        + f"\r\n--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary"
        f"\r\nX-Experience-API-Hash: {sha2}\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    posted = requests.post(
        endpoint + "statements",
        data=body,
        auth=auth,
        headers={**headers, "Content-Type": f"multipart/mixed; boundary={boundary}"},
    )
    assert posted.ok, posted.text

    # Here already holds one of those ids with other content: a conflict to report.
    clash = dict(plain[3], verb={"id": "http://adlnet.gov/expapi/verbs/attempted"})
    local = json.loads(
        here.cli("clients", "create", "--name", "lms", "--scope", "all", "--json").stdout
    )
    here.serve(workers=1)
    try:
        assert requests.post(
            here.url + "/xapi/statements",
            json=[clash],
            auth=(local["key"], local["secret"]),
            headers=headers,
        ).ok
    finally:
        here.stop()

    assert add_source(here, "council-a", endpoint, key, secret).returncode == 0
    run = here.cli("sync", "council-a", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["fetched"], summary["new"], summary["duplicate"]) == (31, 30, 0)
    assert summary["conflicts"] == [plain[3]["id"]]
    human = here.cli("sync", "council-a")
    assert f"conflict: {plain[3]['id']}" in human.stdout

    store = SqliteStore(here.root / "var" / "cpdfolio.db")
    try:
        assert store.statements.get_attachments([sha2])[sha2].content == data
        kept = json.loads(store.statements.get(plain[3]["id"]).body)  # type: ignore[union-attr]
        assert kept["verb"]["id"] == "http://adlnet.gov/expapi/verbs/attempted"
        assert store.statements.count() == 31
    finally:
        store.close()


def test_an_uninitialised_store_is_a_message_not_a_traceback(instance: Instance) -> None:
    for command in (("sources", "list"), ("sync",), ("forward", "status"), ("people", "list")):
        done = instance.cli(*command)
        assert done.returncode == 1, command
        assert "the store is not initialised: run `cpdfolio db init`" in done.stderr, command
        assert "Traceback" not in done.stderr, command


def test_sync_of_every_source_reports_one_that_cannot_be_opened_and_goes_on(
    there: Any, here: Instance
) -> None:
    """A source sealed under an earlier CPDFOLIO_SECRET_KEY fails on its own: the sources
    after it still sync, --json reports both, and the exit status says one failed."""
    remote, key, secret = there
    endpoint = remote.url + "/xapi/"
    headers = {"X-Experience-API-Version": "1.0.3"}
    sent = statements(5)
    assert requests.post(endpoint + "statements", json=sent, auth=(key, secret), headers=headers).ok
    here.env["CPDFOLIO_SECRET_KEY"] = "the secret key before"
    assert add_source(here, "a-sealed-before", endpoint, key, secret).returncode == 0
    here.env["CPDFOLIO_SECRET_KEY"] = "the secret key now"
    assert add_source(here, "council-a", endpoint, key, secret).returncode == 0

    run = here.cli("sync", "--json")
    assert run.returncode == 1, run.stderr
    results = {r["source"]: r for r in json.loads(run.stdout)}
    assert results["a-sealed-before"]["status"] == "failed"
    assert "cannot be opened" in results["a-sealed-before"]["error"]
    assert (results["council-a"]["status"], results["council-a"]["new"]) == ("ok", 5)
    assert sorted(stored_ids(here)) == sorted(s["id"] for s in sent)

    human = here.cli("sync")
    assert human.returncode == 1
    assert "a-sealed-before: FAILED: the stored credentials" in human.stdout
    assert "council-a: done." in human.stdout
    listed = {s["name"]: s for s in json.loads(here.cli("sources", "list", "--json").stdout)}
    assert listed["a-sealed-before"]["last_run"]["status"] == "failed"
