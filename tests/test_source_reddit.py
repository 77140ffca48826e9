"""Reddit source: listing parsing, `after=` paging, incremental polls, info.json refresh, 403 as throttle.

A small Reddit stand-in on the real local HTTP server pages a sort=new listing by `after` and `limit`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from dashboard.contracts.errors import FetchError, NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, MentionKind, SourceConfig
from dashboard.sources import make_source, source_types
from dashboard.sources.reddit import (
    RedditSource,
    clean_subreddit,
    newest_keys_first,
    parse_listing,
    post_to_mention,
)
from dashboard.text import display_safe
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LISTING: dict[str, Any] = json.loads(fixture_bytes("reddit", "search.json"))
POSTS: list[dict[str, Any]] = [child["data"] for child in LISTING["data"]["children"]]
BY_NAME = {post["name"]: post for post in POSTS}
NEWEST, TIE_A, TIE_B, OLDER, OLDEST = (post["name"] for post in POSTS)


def _json(body: object, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


def listing(posts: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    children = [{"kind": "t3", "data": post} for post in posts]
    return {
        "kind": "Listing",
        "data": {"after": after, "dist": len(children), "children": children, "before": None},
    }


class FakeReddit:
    """A sort=new search listing paged by `after` (a fullname) and `limit` (capped like Reddit's 100)."""

    def __init__(self, posts: list[dict[str, Any]], page_cap: int = 100) -> None:
        self.posts = posts  # already newest first
        self.page_cap = page_cap

    def __call__(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        assert seen.param("sort") == "new"
        names = [post["name"] for post in self.posts]
        start = names.index(seen.param("after")) + 1 if seen.param("after") else 0
        size = min(int(seen.param("limit", "25")), self.page_cap)
        chunk = self.posts[start : start + size]
        more = start + size < len(self.posts)
        return _json(listing(chunk, chunk[-1]["name"] if chunk and more else None))


def info(scores: Mapping[str, int]) -> Any:
    """Answers /api/info.json?id=t3_a,t3_b with those posts carrying new scores."""

    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        names = seen.param("id").split(",")
        posts = [
            {**BY_NAME[name], "score": scores[name], "num_comments": 77} for name in names if name in scores
        ]
        return _json(listing(posts, None))

    return handler


def config(server: LocalServer, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="reddit",
        type="reddit",
        interval=900,
        base_url=server.base_url,
        max_items=options.pop("max_items", 100),
        options={"query": "acme", **options},
    )


def context(fetcher: Fetcher, **kwargs: Any) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)


def mention_of(name: str) -> Mention:
    mention = post_to_mention(BY_NAME[name])
    assert mention is not None
    return mention


# --- pure parsing -------------------------------------------------------------------------------


def test_self_post_maps_score_comments_permalink_and_text() -> None:
    mention = mention_of(NEWEST)
    assert mention.key == "t3_1h9zk2q"
    assert mention.kind is MentionKind.POST
    assert mention.url == "https://www.reddit.com" + BY_NAME[NEWEST]["permalink"]
    assert mention.title == "Acme 3.0 & the new dashboard: first impressions"
    assert mention.author == "monitor_mike"
    assert mention.published == datetime(2026, 11, 26, 11, 45, tzinfo=UTC)
    assert (mention.likes, mention.replies, mention.shares) == (57, 23, None)
    assert mention.summary == (
        "Been running it for a week.\n\n**Pros:** fast & quiet\n\n<script>alert(1)</script> is shown as text"
    )


def test_link_post_summary_is_the_link() -> None:
    mention = mention_of(OLDEST)
    assert mention.summary == "https://acme.example/3.0"
    assert (mention.likes, mention.replies) == (1023, 311)


def test_escaped_angle_brackets_in_titles_survive() -> None:
    assert mention_of(TIE_B).title == "Why Vec<T> matters for Acme plugins"


def test_hostile_title_stays_literal_and_display_safe_removes_the_escape() -> None:
    title = mention_of(TIE_A).title
    assert title == "\x1b[2JGreat post [/bold] about Acme"
    assert display_safe(title) == "[2JGreat post [/bold] about Acme"


def test_listing_keeps_posts_only_and_reads_after() -> None:
    body = listing([BY_NAME[NEWEST]], "t3_next")
    body["data"]["children"].append({"kind": "t1", "data": {"name": "t1_abc", "body": "a comment"}})
    body["data"]["children"].append({"kind": "t3", "data": {"title": "no id"}})
    page = parse_listing(body)
    assert [m.key for m in page.mentions] == [NEWEST]
    assert page.after == "t3_next"


@pytest.mark.parametrize("body", [[], {"kind": "Listing"}, {"data": {"children": None}}, {"error": 404}])
def test_parse_listing_rejects_what_is_no_listing(body: object) -> None:
    with pytest.raises(ParseError):
        parse_listing(body)


def test_newest_keys_are_the_highest_base36_ids() -> None:
    assert newest_keys_first(["t3_zz", "t3_100", "bogus", "t3_a", "t3_100"], 2) == ["t3_100", "t3_zz"]


@pytest.mark.parametrize(
    ("value", "name"), [("r/Python", "Python"), ("/r/rust/", "rust"), ("", ""), (None, "")]
)
def test_subreddit_names_are_cleaned(value: Any, name: str) -> None:
    assert clean_subreddit(value) == name


def test_subreddit_that_is_no_name_is_refused() -> None:
    with pytest.raises(FetchError):
        clean_subreddit("../../api/v1/me")


def test_registered_with_its_keys() -> None:
    assert source_types()["reddit"] is RedditSource
    # query or domain (the link posts to a site): one of them, not query alone.
    assert not RedditSource.keys["query"].required
    assert RedditSource.required_any == ("query", "domain")
    assert not RedditSource.keys["subreddit"].required


# --- through the real fetcher -------------------------------------------------------------------


async def test_first_poll_pages_with_after_up_to_max_items(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", FakeReddit(POSTS, page_cap=2))
    outcome = await make_source(config(server, max_items=4)).poll(context(fetcher, first_poll=True))

    requests = server.requests_to("/search.json")
    assert [seen.param("after") for seen in requests] == ["", TIE_A]
    assert {seen.param("q") for seen in requests} == {"acme"}
    assert [m.key for m in outcome.mentions] == [NEWEST, TIE_A, TIE_B, OLDER]
    assert outcome.cursor == {"since": int(BY_NAME[NEWEST]["created_utc"]), "at_since": [NEWEST]}


async def test_subreddit_search_is_restricted(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/r/selfhosted/search.json", FakeReddit(POSTS))
    outcome = await make_source(config(server, subreddit="r/selfhosted")).poll(
        context(fetcher, first_poll=True)
    )
    (seen,) = server.requests_to("/r/selfhosted/search.json")
    assert seen.param("restrict_sr") == "1"
    assert seen.param("limit") == "100"
    assert len(outcome.mentions) == 5


async def test_second_poll_keeps_only_newer_posts_and_stops_paging(
    server: LocalServer, fetcher: Fetcher
) -> None:
    # Last poll saw TIE_A (same second as TIE_B, which it had not seen yet).
    since = BY_NAME[TIE_A]["created_utc"]
    cursor = {"since": since, "at_since": [TIE_A]}
    server.route("/search.json", FakeReddit(POSTS, page_cap=2))
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor))

    assert [m.key for m in outcome.mentions] == [NEWEST, TIE_B]
    # TIE_B shares TIE_A's second and sits on page 2; page 2 also holds an older post, so no page 3.
    assert [seen.param("after") for seen in server.requests_to("/search.json")] == ["", TIE_A]
    assert outcome.cursor == {"since": int(BY_NAME[NEWEST]["created_utc"]), "at_since": [NEWEST]}


async def test_young_posts_are_refreshed_through_info(server: LocalServer, fetcher: Fetcher) -> None:
    cursor = {"since": BY_NAME[NEWEST]["created_utc"], "at_since": [NEWEST]}
    server.route("/search.json", FakeReddit(POSTS))
    server.route("/api/info.json", info({OLDER: 31, OLDEST: 2048}))
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor=cursor, refresh_keys=[OLDEST, OLDER])
    )

    (seen,) = server.requests_to("/api/info.json")
    assert seen.param("id") == f"{OLDER},{OLDEST}"
    assert {m.key: (m.likes, m.replies) for m in outcome.mentions} == {OLDER: (31, 77), OLDEST: (2048, 77)}


