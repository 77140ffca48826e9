"""The one polite HTTP client every source goes through.

Why not plain httpx calls: httpx's timeouts are per phase (a server trickling a byte a second never
times out), its decoders hand over a whole inflated chunk before any size check (a gzip bomb costs
hundreds of MiB), and requests cancelled or timed out at the wrong moment inside httpcore's pool
leave dead connections in it until it is full for good (httpcore issue 1093). So: one pool, a
semaphore for concurrency instead of a pool limit, the pool's work never cancelled, a total deadline
with `asyncio.timeout`, our own streaming inflate with a cap on decompressed bytes, and redirects
followed by hand so a public feed cannot bounce us into the user's private network.
"""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx

import dashboard
from dashboard.contracts.errors import (
    DeadlineExceeded,
    FetchError,
    Gone,
    HTTPError,
    NeedsCredentials,
    NetworkError,
    ParseError,
    RateLimited,
    RedirectError,
    TooLarge,
)
from dashboard.contracts.headers import ascii_integer, epoch_seconds, http_date
from dashboard.contracts.http import Request, Response
from dashboard.fetch.addresses import IPAddress, literal_address, redirect_refusal
from dashboard.fetch.proxies import ProxySettings, shown_proxy

DEFAULT_USER_AGENT = f"community-dashboard/{dashboard.__version__} (+https://github.com/community-dashboard/community-dashboard)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
MAX_RETRY_AFTER = timedelta(days=7)
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)
ERROR_BODY_KEPT = 64 * 1024  # of a refused response's body, for sources that read the reason there
# Inflate at most this much per step, so the cap is checked long before memory grows.
_INFLATE_STEP = 64 * 1024

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal IP resolves to itself)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = literal_address(str(sockaddr[0]))
        if address is not None and address not in found:
            found.append(address)
    return found


def retry_after_until(value: str, now: datetime) -> datetime | None:
    """When a Retry-After header (delay-seconds, or an HTTP-date) says to come back; capped at 7 days.

    None when the header is missing or unreadable (RFC 9110 10.2.3, read strictly: ASCII digits or
    one of the three HTTP-date forms); the caller then falls back to its default wait.
    """
    delay = ascii_integer(value)
    if delay is not None:
        return now + timedelta(seconds=min(delay, int(MAX_RETRY_AFTER.total_seconds())))
    moment = http_date(value, now)
    if moment is None:
        return None
    return min(max(moment, now), now + MAX_RETRY_AFTER)


def status_error(status: int, reason: str, headers: Mapping[str, str], now: datetime) -> FetchError | None:
    """The error a final (non-redirect) status stands for, or None when the response is usable."""
    if 200 <= status < 300 or status == 304:
        return None
    label = f"HTTP {status} {reason}".strip()
    retry_after = headers.get("retry-after", "")
    if status == 429:
        until = retry_after_until(retry_after, now) or now + DEFAULT_RATE_LIMIT_WAIT
        return RateLimited(f"{label}: rate limited", until=until, http_status=status)
    if status == 503:
        comeback = retry_after_until(retry_after, now)
        if comeback is not None:
            return RateLimited(f"{label}: come back later", until=comeback, http_status=status)
        return HTTPError(label, http_status=status)
    if status == 410:
        return Gone(f"{label}: the source was removed", http_status=status)
    if status == 403 and (retry_after or headers.get("x-ratelimit-remaining", "").strip() == "0"):
        # GitHub (and others) refuse a spent rate limit with 403: wait, don't ask for credentials.
        until = (
            retry_after_until(retry_after, now) or _reset_time(headers, now) or now + DEFAULT_RATE_LIMIT_WAIT
        )
        return RateLimited(f"{label}: rate limit spent", until=until, http_status=status)
    if status in (401, 403):
        return NeedsCredentials(f"{label}: access denied", env_var="", http_status=status)
    return HTTPError(label, http_status=status)


