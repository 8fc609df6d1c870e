"""One settings object, built once from CPDFOLIO_* environment variables and frozen.

Tests build Settings from a mapping (`Settings.from_mapping`) and never touch os.environ.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from lrs_adapters.network import HostPolicy

DEFAULT_DATABASE_URL = "sqlite:///var/cpdfolio.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Signs `more` cursors. When unset a development key is kept beside the SQLite store
    # and a warning is logged at start-up.
    secret_key: str | None = None
    # The instance's public base URL: the homePage of the accounts in `authority`.
    public_url: str = "http://127.0.0.1:8000"
    # Limits (each answered with a clear 400/413).
    max_body_bytes: int = 10 * 1024 * 1024
    # The largest bundle POST /api/arrivals takes (a portfolio with 100,000 statements
    # is about 40 MB).
    max_bundle_bytes: int = 1024 * 1024 * 1024
    # A directory of key documents of the instances whose bundles this one accepts over
    # POST /api/arrivals (each as published at /.well-known/cpdfolio-keys). Unset: only
    # portfolios coming back (signed by this instance's keys) arrive over the API.
    trusted_keys_dir: str | None = None
    max_batch_statements: int = 1000
    max_attachment_bytes: int = 8 * 1024 * 1024
    max_json_depth: int = 32
    max_string_length: int = 32 * 1024
    # The most statements one GET returns; `limit=0` means this.
    max_query_limit: int = 500
    log_level: str = "INFO"
    # How one-time codes reach a mailbox: SMTP when set (smtp://user:pass@host:port or
    # smtps://...), otherwise files in `outbox_dir` (beside the SQLite store by default)
    # with a warning at start-up.
    smtp_url: str | None = None
    mail_from: str = "cpdfolio <no-reply@localhost>"
    outbox_dir: str | None = None
    # Talking to other LRSs (lrs_adapters): seconds to wait for an answer, and attempts
    # at a request that fails for a reason that may pass (unreachable, 429, 5xx).
    remote_timeout_seconds: int = 30
    remote_attempts: int = 4
    # Statements asked for per page when pulling from a source.
    pull_page_size: int = 100
    # Forwarding: the wait before the first retry of a failed batch, doubled after each
    # failure up to the maximum.
    forward_backoff_seconds: int = 30
    forward_backoff_max_seconds: int = 3600
    # Hosts an owner's source may point at besides the public internet, comma-separated:
    # names, IP addresses or networks (a council's own LRS on its intranet). Everything
    # else private, loopback or reserved is refused (lrs_adapters.network).
    owner_source_hosts: str = ""
    # The most one answer of another LRS may hold (a page of statements with attachments).
    remote_max_response_bytes: int = 64 * 1024 * 1024
    # Where rate limits are counted (service.ratelimit): per process by default, or a
    # store the workers share (memcached://, redis://, mongodb://...).
    rate_limit_storage_uri: str = "memory://"
    # Reverse proxies in front of the service whose X-Forwarded-For/-Proto are believed.
    trusted_proxies: int = 0

    def __post_init__(self) -> None:
        try:
            HostPolicy.parse(self.owner_source_hosts.split(","))
        except ValueError as exc:
            raise ValueError(f"owner_source_hosts: {exc}") from None

    @property
    def owner_hosts(self) -> HostPolicy:
        return HostPolicy.parse(self.owner_source_hosts.split(","))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build settings from a mapping of field names (lower case) to values."""
        known = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            default = known[name].default
            if isinstance(default, int) and not isinstance(value, int):
                try:
                    value = int(value)
                except ValueError:
                    raise ValueError(f"{name} must be an integer, got {value!r}") from None
                if value < 0 or (value == 0 and default > 0):
                    raise ValueError(f"{name} must be positive, got {value}")
            converted[name] = value
        return cls(**converted)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every CPDFOLIO_<FIELD> variable that is set; the rest keep their defaults."""
        environ = os.environ if environ is None else environ
        prefix = "CPDFOLIO_"
        values = {
            f.name: environ[prefix + f.name.upper()]
            for f in fields(cls)
            if prefix + f.name.upper() in environ
        }
        return cls.from_mapping(values)
