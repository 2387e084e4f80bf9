"""Which network addresses RecordKit may be told to reach (SSRF defence).

A user can make RecordKit open connections: the meeting ``url`` a recording joins, a storage
destination's host, a webhook's URL. Unless the operator allows private networks
(``RECORDKIT_ALLOW_PRIVATE_NETWORK=true`` or ``recordkit serve --allow-private-network``, for local
development and tests), every address such a name resolves to must be public: no loopback, private
(RFC 1918, ULA), link-local (which holds the cloud metadata endpoints 169.254.169.254 and
fd00:ec2::254), carrier-grade NAT, multicast, reserved or unspecified addresses. Checked when the
URL is given (a 400 naming the field) and again by the code that connects (DNS may change).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from recordkit.errors import InvalidRequest

Resolver = Callable[[str], Iterable[str]]


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):  # gaierror is an OSError; NUL in a name a ValueError
        return []
    return sorted({str(info[4][0]).split("%")[0] for info in infos})


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _addresses(name: str, resolver: Resolver) -> list[str]:
    """An IP literal is its own address (no lookup); a name is what ``resolver`` says."""
    try:
        return [str(ipaddress.ip_address(name))]
    except ValueError:
        return list(resolver(name))


def check_host(host: str, field: str, *, allow_private: bool, resolver: Resolver = resolve) -> None:
    """InvalidRequest naming ``field`` unless ``host`` resolves, and only to public addresses."""
    name = host.strip().strip("[]")
    if not name:
        raise InvalidRequest(f"{field}: a host name is required")
    if allow_private:
        return
    addresses = _addresses(name, resolver)
    if not addresses:
        raise InvalidRequest(f"{field}: host {name[:100]!r} does not resolve")
    blocked = [a for a in addresses if not is_public(a)]
    if blocked:
        raise InvalidRequest(
            f"{field}: host {name[:100]!r} is on a private, loopback or link-local network ({blocked[0]}); "
            "the operator can allow that with RECORDKIT_ALLOW_PRIVATE_NETWORK=true"
        )


def check_url(
    url: str,
    field: str,
    *,
    allow_private: bool,
    schemes: tuple[str, ...] = ("http", "https"),
    resolver: Resolver = resolve,
) -> None:
    """An absolute URL with one of ``schemes`` whose host passes ``check_host``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise InvalidRequest(f"{field}: not a valid URL") from None
    if parts.scheme.lower() not in schemes or not host:
        raise InvalidRequest(f"{field}: must be an absolute {' or '.join(schemes)} URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequest(f"{field}: must not carry credentials")
    check_host(host, field, allow_private=allow_private, resolver=resolver)


@dataclass(frozen=True)
class Pinned:
    """What a connection to a URL's host may use, decided by one lookup (``AddressPolicy.pin``)."""

    blocked: str | None = None  # a non-public address the host resolves to: do not connect
    address: str | None = None  # the checked public address to connect to (None: connect by name)
    unresolved: bool = False  # the host resolves to nothing now: a network error, retried later


@dataclass(frozen=True)
class AddressPolicy:
    """The operator's switch (``Settings.allow_private_network``) with the checks it governs."""

    allow_private: bool = False
    resolver: Resolver = field(default=resolve, compare=False, repr=False)

    @property
    def resolves(self) -> bool:
        """Whether a check may look names up (DNS: callers keep that off the event loop)."""
        return not self.allow_private

    def check_url(self, url: str, field_name: str) -> None:
        check_url(url, field_name, allow_private=self.allow_private, resolver=self.resolver)

    def check_host(self, host: str, field_name: str) -> None:
        check_host(host, field_name, allow_private=self.allow_private, resolver=self.resolver)

    def check_storage(self, storage: object, field_prefix: str) -> None:
        """An SFTP ``storage_config`` (the only destination whose host a user names) must name a
        host that passes ``check_host``; its error names ``<field_prefix>host``."""
        if isinstance(storage, dict) and storage.get("type") == "sftp" and isinstance(storage.get("host"), str):
            self.check_host(storage["host"], f"{field_prefix}host")

    def pin(self, url: str) -> Pinned:
        """At connect time, one lookup: refuse the host when any of its addresses is not public,
        else pin the connection to the first checked address, so that a second lookup by the HTTP
        client (DNS rebinding with a short TTL) cannot move it to a refused one. Nothing to pin
        when private networks are allowed, or for a URL without a host."""
        if self.allow_private:
            return Pinned()
        try:
            host = urlsplit(url).hostname
        except ValueError:
            return Pinned()
        if not host:
            return Pinned()
        addresses = _addresses(host.strip().strip("[]"), self.resolver)
        if not addresses:
            return Pinned(unresolved=True)
        for address in addresses:
            if not is_public(address):
                return Pinned(blocked=address)
        return Pinned(address=addresses[0])
