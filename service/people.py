"""The portfolio's people services for the app: accounts, identities, the instance key,
and the owner behind a request (a Bearer token: a login session or a personal token)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, g, request

from portfolio.errors import AuthenticationRequired
from portfolio.mentoring import Mentoring
from portfolio.people.accounts import Accounts, Owner
from portfolio.people.identities import Identities
from portfolio.people.outbox import Outbox, open_outbox
from portfolio.record.chain import instance_key
from portfolio.record.keys import KdfCost
from portfolio.storage.base import Store
from service.config import Settings
from service.secrets import development_key_path

_KEY = "cpdfolio.people"


@dataclass(frozen=True)
class PeopleServices:
    accounts: Accounts
    identities: Identities
    mentoring: Mentoring


def outbox_dir(settings: Settings) -> Path:
    if settings.outbox_dir:
        return Path(settings.outbox_dir)
    return development_key_path(settings).parent / "outbox"


def build_services(store: Store, settings: Settings, secret: bytes) -> PeopleServices:
    """The services over one store (also used by the CLI)."""
    accounts = Accounts(
        store,
        instance_key=instance_key(store.records, secret),
        instance_url=settings.public_url,
        kdf=KdfCost(),
    )
    outbox: Outbox = open_outbox(
        smtp_url=settings.smtp_url, directory=outbox_dir(settings), sender=settings.mail_from
    )
    mentoring = Mentoring(
        store,
        instance_key=accounts.instance_key,
        instance_url=settings.public_url,
        outbox=outbox,
    )
    return PeopleServices(
        accounts=accounts, identities=Identities(accounts, outbox=outbox), mentoring=mentoring
    )


def init_app(app: Flask) -> None:
    app.extensions[_KEY] = None  # built on first use: the store may not be migrated yet


def services() -> PeopleServices:
    built: PeopleServices | None = current_app.extensions.get(_KEY)
    if built is None:
        from service.store import get_store

        built = current_app.extensions[_KEY] = build_services(
            get_store(), current_app.config["CPDFOLIO"], current_app.config["CPDFOLIO_SECRET"]
        )
    return built


def current_owner() -> Owner:
    """The owner whose Bearer token came with this request; raises AuthenticationRequired."""
    owner: Owner | None = g.get("owner")
    if owner is not None:
        return owner
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationRequired(
            "this resource needs 'Authorization: Bearer <token>' (POST /api/session to log in)"
        )
    owner = services().accounts.authenticate(token.strip())
    g.owner = owner
    return owner
