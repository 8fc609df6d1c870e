"""Remote LRSs as configured by people: checking what they typed, sealing the secret,
and opening a client. Shared by sources (pull) and destinations (forwarding)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lrs_adapters.credentials import open_secret, seal_secret
from lrs_adapters.network import RULE, HostNotAllowed, HostPolicy
from lrs_adapters.remote import DEFAULT_MAX_RESPONSE_BYTES, RemoteClient, Retry
from portfolio.errors import InvalidInput
from portfolio.storage.exchange import RemoteLrs

XAPI_VERSIONS = ("1.0.3", "2.0.0")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Connection:
    """How this instance talks to remote LRSs: the secret that seals credentials, and
    the patience it has with them."""

    instance_secret: bytes
    timeout: float = 30.0
    retry: Retry = field(default_factory=Retry)
    # Where owners' sources may point besides the public internet (lrs_adapters.network).
    owner_hosts: HostPolicy = field(default_factory=HostPolicy)
    # The most one answer may hold (unpacked): a remote, an owner's above all, could
    # otherwise answer with enough to exhaust the worker's memory.
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def check_owner_endpoint(self, endpoint: str) -> None:
        """Raise InvalidInput naming `endpoint` unless an owner's source may reach it."""
        try:
            self.owner_hosts.check(endpoint)
        except HostNotAllowed as exc:
            raise InvalidInput(
                f"cannot use {endpoint}: {exc}", path="endpoint", rule=RULE
            ) from None

    def seal(
        self, *, name: str, endpoint: str, username: str, secret: str, xapi_version: str
    ) -> RemoteLrs:
        """A checked, sealed RemoteLrs; raises InvalidInput naming the field."""
        check_name(name)
        if not username:
            raise InvalidInput("a key (username) is needed", path="key", rule="must not be empty")
        if not secret:
            raise InvalidInput("a secret is needed", path="secret", rule="must not be empty")
        if xapi_version not in XAPI_VERSIONS:
            raise InvalidInput(
                f"xapi_version {xapi_version!r} is not supported",
                path="xapi_version",
                rule=f"must be one of {', '.join(XAPI_VERSIONS)}",
            )
        return RemoteLrs(
            endpoint=check_endpoint(endpoint),
            username=username,
            sealed_secret=seal_secret(secret, name=name, instance_secret=self.instance_secret),
            xapi_version=xapi_version,
        )

    def client(self, name: str, remote: RemoteLrs, *, for_owner: bool = False) -> RemoteClient:
        """A client of the remote LRS of the source or destination called `name`; one
        `for_owner` (an owner's source) checks the host before every request."""
        return RemoteClient(
            remote.endpoint,
            username=remote.username,
            password=open_secret(
                remote.sealed_secret, name=name, instance_secret=self.instance_secret
            ),
            version=remote.xapi_version,
            timeout=self.timeout,
            retry=self.retry,
            host_check=self.owner_hosts.check if for_owner else None,
            max_response_bytes=self.max_response_bytes,
        )


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            f"name {name!r} is not usable",
            path="name",
            rule="must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
        )
    return name


def check_endpoint(endpoint: str) -> str:
    """The xAPI endpoint as stored: http(s), a host, a usable port if any, no query, ending
    in a slash (the resources are named relative to it)."""
    try:
        parts = urlsplit(endpoint.strip())
    except ValueError:  # such as an unclosed IPv6 bracket: refused as no URL below
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"endpoint {endpoint!r} is not an http(s) URL",
            path="endpoint",
            rule="must be an absolute http or https URL",
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput(
            f"endpoint {endpoint!r} has a query, fragment or credentials in it",
            path="endpoint",
            rule="must be the xAPI base URL without query, fragment or credentials",
        )
    # Read here, since urlsplit only checks the port when asked: one out of range would
    # otherwise be stored, and raise ValueError at every later use.
    try:
        port_usable = parts.port != 0  # requests would take 0 for the scheme's default
    except ValueError:
        port_usable = False
    if not port_usable:
        raise InvalidInput(
            f"endpoint {endpoint!r} has no usable port",
            path="endpoint",
            rule="the port, when given, must be a number from 1 to 65535",
        )
    return parts._replace(path=parts.path.rstrip("/") + "/").geturl()
