"""The client's address: derived here, once per request, and nowhere else.

Forwarding headers (``X-Forwarded-For``) are believed only when the TCP peer is one of
``TRUSTED_PROXIES``; ``Forwarded`` and ``X-Real-IP`` are never read. With no trusted proxies
(the default) the address is the TCP peer, whatever the client writes in its headers: every
per-address limit is keyed by it, so a header the client controls must not choose the key.

uvicorn runs its own ``ProxyHeadersMiddleware`` *before* the app and, unless told otherwise
(``--no-proxy-headers``, which ``python -m reference_api`` passes), it believes
``X-Forwarded-For`` from loopback peers. A peer address that also appears in the request's
``X-Forwarded-For`` is therefore treated as uvicorn's rewrite of an unknown loopback peer: it
is replaced by ``REWRITTEN_BY_SERVER`` (one shared bucket) unless loopback is trusted here too,
in which case the header is walked with this module's own rules.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import Scope

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The address of requests whose peer the server replaced with a forwarded value we do not
#: trust (see the module docstring): they share one rate-limit bucket.
REWRITTEN_BY_SERVER = "forwarded-untrusted"
_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``TRUSTED_PROXIES`` entries (addresses or CIDR blocks) as networks; ``ValueError``."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


class ClientAddress:
    """``address(scope)``: the client's address, given the trusted proxies."""

    def __init__(self, trusted_proxies: Sequence[IPNetwork]) -> None:
        self.trusted = tuple(trusted_proxies)
        self.trusts_loopback = all(self._trusted(address) for address in _LOOPBACK)

    def __call__(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = _address(client[0]) if client else None
        if peer is None:
            return "unknown"
        hops = _forwarded_for(scope)
        if hops and peer in hops:
            # uvicorn replaced a loopback peer with a forwarded value (module docstring).
            return self._walk(hops) if self.trusts_loopback else REWRITTEN_BY_SERVER
        if hops and self._trusted(peer):
            return self._walk(hops, default=peer)
        return str(peer)

    def _walk(self, hops: list[IPAddress | None], default: IPAddress | None = None) -> str:
        """The nearest hop that is not a trusted proxy (each proxy appends the one before)."""
        nearest = default
        for hop in reversed(hops):
            if hop is None:  # garbage in the header: stop at the last proxy that we trust
                break
            nearest = hop
            if not self._trusted(hop):
                break
        return str(nearest) if nearest is not None else REWRITTEN_BY_SERVER

    def _trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted)


def _forwarded_for(scope: Scope) -> list[IPAddress | None]:
    values = [
        value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
    ]
    if not values:
        return []
    return [_address(_strip_port(part.strip())) for part in ",".join(values).split(",")]


def _strip_port(value: str) -> str:
    if value.startswith("["):  # [v6]:port
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:  # v4:port
        return value.split(":", 1)[0]
    return value


def _address(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
