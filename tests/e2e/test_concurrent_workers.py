"""Several gunicorn worker processes writing to one SQLite store at once: nothing lost,
nothing doubled, `stored` strictly increasing, and every batch all or nothing."""

from __future__ import annotations

import json
import threading
import uuid

import requests

from tests.e2e.conftest import Instance
from tests.support import make_statement


def test_concurrent_batches_through_two_workers_all_land_in_order(instance: Instance) -> None:
    instance.cli("db", "init")
    creds = json.loads(
        instance.cli("clients", "create", "--name", "LMS", "--scope", "all", "--json").stdout
    )
    url = instance.serve(workers=2) + "/xapi/statements"
    session_headers = {"X-Experience-API-Version": "1.0.3"}
    auth = (creds["key"], creds["secret"])
    sent: list[list[str]] = []
    refused: list[str] = []
    failures: list[str] = []

    def client(n: int) -> None:
        with requests.Session() as session:
            for i in range(15):
                batch = [make_statement(actor=f"learner{n}") for _ in range(20)]
                # Every fifth batch carries a bad statement: it must store none of its 20.
                if i % 5 == 4:
                    batch[-1]["actor"] = {"mbox": "not-a-mailto"}
                response = session.post(
                    url, json=batch, headers=session_headers, auth=auth, timeout=60
                )
                if response.status_code == 200:
                    sent.append([s["id"] for s in batch])
                elif response.status_code == 400:
                    refused.append(batch[0]["id"])
                else:
                    failures.append(f"{response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert len(refused) == 6 * 3 and len(sent) == 6 * 12

    stored: list[dict] = []  # type: ignore[type-arg]
    response = requests.get(
        url,
        params={"limit": "500", "ascending": "true"},
        headers=session_headers,
        auth=auth,
        timeout=30,
    ).json()
    while True:
        stored += response["statements"]
        if not response["more"]:
            break
        response = requests.get(
            url.removesuffix("/xapi/statements") + response["more"],
            headers=session_headers,
            auth=auth,
            timeout=30,
        ).json()
    stored_ids = [s["id"] for s in stored]
    expected = {sid for batch in sent for sid in batch}
    assert len(stored_ids) == len(set(stored_ids)) == len(expected)
    assert set(stored_ids) == expected
    assert not set(refused) & set(stored_ids)
    times = [s["stored"] for s in stored]
    assert times == sorted(times) and len(set(times)) == len(times)
    # Each accepted batch reads back contiguous and in the order it was sent.
    position = {sid: i for i, sid in enumerate(stored_ids)}
    for batch in sent:
        places = [position[sid] for sid in batch]
        assert places == list(range(places[0], places[0] + len(batch)))
    assert str(uuid.UUID(stored_ids[0]))
