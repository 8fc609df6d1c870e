"""Moving a portfolio over HTTP: the owner downloads their bundle; an arriving owner
uploads theirs to this instance. Thin: the rules live in portfolio.bundle."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_file

from portfolio.bundle.export import export_bundle
from portfolio.bundle.importer import Importer
from portfolio.bundle.verify import TrustedKey, UntrustedInstance, load_trusted
from portfolio.errors import Forbidden, InvalidInput
from portfolio.record.chain import published_instance_keys
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
    arriving owner has no account here yet; the bundle and the password are the proof.

    The bundle's instance must be one this instance trusts: the arrival creates an account
    with the bundle's e-mail and links its identities, and only the instance that proved
    them can vouch for them. Anyone can run an instance, link any mailbox to an account
    there and export it: taken on its own keys, such a bundle would claim another
    person's identities here, and their learning records with them. So with no
    CPDFOLIO_TRUSTED_KEYS_DIR only a portfolio coming back (signed by this instance's own
    keys) arrives over the API; an administrator can still import any bundle with
    `cpdfolio import`, having checked who brings it."""
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
    trusted = _trusted_keys()
    with tempfile.TemporaryFile() as bundle:
        upload.save(bundle)
        bundle.seek(0)
        try:
            result = importer.import_bundle(bundle, password=password, trusted=trusted)
        except UntrustedInstance as exc:
            if current_app.config["CPDFOLIO"].trusted_keys_dir:
                raise  # the administrator's list does not name it: a 400, as any bad bundle
            raise Forbidden(
                f"this instance takes portfolios over the API only from instances its"
                f" administrator trusts, and {exc.instance} is not one yet: ask them to add"
                f" the keys {exc.instance} publishes at /.well-known/cpdfolio-keys to"
                " CPDFOLIO_TRUSTED_KEYS_DIR, or to import the bundle with `cpdfolio import`"
            ) from None
    return json_response(result.to_json(), status=200 if result.outcome == "already here" else 201)


def _trusted_keys() -> dict[str, TrustedKey]:
    """The instance keys the administrator trusts; none when unset (the importer adds
    this instance's own either way)."""
    directory = current_app.config["CPDFOLIO"].trusted_keys_dir
    if not directory:
        return {}
    return load_trusted(path.read_bytes() for path in sorted(Path(directory).glob("*.json")))


@well_known.get("/.well-known/cpdfolio-keys")
def published_keys() -> Response:
    """This instance's public keys, for verifiers to pin (`cpdfolio verify --trust`).
    Public: keys are not personal data."""
    accounts = services().accounts
    return json_response(published_instance_keys(get_store().records, accounts.instance_url))
