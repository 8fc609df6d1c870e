"""Moving a portfolio over HTTP: the owner downloads their bundle; an arriving owner
uploads theirs to this instance. Thin: the rules live in portfolio.bundle."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_file

from portfolio.bundle.export import export_bundle
from portfolio.bundle.importer import Importer
from portfolio.bundle.verify import load_trusted
from portfolio.errors import InvalidInput
from portfolio.record.chain import published_instance_keys
from portfolio.record.keys import PublicKey
from service.json import json_response
from service.people import current_owner, services
from service.store import get_store

bp = Blueprint("api_bundle", __name__, url_prefix="/api")
well_known = Blueprint("well_known", __name__)
_SPOOL_BYTES = 8 * 1024 * 1024


@bp.get("/me/bundle")
def export() -> Response:
    """The caller's portfolio as a signed bundle (application/zip), signed with their
    session's key and this instance's. Nothing changes: exporting appends no entry."""
    owner = current_owner()
    accounts = services().accounts
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (send_file closes it)
    try:
        result = export_bundle(
            get_store(),
            owner.person,
            spool,
            owner_key=owner.key,
            instance_key=accounts.instance_key,
            instance_url=accounts.instance_url,
        )
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    response = send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"cpdfolio-portfolio-{day}.zip",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Bundle-Manifest-SHA256"] = result.manifest_sha256
    return response


@bp.post("/arrivals")
def arrive() -> Response:
    """An owner brings their portfolio here: a multipart form with the bundle (`bundle`)
    and their password (`password`), which must open the key sealed in it. No token: the
    arriving owner has no account here yet; the bundle and the password are the proof."""
    request.max_content_length = current_app.config["CPDFOLIO"].max_bundle_bytes
    upload = request.files.get("bundle")
    if upload is None:
        raise InvalidInput("a bundle file is needed", path="bundle", rule="required")
    password = request.form.get("password", "")
    if not password:
        raise InvalidInput("the owner's password is needed", path="password", rule="required")
    accounts = services().accounts
    importer = Importer(
        get_store(),
        instance_key=accounts.instance_key,
        instance_url=accounts.instance_url,
        kdf=accounts.kdf,
    )
    with tempfile.TemporaryFile() as bundle:
        upload.save(bundle)
        bundle.seek(0)
        result = importer.import_bundle(bundle, password=password, trusted=_trusted_keys())
    return json_response(result.to_json(), status=200 if result.outcome == "already here" else 201)


def _trusted_keys() -> dict[str, PublicKey] | None:
    directory = current_app.config["CPDFOLIO"].trusted_keys_dir
    if not directory:
        return None
    return load_trusted(path.read_bytes() for path in sorted(Path(directory).glob("*.json")))


@well_known.get("/.well-known/cpdfolio-keys")
def published_keys() -> Response:
    """This instance's public keys, for verifiers to pin (`cpdfolio verify --trust`).
    Public: keys are not personal data."""
    accounts = services().accounts
    return json_response(published_instance_keys(get_store().records, accounts.instance_url))
