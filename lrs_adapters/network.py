"""Where an owner's source may point: the public internet, and the hosts an
administrator allows.

A portfolio owner connects a source through the API by giving any endpoint; cpdfolio then
sends requests there from inside the council's network. Left open, that lets any owner
make the server reach what only it can reach (a database's HTTP port, a cloud metadata
address, an intranet site) and learn from the answers what is there: server-side request
forgery. So an owner's source must resolve only to global addresses, unless its host is
one the administrator names in CPDFOLIO_OWNER_SOURCE_HOSTS (host names, IP addresses or
networks: a council's own LRS on its intranet). Administrators' sources and destinations,
configured on the command line, may point anywhere.

The check runs when the source is connected and again before every request of its syncs,
so a name that resolves elsewhere later (DNS rebinding) is caught at the next request.
What remains is the moment between the check's lookup and the connection's own; closing it
would mean pinning the address checked, which TLS host checking makes awkward with
requests. Redirects are never followed (lrs_adapters.remote), so a remote cannot send the
request on to a private address either.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

RULE = (
    "must be on the public internet, or on a host the administrator allows"
    " (CPDFOLIO_OWNER_SOURCE_HOSTS)"
)


class HostNotAllowed(Exception):
    """The URL's host is not one an owner's source may reach; the message says why and
    never lists what is allowed."""


def _address(text: str) -> IpAddress:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone index
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class HostPolicy:
    """Hosts allowed besides the public internet: names (exact, any case) and networks."""

    names: frozenset[str] = frozenset()
    networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> HostPolicy:
        """From entries such as `lrs.council.internal`, `10.20.0.5` or `10.20.0.0/16`;
        raises ValueError naming an entry that is neither."""
        names: set[str] = set()
        networks: list[IpNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if (
                "/" in entry
                or ":" in entry
                or not all(part and len(part) < 64 for part in entry.split("."))
            ):
                raise ValueError(f"{raw!r} is neither a host name nor an IP address or network")
            names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def check(self, url: str) -> None:
        """Raise HostNotAllowed unless every address the URL's host resolves to is
        global or allowed (or the host itself is an allowed name)."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".").lower()
            given_port = parts.port  # urlsplit checks the port only when asked
        except ValueError as exc:  # a port out of range, an unclosed IPv6 bracket
            raise HostNotAllowed(f"{url!r} is not a usable URL ({exc})") from None
        if not host:
            raise HostNotAllowed(f"{url!r} names no host")
        if host in self.names:
            return
        port = given_port or (443 if parts.scheme == "https" else 80)
        for address in _resolve(host, port):
            if not (address.is_global or any(address in net for net in self.networks)):
                raise HostNotAllowed(
                    f"{host} is a private, loopback or reserved address ({address}),"
                    " which an owner's source may not reach"
                )


def _resolve(host: str, port: int) -> Sequence[IpAddress]:
    try:
        return [_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise HostNotAllowed(f"{host} cannot be resolved ({exc})") from None
    addresses = [_address(str(info[4][0])) for info in found]
    if not addresses:
        raise HostNotAllowed(f"{host} resolves to no address")
    return addresses
