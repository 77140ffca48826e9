"""Header values and redirect hosts a hostile server chooses, against the real fetcher and a real server.

`"²".isdigit()` is true and `int("²")` raises; a 5000-digit value is past `int()`'s limit; an `xn--`
label that is not punycode raises from httpx's `URL.host`. Each must end as the documented default or
as a normal fetch failure of that one source, never as an exception the poller calls internal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest

from dashboard.contracts.errors import (
    HTTPError,
    NeedsCredentials,
    NetworkError,
    RateLimited,
    RedirectError,
    TooLarge,
)
from dashboard.contracts.headers import LARGEST, ascii_integer, epoch_seconds, http_date
from dashboard.contracts.http import Request, Response
from dashboard.fetch.http import DEFAULT_RATE_LIMIT_WAIT, MAX_RETRY_AFTER, Fetcher, retry_after_until
from dashboard.sources.common import rate_limit_floor
from tests.localserver import Handler, LocalServer, Reply, Seen

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NOT_ASCII_DIGITS = ["²", "¹²", "١٢٣", "１２", "12²"]


# --- the pure readers ---


@pytest.mark.parametrize("value", [*NOT_ASCII_DIGITS, "", " ", "-5", "+5", "5.0", "1e3", "0x10", "5 5", None])
def test_ascii_integer_refuses_what_is_not_ascii_digits(value: str | None) -> None:
    assert ascii_integer(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), (" 45\t", 45), ("007", 7), ("9" * 12, LARGEST), ("9" * 13, LARGEST), ("9" * 5000, LARGEST)],
)
def test_ascii_integer_reads_digits_and_saturates_long_runs(value: str, expected: int) -> None:
    assert ascii_integer(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sunday, 06-Nov-94 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sun Nov  6 08:49:37 1994", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Friday, 01-May-26 13:00:00 GMT", datetime(2026, 5, 1, 13, 0, tzinfo=UTC)),
        ("Sat, 30 Jun 2012 23:59:60 GMT", datetime(2012, 6, 30, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_http_date_reads_the_three_rfc_9110_forms(value: str, expected: datetime) -> None:
    assert http_date(value, NOW) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Sun, ０６ Nov 1994 08:49:37 GMT",  # full-width digits
        "Sun, 06 Nov ¹⁹⁹⁴ 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 06 Nov 0000 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "06 Nov 1994",
        "soon",
        "",
    ],
)
def test_http_date_refuses_everything_else(value: str) -> None:
    assert http_date(value, NOW) is None


@pytest.mark.parametrize("value", ["", "¹²", "9" * 5000, "１２"])
def test_epoch_seconds_never_raises(value: str) -> None:
    moment = epoch_seconds(value)
    assert moment is None or moment.tzinfo is UTC


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("²", None),
        ("¹²", None),
        ("9" * 5000, NOW + MAX_RETRY_AFTER),  # too large to represent: the largest wait we accept
        ("Fri, 01 May 2026 13:00:00 GMT", NOW + timedelta(hours=1)),
    ],
)
def test_retry_after_until_is_strict(header: str, expected: datetime | None) -> None:
    assert retry_after_until(header, NOW) == expected


# --- against a real server ---


def utf8_headers(status: int, headers: dict[str, str], body: bytes = b"") -> Handler:
    """A handler writing header values as UTF-8 bytes (http.server would refuse what is not Latin-1)."""

    def answer(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
        lines = [f"HTTP/1.1 {status} Whatever", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        raw.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        raw.wfile.flush()

    return answer


@pytest.mark.parametrize("value", ["²", "¹²", "١٢"])
async def test_429_with_non_ascii_retry_after_waits_the_default(
    server: LocalServer, fetcher: Fetcher, value: str
) -> None:
    server.route("/limited", utf8_headers(429, {"Retry-After": value}, b"slow down"))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await fetcher.fetch(Request(server.url("/limited")))
    assert before + DEFAULT_RATE_LIMIT_WAIT <= caught.value.until
    assert caught.value.until <= datetime.now(UTC) + DEFAULT_RATE_LIMIT_WAIT


async def test_429_with_a_5000_digit_retry_after_waits_the_cap(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/limited", Reply(429, b"", {"Retry-After": "9" * 5000}))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await fetcher.fetch(Request(server.url("/limited")))
    assert before + MAX_RETRY_AFTER <= caught.value.until <= datetime.now(UTC) + MAX_RETRY_AFTER


async def test_503_with_non_ascii_retry_after_is_a_plain_http_error(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/down", Reply(503, b"", {"Retry-After": "²"}))
    with pytest.raises(HTTPError) as caught:
        await fetcher.fetch(Request(server.url("/down")))
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.http_status == 503


@pytest.mark.parametrize("reset", ["¹²", "9" * 5000, "１２３"])
async def test_403_spent_limit_with_odd_reset_waits_a_bounded_time(
    server: LocalServer, fetcher: Fetcher, reset: str
) -> None:
    server.route("/api", utf8_headers(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, b"{}"))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await fetcher.fetch(Request(server.url("/api")))
    assert before < caught.value.until <= datetime.now(UTC) + MAX_RETRY_AFTER


async def test_403_without_rate_limit_headers_still_asks_for_credentials(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/private", Reply(403, b"no"))
    with pytest.raises(NeedsCredentials):
        await fetcher.fetch(Request(server.url("/private")))


async def test_content_length_in_non_ascii_digits_is_not_an_internal_error(
    server: LocalServer,
) -> None:
    # h11 refuses a non-ASCII Content-Length itself; whatever it says must be a network failure.
    server.route("/odd", Reply(200, b"abc", {"Content-Length": "³"}))
    async with Fetcher(timeout=5.0, max_body=2) as fetcher:
        with pytest.raises((NetworkError, TooLarge)):
            await fetcher.fetch(Request(server.url("/odd")))


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("http://xn--a.com/", "invalid international host name"),
        ("http://xn--zz.com/feed", "invalid international host name"),
        ("http://a..b/", "empty label"),
        ("http://" + "a" * 64 + ".com/", "longer than 63"),
        ("http://" + ".".join(["a" * 60] * 5) + "/", "longer than 253"),
    ],
)
async def test_redirect_to_an_invalid_host_is_a_redirect_error(
    server: LocalServer, fetcher: Fetcher, location: str, said: str
) -> None:
    server.route("/moved", Reply(302, b"", {"Location": location}))
    with pytest.raises(RedirectError, match=said) as caught:
        await fetcher.fetch(Request(server.url("/moved")))
    assert "redirect to an invalid URL" in caught.value.message
    assert len(caught.value.message) < 300


async def test_redirect_to_a_valid_international_host_is_still_followed_to_the_policy(
    server: LocalServer,
) -> None:
    async def public(host: str, port: int) -> list[object]:
        import ipaddress

        return [ipaddress.ip_address("93.184.216.34")]

    server.route("/moved", Reply(302, b"", {"Location": "http://bücher.example/"}))
    async with Fetcher(timeout=5.0, resolver=public) as fetcher:  # type: ignore[arg-type]
        # 127.0.0.1 is private: a redirect from it may go anywhere, so this fails only at connecting.
        with pytest.raises(NetworkError):
            await fetcher.fetch(Request(server.url("/moved")))


@pytest.mark.parametrize("url", ["http://xn--a.com/feed", "http://a..b/feed", "http://" + "b" * 64 + ".org/"])
async def test_a_configured_url_with_an_invalid_host_is_a_network_error(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(NetworkError, match="invalid URL"):
        await fetcher.fetch(Request(url))


# --- the sources' rate-limit floor ---


def _response(headers: dict[str, str]) -> Response:
    return Response(url="http://x/", status=200, headers=headers, body=b"{}")


@pytest.mark.parametrize("reset", ["¹²", "١٢٣", "9" * 5000, "1e10", "nan", "inf", "-5"])
def test_rate_limit_floor_with_an_unreadable_reset_waits_a_minute(reset: str) -> None:
    for prefix in ("", "x-"):
        floor = rate_limit_floor(
            _response({f"{prefix}ratelimit-remaining": "0", f"{prefix}ratelimit-reset": reset}), NOW
        )
        assert floor is not None
        assert NOW < floor <= NOW + timedelta(days=7)


def test_rate_limit_floor_reads_epoch_and_iso_resets() -> None:
    epoch = int((NOW + timedelta(minutes=5)).timestamp())
    assert rate_limit_floor(
        _response({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(epoch)}), NOW
    ) == NOW + timedelta(minutes=5)
    assert rate_limit_floor(
        _response({"ratelimit-remaining": "0", "ratelimit-reset": str(epoch)}), NOW
    ) == NOW + timedelta(minutes=5)
    assert rate_limit_floor(
        _response({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2026-05-01T12:10:00.000Z"}), NOW
    ) == NOW + timedelta(minutes=10)


def test_rate_limit_floor_with_a_non_ascii_remaining_is_not_spent() -> None:
    assert rate_limit_floor(_response({"x-ratelimit-remaining": "٠", "x-ratelimit-reset": "1"}), NOW) is None
