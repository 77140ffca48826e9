"""Refused statuses keep what the server said, and a spent rate limit behind a 403 is a wait."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime

import pytest

from dashboard.contracts.errors import HTTPError, NeedsCredentials, RateLimited
from dashboard.contracts.http import Request
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import SourceConfig
from dashboard.sources.stackexchange import StackExchangeSource
from tests.localserver import LocalServer, Reply


async def test_403_with_a_spent_rate_limit_waits_until_the_reset(server: LocalServer) -> None:
    reset = int(time.time()) + 600
    server.route(
        "/search", Reply(403, b"{}", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    )
    async with Fetcher(timeout=5) as fetcher:
        with pytest.raises(RateLimited) as caught:
            await fetcher.fetch(Request(server.url("/search")))
    assert caught.value.until == datetime.fromtimestamp(reset, UTC)


async def test_plain_403_still_asks_for_credentials(server: LocalServer) -> None:
    server.route("/private", Reply(403, b"no"))
    async with Fetcher(timeout=5) as fetcher:
        with pytest.raises(NeedsCredentials):
            await fetcher.fetch(Request(server.url("/private")))


async def test_refused_response_keeps_headers_and_body(server: LocalServer) -> None:
    server.route("/bad", Reply(400, b'{"error_id": 400}', {"X-Why": "because"}))
    async with Fetcher(timeout=5) as fetcher:
        with pytest.raises(HTTPError) as caught:
            await fetcher.fetch(Request(server.url("/bad")))
    assert caught.value.body == b'{"error_id": 400}'
    assert caught.value.headers["x-why"] == "because"


async def test_stack_exchange_throttle_in_a_400_body_is_a_rate_limit(server: LocalServer) -> None:
    refusal = {"error_id": 502, "error_name": "throttle_violation", "error_message": "too many requests"}
    body = gzip.compress(json.dumps(refusal).encode())
    server.route("/2.3/search/advanced", Reply(400, body, {"Content-Encoding": "gzip"}))
    config = SourceConfig(
        name="SO", type="stackexchange", interval=900, base_url=server.base_url, options={"query": "lumen"}
    )
    async with Fetcher(timeout=5) as fetcher:
        context = PollContext(
            fetch=fetcher.fetch, parse=InlineParser(), now=datetime.now(UTC), first_poll=True
        )
        with pytest.raises(RateLimited):
            await StackExchangeSource(config).poll(context)


async def test_304s_and_refusals_keep_the_connection_for_the_next_request(server: LocalServer) -> None:
    server.route("/feed", Reply(304, b"", {"ETag": '"x"'}))
    server.route("/gone", Reply(404, b"not here"))
    async with Fetcher(timeout=5, max_concurrency=1) as fetcher:
        for _ in range(10):
            await fetcher.fetch(Request(server.url("/feed"), headers={"If-None-Match": '"x"'}))
            with pytest.raises(HTTPError):
                await fetcher.fetch(Request(server.url("/gone")))
    assert len({seen.peer for seen in server.seen}) == 1
