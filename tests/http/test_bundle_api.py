"""Moving a portfolio over HTTP (issue 5): GET /api/me/bundle and POST /api/arrivals, and
what they answer to callers and input they must refuse."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests
from flask import Flask

from portfolio.bundle.verify import verify_bundle
from tests.bundle_support import Council, rich_portfolio
from tests.conftest import LiveServer, Xapi
from tests.http.test_people_and_record import PASSWORD, create_person, login, store_of
from tests.support import make_statement


def _export(app: Flask, live_server: LiveServer, xapi: Xapi, tmp_path: Path) -> tuple[Path, str]:
    create_person(app)
    for _ in range(3):
        assert xapi.post("/statements", json=make_statement(actor="ann")).status_code == 200
    response = login(live_server).get("/me/bundle")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "bundle.zip"
    path.write_bytes(response.content)
    return path, response.headers["X-Bundle-Manifest-SHA256"]


def test_the_owner_downloads_a_bundle_that_verifies(
    app: Flask, live_server: LiveServer, xapi: Xapi, tmp_path: Path
) -> None:
    path, manifest_sha256 = _export(app, live_server, xapi, tmp_path)
    verified = verify_bundle(str(path))
    assert verified.statements == 3
    assert verified.record.name == "Ann Jones"
    assert verified.manifest_sha256 == manifest_sha256


def test_export_needs_the_owner(live_server: LiveServer) -> None:
    response = requests.get(live_server.url + "/api/me/bundle", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_arrival_needs_a_bundle_and_a_password(live_server: LiveServer) -> None:
    url = live_server.url + "/api/arrivals"
    no_file = requests.post(url, data={"password": PASSWORD}, timeout=10)
    assert no_file.status_code == 400
    assert no_file.json()["path"] == "bundle"
    no_password = requests.post(url, files={"bundle": b"PK"}, timeout=10)
    assert no_password.status_code == 400
    assert no_password.json()["path"] == "password"


def test_an_arrival_that_is_not_a_bundle_is_a_400_naming_the_place(live_server: LiveServer) -> None:
    url = live_server.url + "/api/arrivals"
    not_zip = requests.post(
        url, files={"bundle": b"hello"}, data={"password": PASSWORD}, timeout=10
    )
    assert not_zip.status_code == 400
    assert not_zip.json()["error"] == "bundle invalid"
    assert not_zip.json()["path"] == "the bundle"
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("notes.txt", "hello")
    no_manifest = requests.post(
        url, files={"bundle": empty.getvalue()}, data={"password": PASSWORD}, timeout=10
    )
    assert no_manifest.status_code == 400
    assert no_manifest.json()["path"] == "manifest.json"


def test_a_bundle_arriving_where_the_person_already_is_changes_nothing(
    app: Flask, live_server: LiveServer, xapi: Xapi, tmp_path: Path
) -> None:
    path, _ = _export(app, live_server, xapi, tmp_path)
    response = requests.post(
        live_server.url + "/api/arrivals",
        files={"bundle": path.read_bytes()},
        data={"password": PASSWORD},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "already here"
    wrong = requests.post(
        live_server.url + "/api/arrivals",
        files={"bundle": path.read_bytes()},
        data={"password": "not the password"},
        timeout=60,
    )
    assert wrong.status_code == 401


def test_arrivals_pin_the_instance_keys_an_administrator_trusts(
    app: Flask, live_server: LiveServer, tmp_path: Path
) -> None:
    import dataclasses

    import orjson

    from portfolio.record.chain import published_instance_keys

    other = Council(tmp_path / "other", url="https://other.example")
    rich_portfolio(other, statements=2)
    other.export(tmp_path / "ann.zip")
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    app.config["CPDFOLIO"] = dataclasses.replace(
        app.config["CPDFOLIO"], trusted_keys_dir=str(trusted)
    )

    def arrive() -> requests.Response:
        return requests.post(
            live_server.url + "/api/arrivals",
            files={"bundle": (tmp_path / "ann.zip").read_bytes()},
            data={"password": PASSWORD},
            timeout=60,
        )

    refused = arrive()
    assert refused.status_code == 400
    assert refused.json()["path"] == "signatures.json"
    assert "not one you trust" in refused.json()["rule"]
    document = published_instance_keys(other.store.records, other.url)
    (trusted / "other.json").write_bytes(orjson.dumps(document))
    accepted = arrive()
    assert accepted.status_code == 201, accepted.text


def test_a_bundle_from_an_instance_nobody_trusts_does_not_arrive(
    app: Flask, live_server: LiveServer, tmp_path: Path
) -> None:
    """Anyone can run an instance, link someone else's mailbox to an account there and
    export it. Taken on its own keys, that bundle would make an account here claiming
    the victim's identities, and their learning records with them. With no trusted keys
    configured, only a portfolio coming back arrives over the API; the refusal says what
    the administrator can do, and nothing is written."""
    mallory = Council(tmp_path / "mallory", url="https://cpdfolio.mallory.example")
    rich_portfolio(mallory, statements=2)
    mallory.export(tmp_path / "claims.zip")
    before = store_of(app).people.list()

    response = requests.post(
        live_server.url + "/api/arrivals",
        files={"bundle": (tmp_path / "claims.zip").read_bytes()},
        data={"password": PASSWORD},
        timeout=60,
    )
    assert response.status_code == 403, response.text
    message = response.json()["message"]
    assert "https://cpdfolio.mallory.example is not one yet" in message
    assert "CPDFOLIO_TRUSTED_KEYS_DIR" in message
    assert "cpdfolio import" in message
    assert store_of(app).people.list() == before


def test_an_arrival_from_an_instance_nobody_trusts_is_refused_from_its_manifest_alone(
    live_server: LiveServer,
) -> None:
    """Refused before its keys.json is read: here not even JSON (a bomb costs as little)."""
    from tests.unit.bundle.crafted import self_made

    bundle, _, _ = self_made(b"not JSON at all", url="https://cpdfolio.mallory.example")
    response = requests.post(
        live_server.url + "/api/arrivals",
        files={"bundle": bundle},
        data={"password": PASSWORD},
        timeout=60,
    )
    assert response.status_code == 403, response.text
    assert "https://cpdfolio.mallory.example is not one yet" in response.json()["message"]


def test_an_arrival_cannot_make_this_instance_run_argon2_at_a_cost_of_its_choosing(
    app: Flask, live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle from a trusted council, its sealed key's Argon2 cost raised to 64 GiB and
    2^31 passes (and signed again): a 400 naming keys.json, and Argon2 never runs."""
    import dataclasses
    from typing import Any

    import orjson

    import portfolio.record.keys as keys_module
    from portfolio.record.chain import published_instance_keys
    from tests.unit.bundle.crafted import edited_keys, resigned

    other = Council(tmp_path / "other", url="https://other.example")
    rich_portfolio(other, statements=1)
    other.export(tmp_path / "ann.zip")
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    document = published_instance_keys(other.store.records, other.url)
    (trusted / "other.json").write_bytes(orjson.dumps(document))
    app.config["CPDFOLIO"] = dataclasses.replace(
        app.config["CPDFOLIO"], trusted_keys_dir=str(trusted)
    )
    owner_key = other.owner().key  # the owner's password, at the cheap cost of the tests
    asked: list[object] = []

    def argon2(password: str, salt: bytes, cost: object) -> bytes:
        asked.append(cost)
        raise MemoryError(f"Argon2 asked for {cost}")

    monkeypatch.setattr(keys_module, "_argon2", argon2)

    for cost in (
        {"memory_kib": 64 * 1024 * 1024, "iterations": 2**31 - 1, "lanes": 1},
        {"memory_kib": 1024, "iterations": 1, "lanes": "many"},
    ):

        def set_cost(keys: dict[str, Any], cost: dict[str, Any] = cost) -> None:
            keys["owner"]["sealed"]["cost"] = cost

        bundle = resigned(
            tmp_path / "ann.zip",
            tmp_path / "costly.zip",
            {"keys.json": edited_keys(tmp_path / "ann.zip", set_cost)},
            owner=owner_key,
            instance=other.key,
        )
        response = requests.post(
            live_server.url + "/api/arrivals",
            files={"bundle": bundle.read_bytes()},
            data={"password": PASSWORD},
            timeout=60,
        )
        assert response.status_code == 400, response.text
        assert response.json()["path"] == "keys.json"
        assert "owner.sealed.cost" in response.json()["rule"]
    assert asked == []
