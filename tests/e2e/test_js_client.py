"""A JavaScript client against `cpdfolio serve`: the @xapi/xapi library (xAPI.js, what
e-learning content and authoring tools use), run with node by tests/js/client_roundtrip.mjs,
saves and reads statements and State documents over real HTTP (gunicorn, two workers,
SQLite); then the test reads through the HTTP API what the library wrote.

Node.js and `tests/js/node_modules` (installed by `make install` with `npm ci`) are
required: CI has them, so their absence fails the test rather than skipping it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Instance

JS_DIR = Path(__file__).parents[1] / "js"
SCRIPT = JS_DIR / "client_roundtrip.mjs"
MANAGER = "mailto:sian.jones@council.example.gov.uk"


def node_with_client() -> str:
    """The node executable, once node 18+ and tests/js/node_modules are known to be there."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not on PATH: this test runs a JavaScript xAPI client. Install Node.js 18 "
            "or newer with npm (e.g. `apt-get install nodejs npm`), then run `make install`.",
            pytrace=False,
        )
    found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    major = re.match(r"v(\d+)\.", found.stdout)
    if major is None or int(major.group(1)) < 18:
        pytest.fail(f"Node.js 18 or newer is needed, found {found.stdout.strip()}", pytrace=False)
    if not (JS_DIR / "node_modules" / "@xapi" / "xapi" / "package.json").is_file():
        pytest.fail(
            "tests/js/node_modules is missing: run `make install` "
            "(it runs `npm ci --prefix tests/js`).",
            pytrace=False,
        )
    return node


def run_client(node: str, *, url: str, credentials: dict[str, str], version: str) -> Any:
    # The secret goes in the environment, not on the command line where `ps` shows it.
    env = {**os.environ, "XAPI_KEY": credentials["key"], "XAPI_SECRET": credentials["secret"]}
    run = subprocess.run(
        [node, str(SCRIPT), "--endpoint", url + "/xapi/", "--version", version],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, f"client_roundtrip.mjs failed:\n{run.stderr}\n{run.stdout}"
    return json.loads(run.stdout)


def as_sent(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """`stored` without what the LRS adds to a statement its sender left out: `id`,
    `stored`, `authority`, `version` and, when not sent, `timestamp` (Data 2.4)."""
    added = {"id", "stored", "authority", "version", "timestamp"} - sent.keys()
    return {key: value for key, value in stored.items() if key not in added}


class XapiReader:
    """GETs on the xAPI endpoint with plain `requests`, as the client's credentials."""

    def __init__(self, *, url: str, credentials: dict[str, str], version: str) -> None:
        self.endpoint = url + "/xapi/"
        self.auth = (credentials["key"], credentials["secret"])
        self.headers = {"X-Experience-API-Version": version}

    def get(self, resource: str, **params: str) -> requests.Response:
        return requests.get(
            self.endpoint + resource,
            params=params,
            headers=self.headers,
            auth=self.auth,
            timeout=10,
        )


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_xapi_js_saves_and_reads_statements_and_state_through_cpdfolio_serve(
    instance: Instance, version: str
) -> None:
    node = node_with_client()
    assert instance.cli("db", "init").returncode == 0
    created = instance.cli(
        "clients",
        "create",
        "--name",
        "Course package",
        "--scope",
        "statements/write",
        "--scope",
        "statements/read",
        "--scope",
        "state",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout)
    url = instance.serve(workers=2)

    summary = run_client(node, url=url, credentials=credentials, version=version)

    assert version in summary["about"]["version"]

    # Statements: one, then a batch whose client-made ids come back in order
    # (Communication 2.1.2: POST returns the ids in the order sent).
    batch = summary["batch"]
    assert batch["ids"] == [s["id"] for s in batch["sent"]]
    fetched = summary["fetched"]["statement"]
    assert fetched["id"] == summary["statement"]["id"]
    assert as_sent(fetched, summary["statement"]["sent"]) == summary["statement"]["sent"]
    assert fetched["result"]["score"]["scaled"] == 0.92
    assert fetched["context"]["registration"] == summary["state"]["registration"]
    assert fetched["authority"]["account"]["name"] == credentials["key"]
    # Data 2.4.10: a statement sent without a version is stored as 1.0.0 (as 2.0.0 in 2.0.0).
    assert fetched["version"] == {"1.0.3": "1.0.0", "2.0.0": "2.0.0"}[version]
    assert summary["fetched"]["consistentThrough"]

    # The agent filter returns the manager's four statements, newest first, two a page; the
    # colleague's is not among them. `more` is a path on the same host (Data 2.5: a relative
    # IRL with the full path), which is what @xapi/xapi's getMoreStatements expects.
    query = summary["query"]
    managers_batch = [s["id"] for s in batch["sent"] if s["actor"]["mbox"] == MANAGER]
    assert query["ids"] == [*reversed(managers_batch), summary["statement"]["id"]]
    assert query["pageSizes"] == [2, 2]
    assert query["more"][0].startswith("/xapi/statements?")
    assert query["more"][-1] == ""

    # State: create-if-absent, ETag compare-and-set updates, JSON merge, the id list, delete
    # (Communication 2.3 and 3.1). cpdfolio also answers every write with the new ETag.
    state = summary["state"]
    etag = re.compile(r'^"[^"]+"$')  # a strong entity tag, which If-Match can compare
    assert state["created"]["status"] == 204 and etag.match(state["created"]["etag"])
    assert state["createAgain"] == 412
    assert state["read"]["content"] == {
        "page": 3,
        "answers": {"q1": "b", "q2": "d"},
        "suspended": True,
    }
    assert state["read"]["contentType"].startswith("application/json")
    assert state["read"]["etag"] == state["created"]["etag"]
    assert state["updated"]["status"] == 204
    assert etag.match(state["updated"]["etag"])
    assert state["updated"]["etag"] != state["created"]["etag"]
    assert state["merged"]["status"] == 204
    final = state["final"]["content"]
    assert final == {
        "page": 7,
        "answers": {"q1": "b", "q2": "d", "q3": "a"},
        "suspended": False,
        "completedAt": final["completedAt"],
    }
    assert state["final"]["etag"] == state["merged"]["etag"]
    assert state["staleWrite"] == 412
    assert sorted(state["idsBeforeDelete"]) == ["bookmark", "progress"]
    assert state["deleted"]["status"] == 204
    assert state["idsAfterDelete"] == ["progress"]
    assert state["deletedRead"] == 404

    # What the library wrote is stored: read it back through the HTTP API, not the library.
    api = XapiReader(url=url, credentials=credentials, version=version)
    for sent in [summary["statement"]["sent"] | {"id": summary["statement"]["id"]}, *batch["sent"]]:
        response = api.get("statements", statementId=sent["id"])
        assert response.status_code == 200, response.text
        assert as_sent(response.json(), sent) == sent
    listed = api.get("statements", agent=json.dumps({"mbox": MANAGER}), limit="10")
    assert [s["id"] for s in listed.json()["statements"]] == query["ids"]

    where = {
        "activityId": state["activityId"],
        "agent": json.dumps({"objectType": "Agent", "mbox": state["agent"]}),
        "registration": state["registration"],
    }
    progress = api.get("activities/state", **where, stateId="progress")
    assert progress.status_code == 200, progress.text
    assert progress.json() == final
    assert progress.headers["Content-Type"].startswith("application/json")
    assert progress.headers["ETag"] == state["final"]["etag"]
    assert api.get("activities/state", **where, stateId="bookmark").status_code == 404
    assert api.get("activities/state", **where).json() == ["progress"]