def _reset_time(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """X-RateLimit-Reset as epoch seconds (ASCII digits only), capped like Retry-After."""
    moment = epoch_seconds(headers.get("x-ratelimit-reset"))
    if moment is None:
        return None
    return min(max(moment, now), now + MAX_RETRY_AFTER)


class _Inflater:
    """Streams one Content-Encoding back to plain bytes, never producing more than asked for."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._pending = b""  # deflate: bytes held until we can tell zlib-wrapped from raw
        self._decoder: zlib._Decompress | None = None
        self._received = False  # any body bytes at all: an empty body is empty, not truncated
        if encoding == "gzip":
            self._decoder = zlib.decompressobj(31)

    def _start_deflate(self, head: bytes) -> zlib._Decompress:
        # RFC 9110 deflate is zlib-wrapped; some servers send raw deflate. A zlib header is
        # CMF=0x?8 with (CMF*256 + FLG) divisible by 31.
        wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] * 256 + head[1]) % 31 == 0
        return zlib.decompressobj(15 if wrapped else -15)

    def feed(self, data: bytes, sink: Callable[[bytes], None]) -> None:
        """Inflate `data` into `sink` in bounded steps (sink raises to stop)."""
        self._received = self._received or bool(data)
        if self._decoder is None:
            self._pending += data
            if len(self._pending) < 2:
                return
            self._decoder = self._start_deflate(self._pending)
            data, self._pending = self._pending, b""
        self._inflate(data, sink)

    def finish(self, sink: Callable[[bytes], None]) -> None:
        """The body has ended: inflate what is left, and refuse a stream that stops before its end.

        A gzip or deflate stream says where it ends (and gzip checks a CRC there); a body cut off in
        transit (a proxy or server dying mid-send, with a Content-Length matching the cut or none) is
        well-framed HTTP but an incomplete document, which must not be read as the whole feed.
        """
        if self._decoder is None:
            if not self._pending:
                return
            self._decoder = self._start_deflate(self._pending)
            self._inflate(self._pending, sink)
        self._inflate(b"", sink)
        assert self._decoder is not None
        tail = self._decoder.flush()
        if tail:
            sink(tail)
        if self._received and not self._decoder.eof:
            raise ParseError(f"the {self.encoding} body stops before its end (truncated in transit)")

    def _inflate(self, data: bytes, sink: Callable[[bytes], None]) -> None:
        decoder = self._decoder
        assert decoder is not None
        try:
            while True:
                if decoder.eof:
                    rest = decoder.unused_data
                    # Concatenated gzip members are one body; anything else after the end is ignored.
                    if self.encoding == "gzip" and rest[:2] == b"\x1f\x8b":
                        decoder = self._decoder = zlib.decompressobj(31)
                        data = rest
                        continue
                    return
                out = decoder.decompress(data, _INFLATE_STEP)
                if out:
                    sink(out)
                data = decoder.unconsumed_tail
                if not data and not out:
                    return
        except zlib.error as error:
            raise ParseError(f"the body is not valid {self.encoding} data ({error})") from error


def _content_codings(headers: httpx.Headers) -> list[str]:
    codings: list[str] = []
    for value in headers.get_list("content-encoding"):
        for part in value.split(","):
            coding = part.strip().lower()
            if coding and coding != "identity":
                codings.append("gzip" if coding == "x-gzip" else coding)
    return codings


class _Body:
    """Collects a body and raises TooLarge as soon as it passes the cap."""

    def __init__(self, url: str, cap: int) -> None:
        self.url = url
        self.cap = cap
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        if len(self.data) + len(chunk) > self.cap:
            raise TooLarge(f"body larger than {_size(self.cap)} (decompressed)")
        self.data += chunk


def _short(text: str, limit: int = 120) -> str:
    """Server-chosen text (a Location) shortened for a one-line message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(count: int) -> str:
    if count >= 2**20:
        return f"{count / 2**20:g} MiB"
    if count >= 2**10:
        return f"{count / 2**10:g} KiB"
    return f"{count} bytes"


def _merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> httpx.Headers:
    """The source's headers over ours, names compared case-insensitively."""
    merged = httpx.Headers(base)
    merged.update(extra)
    return merged


def _flatten_headers(headers: httpx.Headers) -> dict[str, str]:
    """Lower-case names; a header sent several times becomes one comma-joined value (RFC 9110 5.3)."""
    return {name: ", ".join(headers.get_list(name)) for name in headers}


def _keeps_credentials(url: httpx.URL, target: httpx.URL) -> bool:
    """Credentials follow a redirect only to the same origin, or its upgrade from http to https."""
    if url.host != target.host:
        return False
    if url.scheme == target.scheme:
        return url.port == target.port
    return (
        url.scheme == "http"
        and target.scheme == "https"
        and url.port in (None, 80)
        and target.port in (None, 443)
    )


def _host_problem(url: httpx.URL) -> str | None:
    """Why `url`'s host cannot be looked up, or None when it can.

    httpx parses a Location without checking its host as DNS does: an `xn--` label that is not valid
    punycode raises from `url.host`, and an empty label ("a..b") or one over 63 characters makes the
    resolver's IDNA codec raise UnicodeError. Both are the server's fault, so they are said here as
    one line rather than escape as an internal error.
    """
    try:
        host = url.host
    except ValueError as error:  # idna.IDNAError is a UnicodeError, which is a ValueError
        return f"invalid international host name ({error})"
    if not host:
        return "no host"
    if literal_address(host) is not None:
        return None
    name = url.raw_host.decode("ascii", "replace")
    name = name[:-1] if name.endswith(".") else name  # a fully qualified name's root dot
    if len(name) > 253:
        return "host name longer than 253 characters"
    for label in name.split("."):
        if not label:
            return "host name with an empty label"
        if len(label) > 63:
            return "host name with a label longer than 63 characters"
    return None


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _describe_transport_error(error: httpx.TransportError) -> str:
    """One short human line: the kind of failure and the first line of what the library said."""
    text = str(error).strip().splitlines()
    detail = text[0][:160] if text else type(error).__name__
    if isinstance(error, httpx.ConnectError):
        return f"could not connect: {detail}"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"the server broke off the exchange: {detail}"
    if isinstance(error, httpx.ReadError):
        return f"connection lost while reading: {detail}"
    if isinstance(error, httpx.WriteError):
        return f"connection lost while sending: {detail}"
    return f"network error: {detail}"


class Fetcher:
    """One HTTP/1.1 client for the life of the app: bounded concurrency, a total deadline per fetch,
    capped decompressed bodies, redirects followed by hand under an address policy.

    `timeout` is the deadline of one whole fetch (connect, headers, every body byte, every redirect),
    read at the start of each fetch; time spent waiting for one of the `max_concurrency` slots does
    not count. `resolver` is how redirect targets are resolved for the address policy (tests
    substitute one; the default asks the system resolver). `proxies` says which requests go through
    a proxy; by default HTTP(S)_PROXY / ALL_PROXY / NO_PROXY as read when the fetcher is made.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_concurrency: int = 8,
        max_body: int = 15 * 2**20,
        max_redirects: int = 5,
        user_agent: str | None = None,
        resolver: Resolver | None = None,
        proxies: ProxySettings | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.max_body = max_body
        self.max_redirects = max_redirects
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self._resolve: Resolver = resolver or resolve_host
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._in_flight = 0
        # Requests we stopped waiting for, still finishing inside the pool (see `_open`).
        self._orphans: set[asyncio.Future[Any]] = set()
        # One connection pool for the fetcher's life. We drive the transport directly rather than an
        # AsyncClient: the client's redirect machinery parses every Location eagerly (and raises on odd
        # ones) and its cookie jar would carry cookies from one site's feed into the next poll.
        self._proxies = proxies if proxies is not None else ProxySettings.from_environment()
        # One pool to connect directly and one per proxy in use, made when first needed.
        self._transport = self._make_transport(None)
        self._via_proxy: dict[str, httpx.AsyncHTTPTransport] = {}
        self._base_headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"}

    def _make_transport(self, proxy: str | None) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(
            http1=True,
            http2=False,
            trust_env=True,  # the transport only reads SSL_CERT_FILE / SSL_CERT_DIR from it
            proxy=proxy,
            # The semaphore bounds concurrency, not the pool: a request waiting for a pool slot
            # that times out just as a connection is made for it leaks that connection (httpcore
            # issue 1093), so no request may ever wait for one. In flight at once: at most
            # `max_concurrency` fetches plus requests we gave up on that are still winding down
            # (each within its deadline, see `_open`).
            limits=httpx.Limits(
                max_connections=None,
                max_keepalive_connections=self.max_concurrency,
                keepalive_expiry=5.0,
            ),
        )

    def _proxy_for(self, url: httpx.URL) -> str | None:
        return self._proxies.proxy_for(url.scheme, url.host, url.port or _default_port(url))

    def _transport_for(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        """The direct pool, or the one through the proxy the environment names for this URL."""
        proxy = self._proxy_for(url)
        if proxy is None:
            return self._transport
        transport = self._via_proxy.get(proxy)
        if transport is None:
            try:
                transport = self._make_transport(proxy)
            except (ImportError, ValueError, httpx.InvalidURL) as error:  # socks without socksio, ftp://...
                raise NetworkError(f"cannot use the proxy {shown_proxy(proxy)}: {error}") from error
            self._via_proxy[proxy] = transport
        return transport

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Let requests we gave up on finish or fail, then close every connection."""
        if self._orphans:
            await asyncio.wait(set(self._orphans), timeout=1.0)
        for orphan in list(self._orphans):
            orphan.cancel()
        await self._transport.aclose()
        for transport in self._via_proxy.values():
            await transport.aclose()

    async def fetch(self, request: Request) -> Response:
        """Perform `request`, following redirects; a Response for 2xx/304, else a FetchError subclass."""
        async with self._semaphore:
            self._in_flight += 1
            deadline = self.timeout
            expires_at = asyncio.get_running_loop().time() + deadline
            try:
                async with asyncio.timeout_at(expires_at):
                    return await self._exchange(request, deadline, expires_at)
            except TimeoutError as error:
                raise DeadlineExceeded(f"no complete answer within {deadline:g} s") from error
            finally:
                self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """Fetches holding one of the `max_concurrency` slots right now."""
        return self._in_flight

    async def _exchange(self, request: Request, deadline: float, expires_at: float) -> Response:
        url = self._first_url(request)
        method = request.method.upper()
        json_body = request.json
        headers = dict(request.headers)
        permanent = True
        hops = 0
        seen = {(method, str(url))}
        while True:
            status, reason, response_headers, body = await self._send_once(
                method, url, headers, json_body, deadline, expires_at
            )
            if status not in REDIRECT_STATUSES:
                error = status_error(status, reason, response_headers, datetime.now(UTC))
                if error is not None:
                    error.headers = response_headers
                    error.body = body[:ERROR_BODY_KEPT]
                    raise error
                return Response(
                    url=str(url),
                    status=status,
                    headers=response_headers,
                    body=body,
                    permanent_redirect=str(url) if hops and permanent else None,
                )
            hops += 1
            if hops > self.max_redirects:
                raise RedirectError(f"more than {self.max_redirects} redirects", http_status=status)
            target = self._redirect_target(url, response_headers, status)
            await self._check_redirect(url, target, status)
            permanent = permanent and status in PERMANENT_REDIRECT_STATUSES
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, json_body = "GET", None
            if (method, str(target)) in seen:
                raise RedirectError(f"redirect loop back to {_short(str(target))}", http_status=status)
            seen.add((method, str(target)))
            if not _keeps_credentials(url, target):
                headers = {
                    name: value
                    for name, value in headers.items()
                    if name.lower() not in ("authorization", "cookie", "proxy-authorization")
                }
            url = target

    def _first_url(self, request: Request) -> httpx.URL:
        try:
            url = httpx.URL(request.url)
            if request.params:
                url = url.copy_merge_params(dict(request.params))
        except (httpx.InvalidURL, TypeError, ValueError) as error:
            raise NetworkError(f"invalid URL {request.url!r}: {error}") from error
        if url.scheme not in ("http", "https"):
            raise NetworkError(f"unsupported URL scheme {url.scheme!r} (only http and https)")
        problem = _host_problem(url)
        if problem is not None:
            raise NetworkError(f"invalid URL {_short(request.url)!r}: {problem}")
        return url

    def _redirect_target(self, url: httpx.URL, headers: Mapping[str, str], status: int) -> httpx.URL:
        location = headers.get("location", "").strip()
        if not location:
            raise RedirectError(f"HTTP {status} redirect without a Location", http_status=status)
        try:
            target = url.join(location)
        except (httpx.InvalidURL, ValueError) as error:
            raise RedirectError(
                f"redirect to an invalid URL {_short(location)!r}", http_status=status
            ) from error
        if target.scheme not in ("http", "https"):
            raise RedirectError(
                f"redirect to a {target.scheme or 'schemeless'} URL refused", http_status=status
            )
        problem = _host_problem(target)
        if problem is not None:
            raise RedirectError(
                f"redirect to an invalid URL {_short(location)!r}: {problem}", http_status=status
            )
        return target

    async def _check_redirect(self, url: httpx.URL, target: httpx.URL, status: int) -> None:
        origin = await self._addresses(url)
        destination = await self._addresses(target)
        refusal = redirect_refusal(origin, destination)
        if refusal is not None:
            raise RedirectError(f"{refusal}: {target.host}", http_status=status)

    async def _addresses(self, url: httpx.URL) -> Sequence[IPAddress] | None:
        """What `url`'s host resolves to here; None when it does not but a proxy will resolve it
        (behind a proxy the local resolver often knows no public names)."""
        port = url.port or _default_port(url)
        try:
            return await self._resolve(url.host, port)
        except OSError as error:
            if self._proxy_for(url) is not None:
                return None
            raise NetworkError(f"cannot resolve {url.host}: {error.strerror or error}") from error
        except UnicodeError as error:  # the resolver's IDNA codec refused the name
            raise NetworkError(f"cannot resolve {url.host}: invalid host name ({error})") from error

    async def _send_once(
        self,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str],
        json_body: object | None,
        deadline: float,
        expires_at: float,
    ) -> tuple[int, str, dict[str, str], bytes]:
        """One request/response; the body is read (and inflated) only for usable statuses."""
        # httpx's own per-phase timeouts never outlast the fetch's deadline.
        remaining = max(expires_at - asyncio.get_running_loop().time(), 0.001)
        try:
            http_request = httpx.Request(
                method,
                url,
                headers=_merge_headers(self._base_headers, headers),
                json=json_body,
                extensions={"timeout": httpx.Timeout(remaining).as_dict()},
            )
            transport = self._transport_for(url)
            response = await self._open(transport, http_request)
        except httpx.TimeoutException as error:
            raise DeadlineExceeded(f"no answer within {deadline:g} s ({type(error).__name__})") from error
        except httpx.ProxyError as error:
            proxy = shown_proxy(self._proxy_for(url) or "")
            raise NetworkError(
                f"the proxy {proxy} refused or failed: {_describe_transport_error(error)}"
            ) from error
        except httpx.TransportError as error:
            raise NetworkError(_describe_transport_error(error)) from error
        try:
            response_headers = _flatten_headers(response.headers)
            status = response.status_code
            body = b""
            if 200 <= status < 300:
                body = await self._read_body(response, str(url), self.max_body)
            elif status >= 400:
                body = await self._error_body(response, str(url))
            else:  # 304 and redirects: drain the (tiny) body so the connection goes back to the pool
                await self._error_body(response, str(url))
            return status, response.reason_phrase, response_headers, body
        except httpx.TimeoutException as error:
            raise DeadlineExceeded(f"body not received within {deadline:g} s") from error
        except httpx.TransportError as error:
            raise NetworkError(_describe_transport_error(error)) from error
        finally:
            await response.aclose()

    async def _open(self, transport: httpx.AsyncHTTPTransport, http_request: httpx.Request) -> httpx.Response:
        """Send the request and wait for the response headers, never cancelling the pool mid-bookkeeping.

        httpcore assigns a new connection to a request before its first await; a request cancelled
        at that point leaves the connection in the pool for good, never connected and never
        reclaimed (httpcore issue 1093: measured, up to 80 such after 5,000 cancelled fetches, after
        which every request waited for ever). So the pool's part runs in its own task that our
        deadline does not cancel: it ends by itself within the remaining deadline (httpx's per-phase
        timeouts), and a response that arrives after we gave up is closed at once.
        """
        opening = asyncio.ensure_future(transport.handle_async_request(http_request))
        try:
            return await asyncio.shield(opening)
        except BaseException:
            if opening.done():
                self._dispose_orphan(opening)
            else:
                self._orphans.add(opening)
                opening.add_done_callback(self._dispose_orphan)
            raise

    def _dispose_orphan(self, opening: asyncio.Future[httpx.Response]) -> None:
        """Close the response of a request we stopped waiting for (or note that it failed)."""
        self._orphans.discard(opening)
        if opening.cancelled() or opening.exception() is not None:
            return
        closing = asyncio.ensure_future(opening.result().aclose())
        self._orphans.add(closing)
        closing.add_done_callback(self._orphans.discard)

    async def _error_body(self, response: httpx.Response, url: str) -> bytes:
        """The start of a body we do not use as content (a refusal's reason, a 304's nothing), read
        so the connection can be reused; never an error of its own."""
        try:
            return await self._read_body(response, url, ERROR_BODY_KEPT)
        except (TooLarge, ParseError):
            return b""

    async def _read_body(self, response: httpx.Response, url: str, cap: int) -> bytes:
        codings = _content_codings(response.headers)
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "deflate")):
            raise ParseError(f"unsupported Content-Encoding {', '.join(codings)!r}")
        declared = ascii_integer(response.headers.get("content-length"))
        if declared is not None and declared > cap:
            raise TooLarge(f"body of {_size(declared)} is larger than {_size(cap)}")
        body = _Body(url, cap)
        raw_seen = 0
        inflater = _Inflater(codings[0]) if codings else None
        async for chunk in response.aiter_raw():
            raw_seen += len(chunk)
            if raw_seen > cap:
                raise TooLarge(f"body larger than {_size(cap)}")
            if inflater is None:
                body.add(chunk)
            else:
                inflater.feed(chunk, body.add)
        if inflater is not None:
            inflater.finish(body.add)
        return bytes(body.data)
