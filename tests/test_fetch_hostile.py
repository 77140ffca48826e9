"""The fetcher against servers that misbehave on purpose, and the redirect address policy.

Every server here is the real LocalServer on 127.0.0.1; handlers write raw bytes to trickle, reset,
stream without end or never answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest

from dashboard.contracts.errors import DeadlineExceeded, NetworkError, RedirectError, TooLarge
from dashboard.contracts.http import Request
from dashboard.fetch.addresses import (
    IPAddress,
    is_public,
    literal_address,
    redirect_allowed,
    redirect_refusal,
)
from dashboard.fetch.http import Fetcher, Resolver, resolve_host
from tests.localserver import Handler, LocalServer, Reply, Seen, write_reply
from tests.misbehaving import MiB, endless_chunks, gzip_bomb, never_answer


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb()


def test_the_bomb_is_real() -> None:
    small = gzip_bomb(8)
    assert zlib.decompress(small, 31) == bytes(8 * MiB)


# --- size ---


async def test_gzip_bomb_is_abandoned_at_the_cap_with_small_memory(server: LocalServer, bomb: bytes) -> None:
    assert 0.9 * MiB < len(bomb) < 1.2 * MiB
    server.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    async with Fetcher(timeout=20.0) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(TooLarge, match="15 MiB"):
                await fetcher.fetch(Request(server.url("/bomb")))
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # The cap is 15 MiB of inflated bytes; growing the buffer may briefly hold two copies.
    assert peak < 40 * MiB, f"peak {peak / MiB:.1f} MiB"


async def test_deflate_bomb_is_abandoned_too(server: LocalServer) -> None:
    squeezer = zlib.compressobj(9, zlib.DEFLATED, 15)
    body = b"".join(squeezer.compress(bytes(MiB)) for _ in range(64)) + squeezer.flush()
    server.route("/bomb", Reply(body=body, headers={"Content-Encoding": "deflate"}))
    async with Fetcher(max_body=MiB) as fetcher:
        with pytest.raises(TooLarge):
            await fetcher.fetch(Request(server.url("/bomb")))


async def test_body_at_the_cap_is_fine_one_byte_more_is_not(server: LocalServer) -> None:
    server.route(
        "/exact", Reply(body=zlib.compress(b"x" * 1000, wbits=31), headers={"Content-Encoding": "gzip"})
    )
    server.route(
        "/over", Reply(body=zlib.compress(b"x" * 1001, wbits=31), headers={"Content-Encoding": "gzip"})
    )
    async with Fetcher(max_body=1000) as fetcher:
        assert len((await fetcher.fetch(Request(server.url("/exact")))).body) == 1000
        with pytest.raises(TooLarge):
            await fetcher.fetch(Request(server.url("/over")))


async def test_declared_length_over_the_cap_is_refused_before_reading(server: LocalServer) -> None:
    server.route("/big", b"y" * 5000)
    async with Fetcher(max_body=4096) as fetcher:
        with pytest.raises(TooLarge, match="4 KiB"):
            await fetcher.fetch(Request(server.url("/big")))


async def test_endless_chunked_body_is_too_large(server: LocalServer) -> None:
    ended = threading.Event()

    def endless(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
        endless_chunks(seen, raw)
        ended.set()  # it writes until the client hangs up (or 20 s pass)

    server.route("/endless", endless)
    async with Fetcher(max_body=2 * MiB, timeout=30.0) as fetcher:
        with pytest.raises(TooLarge):
            await fetcher.fetch(Request(server.url("/endless")))
    # The fetcher stopped reading at the cap and hung up: the server's write loop ended.
    assert await asyncio.to_thread(ended.wait, 10.0)


# --- time ---


TRICKLED = 10000  # bytes a trickling server would send, one each 20 ms: 200 s in all


def trickle_body(seen: Seen, raw: BaseHTTPRequestHandler) -> int:
    raw.send_response(200)
    raw.send_header("Content-Length", str(TRICKLED))
    raw.end_headers()
    sent = 0
    try:
        for _ in range(TRICKLED):
            raw.wfile.write(b"x")
            sent += 1
            time.sleep(0.02)
    except OSError:
        pass
    raw.close_connection = True
    return sent


def trickle_headers(seen: Seen, raw: BaseHTTPRequestHandler) -> int:
    sent = 0
    try:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * (TRICKLED - 25):
            raw.wfile.write(bytes([byte]))
            sent += 1
            time.sleep(0.02)
    except OSError:
        pass
    raw.close_connection = True
    return sent


def silent(seen: Seen, raw: BaseHTTPRequestHandler) -> int:
    never_answer(seen, raw)  # returns when the client hangs up (or after 20 s)
    return 0


@pytest.mark.parametrize("handler", [trickle_body, trickle_headers, silent])
async def test_slow_servers_are_cut_at_the_deadline(
    server: LocalServer, handler: Callable[[Seen, BaseHTTPRequestHandler], int]
) -> None:
    sent: list[int] = []
    ended = threading.Event()

    def recording(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
        sent.append(handler(seen, raw))
        ended.set()

    server.route("/slow", recording)
    async with Fetcher(timeout=0.6) as fetcher:
        with pytest.raises(DeadlineExceeded, match=r"0\.6 s"):
            await fetcher.fetch(Request(server.url("/slow")))
    # httpx alone would wait for ever here: each byte arrives well within its per-read timeout. The
    # fetcher hung up long before the server was done: it saw the close, having sent a small part.
    assert await asyncio.to_thread(ended.wait, 10.0)
    assert sent[0] < TRICKLED // 2


def reset_mid_body(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
    raw.send_response(200)
    raw.send_header("Content-Length", "100000")
    raw.end_headers()
    raw.wfile.write(b"<rss>" + b"x" * 2000)
    time.sleep(0.05)
    # SO_LINGER with a zero timeout turns close() into a TCP reset.
    raw.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.connection.close()
    raw.close_connection = True


def hang_up_mid_body(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
    raw.send_response(200)
    raw.send_header("Content-Length", "100000")
    raw.end_headers()
    raw.wfile.write(b"<rss>" + b"x" * 2000)
    raw.connection.shutdown(socket.SHUT_RDWR)
    raw.close_connection = True


@pytest.mark.parametrize("handler", [reset_mid_body, hang_up_mid_body])
async def test_connection_lost_mid_body_is_a_network_error(server: LocalServer, handler: Handler) -> None:
    server.route("/cut", handler)
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(NetworkError) as caught:
            await fetcher.fetch(Request(server.url("/cut")))
    assert "\n" not in caught.value.message


async def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(NetworkError, match="could not connect"):
            await fetcher.fetch(Request(f"http://127.0.0.1:{port}/feed"))


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "not a url", "http:///nohost"])
async def test_unusable_urls_fail_cleanly(url: str) -> None:
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(NetworkError):
            await fetcher.fetch(Request(url))


# --- the pool survives thousands of timeouts and cancellations ---


async def test_pool_stays_healthy_after_5000_timeouts_and_cancellations(server: LocalServer) -> None:
    server.route("/hang", never_answer)
    server.route("/ok", b"fine")
    # The local server's accept queue holds 5 connections: more at once would only measure SYN retries.
    together = 5
    arrived = threading.Barrier(together, timeout=5)

    def all_at_once(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        try:
            arrived.wait()
        except threading.BrokenBarrierError:
            return Reply(500, b"not everyone arrived")
        return Reply(200, b"together")

    server.route("/together", all_at_once)
    rng = random.Random(1093)
    outcomes: dict[str, int] = {}

    async def doomed(fetcher: Fetcher) -> None:
        style = rng.choice(["deadline", "cancel-soon", "cancel-soon", "cancel-at-once", "cancel-at-once"])
        task = asyncio.create_task(fetcher.fetch(Request(server.url("/hang"))))
        if style == "cancel-soon":
            await asyncio.sleep(rng.uniform(0, 0.04))
            task.cancel()
        elif style == "cancel-at-once":
            await asyncio.sleep(0)
            task.cancel()
        try:
            await task
        except DeadlineExceeded:
            outcomes["deadline"] = outcomes.get("deadline", 0) + 1
        except asyncio.CancelledError:
            outcomes["cancelled"] = outcomes.get("cancelled", 0) + 1

    async with Fetcher(timeout=0.05, max_concurrency=20) as fetcher:
        await fetcher.fetch(Request(server.url("/ok")))
        threads_before = threading.active_count()
        for _round in range(25):
            await asyncio.gather(*(doomed(fetcher) for _ in range(200)))
        assert sum(outcomes.values()) == 5000
        assert outcomes["deadline"] > 500
        assert outcomes["cancelled"] > 500
        assert fetcher.in_flight == 0  # every slot was given back
        # Every connection is closed again: each open one keeps a server thread waiting. Requests
        # cancelled inside httpcore's pool used to leave dozens open for good (httpcore issue 1093).
        settled_by = time.monotonic() + 3.0
        while threading.active_count() > threads_before + 8 and time.monotonic() < settled_by:
            await asyncio.sleep(0.05)
        assert threading.active_count() <= threads_before + 8

        fetcher.timeout = 5.0
        # A pool left full by cancelled requests would make this wait for a slot until its deadline.
        assert (await fetcher.fetch(Request(server.url("/ok")))).body == b"fine"
        # Several requests are in flight at the same time: they meet at the server.
        met = await asyncio.gather(
            *(fetcher.fetch(Request(server.url("/together"))) for _ in range(together))
        )
        assert {response.body for response in met} == {b"together"}


async def test_a_response_arriving_after_the_caller_gave_up_is_closed(server: LocalServer) -> None:
    hung_up = threading.Event()

    def late(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
        time.sleep(0.3)
        write_reply(raw, Reply(200, b"too late" * 1000))
        raw.connection.settimeout(5)
        try:
            while raw.connection.recv(1024):
                pass
        except OSError:
            return
        hung_up.set()
        raw.close_connection = True

    server.route("/late", late)
    async with Fetcher(timeout=5.0) as fetcher:
        task = asyncio.create_task(fetcher.fetch(Request(server.url("/late"))))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert fetcher.in_flight == 0
        # The headers still arrive inside the pool; the connection is then closed, not left open.
        assert await asyncio.to_thread(hung_up.wait, 3.0)


async def test_closing_does_not_wait_for_abandoned_requests(server: LocalServer) -> None:
    hung_up = threading.Event()

    def hang(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
        never_answer(seen, raw)
        hung_up.set()

    server.route("/hang", hang)
    fetcher = Fetcher(timeout=600.0)
    task = asyncio.create_task(fetcher.fetch(Request(server.url("/hang"))))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The abandoned request would live until its 600-s deadline (and never_answer gives up after
    # 20 s); closing cancels it and closes its connection, which the server sees.
    await fetcher.aclose()
    assert await asyncio.to_thread(hung_up.wait, 10.0)
    assert fetcher.in_flight == 0


async def test_in_flight_counts_fetches_holding_a_slot(server: LocalServer) -> None:
    release = threading.Event()

    def held(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        release.wait(5)
        return Reply(200, b"released")

    server.route("/held", held)
    async with Fetcher(timeout=5.0, max_concurrency=2) as fetcher:
        tasks = [asyncio.create_task(fetcher.fetch(Request(server.url("/held")))) for _ in range(3)]
        for _ in range(100):
            if fetcher.in_flight == 2:
                break
            await asyncio.sleep(0.01)
        assert fetcher.in_flight == 2  # the third waits for a slot
        release.set()
        await asyncio.gather(*tasks)
        assert fetcher.in_flight == 0


# --- redirect address policy: pure functions ---


def addresses(*texts: str) -> list[IPAddress]:
    return [ipaddress.ip_address(text) for text in texts]


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "10.255.255.254",
        "172.16.0.1",
        "172.31.255.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:c0a8:0101::1",  # 6to4 of 192.168.1.1
    ],
)
def test_non_public_addresses(text: str) -> None:
    assert not is_public(ipaddress.ip_address(text))


@pytest.mark.parametrize(
    "text", ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:2800:220:1:248:1893:25c8:1946"]
)
def test_public_addresses(text: str) -> None:
    assert is_public(ipaddress.ip_address(text))


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.0.10", "169.254.169.254", "::1", "fc00::7", "0.0.0.0"],
)
def test_public_to_private_redirect_is_refused(target: str) -> None:
    assert not redirect_allowed(addresses("93.184.216.34"), addresses(target))
    refusal = redirect_refusal(addresses("93.184.216.34"), addresses(target))
    assert refusal is not None
    assert target in refusal


@pytest.mark.parametrize(
    ("origin", "target"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "192.168.1.20"),
        ("10.0.0.2", "172.16.0.3"),
        ("192.168.1.1", "::1"),
        ("fc00::1", "10.0.0.1"),
        ("192.168.1.1", "93.184.216.34"),  # from the LAN out to the internet
        ("93.184.216.34", "8.8.8.8"),  # public to public
    ],
)
def test_allowed_redirects(origin: str, target: str) -> None:
    assert redirect_allowed(addresses(origin), addresses(target))
    assert redirect_refusal(addresses(origin), addresses(target)) is None


def test_a_name_with_any_private_address_is_not_a_safe_target() -> None:
    assert not redirect_allowed(addresses("93.184.216.34"), addresses("8.8.8.8", "10.0.0.1"))
    assert not redirect_allowed(addresses("93.184.216.34"), [])  # resolves to nothing: refuse


def test_an_origin_with_any_public_address_counts_as_public() -> None:
    assert not redirect_allowed(addresses("10.0.0.1", "93.184.216.34"), addresses("127.0.0.1"))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[fe80::1%eth0]", "fe80::1"),
        ("example.com", None),
        ("localhost", None),
        ("", None),
    ],
)
def test_literal_address(host: str, expected: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found is not None else None) == expected


async def test_resolve_host_resolves_names_and_literals() -> None:
    assert await resolve_host("localhost", 80) != []
    assert all(not is_public(address) for address in await resolve_host("localhost", 80))
    assert await resolve_host("10.0.0.1", 80) == addresses("10.0.0.1")


# --- redirect address policy through the fetcher ---


def fake_resolver(names: dict[str, str]) -> Resolver:
    """Names resolve to the given addresses; literal IPs to themselves; anything else fails like DNS."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host in names:
            return addresses(names[host])
        literal = literal_address(host)
        if literal is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [literal]

    return resolve


