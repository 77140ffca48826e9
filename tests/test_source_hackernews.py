"""Hacker News (Algolia) source: hit parsing, paging, incremental polls, refresh, limits, auth.

A small Algolia stand-in on the real local HTTP server honours tags, numericFilters, hitsPerPage and
page, so the source's requests are checked by what they make the server do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from dashboard.contracts.errors import NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Link, Mention, MentionKind, SourceConfig
from dashboard.sources import make_source, source_types
from dashboard.sources.common import SeenUpTo, newest_first
from dashboard.sources.hackernews import (
    HackerNewsSource,
    hit_to_mention,
    parse_search,
    refresh_tags,
)
from dashboard.text import display_safe
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HITS: list[dict[str, Any]] = json.loads(fixture_bytes("hackernews", "search_by_date.json"))["hits"]
BY_ID = {hit["objectID"]: hit for hit in HITS}


def _json(body: object, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


class FakeAlgolia:
    """Answers search_by_date like Algolia: tag filter, created_at_i filter, newest first, pages."""

    def __init__(self, hits: list[dict[str, Any]], page_cap: int = 1000) -> None:
        self.hits = sorted(hits, key=lambda hit: hit["created_at_i"], reverse=True)
        self.page_cap = page_cap

    def __call__(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        tags = seen.param("tags")
        kinds = {"story": {"story"}, "comment": {"comment"}, "(story,comment)": {"story", "comment"}}[tags]
        hits = [hit for hit in self.hits if kinds & set(hit["_tags"])]
        if match := re.fullmatch(r"created_at_i(>=|>)(\d+)", seen.param("numericFilters")):
            op, bound = match.group(1), int(match.group(2))
            hits = [
                h for h in hits if h["created_at_i"] > bound or (op == ">=" and h["created_at_i"] == bound)
            ]
        per_page = min(int(seen.param("hitsPerPage", "20")), self.page_cap)
        page = int(seen.param("page", "0"))
        pages = -(-len(hits) // per_page)
        chunk = hits[page * per_page : (page + 1) * per_page]
        return _json(
            {"hits": chunk, "nbHits": len(hits), "page": page, "nbPages": pages, "hitsPerPage": per_page}
        )


def refreshed_stories(points: Mapping[str, int]) -> Any:
    """Answers `search?tags=story,(story_1,...)` with the named stories carrying new points."""

    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        match = re.fullmatch(r"story,\((.*)\)", seen.param("tags"))
        assert match, seen.param("tags")
        wanted = [tag.removeprefix("story_") for tag in match.group(1).split(",")]
        hits = [
            {**BY_ID[key], "points": points.get(key, BY_ID[key]["points"]), "num_comments": 999}
            for key in wanted
            if key in BY_ID and "story" in BY_ID[key]["_tags"]
        ]
        return _json({"hits": hits, "nbHits": len(hits), "page": 0, "nbPages": 1})

    return handler


def config(server: LocalServer, **options: Any) -> SourceConfig:
    max_items = options.pop("max_items", 100)
    return SourceConfig(
        name="hn",
        type="hackernews",
        interval=900,
        base_url=server.base_url,
        max_items=max_items,
        options={"query": "acme", **options},
    )


def mention_of(key: str) -> Mention:
    mention = hit_to_mention(BY_ID[key])
    assert mention is not None
    return mention


def context(fetcher: Fetcher, **kwargs: Any) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)


# --- pure parsing -------------------------------------------------------------------------------


def test_story_hit_maps_points_comments_and_discussion_link() -> None:
    mention = hit_to_mention(BY_ID["46100007"])
    assert mention == Mention(
        key="46100007",
        kind=MentionKind.POST,
        url="https://news.ycombinator.com/item?id=46100007",
        title="Show HN: Acme Dashboard – watch your community from a terminal",
        author="dang_fan",
        published=datetime(2026, 11, 26, 11, 40, tzinfo=UTC),
        summary="https://acme.example/blog/dashboard",
        likes=142,
        replies=57,
        links=(Link("https://acme.example/blog/dashboard", "url"),),
    )


def test_comment_hit_is_titled_by_its_story_and_its_html_becomes_plain_text() -> None:
    mention = mention_of("46100006")
    assert mention.kind is MentionKind.COMMENT
    assert mention.title == "Acme 3.0 released"
    assert mention.summary.startswith("I <3 Acme & its plugins.\nGreat post [/bold] by someone")
    assert mention.summary.endswith("https://acme.example/3.0")
    assert (mention.likes, mention.replies) == (None, None)


def test_comment_without_story_title_is_titled_by_its_first_line() -> None:
    hit = {**BY_ID["46100006"], "story_title": None}
    mention = hit_to_mention(hit)
    assert mention is not None
    assert mention.title == "I <3 Acme & its plugins."


def test_ask_hn_text_is_the_summary() -> None:
    mention = mention_of("46100004")
    # HN separates paragraphs with a bare <p>: they were glued ("years.Is anyone").
    assert mention.summary == "I've used Acme for years.\nIs anyone still working on it?"
    assert (mention.likes, mention.replies) == (31, 18)


def test_hostile_titles_stay_literal_and_display_safe_removes_the_escape() -> None:
    escape = mention_of("46100005")
    generic = mention_of("46100002")
    assert "\x1b" in escape.title  # stored as sent; only display strips it
    assert display_safe(escape.title) == "]0;pwnedAcme's new CLI is out"
    assert generic.title == "Vec<T> tricks we learned building Acme"  # plain text, not HTML: nothing dropped


def test_hit_without_object_id_is_skipped() -> None:
    assert hit_to_mention({"title": "no id"}) is None
    page = parse_search({"hits": [{"title": "no id"}, BY_ID["46100001"], "junk"], "nbPages": 1})
    assert [m.key for m in page.mentions] == ["46100001"]


@pytest.mark.parametrize("body", [[], {"message": "bad"}, {"hits": "x"}])
def test_parse_search_rejects_bodies_without_hits(body: object) -> None:
    with pytest.raises(ParseError):
        parse_search(body)


def test_refresh_tags_and_newest_keys() -> None:
    assert refresh_tags(["3", "12"]) == "story,(story_3,story_12)"
    assert newest_first(["9", "100", "x", "9", "20"], 2) == ["100", "20"]


def test_seen_up_to_keeps_same_second_items_apart() -> None:
    first, twin, older = mention_of("46100006"), mention_of("46100005"), mention_of("46100004")
    seen = SeenUpTo().advance([first, older])
    assert seen.to_cursor() == {"since": BY_ID["46100006"]["created_at_i"], "at_since": ["46100006"]}
    assert (seen.is_new(first), seen.is_new(twin), seen.is_new(older)) == (False, True, False)
    assert SeenUpTo.from_cursor(seen.to_cursor()) == seen


def test_registered_with_its_keys() -> None:
    assert source_types()["hackernews"] is HackerNewsSource
    # query or domain (a search for links to a site): one of them, not query alone.
    assert not HackerNewsSource.keys["query"].required
    assert HackerNewsSource.required_any == ("query", "domain")
    assert HackerNewsSource.keys["kind"].choices == ("story", "comment", "all")


# --- through the real fetcher -------------------------------------------------------------------


async def test_first_poll_pages_until_max_items(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v1/search_by_date", FakeAlgolia(HITS, page_cap=2))
    source = make_source(config(server, max_items=4, kind="all"))
    outcome = await source.poll(context(fetcher, first_poll=True))

    requests = server.requests_to("/api/v1/search_by_date")
    assert [seen.param("page") for seen in requests] == ["0", "1"]
    assert {seen.param("tags") for seen in requests} == {"(story,comment)"}
    assert all(seen.param("numericFilters") == "" for seen in requests)
    assert [m.key for m in outcome.mentions] == ["46100007", "46100006", "46100005", "46100004"]
    newest = BY_ID["46100007"]["created_at_i"]
    assert outcome.cursor == {"since": newest, "at_since": ["46100007"]}
    assert outcome.http_status == 200
    assert outcome.bytes_read > 0


async def test_first_poll_stops_at_the_last_page(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v1/search_by_date", FakeAlgolia(HITS, page_cap=2))
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert len(server.requests_to("/api/v1/search_by_date")) == 3  # 5 stories, 2 a page
    assert [m.key for m in outcome.mentions] == ["46100007", "46100005", "46100004", "46100002", "46100001"]
    assert all(m.kind is MentionKind.POST for m in outcome.mentions)


async def test_second_poll_asks_only_for_newer_items(server: LocalServer, fetcher: Fetcher) -> None:
    # The previous poll saw up to the comment at 11:20:05; the story of the same second is new to us.
    cursor = {"since": BY_ID["46100006"]["created_at_i"], "at_since": ["46100006"]}
    server.route("/api/v1/search_by_date", FakeAlgolia(HITS))
    outcome = await make_source(config(server, kind="all")).poll(context(fetcher, cursor=cursor))

    (seen,) = server.requests_to("/api/v1/search_by_date")
    assert seen.param("numericFilters") == f"created_at_i>={cursor['since']}"
    assert [m.key for m in outcome.mentions] == ["46100007", "46100005"]
    assert outcome.cursor == {"since": BY_ID["46100007"]["created_at_i"], "at_since": ["46100007"]}


async def test_quiet_second_poll_keeps_the_cursor(server: LocalServer, fetcher: Fetcher) -> None:
    cursor = {"since": BY_ID["46100007"]["created_at_i"], "at_since": ["46100007"]}
    server.route("/api/v1/search_by_date", FakeAlgolia(HITS))
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor))
    assert outcome.mentions == ()
    assert outcome.cursor == cursor


async def test_young_stories_are_refreshed_in_one_call(server: LocalServer, fetcher: Fetcher) -> None:
    cursor = {"since": BY_ID["46100007"]["created_at_i"], "at_since": ["46100007"]}
    server.route("/api/v1/search_by_date", FakeAlgolia(HITS))
    server.route("/api/v1/search", refreshed_stories({"46100001": 512, "46100004": 40}))
    keys = ["46100001", "46100004", "46100006"]
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor, refresh_keys=keys))

    (seen,) = server.requests_to("/api/v1/search")
    assert seen.param("tags") == "story,(story_46100006,story_46100004,story_46100001)"
    counts = {m.key: (m.likes, m.replies) for m in outcome.mentions}
    assert counts == {"46100004": (40, 999), "46100001": (512, 999)}


async def test_comment_searches_refresh_nothing(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v1/search_by_date", FakeAlgolia(HITS))
    outcome = await make_source(config(server, kind="comment")).poll(
        context(fetcher, first_poll=True, refresh_keys=["46100001"])
    )
    assert server.requests_to("/api/v1/search") == []
    assert [m.key for m in outcome.mentions] == ["46100006"]


async def test_rate_limit_on_search_raises_with_retry_after(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v1/search_by_date", b"slow down", status=429, headers={"Retry-After": "120"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert before + timedelta(seconds=119) <= caught.value.until <= datetime.now(UTC) + timedelta(seconds=121)


async def test_rate_limit_during_refresh_keeps_the_new_items(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v1/search_by_date", FakeAlgolia(HITS))
    server.route("/api/v1/search", b"", status=429, headers={"Retry-After": "600"})
    cursor = {"since": BY_ID["46100004"]["created_at_i"], "at_since": ["46100004"]}
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor=cursor, refresh_keys=["46100001"])
    )
    assert [m.key for m in outcome.mentions] == ["46100007", "46100005"]
    assert outcome.not_before is not None
    assert outcome.not_before > NOW + timedelta(minutes=9)
    assert "engagement refresh failed" in outcome.notes


async def test_exhausted_rate_limit_header_sets_not_before(server: LocalServer, fetcher: Fetcher) -> None:
    reset = NOW + timedelta(minutes=5)
    algolia = FakeAlgolia(HITS)

    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        reply = algolia(seen, raw)
        headers = {
            **reply.headers,
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset.timestamp())),
        }
        return Reply(reply.status, reply.body, headers)

    server.route("/api/v1/search_by_date", handler)
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert outcome.not_before == reset


async def test_forbidden_is_needs_credentials(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v1/search_by_date", b"denied", status=403)
    with pytest.raises(NeedsCredentials) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.http_status == 403


async def test_html_instead_of_json_is_a_parse_error(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v1/search_by_date", b"<html>maintenance</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ParseError):
        await make_source(config(server)).poll(context(fetcher, first_poll=True))


async def test_a_busy_second_poll_says_when_max_items_cut_it_short(
    server: LocalServer, fetcher: Fetcher
) -> None:
    cursor = {"since": BY_ID["46100001"]["created_at_i"], "at_since": ["46100001"]}
    server.route("/api/v1/search_by_date", FakeAlgolia(HITS))
    outcome = await make_source(config(server, max_items=2)).poll(context(fetcher, cursor=cursor))
    assert [m.key for m in outcome.mentions] == ["46100007", "46100005"]
    assert "max_items (2)" in outcome.notes
