"""Findings of the security review, each pinned: one-time tokens stay out of logs, malformed
input is a 4xx naming the rule (never a 500), personal data is not cached, stored HTML
cannot run script from this origin, and dates are real calendar dates."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from flask import Flask
from gunicorn.config import Config

from portfolio.assessment import reviews
from portfolio.errors import StorageUnavailable
from portfolio.storage.base import Store
from schemas.portfolio import DATE_RULE
from service import api_mentoring
from service.errors import SECRET_ROUTES, redact_path
from service.wsgi import ACCESS_LOG_FORMAT, RedactingLogger, gunicorn_options, redact_uri
from tests.conftest import LiveServer, Xapi
from tests.http.test_people_and_record import Api, create_person, login
from tests.http.test_portfolio_evidence import KS1
from tests.http.test_portfolio_evidence import store as store

TOKEN = "Zm9vYmFyLXNlY3JldC1saW5rLXRva2VuLTEyMzQ1Njc4"
DEPTH_RULE = "must not nest deeper than 32 levels (max_json_depth)"


@pytest.fixture
def ann(app: Flask, live_server: LiveServer, store: Store) -> Api:
    create_person(app)
    return login(live_server)


# ------------------------------------------------------------- 1. tokens in logs


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/review/{TOKEN}", "/review/<token>"),
        (f"/mentoring/{TOKEN}", "/mentoring/<token>"),
        (f"/mentoring/{TOKEN}/extra", "/mentoring/<token>/extra"),
        (f"//review//{TOKEN}", "//review//<token>"),
        # An id that grants nothing is kept: it helps whoever reads the log.
        ("/api/me/mentoring/4f1c/confirm", "/api/me/mentoring/4f1c/confirm"),
        ("/api/me/goals/g1", "/api/me/goals/g1"),
        ("/reviews/x", "/reviews/x"),
        ("/health", "/health"),
    ],
)
def test_redact_path_hides_the_token_of_a_one_time_link(path: str, logged: str) -> None:
    assert redact_path(path) == logged


def test_redact_uri_keeps_host_and_query_but_not_the_token() -> None:
    assert (
        redact_uri(f"https://portfolio.example.org/review/{TOKEN}?lang=cy")
        == "https://portfolio.example.org/review/<token>?lang=cy"
    )


def test_every_route_that_takes_a_token_in_its_path_is_redacted(app: Flask) -> None:
    """A new route with a secret in its path must join SECRET_ROUTES: this fails until then."""
    for rule in app.url_map.iter_rules():
        if "token" not in rule.arguments:
            continue
        path = rule.rule.replace("<token>", TOKEN)
        assert TOKEN not in redact_path(path), rule.rule
        assert rule.rule.split("/")[1] in SECRET_ROUTES


def _access_line(**environ: Any) -> str:
    """One access-log line as RedactingLogger writes it with the given format."""
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", environ.pop("log_format", ACCESS_LOG_FORMAT))
    logger = RedactingLogger(cfg)
    out = io.StringIO()
    logger.access_log.handlers = [logging.StreamHandler(out)]
    env = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/review/{TOKEN}?x=1",
        "PATH_INFO": f"/review/{TOKEN}",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_REFERER": f"https://x.example/mentoring/{TOKEN}",
        **environ,
    }
    response = SimpleNamespace(status="200 OK", headers=[], sent=12)
    request = SimpleNamespace(headers=[("REFERER", f"https://x.example/mentoring/{TOKEN}")])
    logger.access(response, request, env, timedelta(milliseconds=5))
    return out.getvalue()


def test_the_access_log_shows_the_route_but_not_the_token() -> None:
    line = _access_line()
    assert '"GET /review/<token>" 200 12' in line
    assert TOKEN not in line


def test_no_access_log_atom_that_holds_the_url_shows_the_token() -> None:
    every_url_atom = (
        "%(r)s %(U)s %(f)s %({referer}i)s %({http_referer}e)s %({raw_uri}e)s %({path_info}e)s"
    )
    line = _access_line(log_format=every_url_atom)
    assert TOKEN not in line
    assert line.count("<token>") == 7


def test_cpdfolio_serve_runs_gunicorn_with_the_redacting_logger() -> None:
    options = gunicorn_options(host="127.0.0.1", port=8000, workers=1)
    cfg = Config()
    for key, value in options.items():
        cfg.set(key, value)
    assert cfg.logger_class is RedactingLogger


def test_a_500_on_a_link_route_logs_the_route_not_the_token(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    def unavailable(*_: object) -> None:
        raise StorageUnavailable("the store is locked")

    monkeypatch.setattr(api_mentoring, "services", broken)
    monkeypatch.setattr(reviews, "review_form", unavailable)
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="service.errors"):
        assert client.get(f"/mentoring/{TOKEN}").status_code == 500
        assert client.get(f"/review/{TOKEN}").status_code == 503
    assert "GET /mentoring/<token> failed" in caplog.text
    assert "GET /review/<token> failed" in caplog.text
    assert TOKEN not in caplog.text


# ------------------------------------------------------ 2. malformed input is a 400


@pytest.mark.parametrize("more", ["abc.%C3%A9", "%C3%A9.%C3%A9", "abc.%F0%9F%98%80"])
def test_a_more_token_with_non_ascii_is_the_400_of_any_bad_cursor(xapi: Xapi, more: str) -> None:
    response = xapi.get(f"/statements?more={more}")
    assert response.status_code == 400, response.text
    assert (response.json()["path"], response.json()["rule"]) == (
        "more",
        "must be a token from a `more` link",
    )


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("after=99999999999999999999999999999", "after"),
        ("after=9223372036854775808", "after"),
        (f"after={'9' * 5000}", "after"),
        ("limit=99999999999999999999999999999", "limit"),
    ],
)
def test_an_integer_parameter_too_large_for_the_store_is_400(
    ann: Api, query: str, name: str
) -> None:
    response = ann.get(f"/me/record?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["path"] == name
    assert response.json()["rule"].startswith("must be between")


def test_the_largest_integer_parameter_and_leading_zeros_are_fine(ann: Api) -> None:
    assert ann.get("/me/record?after=9223372036854775807").status_code == 200
    assert ann.get(f"/me/record?after={'0' * 40}1").status_code == 200


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [100_000, 2_000])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/me/goals"), ("POST", "/me/mentoring"), ("DELETE", "/me"), ("POST", "/session")],
)
def test_a_body_nested_too_deep_is_400_naming_the_body_and_the_rule(
    ann: Api, method: str, path: str, depth: int
) -> None:
    response = ann.request(
        method, path, data=_nested(depth), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert (response.json()["path"], response.json()["rule"]) == ("", DEPTH_RULE)


def test_a_field_nested_past_max_json_depth_is_400_naming_where(ann: Api) -> None:
    body = {"title": "x", "items": [KS1], "actions": json.loads(_nested(40))}
    response = ann.post("/me/goals", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["path"].startswith("actions[0][0]")
    assert response.json()["rule"] == DEPTH_RULE


# ----------------------------------------------------- 3. caching and stored HTML

DOCUMENT = {
    "activityId": "https://lms.example.org/course/x",
    "agent": json.dumps({"mbox": "mailto:ann@example.org"}),
    "stateId": "page",
}


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("api", "/me"),
        ("api", "/me/goals"),
        ("api", "/me/record"),
        ("anonymous", "/api/me"),  # the 401 too
        ("anonymous", f"/review/{TOKEN}"),  # the 404 too
        ("anonymous", f"/mentoring/{TOKEN}"),
        ("xapi", "/statements"),
        ("xapi", "/agents?agent=" + DOCUMENT["agent"]),
        ("xapi", "/activities/state"),
    ],
)
def test_personal_data_is_never_cached(
    ann: Api, xapi: Xapi, live_server: LiveServer, kind: str, path: str
) -> None:
    if kind == "api":
        response = ann.get(path)
    elif kind == "xapi":
        params = DOCUMENT if path == "/activities/state" else None
        response = xapi.get(path, params=params)
    else:
        response = requests.get(live_server.url + path, timeout=30)
    assert response.headers.get("Cache-Control") == "no-store", (path, response.status_code)


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/.well-known/cpdfolio-keys"])
def test_public_resources_stay_cacheable(live_server: LiveServer, path: str) -> None:
    response = requests.get(live_server.url + path, timeout=30)
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_a_stored_html_document_comes_back_as_stored_but_sandboxed(xapi: Xapi) -> None:
    html = b"<html><script>fetch('/api/me')</script></html>"
    stored = xapi.put(
        "/activities/state", params=DOCUMENT, data=html, headers={"Content-Type": "text/html"}
    )
    assert stored.status_code == 204, stored.text
    for method in ("GET", "HEAD"):
        response = xapi.request(method, "/activities/state", params=DOCUMENT)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.headers["Content-Security-Policy"] == "sandbox"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    assert xapi.get("/activities/state", params=DOCUMENT).content == html


# ------------------------------------------------------------ 4. impossible dates


@pytest.mark.parametrize(
    "day",
    [
        "2025-13-45",
        "2025-02-29",
        "2025-00-10",
        "2025-01-01\n",
        "\uff12\uff10\uff12\uff15-01-01",  # full-width digits: \d matches them
        "20250101",
    ],
)
def test_a_goal_with_an_impossible_target_date_is_400(ann: Api, day: str) -> None:
    response = ann.post("/me/goals", json={"title": "x", "items": [KS1], "target_date": day})
    assert response.status_code == 400, response.text
    assert (response.json()["path"], response.json()["rule"]) == ("target_date", DATE_RULE)
    assert ann.get("/me/goals").json() == []


def test_a_goal_cannot_be_moved_to_an_impossible_date_but_a_leap_day_is_fine(ann: Api) -> None:
    goal = ann.post("/me/goals", json={"title": "x", "items": [KS1], "target_date": "2028-02-29"})
    assert goal.status_code == 201, goal.text
    path = f"/me/goals/{goal.json()['id']}"
    moved = ann.request("PATCH", path, json={"target_date": "2027-02-29"})
    assert moved.status_code == 400
    assert (moved.json()["path"], moved.json()["rule"]) == ("target_date", DATE_RULE)