async def test_forbidden_is_a_rate_limit_not_a_login_problem(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", b"<html>blocked</html>", status=403)
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.until == NOW + timedelta(minutes=10)
    assert caught.value.http_status == 403


async def test_too_many_requests_carries_retry_after(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", b"", status=429, headers={"Retry-After": "300"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert before + timedelta(seconds=299) <= caught.value.until <= datetime.now(UTC) + timedelta(seconds=301)


async def test_exhausted_rate_limit_header_sets_not_before(server: LocalServer, fetcher: Fetcher) -> None:
    reset = NOW + timedelta(minutes=4)
    body = json.dumps(listing(POSTS, None)).encode()
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(reset.timestamp()))}
    server.route("/search.json", body, headers=headers)
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert outcome.not_before == reset


async def test_unauthorized_stays_needs_credentials(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", b"", status=401)
    with pytest.raises(NeedsCredentials):
        await make_source(config(server)).poll(context(fetcher, first_poll=True))


async def test_throttled_refresh_keeps_new_posts(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", FakeReddit(POSTS))
    server.route("/api/info.json", b"", status=403)
    cursor = {"since": BY_NAME[OLDER]["created_utc"], "at_since": [OLDER]}
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor, refresh_keys=[OLDEST]))
    assert [m.key for m in outcome.mentions] == [NEWEST, TIE_A, TIE_B]
    assert outcome.not_before == NOW + timedelta(minutes=10)
    assert "engagement refresh failed" in outcome.notes
