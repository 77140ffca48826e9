"""A compressed body cut off in transit is an error of that fetch, never a shorter document.

The HTTP framing can be perfectly fine (a Content-Length that matches the cut, or no length and the
connection closed): only the gzip/deflate stream knows it did not reach its end.
"""

from __future__ import annotations

import zlib
from http.server import BaseHTTPRequestHandler

import pytest

from dashboard.contracts.errors import HTTPError, NetworkError, ParseError
from dashboard.contracts.http import Request
from dashboard.fetch.http import Fetcher
from tests.localserver import Handler, LocalServer, Reply, Seen

DOCUMENT = (
    b"<rss><channel>"
    + b"".join(b"<item><title>post %d</title></item>" % n for n in range(2000))
    + b"</channel></rss>"
)
GZIPPED = zlib.compress(DOCUMENT, wbits=31)
DEFLATED = zlib.compress(DOCUMENT)
RAW_DEFLATED = zlib.compress(DOCUMENT, wbits=-15)


def until_close(body: bytes, encoding: str) -> Handler:
    """Answer without Content-Length or chunking: the body ends when the connection closes."""

    def answer(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
        raw.send_response(200)
        raw.send_header("Content-Encoding", encoding)
        raw.send_header("Connection", "close")
        raw.end_headers()
        raw.wfile.write(body)
        raw.wfile.flush()
        raw.close_connection = True

    return answer


def chunked(body: bytes, encoding: str) -> Handler:
    """A well-terminated chunked body."""

    def answer(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
        raw.send_response(200)
        raw.send_header("Content-Encoding", encoding)
        raw.send_header("Transfer-Encoding", "chunked")
        raw.end_headers()
        for start in range(0, len(body), 1000):
            piece = body[start : start + 1000]
            raw.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        raw.wfile.write(b"0\r\n\r\n")
        raw.wfile.flush()

    return answer


CUTS = [1, 10, len(GZIPPED) // 2, len(GZIPPED) - 8, len(GZIPPED) - 1]


@pytest.mark.parametrize("cut", CUTS)
async def test_truncated_gzip_with_matching_content_length_fails(
    server: LocalServer, fetcher: Fetcher, cut: int
) -> None:
    server.route("/feed", Reply(body=GZIPPED[:cut], headers={"Content-Encoding": "gzip"}))
    with pytest.raises(ParseError, match="gzip body stops before its end"):
        await fetcher.fetch(Request(server.url("/feed")))


@pytest.mark.parametrize("cut", CUTS)
async def test_truncated_gzip_ended_by_closing_the_connection_fails(
    server: LocalServer, fetcher: Fetcher, cut: int
) -> None:
    server.route("/feed", until_close(GZIPPED[:cut], "gzip"))
    with pytest.raises(ParseError, match="truncated"):
        await fetcher.fetch(Request(server.url("/feed")))


async def test_truncated_gzip_in_a_well_terminated_chunked_body_fails(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/feed", chunked(GZIPPED[: len(GZIPPED) // 3], "gzip"))
    with pytest.raises(ParseError, match="truncated"):
        await fetcher.fetch(Request(server.url("/feed")))


@pytest.mark.parametrize("body", [DEFLATED, RAW_DEFLATED], ids=["zlib", "raw"])
async def test_truncated_deflate_fails(server: LocalServer, fetcher: Fetcher, body: bytes) -> None:
    server.route("/feed", Reply(body=body[: len(body) // 2], headers={"Content-Encoding": "deflate"}))
    with pytest.raises(ParseError, match="deflate body stops before its end"):
        await fetcher.fetch(Request(server.url("/feed")))


async def test_second_gzip_member_cut_off_fails(server: LocalServer, fetcher: Fetcher) -> None:
    body = GZIPPED + GZIPPED[: len(GZIPPED) // 2]
    server.route("/feed", Reply(body=body, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(ParseError, match="truncated"):
        await fetcher.fetch(Request(server.url("/feed")))


async def test_content_length_longer_than_what_came_is_a_network_error(
    server: LocalServer, fetcher: Fetcher
) -> None:
    def short(seen: Seen, raw: BaseHTTPRequestHandler) -> None:
        raw.send_response(200)
        raw.send_header("Content-Encoding", "gzip")
        raw.send_header("Content-Length", str(len(GZIPPED)))
        raw.end_headers()
        raw.wfile.write(GZIPPED[:100])
        raw.wfile.flush()
        raw.close_connection = True

    server.route("/feed", short)
    with pytest.raises(NetworkError):
        await fetcher.fetch(Request(server.url("/feed")))


@pytest.mark.parametrize(
    ("handler", "encoding"),
    [
        (Reply(body=GZIPPED, headers={"Content-Encoding": "gzip"}), "gzip"),
        (until_close(GZIPPED, "gzip"), "gzip"),
        (chunked(GZIPPED, "gzip"), "gzip"),
        (Reply(body=GZIPPED + GZIPPED, headers={"Content-Encoding": "gzip"}), "gzip, twice"),
        (Reply(body=DEFLATED, headers={"Content-Encoding": "deflate"}), "deflate"),
        (until_close(RAW_DEFLATED, "deflate"), "raw deflate"),
    ],
    ids=["length", "close", "chunked", "two-members", "deflate", "raw-deflate"],
)
async def test_complete_bodies_still_read_whole(
    server: LocalServer, fetcher: Fetcher, handler: Reply | Handler, encoding: str
) -> None:
    server.route("/feed", handler)
    response = await fetcher.fetch(Request(server.url("/feed")))
    assert response.body == (DOCUMENT * 2 if "twice" in encoding else DOCUMENT)


async def test_empty_body_labelled_gzip_is_an_empty_body(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/empty", Reply(body=b"", headers={"Content-Encoding": "gzip"}))
    assert (await fetcher.fetch(Request(server.url("/empty")))).body == b""


async def test_truncated_gzip_error_body_keeps_the_status(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/missing", Reply(404, GZIPPED[:50], {"Content-Encoding": "gzip"}))
    with pytest.raises(HTTPError) as caught:
        await fetcher.fetch(Request(server.url("/missing")))
    assert caught.value.http_status == 404
