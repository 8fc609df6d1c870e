"""Rate limits on the routes that cost the instance, or a person, something when hammered.

- Signing in runs Argon2id (about 45 ms and 19 MiB a try): unlimited, it lets anyone
  guess passwords online and exhausts the CPU. Failed sign-ins are counted per client
  address and per account; a successful one costs nothing, so the owner is not locked out
  by their own use. The per-account limit is generous on purpose: it also lets a
  stranger lock an account for a while, so it only has to make guessing hopeless.
- An arrival takes a bundle of up to a gigabyte and runs Argon2id: per client address.
- Sending codes and invitations writes to other people's mailboxes; connecting and
  syncing a source makes this instance ask another server: per owner's credential.
- Minting a personal token and erasing a portfolio ask for the password again: a
  session taken from a browser must not be able to guess it (refusals, per credential).

Limits are kept per process unless CPDFOLIO_RATE_LIMIT_STORAGE_URI names a shared
store (memcached://, redis:// or mongodb://, as the `limits` library reads them): with
several gunicorn workers, a per-process limit is that many times looser. A refused
request is a 429 with Retry-After, answered by service.errors like any other error.

Behind a reverse proxy every request comes from the proxy's address: set
CPDFOLIO_TRUSTED_PROXIES to the number of proxies in front, so that the client address is
read from X-Forwarded-For (werkzeug's ProxyFix), and only that many hops are believed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from portfolio.people.accounts import normalise_email


@dataclass(frozen=True)
class RouteLimit:
    endpoint: str
    limit: str  # in the `limits` notation: "20 per minute"
    key: Callable[[], str]
    # Which answers count against the limit; None: every request.
    counts: Callable[[Response], bool] | None = None


def _address() -> str:
    return "address:" + get_remote_address()


def _account() -> str:
    """The account a sign-in names (its e-mail, normalised), read without trusting the
    body: a body that is not a JSON object with a usable e-mail counts for its address."""
    try:
        body = orjson.loads(request.get_data(cache=True))
        email = normalise_email(str(body["email"])) if isinstance(body, dict) else None
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
        email = None
    return "account:" + (email or get_remote_address())


def _credential() -> str:
    """The bearer token the request carries, as a digest (never the token itself), or the
    address of a request that carries none (it is refused anyway)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return _address()
    return "credential:" + hashlib.sha256(header.encode()).hexdigest()


def _failed_sign_in(response: Response) -> bool:
    return response.status_code == 401


def _refused_password(response: Response) -> bool:
    return response.status_code == 400


LIMITS = (
    RouteLimit("api.login", "20 per minute", _address, _failed_sign_in),
    RouteLimit("api.login", "30 per hour", _account, _failed_sign_in),
    RouteLimit("api.login", "120 per minute", _address),  # Argon2id on every try
    RouteLimit("api_bundle.arrive", "10 per hour", _address),
    RouteLimit("api.start_link", "10 per hour", _credential),
    RouteLimit("api_assessment.invite", "30 per hour", _credential),
    # A password asked again (a token that outlives its session; erasure): a stolen
    # session must not be able to guess it.
    RouteLimit("api.create_token", "10 per hour", _credential, _refused_password),
    RouteLimit("api_erasure.erase_me", "10 per hour", _credential, _refused_password),
    RouteLimit("api_sources.connect", "20 per hour", _credential),
    RouteLimit("api_sources.sync", "60 per hour", _credential),
)


def install(app: Flask, *, storage_uri: str) -> Limiter:
    """Put LIMITS on the app's routes, counting in `storage_uri`. One Limiter per app,
    so each app (each test's) counts on its own."""
    limiter = Limiter(
        _address,
        app=app,
        storage_uri=storage_uri,
        headers_enabled=True,
        key_prefix="cpdfolio",
        # A limit store that is down must not take signing in down with it.
        swallow_errors=True,
    )
    for endpoint in dict.fromkeys(rule.endpoint for rule in LIMITS):
        view: Callable[..., Any] = app.view_functions[endpoint]
        for rule in (r for r in LIMITS if r.endpoint == endpoint):
            view = limiter.limit(
                rule.limit, key_func=rule.key, deduct_when=rule.counts, scope=rule.key.__name__
            )(view)
        app.view_functions[endpoint] = view
    return limiter
