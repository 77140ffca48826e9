"""Discourse source: search and latest parsing, paging, incremental polls, listing re-read, API key, limits.

A small Discourse stand-in on the real local HTTP server pages `/search.json` (1-based) and
`/latest.json` (0-based) newest first, so the source's requests are checked by what they make it do.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from dashboard.contracts.errors import FetchError, NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, MentionKind, SourceConfig
from dashboard.sources import make_source, source_types
from dashboard.sources.discourse import (
    REFRESH_PAGES,
    DiscourseSource,
    SeenUpTo,
    latest_topic_to_mention,
    parse_latest,
    parse_search,
    search_post_to_mention,
    search_query,
    topic_url,
)
from dashboard.text import display_safe
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FORUM = "https://discuss.driftwood.example"
SEARCH: dict[str, Any] = json.loads(fixture_bytes("discourse", "search.json"))
LATEST: dict[str, Any] = json.loads(fixture_bytes("discourse", "latest.json"))
POSTS = {post["id"]: post for post in SEARCH["posts"]}
TOPICS = {topic["id"]: topic for topic in SEARCH["topics"]}
USERS = {user["id"]: user["username"] for user in LATEST["users"]}
LATEST_TOPICS = {topic["id"]: topic for topic in LATEST["topic_list"]["topics"]}


def _json(body: object) -> Reply:
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8"})


class FakeSearch:
    """Answers /search.json: posts newest first, `per_page` a page (1-based), their topics alongside."""

    def __init__(self, posts: list[dict[str, Any]], topics: list[dict[str, Any]], per_page: int = 50) -> None:
        self.posts = sorted(posts, key=lambda post: post["id"], reverse=True)
        self.topics = {topic["id"]: topic for topic in topics}
        self.per_page = per_page

    def __call__(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        assert seen.param("q") == "driftwood order:latest"
        page = int(seen.param("page", "1"))
        chunk = self.posts[(page - 1) * self.per_page : page * self.per_page]
        more = page * self.per_page < len(self.posts)
        topic_ids = list(dict.fromkeys(post["topic_id"] for post in chunk))
        return _json(
            {
                "posts": chunk,
                "topics": [self.topics[t] for t in topic_ids if t in self.topics],
                "users": [],
                "grouped_search_result": {"more_full_page_results": True if more else None, "error": None},
            }
        )


class FakeLatest:
    """Answers /latest.json?order=created: topics newest first, `per_page` a page (0-based)."""

    def __init__(self, topics: list[dict[str, Any]], per_page: int = 30) -> None:
        self.topics = sorted(topics, key=lambda topic: topic["id"], reverse=True)
        self.per_page = per_page

    def __call__(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        assert seen.param("order") == "created"
        page = int(seen.param("page", "0"))
        chunk = self.topics[page * self.per_page : (page + 1) * self.per_page]
        more = (page + 1) * self.per_page < len(self.topics)
        topic_list = {"topics": chunk, "per_page": self.per_page}
        if more:
            topic_list["more_topics_url"] = f"/latest?order=created&page={page + 1}"
        return _json({"users": LATEST["users"], "topic_list": topic_list})


def synthetic_posts(first_id: int, count: int) -> list[dict[str, Any]]:
    """Replies in topic 812, ids first_id .. first_id + count - 1."""
    posts = []
    for n in range(count):
        post = copy.deepcopy(POSTS[9107])
        post.update(id=first_id + n, post_number=10 + n, like_count=n)
        posts.append(post)
    return posts


def config(server: LocalServer, max_items: int = 100, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="forum",
        type="discourse",
        interval=900,
        base_url=server.base_url,
        max_items=max_items,
        options=options,
    )


def search_config(server: LocalServer, max_items: int = 100, **options: Any) -> SourceConfig:
    return config(server, max_items, query="driftwood", **options)


def context(fetcher: Fetcher, **kwargs: Any) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)


def post_mention(post_id: int) -> Mention:
    post = POSTS[post_id]
    mention = search_post_to_mention(post, TOPICS[post["topic_id"]], FORUM)
    assert mention is not None
    return mention


def latest_mention(topic_id: int) -> Mention:
    mention = latest_topic_to_mention(LATEST_TOPICS[topic_id], USERS, FORUM)
    assert mention is not None
    return mention


# --- pure parsing -------------------------------------------------------------------------------


def test_opening_post_is_the_topic_with_its_replies_and_views() -> None:
    assert post_mention(9101) == Mention(
        key="t812",
        kind=MentionKind.POST,
        url=f"{FORUM}/t/driftwood-2-0-feedback-thread/812",
        title="Driftwood 2.0 feedback thread",
        author="alice",
        published=datetime(2026, 11, 26, 10, 12, 45, 4000, tzinfo=UTC),
        summary="Post your feedback on Driftwood 2.0 here – bugs go to the tracker.",
        likes=3,
        replies=3,
        views=310,
    )


def test_reply_is_a_comment_linked_to_its_post_number() -> None:
    mention = post_mention(9107)
    assert (mention.key, mention.kind) == ("p9107", MentionKind.COMMENT)
    assert mention.url == f"{FORUM}/t/driftwood-2-0-feedback-thread/812/4"
    assert (mention.likes, mention.replies, mention.views) == (1, None, None)
    assert mention.summary.startswith("Upgraded last night: Driftwood 2.0 starts in half the time & the new")


def test_hostile_titles_stay_literal_and_display_safe_removes_the_escape() -> None:
    markup, escape, lower = post_mention(9095), post_mention(9088), post_mention(9070)
    assert markup.title == "Great post [/bold] about Driftwood & you"
    assert markup.summary == "Someone wrote <b>[/bold]</b> in a title and Driftwood did not crash."
    assert "\x1b" in escape.title
    assert display_safe(escape.title) == "]52;c;ZXZpbA==Driftwood on Raspberry Pi"
    assert lower.title == "Driftwood < 1.0 migration guide?"


def test_topic_url_quotes_the_slug_and_copes_without_one() -> None:
    assert topic_url(FORUM, {"slug": "a b/../c"}, 7) == f"{FORUM}/t/a%20b%2F..%2Fc/7"
    assert topic_url(FORUM, {}, 7, 3) == f"{FORUM}/t/7/3"


def test_parse_search_joins_posts_to_topics() -> None:
    listing = parse_search(SEARCH, FORUM)
    assert [item_id for item_id, _ in listing.items] == [9107, 9101, 9095, 9088, 9070]
    assert [m.key for m in listing.mentions] == ["p9107", "t812", "t809", "p9088", "t801"]
    assert not listing.more
    orphan = parse_search({"posts": [{**POSTS[9101], "topic_id": 999}], "topics": []}, FORUM)
    assert orphan.mentions[0].title == ""


def test_search_without_results_is_empty_not_an_error() -> None:
    listing = parse_search({"grouped_search_result": {"term": "zzz", "post_ids": []}}, FORUM)
    assert listing.items == ()


@pytest.mark.parametrize("body", [[], {"errors": ["not found"]}, {"posts": "x"}])
def test_parse_search_rejects_other_bodies(body: object) -> None:
    with pytest.raises(ParseError):
        parse_search(body, FORUM)


def test_latest_topic_maps_its_original_poster_and_whole_topic_counts() -> None:
    assert latest_mention(813) == Mention(
        key="t813",
        kind=MentionKind.POST,
        url=f"{FORUM}/t/driftwood-export-to-csv-is-empty/813",
        title="Driftwood export to CSV is empty",
        author="alice",
        published=datetime(2026, 11, 26, 9, 45, tzinfo=UTC),
        summary="",
        likes=4,
        replies=4,  # no reply_count in this listing: posts_count - 1
        views=77,
    )
    pinned = latest_mention(815)
    assert (pinned.author, pinned.replies) == ("system", 0)
    assert pinned.summary == "Read the “house rules” before posting: FAQ"
    assert display_safe(latest_mention(814).title) == "Great post [/bold] and [31mred[0m titles"


def test_parse_latest_reads_topics_and_more() -> None:
    listing = parse_latest(LATEST, FORUM)
    assert [m.key for m in listing.mentions] == ["t815", "t814", "t813"]
    assert listing.more
    with pytest.raises(ParseError):
        parse_latest({"users": []}, FORUM)


def test_seen_up_to_belongs_to_one_mode() -> None:
    seen = SeenUpTo("search").advance([9088, 9101])
    assert seen.to_cursor() == {"mode": "search", "newest_id": 9101}
    assert SeenUpTo.from_cursor(seen.to_cursor(), "search") == seen
    assert SeenUpTo.from_cursor(seen.to_cursor(), "latest") == SeenUpTo("latest")
    assert (seen.is_new(9102), seen.is_new(9101)) == (True, False)


def test_search_query_asks_for_newest_first_once() -> None:
    assert search_query("driftwood") == "driftwood order:latest"
    assert search_query("driftwood order:likes") == "driftwood order:likes"


def test_registered_with_its_keys() -> None:
    assert source_types()["discourse"] is DiscourseSource
    assert not DiscourseSource.keys["query"].required
    assert set(DiscourseSource.keys) == {"query", "api_key_env", "api_username_env"}


# --- through the real fetcher: search -----------------------------------------------------------


async def test_first_search_poll_reads_posts_and_topics(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", FakeSearch(SEARCH["posts"], SEARCH["topics"]))
    outcome = await make_source(search_config(server)).poll(context(fetcher, first_poll=True))

    (seen,) = server.requests_to("/search.json")
    assert seen.param("page") == "1"
    assert "api-key" not in seen.headers
    assert [m.key for m in outcome.mentions] == ["p9107", "t812", "t809", "p9088", "t801"]
    assert outcome.mentions[1].url == server.base_url + "/t/driftwood-2-0-feedback-thread/812"
    assert outcome.cursor == {"mode": "search", "newest_id": 9107}
    assert outcome.http_status == 200


async def test_first_search_poll_pages_until_max_items(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", FakeSearch(SEARCH["posts"], SEARCH["topics"], per_page=2))
    outcome = await make_source(search_config(server, max_items=3)).poll(context(fetcher, first_poll=True))
    assert [seen.param("page") for seen in server.requests_to("/search.json")] == ["1", "2"]
    assert [m.key for m in outcome.mentions] == ["p9107", "t812", "t809"]
    assert outcome.cursor == {"mode": "search", "newest_id": 9107}


async def test_second_search_poll_keeps_only_newer_posts(server: LocalServer, fetcher: Fetcher) -> None:
    newer = synthetic_posts(9200, 3)
    server.route("/search.json", FakeSearch([*newer, *SEARCH["posts"]], SEARCH["topics"], per_page=2))
    cursor = {"mode": "search", "newest_id": 9107}
    outcome = await make_source(search_config(server)).poll(context(fetcher, cursor=cursor))

    assert [seen.param("page") for seen in server.requests_to("/search.json")] == [
        "1",
        "2",
    ]  # page 2 reaches 9107
    assert [m.key for m in outcome.mentions] == ["p9202", "p9201", "p9200"]
    assert outcome.cursor == {"mode": "search", "newest_id": 9202}


async def test_young_posts_are_refreshed_by_reading_a_few_more_pages(
    server: LocalServer, fetcher: Fetcher
) -> None:
    posts = copy.deepcopy(SEARCH["posts"])
    for post in posts:
        post["like_count"] += 10
    server.route(
        "/search.json", FakeSearch([*synthetic_posts(9300, 1), *posts], SEARCH["topics"], per_page=2)
    )
    cursor = {"mode": "search", "newest_id": 9107}
    keys = ["p9107", "t809", "p9088", "t1"]  # t1 is too old to be on any page read
    outcome = await make_source(search_config(server)).poll(
        context(fetcher, cursor=cursor, refresh_keys=keys)
    )

    pages = [seen.param("page") for seen in server.requests_to("/search.json")]
    assert pages == [str(n) for n in range(1, 2 + REFRESH_PAGES)]
    counts = {m.key: m.likes for m in outcome.mentions}
    assert counts == {"p9300": 0, "p9107": 11, "t809": 10, "p9088": 12}


async def test_forum_api_key_is_sent_in_headers(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", FakeSearch(SEARCH["posts"], SEARCH["topics"]))
    source = make_source(search_config(server, api_key_env="FORUM_KEY", api_username_env="FORUM_USER"))
    outcome = await source.poll(
        context(fetcher, first_poll=True, env={"FORUM_KEY": "s3cret", "FORUM_USER": "bot"})
    )
    (seen,) = server.requests_to("/search.json")
    assert (seen.headers["api-key"], seen.headers["api-username"]) == ("s3cret", "bot")
    assert outcome.notes == ""


async def test_unset_key_variables_are_noted(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", FakeSearch(SEARCH["posts"], SEARCH["topics"]))
    source = make_source(search_config(server, api_key_env="FORUM_KEY"))
    outcome = await source.poll(context(fetcher, first_poll=True))
    assert "api-key" not in server.requests_to("/search.json")[0].headers
    assert outcome.notes == "FORUM_KEY is not set"


async def test_private_forum_needs_the_key_variable(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(
        "/search.json", b'{"errors":["You are not permitted to view the requested resource."]}', status=403
    )
    with pytest.raises(NeedsCredentials) as caught:
        await make_source(search_config(server, api_key_env="FORUM_KEY")).poll(
            context(fetcher, first_poll=True)
        )
    assert caught.value.env_var == "FORUM_KEY"
    with pytest.raises(NeedsCredentials) as suggested:
        await make_source(search_config(server)).poll(context(fetcher, first_poll=True))
    assert suggested.value.env_var == "DISCOURSE_API_KEY"


async def test_rate_limit_raises_with_retry_after(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", b'{"errors":["slow down"]}', status=429, headers={"Retry-After": "42"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await make_source(search_config(server)).poll(context(fetcher, first_poll=True))
    assert before + timedelta(seconds=41) <= caught.value.until <= datetime.now(UTC) + timedelta(seconds=43)


async def test_rate_limited_refresh_page_keeps_the_new_posts(server: LocalServer, fetcher: Fetcher) -> None:
    search = FakeSearch([*synthetic_posts(9300, 1), *SEARCH["posts"]], SEARCH["topics"], per_page=2)

    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        if seen.param("page") == "1":
            return search(seen, raw)
        return Reply(429, b"", {"Retry-After": "300"})

    server.route("/search.json", handler)
    cursor = {"mode": "search", "newest_id": 9107}
    outcome = await make_source(search_config(server)).poll(
        context(fetcher, cursor=cursor, refresh_keys=["t801"])
    )
    assert [m.key for m in outcome.mentions] == ["p9300"]
    assert outcome.not_before is not None
    assert outcome.not_before > NOW + timedelta(minutes=4)
    assert "page 2 failed" in outcome.notes


# --- through the real fetcher: latest -----------------------------------------------------------


async def test_latest_mode_lists_new_topics_newest_first(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/latest.json", FakeLatest(LATEST["topic_list"]["topics"]))
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))
    (seen,) = server.requests_to("/latest.json")
    assert seen.param("page") == "0"
    assert [(m.key, m.author) for m in outcome.mentions] == [
        ("t815", "system"),
        ("t814", "carol"),
        ("t813", "alice"),
    ]
    assert outcome.cursor == {"mode": "latest", "newest_id": 815}


async def test_latest_second_poll_stops_at_known_topics(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/latest.json", FakeLatest(LATEST["topic_list"]["topics"], per_page=1))
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor={"mode": "latest", "newest_id": 813})
    )
    assert [seen.param("page") for seen in server.requests_to("/latest.json")] == ["0", "1", "2"]
    assert [m.key for m in outcome.mentions] == ["t815", "t814"]
    assert outcome.cursor == {"mode": "latest", "newest_id": 815}


async def test_search_cursor_is_no_cursor_for_latest(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/latest.json", FakeLatest(LATEST["topic_list"]["topics"]))
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor={"mode": "search", "newest_id": 99999})
    )
    assert len(outcome.mentions) == 3


async def test_missing_forum_is_a_clear_error(fetcher: Fetcher) -> None:
    source = make_source(SourceConfig(name="f", type="discourse", interval=900))
    with pytest.raises(FetchError, match="base_url"):
        await source.poll(context(fetcher, first_poll=True))


async def test_incremental_poll_cut_by_max_items_says_so(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/search.json", FakeSearch(SEARCH["posts"], SEARCH["topics"], per_page=2))
    outcome = await make_source(search_config(server, max_items=3)).poll(
        context(fetcher, cursor={"mode": "search", "newest_id": 1})
    )
    assert len(outcome.mentions) == 3
    assert outcome.notes == "max_items (3) new items read: older new ones may have been skipped"