async def test_public_feed_redirecting_to_a_private_name_is_refused(server: LocalServer) -> None:
    # "localhost" reaches the local server, but the policy's resolver says it is a public host.
    server.route("/feed", Reply(301, headers={"Location": "http://intranet.example/admin"}))
    resolver = fake_resolver({"localhost": "93.184.216.34", "intranet.example": "10.1.2.3"})
    async with Fetcher(resolver=resolver) as fetcher:
        with pytest.raises(RedirectError, match=r"private address \(10\.1\.2\.3\)"):
            await fetcher.fetch(Request(server.url("/feed").replace("127.0.0.1", "localhost")))


async def test_public_feed_redirecting_to_metadata_endpoint_is_refused(server: LocalServer) -> None:
    server.route("/feed", Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    async with Fetcher(resolver=fake_resolver({"localhost": "93.184.216.34"})) as fetcher:
        with pytest.raises(RedirectError, match=r"169\.254\.169\.254"):
            await fetcher.fetch(Request(server.url("/feed").replace("127.0.0.1", "localhost")))


async def test_unresolvable_redirect_target_is_a_network_error(server: LocalServer) -> None:
    server.route("/feed", Reply(302, headers={"Location": "http://nowhere.invalid/feed"}))
    async with Fetcher(resolver=fake_resolver({})) as fetcher:
        with pytest.raises(NetworkError, match=r"cannot resolve nowhere\.invalid"):
            await fetcher.fetch(Request(server.url("/feed")))


async def test_redirect_from_public_to_public_is_followed(server: LocalServer) -> None:
    # Both names reach the local server; the policy's resolver calls both public.
    server.route(
        "/old", Reply(301, headers={"Location": server.url("/new").replace("127.0.0.1", "localhost")})
    )
    server.route("/new", b"moved")
    resolver = fake_resolver({"localhost": "93.184.216.35", "127.0.0.1": "93.184.216.34"})
    async with Fetcher(resolver=resolver) as fetcher:
        response = await fetcher.fetch(Request(server.url("/old")))
    assert response.body == b"moved"
    assert response.permanent_redirect == server.url("/new").replace("127.0.0.1", "localhost")
