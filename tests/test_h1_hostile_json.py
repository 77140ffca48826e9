"""Hostile values in well-formed JSON, served by a real local server to real sources.

A count above 2^63 (or with 5000 digits), NaN, infinity, a boolean or a float where a count belongs,
and a lone surrogate ("\\ud800") in any text field: each is bounded or repaired where the JSON is read,
so nothing unstorable reaches a Mention, and one bad item never fails its source.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.contracts.errors import HTTPError, ParseError, RateLimited
from dashboard.contracts.http import Response
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import MAX_COUNT, Mention, MentionKind, SourceConfig
from dashboard.sources import make_source
from dashboard.sources.common import (
    as_count,
    http_url,
    json_body,
    mentions_from,
    text_from_html,
    text_from_plain,
)
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LONE = "\ud800"
HUGE = "@@HUGE@@"  # 99999999999999999999: above 2^63
DIGITS = "@@DIGITS@@"  # 5000 nines: past int()'s digit limit
NAN = "@@NAN@@"
INF = "@@INF@@"


def hostile_json(data: Any) -> bytes:
    """`data` as JSON with the placeholders turned into raw tokens json.dumps cannot write."""
    text = json.dumps(data)  # lone surrogates come out as \\ud800 escapes, as a server would send them
    for placeholder, token in (
        (HUGE, "99999999999999999999"),
        (DIGITS, "9" * 5000),
        (NAN, "NaN"),
        (INF, "1e999"),
    ):
        text = text.replace(f'"{placeholder}"', token)
    return text.encode()


def _github(data: Any) -> None:
    items = data["items"]
    items[0].update(comments=HUGE, title=f"bad {LONE} title", html_url=f"https://github.com/{LONE}")
    items[0]["user"]["login"] = f"{LONE}user"
    items[1]["comments"] = NAN
    items[2]["comments"] = True
    items[3]["reactions"]["total_count"] = DIGITS


def _mastodon(data: Any) -> None:
    data[0].update(favourites_count=HUGE, content=f"<p>{LONE} toot</p>", spoiler_text="")
    data[0]["account"]["acct"] = f"someone{LONE}"
    data[1]["replies_count"] = INF
    data[2]["reblogs_count"] = -3.5


def _hackernews(data: Any) -> None:
    hits = data["hits"]
    hits[0].update(points=HUGE, title=f"{LONE}", author=f"a{LONE}")
    hits[1]["num_comments"] = DIGITS
    hits[2]["points"] = NAN


def _reddit(data: Any) -> None:
    posts = [child["data"] for child in data["data"]["children"]]
    posts[0].update(score=HUGE, title=f"t{LONE}", author=f"{LONE}")
    posts[1]["num_comments"] = INF
    posts[2]["score"] = -99999999999999999999


def _stackexchange(data: Any) -> None:
    items = data["items"]
    items[0].update(score=HUGE, title=f"q {LONE}", link=f"https://stackoverflow.com/q/{LONE}")
    items[0]["owner"]["display_name"] = LONE
    items[1]["answer_count"] = DIGITS
    items[2]["view_count"] = NAN


def _lemmy(data: Any) -> None:
    views = data["posts"]
    views[0]["counts"]["score"] = HUGE
    views[0]["post"]["name"] = f"{LONE} lemmy"
    views[0]["creator"]["name"] = LONE
    views[1]["counts"]["comments"] = INF


CASES: dict[str, tuple[str, str, Callable[[Any], None], dict[str, Any]]] = {
    "github": ("github", "search_issues.json", _github, {"query": "driftwood"}),
    "mastodon": ("mastodon", "tag_timeline.json", _mastodon, {"tag": "acme"}),
    "hackernews": ("hackernews", "search_by_date.json", _hackernews, {"query": "acme"}),
    "reddit": ("reddit", "search.json", _reddit, {"query": "acme"}),
    "stackexchange": ("stackexchange", "search.json", _stackexchange, {"query": "driftwood"}),
    "lemmy": ("lemmy", "search.json", _lemmy, {"query": "driftwood"}),
}


def _storable(mention: Mention) -> None:
    for text in (mention.key, mention.url, mention.title, mention.author, mention.summary):
        text.encode("utf-8")  # raises on a lone surrogate
    for count in (mention.likes, mention.replies, mention.shares, mention.views):
        assert count is None or (type(count) is int and -MAX_COUNT <= count <= MAX_COUNT)


async def _poll(
    server: LocalServer, source_type: str, body: bytes, options: dict[str, Any]
) -> tuple[Mention, ...]:
    server.route("/*", Reply(200, body, {"Content-Type": "application/json"}))
    config = SourceConfig(
        name=source_type, type=source_type, interval=900, base_url=server.base_url, options=options
    )
    async with Fetcher(timeout=10.0) as fetcher:
        outcome = await make_source(config).poll(
            PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW)
        )
    return outcome.mentions


@pytest.mark.parametrize("name", list(CASES))
async def test_hostile_values_are_bounded_and_no_item_is_lost(server: LocalServer, name: str) -> None:
    source_type, fixture, spoil, options = CASES[name]
    clean = json.loads(fixture_bytes(source_type, fixture))
    expected = await _poll(server, source_type, json.dumps(clean).encode(), options)
    hostile = copy.deepcopy(clean)
    spoil(hostile)
    mentions = await _poll(server, source_type, hostile_json(hostile), options)
    assert [m.key for m in mentions] == [m.key for m in expected]  # one bad value loses no item
    for mention in mentions:
        _storable(mention)
    assert any("\ufffd" in m.title or "\ufffd" in m.author or "\ufffd" in m.summary for m in mentions)
    assert any(MAX_COUNT in (m.likes, m.replies, m.shares, m.views) for m in mentions)


# --- the readers, pure ---


def _response(body: bytes) -> Response:
    return Response(url="http://x/", status=200, headers={}, body=body)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (99999999999999999999, MAX_COUNT),
        (-(10**30), -MAX_COUNT),
        (float("nan"), None),
        (float("inf"), None),
        (float("-inf"), None),
        (True, None),
        (False, None),
        (3.9, 3),
        (-2, -2),
        ("17", 17),
        ("x", None),
        ("9" * 5000, None),
        ([], None),
        (None, None),
    ],
)
def test_as_count_is_bounded_and_never_raises(value: Any, expected: int | None) -> None:
    assert as_count(value) == expected


def test_json_body_repairs_lone_surrogates_everywhere_and_keeps_pairs() -> None:
    data = json_body(_response(b'{"a\\udc00": ["x\\ud800y", {"k": "\\ud83d\\ude00 ok"}], "n": 1}'))
    assert data == {"a\ufffd": ["x\ufffdy", {"k": "😀 ok"}], "n": 1}


def test_json_body_reads_overlong_integers_as_unknown_counts() -> None:
    data = json_body(_response(b'{"a": ' + b"9" * 5000 + b', "b": -' + b"9" * 50 + b', "c": 1e999}'))
    assert [as_count(data[key]) for key in "abc"] == [None, None, None]


def test_json_body_too_deep_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="nested too deep"):
        json_body(_response(b"[" * 200_000 + b"]" * 200_000))


def test_json_body_with_bytes_that_are_not_utf8_keeps_the_rest() -> None:
    assert json_body(_response(b'{"t": "caf\xe9 ok"}')) == {"t": "caf\ufffd ok"}


@pytest.mark.parametrize("reader", [text_from_plain, text_from_html, http_url])
def test_text_readers_repair_lone_surrogates(reader: Callable[[Any], str]) -> None:
    out = reader(f"https://x.org/{LONE}")
    assert out == "https://x.org/\ufffd"
    out.encode("utf-8")


def test_mentions_from_skips_an_item_that_raises_and_fails_when_all_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def convert(item: Any) -> Mention | None:
        if item.get("bad"):
            raise ValueError("not a number")
        return Mention(
            key=str(item["id"]), kind=MentionKind.POST, url="", title="", author="", published=None
        )

    assert [m.key for m in mentions_from([{"id": 1}, {"bad": True}, "junk", {"id": 2}], convert)] == [
        "1",
        "2",
    ]
    assert "skipped" in caplog.text
    with pytest.raises(ParseError, match="no item of the answer could be read"):
        mentions_from([{"bad": True}, {"bad": True}], convert)
    assert mentions_from([], convert) == ()


# --- Stack Exchange's refusals: the wait is read from a message the server writes ---


@pytest.mark.parametrize(
    ("message", "wait"),
    [
        ("more requests available in 99999999999999999999 seconds", timedelta(days=7)),
        # The message is shortened before it is read: "seconds" is cut off, so the default wait.
        ("more requests available in " + "9" * 5000 + " seconds", timedelta(hours=1)),
        ("more requests available in ٣٠ seconds", timedelta(hours=1)),  # not ASCII digits: the default
        ("more requests available in 30 seconds", timedelta(seconds=30)),
    ],
    ids=["20-digits", "5000-digits", "arabic-indic", "plain"],
)
async def test_stack_exchange_throttle_with_a_hostile_wait_is_a_bounded_rate_limit(
    server: LocalServer, message: str, wait: timedelta
) -> None:
    body = {"error_id": 502, "error_name": "throttle_violation", "error_message": message}
    server.route("/*", Reply(400, json.dumps(body).encode(), {"Content-Type": "application/json"}))
    config = SourceConfig(
        name="se", type="stackexchange", interval=900, base_url=server.base_url, options={"query": "x"}
    )
    async with Fetcher(timeout=10.0) as fetcher:
        context = PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, first_poll=True)
        with pytest.raises(RateLimited) as caught:
            await make_source(config).poll(context)
    assert caught.value.until == NOW + wait


async def test_stack_exchange_refusal_nested_too_deep_is_a_plain_http_error(server: LocalServer) -> None:
    server.route("/*", Reply(400, b"[" * 60_000, {"Content-Type": "application/json"}))
    config = SourceConfig(
        name="se", type="stackexchange", interval=900, base_url=server.base_url, options={"query": "x"}
    )
    async with Fetcher(timeout=10.0) as fetcher:
        context = PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, first_poll=True)
        with pytest.raises(HTTPError) as caught:
            await make_source(config).poll(context)
    assert caught.value.http_status == 400
