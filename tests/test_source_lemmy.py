"""Lemmy source: post parsing, paging, incremental polls, engagement refresh, limits, auth.

A small Lemmy stand-in on the real local HTTP server sorts posts by publication time and answers
`limit`/`page`, so the source's requests are checked by what they make the server do.
"""

from __future__ import annotations

import copy
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
from dashboard.sources.lemmy import (
    REFRESH_PER_POLL,
    LemmySource,
    SearchPage,
    SeenUpTo,
    mention_from_post_view,
    parse_post,
    parse_search,
    refresh_order,
)
from dashboard.text import display_safe
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SEARCH: dict[str, Any] = json.loads(fixture_bytes("lemmy", "search.json"))
POSTS: list[dict[str, Any]] = SEARCH["posts"]
BY_ID = {str(view["post"]["id"]): view for view in POSTS}
LIVE = ["48213", "48207", "48199", "48102", "47988"]  # 48150 is deleted


def _json(body: object, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


def published(key: str) -> float:
    moment = datetime.fromisoformat(BY_ID[key]["post"]["published"].replace("Z", "+00:00"))
    return moment.timestamp()


def synthetic_post(post_id: int, at: datetime) -> dict[str, Any]:
    view = copy.deepcopy(POSTS[0])
    view["post"].update(id=post_id, name=f"Driftwood thread {post_id}", published=at.isoformat())
    view["post"]["ap_id"] = f"https://lemmy.example/post/{post_id}"
    view["counts"]["post_id"] = post_id
    return view


class FakeLemmy:
    """Answers /api/v3/search like Lemmy: Posts only, sorted New, `limit` per page, 1-based pages."""

    def __init__(self, posts: list[dict[str, Any]]) -> None:
        self.posts = posts

    def __call__(self, seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        assert (seen.param("type_"), seen.param("sort"), seen.param("q")) == ("Posts", "New", "driftwood")
        ordered = sorted(self.posts, key=lambda view: view["post"]["published"], reverse=True)
        limit, page = int(seen.param("limit", "10")), int(seen.param("page", "1"))
        chunk = ordered[(page - 1) * limit : page * limit]
        return _json({"type_": "Posts", "comments": [], "posts": chunk, "communities": [], "users": []})


def post_by_id(counts: Mapping[str, tuple[int, int]]) -> Any:
    """Answers /api/v3/post?id= for fixture posts, with new (score, comments); 404 for unknown ids."""

    def handler(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        key = seen.param("id")
        if key not in BY_ID:
            return _json({"error": "couldnt_find_post"}, status=404)
        view = copy.deepcopy(BY_ID[key])
        score, comments = counts.get(key, (0, 0))
        view["counts"].update(score=score, comments=comments)
        return _json({"post_view": view, "community_view": {}, "moderators": [], "cross_posts": []})

    return handler


def config(server: LocalServer, max_items: int = 100, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="lemmy",
        type="lemmy",
        interval=900,
        base_url=server.base_url,
        max_items=max_items,
        options={"query": "driftwood", **options},
    )


def context(fetcher: Fetcher, **kwargs: Any) -> PollContext:
    return PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)


def mention_of(key: str) -> Mention:
    mention = mention_from_post_view(BY_ID[key], "https://lemmy.example")
    assert mention is not None
    return mention


# --- pure parsing -------------------------------------------------------------------------------


def test_post_view_maps_score_comments_and_the_canonical_link() -> None:
    assert mention_of("48213") == Mention(
        key="48213",
        kind=MentionKind.POST,
        url="https://lemmy.example/post/48213",
        title="Anyone using Driftwood for community dashboards?",
        author="alice",
        published=datetime(2026, 11, 26, 11, 42, 10, 512345, tzinfo=UTC),
        summary="I've been trying **Driftwood** for a week.\n\nIt polls RSS & Mastodon & more. Thoughts?",
        likes=42,
        replies=7,
    )


def test_federated_post_links_to_its_home_instance() -> None:
    assert mention_of("48207").url == "https://beehaw.example/post/99120"


def test_hostile_titles_stay_literal_and_display_safe_removes_the_escape() -> None:
    markup = mention_of("48207")
    escape = mention_of("48199")
    plain_lt = mention_of("48102")
    assert markup.title == "Great post [/bold] on running Driftwood at scale"
    assert "\x1b" in escape.title  # stored as sent; only display strips it
    assert display_safe(escape.title) == "]0;ownedDriftwood 2.0 released — changelog inside"
    assert plain_lt.title == "Is Driftwood < 2.0 still supported?"  # a plain-text title: nothing dropped
    assert plain_lt.summary == ""  # a post without a body


def test_deleted_posts_and_posts_without_ids_are_skipped() -> None:
    assert mention_from_post_view(BY_ID["48150"]) is None
    assert mention_from_post_view({"post": {"name": "no id"}}) is None
    page = parse_search(SEARCH, "https://lemmy.example")
    assert [m.key for m in page.mentions] == LIVE
    assert page.size == 6


def test_link_that_is_not_http_falls_back_to_the_instance() -> None:
    view = copy.deepcopy(BY_ID["48213"])
    view["post"]["ap_id"] = "javascript:alert(1)"
    mention = mention_from_post_view(view, "https://lemmy.example")
    assert mention is not None
    assert mention.url == "https://lemmy.example/post/48213"


@pytest.mark.parametrize("body", [[], {"error": "not_found"}, {"posts": "x"}])
def test_parse_search_rejects_bodies_without_posts(body: object) -> None:
    with pytest.raises(ParseError):
        parse_search(body)


def test_parse_post_reads_the_post_view() -> None:
    mention = parse_post({"post_view": BY_ID["48199"]})
    assert mention is not None
    assert (mention.key, mention.likes, mention.replies) == ("48199", 128, 41)
    with pytest.raises(ParseError):
        parse_post({"error": "couldnt_find_post"})


def test_seen_up_to_tracks_the_newest_id_and_time() -> None:
    seen = SeenUpTo().advance([mention_of("48199"), mention_of("48102")])
    assert seen.to_cursor() == {"newest_id": 48199, "since": published("48199")}
    assert SeenUpTo.from_cursor(seen.to_cursor()) == seen
    assert (seen.is_new(mention_of("48213")), seen.is_new(mention_of("48199"))) == (True, False)
    assert not seen.reached(SearchPage((mention_of("48213"), mention_of("48207")), 2))
    assert seen.reached(SearchPage((mention_of("48213"), mention_of("48199")), 2))


def test_refresh_order_is_newest_first_and_bounded() -> None:
    assert refresh_order(["7", "300", "x", "41", "300"], skip=["41"]) == ["300", "7"]
    assert len(refresh_order([str(n) for n in range(100)], skip=[])) == REFRESH_PER_POLL


def test_registered_with_its_keys() -> None:
    assert source_types()["lemmy"] is LemmySource
    # query or domain (a Url search for links to a site): one of them, not query alone.
    assert not LemmySource.keys["query"].required
    assert LemmySource.required_any == ("query", "domain")
    assert LemmySource.default_base_url is None


# --- through the real fetcher -------------------------------------------------------------------


async def test_first_poll_reads_the_instance_search(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v3/search", FakeLemmy(POSTS))
    outcome = await make_source(config(server)).poll(context(fetcher, first_poll=True))

    (seen,) = server.requests_to("/api/v3/search")  # 6 posts: one short page
    assert (seen.param("limit"), seen.param("page")) == ("50", "1")
    assert [m.key for m in outcome.mentions] == LIVE
    assert outcome.cursor == {"newest_id": 48213, "since": published("48213")}
    assert outcome.http_status == 200
    assert outcome.bytes_read > 0


async def test_first_poll_pages_until_max_items(server: LocalServer, fetcher: Fetcher) -> None:
    posts = [synthetic_post(1000 + n, NOW - timedelta(minutes=n)) for n in range(130)]
    server.route("/api/v3/search", FakeLemmy(posts))
    outcome = await make_source(config(server, max_items=70)).poll(context(fetcher, first_poll=True))

    assert [seen.param("page") for seen in server.requests_to("/api/v3/search")] == ["1", "2"]
    assert [m.key for m in outcome.mentions] == [str(1000 + n) for n in range(70)]


async def test_second_poll_stops_at_known_posts(server: LocalServer, fetcher: Fetcher) -> None:
    old = [synthetic_post(2000 - n, NOW - timedelta(hours=2, minutes=n)) for n in range(120)]
    cursor = {"newest_id": 2000, "since": (NOW - timedelta(hours=2)).timestamp()}
    fresh = [
        synthetic_post(2300, NOW - timedelta(minutes=5)),
        synthetic_post(2301, NOW - timedelta(minutes=1)),
    ]
    late = synthetic_post(2302, NOW - timedelta(hours=2, minutes=30))  # federated late, published earlier
    server.route("/api/v3/search", FakeLemmy([*old, *fresh, late]))
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor))

    assert [seen.param("page") for seen in server.requests_to("/api/v3/search")] == ["1"]
    assert [m.key for m in outcome.mentions] == ["2301", "2300", "2302"]
    assert outcome.cursor == {"newest_id": 2302, "since": (NOW - timedelta(minutes=1)).timestamp()}


async def test_quiet_second_poll_keeps_the_cursor(server: LocalServer, fetcher: Fetcher) -> None:
    cursor = {"newest_id": 48213, "since": published("48213")}
    server.route("/api/v3/search", FakeLemmy(POSTS))
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor))
    assert outcome.mentions == ()
    assert outcome.cursor == cursor


