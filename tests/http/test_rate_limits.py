"""Rate limits (service.ratelimit): failed sign-ins per address and per account, arrivals
per address, and the client address behind a trusted reverse proxy."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask

from tests.conftest import LiveServer
from tests.http.test_people_and_record import PASSWORD, create_person

ANN = "ann@example.org"


def sign_in(
    live_server: LiveServer, password: str, *, email: str = ANN, forwarded_for: str | None = None
) -> requests.Response:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    return requests.post(
        live_server.url + "/api/session",
        json={"email": email, "password": password},
        headers=headers,
        timeout=30,
    )


def test_failed_sign_ins_from_one_address_are_limited_and_the_refusal_says_when_to_retry(
    app: Flask, live_server: LiveServer
) -> None:
    create_person(app)
    for _ in range(20):
        assert sign_in(live_server, "wrong guess").status_code == 401
    refused = sign_in(live_server, "wrong guess")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Content-Type"].startswith("application/json")
    assert "20 per 1 minute" in refused.json()["message"]
    # The address is refused whatever it tries until the window passes: even the password.
    assert sign_in(live_server, PASSWORD).status_code == 429


def test_signing_in_successfully_costs_nothing(app: Flask, live_server: LiveServer) -> None:
    create_person(app)
    for _ in range(25):
        assert sign_in(live_server, PASSWORD).status_code == 201


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {**settings, "trusted_proxies": 1}


def test_failed_sign_ins_against_one_account_are_limited_from_any_address(
    app: Flask, live_server: LiveServer
) -> None:
    """Guessing from many addresses (behind a trusted proxy, each its own) still meets
    the per-account limit; another account is not affected."""
    create_person(app)
    create_person(app, "bob@example.org", "Bob Smith")
    for n in range(30):
        assert sign_in(live_server, "guess", forwarded_for=f"203.0.113.{n}").status_code == 401
    assert sign_in(live_server, "guess", forwarded_for="198.51.100.7").status_code == 429
    bob = sign_in(live_server, PASSWORD, email="BOB@example.org", forwarded_for="198.51.100.7")
    assert bob.status_code == 201


def test_the_forwarded_address_is_believed_only_behind_a_trusted_proxy(
    app: Flask, live_server: LiveServer
) -> None:
    """With one trusted proxy, the client a request says it comes from counts on its
    own; a second, spoofed address in front of it is not believed."""
    create_person(app)
    for _ in range(20):
        spoofed = sign_in(live_server, "guess", forwarded_for="10.9.9.9, 203.0.113.50")
        assert spoofed.status_code == 401
    # Whatever is put in front, the address the proxy saw is the one limited ...
    again = sign_in(live_server, "guess", forwarded_for="10.9.9.10, 203.0.113.50")
    assert again.status_code == 429
    # ... and another client is not.
    assert sign_in(live_server, PASSWORD, forwarded_for="203.0.113.51").status_code == 201


def test_arrivals_are_limited_per_address(live_server: LiveServer) -> None:
    def arrive() -> requests.Response:
        return requests.post(
            live_server.url + "/api/arrivals",
            files={"bundle": b"not a zip"},
            data={"password": "x"},
            timeout=30,
        )

    for _ in range(10):
        assert arrive().status_code == 400
    assert arrive().status_code == 429


def test_the_openapi_document_names_the_limited_operations(app: Flask) -> None:
    paths = app.test_client().get("/openapi.json").get_json()["paths"]
    for path, method in [
        ("/api/session", "post"),
        ("/api/arrivals", "post"),
        ("/api/me/identities", "post"),
        ("/api/me/sources", "post"),
        ("/api/me/sources/{name}/sync", "post"),
    ]:
        assert "429" in paths[path][method]["responses"], (path, method)
    assert "429" not in paths["/api/me"]["get"]["responses"]
