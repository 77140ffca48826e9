"""The fetcher against the real local HTTP server: bodies, encodings, statuses, redirects, headers."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import pytest

import dashboard
from dashboard.contracts.errors import (
    Gone,
    HTTPError,
    NeedsCredentials,
    ParseError,
    RateLimited,
    RedirectError,
)
from dashboard.contracts.http import Request
from dashboard.fetch.addresses import IPAddress, literal_address
from dashboard.fetch.http import Fetcher, Resolver, retry_after_until
from tests.localserver import LocalServer, Reply, Seen

FEED = b"<rss><channel><title>t</title></channel></rss>" * 50


async def test_plain_body_and_headers(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/feed", FEED, headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'})
    response = await fetcher.fetch(Request(server.url("/feed")))
    assert response.status == 200
    assert response.body == FEED
    assert response.header("ETag") == '"v1"'
    assert response.header("content-type") == "application/rss+xml"
    assert response.url == server.url("/feed")
    assert response.permanent_redirect is None


async def test_user_agent_accept_encoding_params_and_custom_headers(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/api", b"{}")
    request = Request(server.url("/api"), params={"q": "textual tui"}, headers={"If-None-Match": '"abc"'})
    await fetcher.fetch(request)
    seen = server.requests_to("/api")[0]
    assert seen.headers["user-agent"] == (
        f"community-dashboard/{dashboard.__version__} (+https://github.com/community-dashboard/community-dashboard)"
    )
    assert seen.headers["accept-encoding"] == "gzip, deflate"
    assert seen.headers["if-none-match"] == '"abc"'
    assert seen.param("q") == "textual tui"


async def test_custom_user_agent(server: LocalServer) -> None:
    server.route("/ua", b"ok")
    async with Fetcher(user_agent="my-bot/2") as client:
        await client.fetch(Request(server.url("/ua")))
    assert server.requests_to("/ua")[0].headers["user-agent"] == "my-bot/2"


async def test_post_json(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/session", b'{"accessJwt": "x"}', headers={"Content-Type": "application/json"})
    payload = {"identifier": "me.bsky.social", "password": "secret"}
    response = await fetcher.fetch(Request(server.url("/session"), method="POST", json=payload))
    seen = server.requests_to("/session")[0]
    assert seen.method == "POST"
    assert json.loads(seen.body) == payload
    assert seen.headers["content-type"] == "application/json"
    assert response.body == b'{"accessJwt": "x"}'


async def test_gzip_body(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/gz", Reply(body=gzip.compress(FEED), headers={"Content-Encoding": "gzip"}))
    assert (await fetcher.fetch(Request(server.url("/gz")))).body == FEED


async def test_concatenated_gzip_members_are_one_body(server: LocalServer, fetcher: Fetcher) -> None:
    body = gzip.compress(b"first half ") + gzip.compress(b"second half")
    server.route("/gz2", Reply(body=body, headers={"Content-Encoding": "x-gzip"}))
    assert (await fetcher.fetch(Request(server.url("/gz2")))).body == b"first half second half"


async def test_deflate_body_zlib_wrapped(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/z", Reply(body=zlib.compress(FEED), headers={"Content-Encoding": "deflate"}))
    assert (await fetcher.fetch(Request(server.url("/z")))).body == FEED


async def test_deflate_body_raw(server: LocalServer, fetcher: Fetcher) -> None:
    squeezer = zlib.compressobj(wbits=-15)
    raw = squeezer.compress(FEED) + squeezer.flush()
    server.route("/raw", Reply(body=raw, headers={"Content-Encoding": "deflate"}))
    assert (await fetcher.fetch(Request(server.url("/raw")))).body == FEED


async def test_identity_encoding(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/id", Reply(body=FEED, headers={"Content-Encoding": "identity"}))
    assert (await fetcher.fetch(Request(server.url("/id")))).body == FEED


async def test_unknown_encoding_is_a_parse_error(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/br", Reply(body=b"\x00\x01", headers={"Content-Encoding": "br"}))
    with pytest.raises(ParseError, match="Content-Encoding"):
        await fetcher.fetch(Request(server.url("/br")))


async def test_corrupt_gzip_is_a_parse_error(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/bad", Reply(body=b"\x1f\x8bnot really gzip", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(ParseError, match="gzip"):
        await fetcher.fetch(Request(server.url("/bad")))


async def test_not_modified_passes_through(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/cached", Reply(304, headers={"ETag": '"v1"'}))
    response = await fetcher.fetch(Request(server.url("/cached"), headers={"If-None-Match": '"v1"'}))
    assert response.not_modified
    assert response.body == b""
    assert response.header("etag") == '"v1"'


async def test_other_2xx_is_a_response(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/created", Reply(201, b"made"))
    response = await fetcher.fetch(Request(server.url("/created")))
    assert (response.status, response.body) == (201, b"made")


# --- statuses that become errors ---


async def test_429_with_retry_after_seconds(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/limited", Reply(429, b"slow down", {"Retry-After": "120"}))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await fetcher.fetch(Request(server.url("/limited")))
    assert caught.value.http_status == 429
    wait = caught.value.until - before
    assert timedelta(seconds=119) <= wait <= timedelta(seconds=125)


async def test_429_with_retry_after_http_date(server: LocalServer, fetcher: Fetcher) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    server.route("/limited", Reply(429, b"", {"Retry-After": format_datetime(when, usegmt=True)}))
    with pytest.raises(RateLimited) as caught:
        await fetcher.fetch(Request(server.url("/limited")))
    assert caught.value.until == when


async def test_429_huge_retry_after_is_capped_at_seven_days(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/limited", Reply(429, b"", {"Retry-After": "99999999999"}))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await fetcher.fetch(Request(server.url("/limited")))
    assert before + timedelta(days=7) <= caught.value.until <= datetime.now(UTC) + timedelta(days=7)


async def test_429_without_retry_after_waits_a_default(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/limited", Reply(429, b""))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await fetcher.fetch(Request(server.url("/limited")))
    assert timedelta(seconds=30) <= caught.value.until - before <= timedelta(minutes=5)


async def test_503_with_retry_after_is_rate_limited(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/busy", Reply(503, b"", {"Retry-After": "30"}))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await fetcher.fetch(Request(server.url("/busy")))
    assert caught.value.http_status == 503
    assert timedelta(seconds=29) <= caught.value.until - before <= timedelta(seconds=35)


async def test_503_without_retry_after_is_an_http_error(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/busy", Reply(503, b""))
    with pytest.raises(HTTPError) as caught:
        await fetcher.fetch(Request(server.url("/busy")))
    assert caught.value.http_status == 503
    assert not isinstance(caught.value, RateLimited)


async def test_410_is_gone(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/old", Reply(410, b"bye"))
    with pytest.raises(Gone) as caught:
        await fetcher.fetch(Request(server.url("/old")))
    assert caught.value.http_status == 410


@pytest.mark.parametrize("status", [401, 403])
async def test_401_and_403_need_credentials(server: LocalServer, fetcher: Fetcher, status: int) -> None:
    server.route("/private", Reply(status, b"no"))
    with pytest.raises(NeedsCredentials) as caught:
        await fetcher.fetch(Request(server.url("/private")))
    assert caught.value.http_status == status
    assert caught.value.env_var == ""


async def test_500_is_an_http_error_with_reason(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/broken", Reply(500, b"oops"))
    with pytest.raises(HTTPError) as caught:
        await fetcher.fetch(Request(server.url("/broken")))
    assert caught.value.http_status == 500
    assert caught.value.message == "HTTP 500 Internal Server Error"


async def test_404_is_an_http_error(server: LocalServer, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPError) as caught:
        await fetcher.fetch(Request(server.url("/nowhere")))
    assert caught.value.http_status == 404
    assert "\n" not in caught.value.message


# --- Retry-After parsing, pure ---

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0", NOW),
        ("45", NOW + timedelta(seconds=45)),
        (" 45 ", NOW + timedelta(seconds=45)),
        ("Fri, 01 May 2026 13:00:00 GMT", NOW + timedelta(hours=1)),
        ("Fri, 01 May 2026 11:00:00 GMT", NOW),  # in the past: now
        ("Sat, 01 May 2027 13:00:00 GMT", NOW + timedelta(days=7)),
        ("10000000", NOW + timedelta(days=7)),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_until(header: str, expected: datetime | None) -> None:
    assert retry_after_until(header, NOW) == expected


# --- redirects ---


async def test_permanent_redirect_chain_sets_permanent_redirect(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/old", Reply(301, headers={"Location": "/older"}))
    server.route("/older", Reply(308, headers={"Location": server.url("/new")}))
    server.route("/new", FEED)
    response = await fetcher.fetch(Request(server.url("/old")))
    assert response.body == FEED
    assert response.url == server.url("/new")
    assert response.permanent_redirect == server.url("/new")


async def test_temporary_hop_means_no_permanent_redirect(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/old", Reply(301, headers={"Location": "/moving"}))
    server.route("/moving", Reply(302, headers={"Location": "/new"}))
    server.route("/new", FEED)
    response = await fetcher.fetch(Request(server.url("/old")))
    assert response.url == server.url("/new")
    assert response.permanent_redirect is None


async def test_302_is_followed_without_permanent_redirect(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/here", Reply(302, headers={"Location": "there?x=1"}))
    server.route("/there", FEED)
    response = await fetcher.fetch(Request(server.url("/here")))
    assert response.body == FEED
    assert response.url == server.url("/there?x=1")
    assert response.permanent_redirect is None


async def test_303_after_post_becomes_get(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/submit", Reply(303, headers={"Location": "/result"}))
    server.route("/result", b"done")
    await fetcher.fetch(Request(server.url("/submit"), method="POST", json={"a": 1}))
    assert server.requests_to("/result")[0].method == "GET"


async def test_post_redirected_to_itself_as_get_is_not_a_loop(server: LocalServer, fetcher: Fetcher) -> None:
    def post_redirect_get(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        if seen.method == "POST":
            return Reply(303, headers={"Location": "/form"})
        return Reply(200, b"the form")

    server.route("/form", post_redirect_get)
    response = await fetcher.fetch(Request(server.url("/form"), method="POST", json={}))
    assert response.body == b"the form"
    assert [seen.method for seen in server.requests_to("/form")] == ["POST", "GET"]


async def test_long_location_is_shortened_in_the_message(server: LocalServer, fetcher: Fetcher) -> None:
    long_path = "/a" + "b" * 5000
    server.route("/jump", Reply(302, headers={"Location": long_path}))
    server.route(long_path, Reply(302, headers={"Location": long_path}))
    with pytest.raises(RedirectError, match="loop") as caught:
        await fetcher.fetch(Request(server.url("/jump")))
    assert len(caught.value.message) < 200


async def test_307_keeps_method_and_body(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/submit", Reply(307, headers={"Location": "/again"}))
    server.route("/again", b"done")
    await fetcher.fetch(Request(server.url("/submit"), method="POST", json={"a": 1}))
    seen = server.requests_to("/again")[0]
    assert (seen.method, json.loads(seen.body)) == ("POST", {"a": 1})


async def test_redirect_loop_fails_cleanly(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/a", Reply(302, headers={"Location": "/b"}))
    server.route("/b", Reply(302, headers={"Location": "/a"}))
    with pytest.raises(RedirectError, match="loop"):
        await fetcher.fetch(Request(server.url("/a")))
    assert len(server.requests_to("/a")) == 1


async def test_too_many_redirects(server: LocalServer) -> None:
    for hop in range(10):
        server.route(f"/hop{hop}", Reply(301, headers={"Location": f"/hop{hop + 1}"}))
    server.route("/hop10", b"end")
    async with Fetcher(max_redirects=3) as client:
        with pytest.raises(RedirectError, match="more than 3 redirects"):
            await client.fetch(Request(server.url("/hop0")))
    assert len(server.seen) == 4


async def test_exactly_max_redirects_is_fine(server: LocalServer) -> None:
    for hop in range(3):
        server.route(f"/hop{hop}", Reply(301, headers={"Location": f"/hop{hop + 1}"}))
    server.route("/hop3", b"end")
    async with Fetcher(max_redirects=3) as client:
        assert (await client.fetch(Request(server.url("/hop0")))).body == b"end"


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.com/feed", "javascript:alert(1)"])
async def test_redirect_to_non_http_scheme_is_refused(
    server: LocalServer, fetcher: Fetcher, location: str
) -> None:
    server.route("/jump", Reply(302, headers={"Location": location}))
    with pytest.raises(RedirectError, match="refused"):
        await fetcher.fetch(Request(server.url("/jump")))


async def test_redirect_without_location(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/jump", Reply(301))
    with pytest.raises(RedirectError, match="Location"):
        await fetcher.fetch(Request(server.url("/jump")))


async def test_authorization_dropped_on_cross_origin_redirect(server: LocalServer) -> None:
    with LocalServer() as other:
        other.route("/landing", b"ok")
        server.route("/jump", Reply(302, headers={"Location": other.url("/landing")}))
        server.route("/same", Reply(302, headers={"Location": "/kept"}))
        server.route("/kept", b"ok")
        async with Fetcher() as client:
            secret = {"Authorization": "Bearer secret"}
            await client.fetch(Request(server.url("/jump"), headers=secret))
            await client.fetch(Request(server.url("/same"), headers=secret))
        assert "authorization" not in other.requests_to("/landing")[0].headers
        assert server.requests_to("/kept")[0].headers["authorization"] == "Bearer secret"


def _pretend(public_hosts: dict[str, str]) -> Resolver:
    """A resolver where some names resolve to (fake) public addresses; the rest to what they spell."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host in public_hosts:
            address = literal_address(public_hosts[host])
            assert address is not None
            return [address]
        literal = literal_address(host)
        assert literal is not None, host
        return [literal]

    return resolve


async def test_redirect_from_public_host_to_loopback_is_refused(server: LocalServer) -> None:
    # "localhost" is served by the local server, but the resolver used for the policy says it is public:
    # a public feed redirecting to 127.0.0.1 must be refused before any request reaches the target.
    server.route("/evil", Reply(302, headers={"Location": server.url("/admin")}))
    server.route("/admin", b"secret")
    public_url = server.url("/evil").replace("127.0.0.1", "localhost")
    async with Fetcher(resolver=_pretend({"localhost": "93.184.216.34"})) as client:
        with pytest.raises(RedirectError, match="private address"):
            await client.fetch(Request(public_url))
    assert server.requests_to("/admin") == []


async def test_redirect_among_private_hosts_is_allowed(server: LocalServer) -> None:
    server.route(
        "/lan", Reply(302, headers={"Location": server.url("/feed").replace("127.0.0.1", "localhost")})
    )
    server.route("/feed", FEED)
    async with Fetcher() as client:
        response = await client.fetch(Request(server.url("/lan")))
    assert response.body == FEED