async def test_young_posts_are_refreshed_from_the_search_and_by_id(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/api/v3/search", FakeLemmy(POSTS[:2]))  # the search only re-reads 48213 and 48207
    server.route("/api/v3/post", post_by_id({"48199": (131, 45), "47988": (30, 13)}))
    cursor = {"newest_id": 48213, "since": published("48213")}
    keys = ["48207", "48199", "47988", "40000"]  # 40000 has vanished from the instance
    outcome = await make_source(config(server)).poll(context(fetcher, cursor=cursor, refresh_keys=keys))

    assert [seen.param("id") for seen in server.requests_to("/api/v3/post")] == ["48199", "47988", "40000"]
    counts = {m.key: (m.likes, m.replies) for m in outcome.mentions}
    assert counts == {"48207": (15, 3), "48199": (131, 45), "47988": (30, 13)}


async def test_refresh_by_id_is_bounded_per_poll(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v3/search", FakeLemmy([]))
    server.route("/api/v3/post", post_by_id({}))
    keys = [str(n) for n in range(100, 160)]
    await make_source(config(server)).poll(context(fetcher, cursor={"newest_id": 1}, refresh_keys=keys))
    asked = [seen.param("id") for seen in server.requests_to("/api/v3/post")]
    assert asked == [str(n) for n in range(159, 159 - REFRESH_PER_POLL, -1)]


async def test_rate_limit_on_search_raises_with_retry_after(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v3/search", b"slow down", status=429, headers={"Retry-After": "120"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert before + timedelta(seconds=119) <= caught.value.until <= datetime.now(UTC) + timedelta(seconds=121)


async def test_rate_limit_during_refresh_keeps_the_new_posts(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v3/search", FakeLemmy(POSTS))
    server.route("/api/v3/post", b"", status=429, headers={"Retry-After": "600"})
    cursor = {"newest_id": 48199, "since": published("48199")}
    outcome = await make_source(config(server)).poll(
        context(fetcher, cursor=cursor, refresh_keys=["47000", "46000"])
    )
    assert [m.key for m in outcome.mentions] == ["48213", "48207"]
    assert len(server.requests_to("/api/v3/post")) == 1
    assert outcome.not_before is not None
    assert outcome.not_before > NOW + timedelta(minutes=9)
    assert "engagement refresh stopped" in outcome.notes


async def test_instance_refusing_anonymous_reads_needs_credentials(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/api/v3/search", b'{"error":"not_logged_in"}', status=401)
    with pytest.raises(NeedsCredentials) as caught:
        await make_source(config(server)).poll(context(fetcher, first_poll=True))
    assert caught.value.http_status == 401


async def test_html_instead_of_json_is_a_parse_error(server: LocalServer, fetcher: Fetcher) -> None:
    server.route("/api/v3/search", b"<html>maintenance</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ParseError):
        await make_source(config(server)).poll(context(fetcher, first_poll=True))


async def test_missing_instance_is_a_clear_error(fetcher: Fetcher) -> None:
    source = make_source(SourceConfig(name="l", type="lemmy", interval=900, options={"query": "x"}))
    with pytest.raises(FetchError, match="base_url"):
        await source.poll(context(fetcher, first_poll=True))


async def test_incremental_poll_cut_by_max_items_says_so(server: LocalServer, fetcher: Fetcher) -> None:
    posts = [synthetic_post(1000 + n, NOW - timedelta(minutes=n)) for n in range(130)]
    server.route("/api/v3/search", FakeLemmy(posts))
    cursor = {"newest_id": 1, "since": (NOW - timedelta(days=1)).timestamp()}
    outcome = await make_source(config(server, max_items=60)).poll(context(fetcher, cursor=cursor))
    assert len(outcome.mentions) == 60
    assert outcome.notes == "max_items (60) new items read: older new ones may have been skipped"
