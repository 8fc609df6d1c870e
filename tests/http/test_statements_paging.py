"""`more` links: keyset paging that stays correct while statements keep arriving
(Communication 2.1.3, StatementResult; DESIGN.md: pagination is keyset, never offset)."""

from __future__ import annotations

import json
import threading

from tests.conftest import Xapi
from tests.support import make_statement


def page_through(xapi: Xapi, **params: str) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    response = xapi.get("/statements", params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [s["id"] for s in body["statements"]]
        pages += 1
        if not body["more"]:
            return ids, pages
        assert body["more"].startswith("/xapi/statements?more=")
        response = xapi.get(body["more"].removeprefix("/xapi"))


def test_more_links_walk_every_statement_once_in_order(xapi: Xapi) -> None:
    posted = xapi.post("/statements", json=[make_statement() for _ in range(23)]).json()
    ids, pages = page_through(xapi, limit="5")
    assert sorted(ids) == sorted(posted)
    assert len(ids) == len(set(ids)) == 23
    assert pages == 5


def test_more_links_keep_the_query_filters(xapi: Xapi) -> None:
    for i in range(12):
        xapi.post("/statements", json=make_statement(actor="ann" if i % 2 else "bob"))
    ann = json.dumps({"mbox": "mailto:ann@example.org"})
    ids, _ = page_through(xapi, agent=ann, limit="2")
    assert len(ids) == 6
    for sid in ids:
        got = xapi.get("/statements", params={"statementId": sid}).json()
        assert got["actor"]["mbox"] == "mailto:ann@example.org"


def test_ascending_paging_reaches_statements_that_arrive_meanwhile(xapi: Xapi) -> None:
    first = xapi.post("/statements", json=[make_statement() for _ in range(6)]).json()
    seen: list[str] = []
    body = xapi.get("/statements", params={"limit": "4", "ascending": "true"}).json()
    seen += [s["id"] for s in body["statements"]]
    later = xapi.post("/statements", json=[make_statement() for _ in range(3)]).json()
    while body["more"]:
        body = xapi.get(body["more"].removeprefix("/xapi")).json()
        seen += [s["id"] for s in body["statements"]]
    assert seen == first + later


def test_descending_paging_is_not_disturbed_by_new_statements(xapi: Xapi) -> None:
    """New statements sort before the cursor, so the pages already promised stay intact."""
    old = xapi.post("/statements", json=[make_statement() for _ in range(9)]).json()
    stop = threading.Event()

    def keep_posting() -> None:
        while not stop.is_set():
            xapi.post("/statements", json=make_statement())

    poster = threading.Thread(target=keep_posting)
    first_page = xapi.get("/statements", params={"limit": "3"}).json()
    seen = [s["id"] for s in first_page["statements"]]
    poster.start()
    try:
        body = first_page
        while body["more"]:
            body = xapi.get(body["more"].removeprefix("/xapi")).json()
            seen += [s["id"] for s in body["statements"]]
    finally:
        stop.set()
        poster.join()
    assert seen == old[::-1]
