"""Which address a request comes from, for the per-address limit.

The peer address of the TCP connection, unless that peer is one of the configured trusted
proxies (``TENANTRY_TRUSTED_PROXIES``): then ``X-Forwarded-For`` is read from the right, skipping
trusted hops, and the first untrusted address is the client. Anything left of it was written by
the client itself and could be forged, so it is never used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(value: object) -> list[IPNetwork]:
    """``"10.0.0.0/8, 127.0.0.1, ::1"`` (or a list) -> networks; a bare address is a /32 or /128."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return [ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip()]


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def limit_key(address: IPAddress) -> str:
    """The key an address is counted under. An IPv6 host usually owns a whole /64, so counting
    single IPv6 addresses would let it pick a fresh one per request."""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]) -> str:
    """The client's limit key, given the connection's peer and every ``X-Forwarded-For`` header."""
    peer_address = _address(peer or "")
    if peer_address is None:
        # Not an IP (a Unix socket, an in-process test client): count under the name given.
        return peer or "unknown"
    if not _trusted(peer_address, trusted):
        return limit_key(peer_address)
    client = peer_address
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage from beyond our proxies: keep the last address a trusted hop vouched for
        client = address
        if not _trusted(address, trusted):
            break
    return limit_key(client)
