"""Which proxy a request goes through, from the environment as curl and most tools read it.

Users behind a proxy set HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (lower case wins, as in curl) and list
hosts to reach directly in NO_PROXY. The fetcher drives httpx's transport itself (see http.py), so
httpx's own environment handling (a client feature, built on private helpers) does not apply; this is
the same rule set in a few public lines:

- HTTP_PROXY for http URLs, HTTPS_PROXY for https URLs, ALL_PROXY for either when its own is unset;
  a value without a scheme is an http:// proxy.
- NO_PROXY: comma-separated host names (a name matches itself and its subdomains; a leading "." or
  "*." is ignored), IP addresses or CIDR ranges, each optionally with ":port"; "*" alone turns
  proxies off.
- Loopback (localhost, 127.0.0.0/8, ::1) is always reached directly, as Go's net/http does: a proxy
  cannot reach the user's own machine, and a local demo or test server must keep working.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from dashboard.fetch.addresses import literal_address

_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """Proxy URLs by request scheme, and the NO_PROXY entries that bypass them."""

    by_scheme: Mapping[str, str]
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ProxySettings:
        env = os.environ if environ is None else environ
        every = _variable(env, "all_proxy")
        by_scheme: dict[str, str] = {}
        for scheme in _SCHEMES:
            value = _variable(env, f"{scheme}_proxy") or every
            if value:
                by_scheme[scheme] = value if "://" in value else f"http://{value}"
        entries = tuple(
            entry for part in _variable(env, "no_proxy").split(",") if (entry := part.strip().lower())
        )
        if "*" in entries:
            return cls(by_scheme={})
        return cls(by_scheme=by_scheme, no_proxy=entries)

    def proxy_for(self, scheme: str, host: str, port: int | None) -> str | None:
        """The proxy URL for a request to `scheme://host:port`, or None to connect directly."""
        proxy = self.by_scheme.get(scheme)
        if proxy is None or _is_loopback(host):
            return None
        if any(_bypasses(entry, host.lower(), port) for entry in self.no_proxy):
            return None
        return proxy


def shown_proxy(url: str) -> str:
    """A proxy URL for a message: scheme, host and port, never the user:password it may carry."""
    scheme, _, rest = url.partition("://")
    location = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{location}"


def _variable(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or env.get(name.upper()) or "").strip()


def _is_loopback(host: str) -> bool:
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = literal_address(name)
    return address is not None and address.is_loopback


def _split_port(entry: str) -> tuple[str, int | None]:
    """ "example.com:8080" -> ("example.com", 8080); "[::1]:80" -> ("::1", 80); bare IPv6 keeps its colons."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isascii() and port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isascii() and port.isdigit():
            return host, int(port)
    return entry, None


def _bypasses(entry: str, host: str, port: int | None) -> bool:
    """Does one NO_PROXY entry cover `host` (lower case) on `port`?"""
    name, wanted_port = _split_port(entry)
    if wanted_port is not None and wanted_port != port:
        return False
    address = literal_address(host)
    if address is not None:
        try:
            return address in ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
    name = name.removeprefix("*").removeprefix(".").rstrip(".")
    host = host.rstrip(".")
    return bool(name) and (host == name or host.endswith("." + name))
