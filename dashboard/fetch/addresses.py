"""Which redirects may cross from the public internet into a private network.

A feed on the internet must not be able to point the dashboard at the user's router, a cloud metadata
endpoint (169.254.169.254) or a service on localhost by answering with a redirect. A URL the user typed
that is itself on localhost or the LAN keeps working, and so do redirects among such hosts.

Pure functions: the fetcher resolves host names and hands the addresses in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Public-looking ranges that still reach things close to the user (CGNAT shared space, NAT64 of
# private IPv4 is handled by unwrapping below).
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL host spells literally ("10.0.0.1", "[::1]", "::1"), else None (a name)."""
    candidate = host.strip()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    candidate = candidate.split("%", 1)[0]  # an IPv6 zone id ("fe80::1%eth0") does not change the range
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _unwrap(address: IPAddress) -> IPAddress:
    """IPv4 addresses dressed as IPv6 (::ffff:127.0.0.1, 6to4, NAT64) are judged as the IPv4 inside."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in ipaddress.IPv6Network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: IPAddress) -> bool:
    """True for addresses on the public internet; False for loopback, private, link-local, unspecified,
    multicast, reserved and shared (CGNAT) ranges."""
    inner = _unwrap(address)
    if isinstance(inner, ipaddress.IPv4Address) and inner in _SHARED_ADDRESS_SPACE:
        return False
    return inner.is_global and not inner.is_multicast


def all_public(addresses: Iterable[IPAddress]) -> bool:
    """A host counts as public only if every address it resolves to is (it may connect to any of them)."""
    found = list(addresses)
    return bool(found) and all(is_public(address) for address in found)


def any_public(addresses: Iterable[IPAddress]) -> bool:
    return any(is_public(address) for address in addresses)


def redirect_allowed(origin: Iterable[IPAddress], target: Iterable[IPAddress]) -> bool:
    """May a redirect from a host with `origin` addresses lead to a host with `target` addresses?

    Refused when the origin is reachable on the public internet (any public address) and the target
    is not entirely public. Hosts that are wholly private may redirect anywhere: the user chose them.
    """
    if not any_public(origin):
        return True
    return all_public(target)


def redirect_refusal(origin: Iterable[IPAddress] | None, target: Iterable[IPAddress] | None) -> str | None:
    """A short reason why the redirect is refused, or None when it is allowed.

    None for a side means its host did not resolve here and a proxy will resolve it. An unknown
    origin counts as public (the strict reading). An unknown target is allowed only from an unknown
    origin (behind a proxy with no local DNS every name is unknown) or a wholly private one; from a
    public host that does resolve here it is refused: it may be an internal name only the proxy reaches.
    """
    if target is None:
        if origin is None or not any_public(origin):
            return None
        return "refused redirect to a host that resolves only through the proxy"
    target_list = list(target)
    if origin is not None and redirect_allowed(origin, target_list):
        return None
    if origin is None and all_public(target_list):
        return None
    private = next((address for address in target_list if not is_public(address)), None)
    shown = str(private) if private is not None else "no address"
    return f"refused redirect from a public host to a private address ({shown})"
