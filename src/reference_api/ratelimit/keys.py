"""Rate-limit keys: which requests share a bucket."""

from __future__ import annotations

import hashlib
import ipaddress

#: One IPv6 customer usually gets a /64 (RFC 6177): rotating addresses inside it is free, so
#: the whole /64 is one client for the limits.
IPV6_PREFIX = 64


def address_bucket(address: str) -> str:
    """The bucket of a client address: IPv4 as is, IPv6 by its /64, anything else as is."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)


def account_bucket(email: str) -> str:
    """The bucket of an account, by a digest of its normalised email (no address in Redis)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
