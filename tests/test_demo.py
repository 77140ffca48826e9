"""The demo: a deterministic simulated community served over real HTTP in every documented API format."""

from __future__ import annotations

import gzip
import json
import tomllib
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import feedparser
import pytest

from dashboard.config import parse_config
from dashboard.contracts.errors import HTTPError, RateLimited
from dashboard.contracts.source import InlineParser, PollContext, Source
from dashboard.demo import formats
from dashboard.demo.server import DemoServer, github_matches, hn_matches
from dashboard.demo.world import STREAMS, DemoWorld, Happening
from dashboard.durations import parse_duration
from dashboard.fetch.http import Fetcher
from dashboard.models import MentionKind, PollOutcome
from dashboard.sources import make_source, source_types

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "media": "http://search.yahoo.com/mrss/",
    "yt": "http://www.youtube.com/xml/schemas/2015",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, seconds_after_start: float) -> None:
        self.at = START + timedelta(seconds=seconds_after_start)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def demo(clock: FakeClock) -> Iterator[DemoServer]:
    with DemoServer(seed=7, clock=clock, start=START) as server:
        yield server


def get(
    demo: DemoServer, path: str, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A raw GET (no decompression): status, lower-case headers, body bytes."""
    request = urllib.request.Request(demo.url(path), headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def get_json(demo: DemoServer, path: str) -> Any:
    status, headers, body = get(demo, path)
    assert status == 200, (path, status, body[:200])
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return json.loads(body)


EVERY_ROUTE = (
    "/blog/feed/",
    "/blog/comments/feed/",
    "/lumen-tui/lumen/releases.atom",
    "/youtube/feeds/videos.xml?channel_id=" + formats.YOUTUBE_CHANNEL_ID,
    "/hn/api/v1/search_by_date?query=lumen&tags=(story,comment)&hitsPerPage=1000",
    "/reddit/search.json?q=lumen&sort=new&limit=100",
    "/mastodon/api/v1/timelines/tag/lumen?limit=40",
    "/bluesky/xrpc/app.bsky.feed.searchPosts?q=lumen&sort=latest&limit=100",
    "/lemmy/api/v3/search?q=lumen&type_=Posts&sort=New&limit=50",
    "/stackexchange/2.3/search/advanced?q=lumen&site=stackoverflow&sort=creation&order=desc&pagesize=100",
    "/discourse/search.json?q=lumen%20order:latest",
    "/github/search/issues?q=lumen&sort=created&order=desc&per_page=100",
)


# --------------------------------------------------------------------------------------------------
# The world


def test_same_seed_and_clock_give_the_same_bytes_on_every_route(clock: FakeClock) -> None:
    clock.set(150)  # inside the first burst
    with (
        DemoServer(seed=7, clock=clock, start=START) as one,
        DemoServer(seed=7, clock=clock, start=START) as two,
    ):
        for path in EVERY_ROUTE:  # the bodies differ only where they name their own server
            assert get(one, path)[2].replace(one.base_url.encode(), b"") == get(two, path)[2].replace(
                two.base_url.encode(), b""
            ), path
    with (
        DemoServer(seed=8, clock=clock, start=START) as other,
        DemoServer(seed=7, clock=clock, start=START) as same,
    ):
        assert get(other, EVERY_ROUTE[4])[2] != get(same, EVERY_ROUTE[4])[2]


def test_a_world_does_not_depend_on_when_it_was_first_asked() -> None:
    late = DemoWorld(seed=3, start=START)
    late_view = late.mentions("mastodon", START + timedelta(hours=1))
    step = DemoWorld(seed=3, start=START)
    for minutes in (0, 7, 23, 41, 60):
        step.mentions("mastodon", START + timedelta(minutes=minutes))
    assert step.mentions("mastodon", START + timedelta(hours=1)) == late_view


def test_the_backlog_is_a_month_of_a_few_hundred_mentions_with_daily_and_weekly_rhythm() -> None:
    world = DemoWorld(seed=7, start=START)
    everything = [m for stream in STREAMS for m in world.mentions(stream, START)]
    assert 300 <= len(everything) <= 1000
    assert all(world.mentions(stream, START) for stream in STREAMS)
    assert min(m.published for m in everything) >= START - timedelta(days=30)
    per_day = Counter(m.published.date() for m in everything)
    weekdays = [count for day, count in per_day.items() if day.weekday() < 5]
    weekends = [count for day, count in per_day.items() if day.weekday() >= 5]
    assert sum(weekdays) / len(weekdays) > 1.5 * sum(weekends) / len(weekends)
    afternoon = sum(1 for m in everything if 12 <= m.published.hour < 18)
    night = sum(1 for m in everything if 0 <= m.published.hour < 6)
    assert afternoon > 3 * night


def test_authors_recur_and_newcomers_keep_arriving_with_names_in_many_scripts() -> None:
    world = DemoWorld(seed=7, start=START)
    backlog = {m.author.handle for s in STREAMS for m in world.mentions(s, START)}
    later = {m.author.handle for s in STREAMS for m in world.mentions(s, START + timedelta(minutes=20))}
    authors = Counter(m.author.handle for s in STREAMS for m in world.mentions(s, START))
    assert authors.most_common(1)[0][1] >= 20  # regulars
    assert len(later - backlog) >= 10  # newcomers during the demo
    names = {m.author.name for s in STREAMS for m in world.mentions(s, START)}
    assert any(any(ord(char) > 0x2E80 for char in name) for name in names)  # CJK or Hangul
    assert any(any(0x0400 <= ord(char) <= 0x04FF for char in name) for name in names)  # Cyrillic
    assert any(char in name for name in names for char in "éëöøłçñ")


def test_new_mentions_arrive_every_few_seconds_and_engagement_grows() -> None:
    world = DemoWorld(seed=7, start=START)
    arrivals = sorted(
        m.published
        for s in STREAMS
        for m in world.mentions(s, START + timedelta(minutes=10))
        if m.published > START
    )
    assert len(arrivals) >= 60  # ten minutes
    assert max((b - a).total_seconds() for a, b in zip([START, *arrivals], arrivals, strict=False)) < 45
    young = [
        m
        for m in world.mentions("reddit", START + timedelta(minutes=2))
        if m.published > START and m.reach > 5
    ]
    assert young
    mention = young[0]
    scores = [
        world.counts(mention, START + timedelta(minutes=minutes)).score for minutes in (2, 5, 10, 30, 120)
    ]
    assert scores == sorted(scores)
    assert scores[0] < scores[-1]
    early, late = (world.counts(mention, START + timedelta(minutes=m)) for m in (2, 60))
    assert late.comments >= early.comments


def test_a_burst_hits_hacker_news_a_couple_of_minutes_in() -> None:
    world = DemoWorld(seed=7, start=START)

    def between(a: float, b: float) -> list[Happening]:
        return [
            m
            for m in world.mentions("hackernews", START + timedelta(seconds=b))
            if START + timedelta(seconds=a) <= m.published < START + timedelta(seconds=b)
        ]

    assert len(between(120, 420)) >= 3 * max(1, len(between(420, 720)))
    headline = next(m for m in between(120, 121) if m.title.startswith("Show HN: Lumen 1.0"))
    assert world.counts(headline, START + timedelta(hours=1)).score > 300
    replies = [m for m in between(120, 420) if m.kind == "comment"]
    assert replies
    assert all(m.parent == headline.ident for m in replies)


# --------------------------------------------------------------------------------------------------
# Feeds


def test_blog_feed_is_rss_with_comment_counts_and_comment_feeds(demo: DemoServer) -> None:
    status, headers, body = get(demo, "/blog/feed/")
    assert status == 200
    assert headers["content-type"].startswith("application/rss+xml")
    items = ET.fromstring(body).findall("channel/item")
    assert len(items) == 10
    for item in items:
        for name in ("title", "link", "pubDate", "guid", "dc:creator", "wfw:commentRss", "slash:comments"):
            assert item.find(name, NS) is not None, name
    counts = [int(item.findtext("slash:comments", namespaces=NS) or "") for item in items]
    assert sum(counts) > 0
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    assert [int(e.slash_comments) for e in parsed.entries] == counts
    # the post's own comment feed lists exactly that many comments
    busiest = items[counts.index(max(counts))]
    comment_feed = urlsplit(busiest.findtext("wfw:commentRss", namespaces=NS) or "").path
    status, _, body = get(demo, comment_feed)
    assert status == 200
    assert len(ET.fromstring(body).findall("channel/item")) == max(counts)


def test_wordpress_comment_feed_has_comments_and_pingbacks(demo: DemoServer) -> None:
    parsed = feedparser.parse(get(demo, "/blog/comments/feed/")[2])
    assert not parsed.bozo
    assert parsed.feed.title == "Comments for Lumen blog"
    titles = [entry.title for entry in parsed.entries]
    assert len(titles) == 30
    assert any(title.startswith("Comment on ") for title in titles)
    world = DemoWorld(seed=7, start=START)
    pingbacks = [m for m in world.mentions("comments", START) if m.kind == "pingback"]
    assert pingbacks
    assert all(m.title.startswith(("Pingback: ", "Rétrolien : ")) for m in pingbacks)


def test_releases_and_youtube_are_atom_with_the_documented_elements(demo: DemoServer) -> None:
    releases = ET.fromstring(get(demo, "/lumen-tui/lumen/releases.atom")[2])
    entries = releases.findall("atom:entry", NS)
    assert entries
    for entry in entries:
        assert (entry.findtext("atom:title", namespaces=NS) or "").startswith("Lumen v")
        assert entry.find("atom:link[@rel='alternate']", NS) is not None
        assert entry.findtext("atom:updated", namespaces=NS)
    body = get(demo, "/youtube/feeds/videos.xml?channel_id=" + formats.YOUTUBE_CHANNEL_ID)[2]
    videos = ET.fromstring(body).findall("atom:entry", NS)
    assert 1 <= len(videos) <= 15
    for video in videos:
        assert video.findtext("yt:videoId", namespaces=NS)
        community = video.find("media:group/media:community", NS)
        assert community is not None
        stats, rating = community.find("media:statistics", NS), community.find("media:starRating", NS)
        assert stats is not None
        assert int(stats.attrib["views"]) >= 0
        assert rating is not None
        assert int(rating.attrib["count"]) >= 0
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    assert int(parsed.entries[0].media_statistics["views"]) > 0


def test_feeds_answer_304_to_matching_validators_and_200_once_changed(
    demo: DemoServer, clock: FakeClock
) -> None:
    status, headers, body = get(demo, "/blog/comments/feed/")
    assert status == 200
    assert headers["etag"]
    assert headers["last-modified"]
    status, _, empty = get(demo, "/blog/comments/feed/", {"If-None-Match": headers["etag"]})
    assert (status, empty) == (304, b"")
    status, _, _ = get(demo, "/blog/comments/feed/", {"If-Modified-Since": headers["last-modified"]})
    assert status == 304
    status, _, _ = get(
        demo,
        "/blog/comments/feed/",
        {"If-None-Match": '"stale"', "If-Modified-Since": headers["last-modified"]},
    )
    assert status == 200  # If-None-Match wins
    clock.set(900)  # new comments arrived
    status, later, changed = get(demo, "/blog/comments/feed/", {"If-None-Match": headers["etag"]})
    assert status == 200
    assert later["etag"] != headers["etag"]
    assert changed != body


def test_xml_feeds_drop_characters_xml_cannot_carry() -> None:
    world = DemoWorld(seed=1, start=START)
    post = world.mentions("blog", START)[-1]
    hostile = formats.Shown(replace(post, title="a\x1b[2J b [/bold]"), world.counts(post, START))
    body = formats.rss_blog([hostile], feed_url="http://x/feed/", server_url="http://x", epoch=START)
    assert ET.fromstring(body).findtext("channel/item/title") == "a[2J b [/bold]"


# --------------------------------------------------------------------------------------------------
# JSON APIs: documented fields


def test_every_api_carries_the_documented_fields(demo: DemoServer) -> None:
    hn = get_json(demo, EVERY_ROUTE[4])
    assert {"hits", "nbHits", "page", "nbPages", "hitsPerPage"} <= hn.keys()
    story = next(hit for hit in hn["hits"] if "story" in hit["_tags"])
    assert {
        "objectID",
        "title",
        "url",
        "author",
        "points",
        "num_comments",
        "created_at",
        "created_at_i",
        "_tags",
    } <= story.keys()

    reddit = get_json(demo, EVERY_ROUTE[5])
    assert reddit["kind"] == "Listing"
    assert {"after", "children"} <= reddit["data"].keys()
    post = reddit["data"]["children"][0]
    assert post["kind"] == "t3"
    keys = {
        "id",
        "name",
        "title",
        "author",
        "subreddit",
        "permalink",
        "url",
        "score",
        "num_comments",
        "created_utc",
        "selftext",
    }
    assert keys <= post["data"].keys()
    assert post["data"]["name"] == "t3_" + post["data"]["id"]
    assert post["data"]["permalink"].startswith("/r/")

    statuses = get_json(demo, EVERY_ROUTE[6])
    status = statuses[0]
    keys = {
        "id",
        "created_at",
        "url",
        "uri",
        "content",
        "language",
        "replies_count",
        "reblogs_count",
        "favourites_count",
        "tags",
    }
    assert keys <= status.keys()
    assert status["content"].startswith("<p>")
    assert {"acct", "username", "display_name", "url"} <= status["account"].keys()

    bluesky = get_json(demo, "/bluesky/xrpc/app.bsky.feed.searchPosts?q=lumen&sort=latest&limit=25")
    assert {"posts", "cursor", "hitsTotal"} <= bluesky.keys()
    assert "cursor" not in get_json(demo, EVERY_ROUTE[7])  # everything fit in one page
    bpost = bluesky["posts"][0]
    assert bpost["uri"].startswith("at://did:plc:")
    assert "/app.bsky.feed.post/" in bpost["uri"]
    assert {"did", "handle", "displayName"} <= bpost["author"].keys()
    assert {"text", "createdAt", "langs"} <= bpost["record"].keys()
    assert {"replyCount", "repostCount", "likeCount", "quoteCount", "indexedAt", "cid"} <= bpost.keys()

    lemmy = get_json(demo, EVERY_ROUTE[8])
    view = lemmy["posts"][0]
    assert {"id", "name", "ap_id", "published", "body"} <= view["post"].keys()
    assert {"name", "actor_id"} <= view["creator"].keys()
    assert "name" in view["community"]
    assert {"score", "upvotes", "downvotes", "comments"} <= view["counts"].keys()

    stack = get_json(demo, EVERY_ROUTE[9])
    assert {"items", "has_more", "quota_max", "quota_remaining"} <= stack.keys()
    keys = {
        "question_id",
        "title",
        "link",
        "owner",
        "score",
        "answer_count",
        "view_count",
        "is_answered",
        "creation_date",
        "tags",
    }
    assert keys <= stack["items"][0].keys()
    assert "display_name" in stack["items"][0]["owner"]

    discourse = get_json(demo, EVERY_ROUTE[10])
    assert {
        "id",
        "username",
        "name",
        "created_at",
        "like_count",
        "blurb",
        "post_number",
        "topic_id",
    } <= discourse["posts"][0].keys()
    keys = {"id", "title", "slug", "posts_count", "reply_count", "like_count", "views", "created_at"}
    assert keys <= discourse["topics"][0].keys()
    assert {t["id"] for t in discourse["topics"]} == {p["topic_id"] for p in discourse["posts"]}

    github = get_json(demo, EVERY_ROUTE[11])
    assert {"total_count", "incomplete_results", "items"} <= github.keys()
    item = github["items"][0]
    keys = {
        "id",
        "number",
        "title",
        "html_url",
        "user",
        "state",
        "comments",
        "reactions",
        "created_at",
        "updated_at",
        "body",
    }
    assert keys <= item.keys()
    assert "login" in item["user"]
    assert {"total_count", "+1"} <= item["reactions"].keys()


def test_hostile_text_is_served_verbatim(demo: DemoServer) -> None:
    titles = [
        child["data"]["title"]
        for child in get_json(demo, "/reddit/search.json?q=x&sort=new&limit=100&raw_json=1")["data"][
            "children"
        ]
    ]
    assert any("Great post [/bold]" in title for title in titles)
    assert any(title.startswith("[@click=app.quit]x[/]") for title in titles)
    assert any("\x1b]0;" in title and "\x1b[2J" in title for title in titles)
    legacy = get_json(demo, "/reddit/search.json?q=x&sort=new&limit=100")["data"]["children"]
    assert any("&lt;" in c["data"]["selftext"] or "&amp;" in c["data"]["title"] for c in legacy) or all(
        "<" not in c["data"]["title"] for c in legacy
    )
    mastodon = get_json(demo, "/mastodon/api/v1/timelines/tag/lumen?limit=40")
    assert any("&lt;script&gt;" in s["content"] and "\x1b[2J" in s["content"] for s in mastodon)


def test_stack_exchange_is_gzip_with_a_shrinking_quota_and_escaped_titles(demo: DemoServer) -> None:
    status, headers, body = get(demo, EVERY_ROUTE[9])
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert body[:2] == b"\x1f\x8b"
    first = json.loads(gzip.decompress(body))
    second = get_json(demo, EVERY_ROUTE[9])
    assert second["quota_remaining"] == first["quota_remaining"] - 1
    assert all("'" not in item["title"] for item in first["items"])
    with_body = get_json(demo, EVERY_ROUTE[9] + "&filter=withbody")
    assert all(item["body"].startswith("<p>") for item in with_body["items"])


# --------------------------------------------------------------------------------------------------
# Request parameters: incremental polls and paging


def test_hacker_news_numeric_filters_pages_and_story_refresh(demo: DemoServer, clock: FakeClock) -> None:
    clock.set(200)
    everything = get_json(demo, "/hn/api/v1/search_by_date?tags=(story,comment)&hitsPerPage=1000")["hits"]
    times = [hit["created_at_i"] for hit in everything]
    assert times == sorted(times, reverse=True)
    cut = times[len(times) // 2]
    newer = get_json(
        demo,
        f"/hn/api/v1/search_by_date?tags=(story,comment)&numericFilters=created_at_i>{cut}&hitsPerPage=1000",
    )
    assert newer["hits"]
    assert all(hit["created_at_i"] > cut for hit in newer["hits"])
    assert newer["nbHits"] == sum(1 for t in times if t > cut)
    pages, page = [], 0
    while True:
        answer = get_json(demo, f"/hn/api/v1/search_by_date?tags=(story,comment)&hitsPerPage=7&page={page}")
        pages += answer["hits"]
        page += 1
        if page >= answer["nbPages"]:
            break
    assert [hit["objectID"] for hit in pages] == [hit["objectID"] for hit in everything]
    stories = get_json(demo, "/hn/api/v1/search_by_date?tags=story&hitsPerPage=1000")["hits"]
    assert stories
    assert all("story" in hit["_tags"] for hit in stories)
    wanted = [stories[0]["objectID"], stories[3]["objectID"]]
    refreshed = get_json(
        demo, "/hn/api/v1/search?tags=" + quote(f"story,(story_{wanted[0]},story_{wanted[1]})")
    )
    assert sorted(hit["objectID"] for hit in refreshed["hits"]) == sorted(wanted)


def test_hn_filter_semantics() -> None:
    hit = {"_tags": ["comment", "story_5"], "created_at_i": 100, "points": 3}
    assert hn_matches(hit, "comment", "created_at_i>=100")
    assert not hn_matches(hit, "comment", "created_at_i>100")
    assert hn_matches(hit, "(story,comment),story_5", "points<4,created_at_i<101")
    assert not hn_matches(hit, "story,(story_5)", "")


def test_reddit_after_paging_and_info_refresh(demo: DemoServer) -> None:
    everything = [
        c["data"]
        for c in get_json(demo, "/reddit/search.json?q=lumen&sort=new&limit=100")["data"]["children"]
    ]
    collected, after = [], ""
    while True:
        listing = get_json(
            demo, f"/reddit/search.json?q=lumen&sort=new&limit=25{'&after=' + after if after else ''}"
        )["data"]
        collected += [c["data"] for c in listing["children"]]
        if not listing["after"]:
            break
        after = listing["after"]
    assert [p["name"] for p in collected] == [p["name"] for p in everything]
    assert [p["created_utc"] for p in collected] == sorted(
        (p["created_utc"] for p in collected), reverse=True
    )
    names = [everything[2]["name"], everything[0]["name"]]
    info = get_json(demo, "/reddit/api/info.json?id=" + ",".join(names))["data"]["children"]
    assert [c["data"]["name"] for c in info] == names
    sub = get_json(demo, "/reddit/r/LumenTUI/search.json?q=lumen&restrict_sr=1&sort=new&limit=100")["data"][
        "children"
    ]
    assert sub
    assert all(c["data"]["subreddit"] == "LumenTUI" for c in sub)


def test_mastodon_min_id_max_id_and_statuses_by_id(demo: DemoServer) -> None:
    newest = get_json(demo, "/mastodon/api/v1/timelines/tag/lumen?limit=40")
    ids = [int(s["id"]) for s in newest]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 40
    older = get_json(demo, f"/mastodon/api/v1/timelines/tag/lumen?limit=40&max_id={ids[-1]}")
    assert older
    assert all(int(s["id"]) < ids[-1] for s in older)
    forward = get_json(demo, f"/mastodon/api/v1/timelines/tag/lumen?limit=5&min_id={ids[20]}")
    assert [int(s["id"]) for s in forward] == ids[15:20]  # the five immediately newer, newest first
    _status, headers, _ = get(demo, "/mastodon/api/v1/timelines/tag/lumen?limit=5")
    assert 'rel="next"' in headers["link"]
    assert headers["x-ratelimit-remaining"].isdigit()
    chosen = get_json(demo, f"/mastodon/api/v1/statuses?id[]={ids[3]}&id[]={ids[1]}&id[]=1")
    assert [int(s["id"]) for s in chosen] == [ids[3], ids[1]]


def test_bluesky_cursor_paging_and_get_posts(demo: DemoServer) -> None:
    first = get_json(demo, "/bluesky/xrpc/app.bsky.feed.searchPosts?q=lumen&sort=latest&limit=30")
    second = get_json(
        demo, f"/bluesky/xrpc/app.bsky.feed.searchPosts?q=lumen&sort=latest&limit=30&cursor={first['cursor']}"
    )
    uris = [p["uri"] for p in first["posts"] + second["posts"]]
    assert len(set(uris)) == 60
    assert first["hitsTotal"] > 60
    created = [p["record"]["createdAt"] for p in first["posts"] + second["posts"]]
    assert created == sorted(created, reverse=True)
    got = get_json(
        demo, "/bluesky/xrpc/app.bsky.feed.getPosts?" + "&".join(f"uris={quote(u)}" for u in uris[:3])
    )
    assert [p["uri"] for p in got["posts"]] == uris[:3]
    assert get(demo, "/bluesky/xrpc/app.bsky.feed.searchPosts?limit=3")[0] == 400


def test_lemmy_pages_and_post_by_id(demo: DemoServer) -> None:
    one = get_json(demo, "/lemmy/api/v3/search?q=lumen&type_=Posts&sort=New&limit=5&page=1")["posts"]
    two = get_json(demo, "/lemmy/api/v3/search?q=lumen&type_=Posts&sort=New&limit=5&page=2")["posts"]
    ids = [view["post"]["id"] for view in one + two]
    assert len(set(ids)) == 10
    assert ids == sorted(ids, reverse=True)
    post = get_json(demo, f"/lemmy/api/v3/post?id={ids[4]}")
    assert post["post_view"]["post"]["id"] == ids[4]
    assert get(demo, "/lemmy/api/v3/post?id=1")[0] == 404


def test_stack_exchange_fromdate_pages_and_questions_by_id(demo: DemoServer) -> None:
    base = "/stackexchange/2.3/search/advanced?q=lumen&site=stackoverflow&sort=creation&order=desc"
    everything = get_json(demo, base + "&pagesize=100")["items"]
    cut = everything[5]["creation_date"]
    since = get_json(demo, f"{base}&fromdate={cut}")["items"]
    assert [q["question_id"] for q in since] == [q["question_id"] for q in everything[:6]]
    page_one = get_json(demo, base + "&pagesize=10&page=1")
    page_two = get_json(demo, base + "&pagesize=10&page=2")
    assert page_one["has_more"]
    assert [q["question_id"] for q in page_one["items"] + page_two["items"]] == [
        q["question_id"] for q in everything[:20]
    ]
    ids = [everything[1]["question_id"], everything[7]["question_id"]]
    refreshed = get_json(
        demo, "/stackexchange/2.3/questions/" + quote(";".join(map(str, ids))) + "?site=stackoverflow"
    )
    assert sorted(q["question_id"] for q in refreshed["items"]) == sorted(ids)


def test_github_created_qualifier_and_pages(demo: DemoServer) -> None:
    everything = get_json(demo, "/github/search/issues?q=lumen&sort=created&order=desc&per_page=100")
    items = everything["items"]
    cut = items[4]["created_at"]
    since = get_json(
        demo, "/github/search/issues?" + f"q={quote(f'lumen created:>={cut}')}&sort=created&order=desc"
    )
    assert [i["id"] for i in since["items"]] == [i["id"] for i in items[:5]]
    assert since["total_count"] == 5
    _status, headers, _ = get(demo, "/github/search/issues?q=lumen&sort=created&order=desc&per_page=10")
    assert 'rel="next"' in headers["link"]
    assert int(headers["x-ratelimit-remaining"]) >= 0
    second = get_json(demo, "/github/search/issues?q=lumen&sort=created&order=desc&per_page=10&page=2")
    assert [i["id"] for i in second["items"]] == [i["id"] for i in items[10:20]]
    assert get(demo, "/github/search/issues?q=")[0] == 422


def test_github_qualifier_semantics() -> None:
    world = DemoWorld(seed=7, start=START)
    item = world.mentions("github", START)[-1]
    day = item.published.date().isoformat()
    assert github_matches(item, f"lumen created:{day}")
    assert github_matches(item, f"created:>={day}")
    assert not github_matches(item, f"created:>{day}")
    assert github_matches(item, f"created:{day}..*")
    assert not github_matches(item, f"created:*..{day}T00:00:00Z")
    assert github_matches(item, f"is:{item.variant}")
    assert not github_matches(item, "is:closed")


def test_discourse_latest_order_and_after(demo: DemoServer) -> None:
    latest = get_json(demo, "/discourse/search.json?q=" + quote("lumen order:latest"))
    created = [p["created_at"] for p in latest["posts"]]
    assert created == sorted(created, reverse=True)
    assert len(created) > 20
    day = (START - timedelta(days=3)).date().isoformat()
    recent = get_json(demo, "/discourse/search.json?q=" + quote(f"lumen after:{day} order:latest"))
    assert recent["posts"]
    assert all(p["created_at"][:10] > day for p in recent["posts"])
    assert get_json(demo, "/discourse/latest.json")["topic_list"]["topics"]


# --------------------------------------------------------------------------------------------------
# Incidents


def test_lemmy_fails_with_500_for_a_while_then_recovers(demo: DemoServer, clock: FakeClock) -> None:
    path = EVERY_ROUTE[8]
    for seconds, expected in ((170, 200), (181, 500), (359, 500), (361, 200), (1800 + 200, 500)):
        clock.set(seconds)
        assert get(demo, path)[0] == expected, seconds


def test_github_is_rate_limited_with_retry_after(demo: DemoServer, clock: FakeClock) -> None:
    path = EVERY_ROUTE[11]
    clock.set(224)
    assert get(demo, path)[0] == 200
    clock.set(250)
    status, headers, body = get(demo, path)
    assert status == 429
    assert headers["retry-after"] == "95"
    assert headers["x-ratelimit-remaining"] == "0"
    assert "rate limit" in json.loads(body)["message"]
    clock.set(345)
    assert get(demo, path)[0] == 200


def test_stack_exchange_sends_a_backoff_in_its_window(demo: DemoServer, clock: FakeClock) -> None:
    clock.set(560)
    assert "backoff" not in get_json(demo, EVERY_ROUTE[9])
    clock.set(600)
    assert get_json(demo, EVERY_ROUTE[9])["backoff"] == 120
    clock.set(720)
    assert "backoff" not in get_json(demo, EVERY_ROUTE[9])


def test_unknown_paths_are_404(demo: DemoServer) -> None:
    assert get(demo, "/nowhere")[0] == 404
    assert get(demo, "/reddit/r/Python/about.json")[0] == 404
    assert get(demo, "/blog/999999/nothing/feed/")[0] == 404


# --------------------------------------------------------------------------------------------------
# feeds.toml


def test_feeds_toml_points_every_source_at_the_demo(demo: DemoServer, tmp_path: Path) -> None:
    text = demo.feeds_toml(tmp_path / "demo.db")
    data = tomllib.loads(text)
    assert data["settings"]["database"] == str(tmp_path / "demo.db")
    assert data["settings"]["keywords"] == ["lumen", "textual", "rich", "tui"]
    assert data["settings"]["max_items"] >= 500
    feeds = data["feeds"]
    assert {feed.get("source", "feed") for feed in feeds} == {
        "feed",
        "hackernews",
        "reddit",
        "mastodon",
        "bluesky",
        "lemmy",
        "stackexchange",
        "discourse",
        "github",
    }
    for feed in feeds:
        address = feed.get("url") or feed["base_url"]
        assert address.startswith(demo.base_url), feed
        floor = source_types()[feed.get("source", "feed")].min_interval
        assert 15 <= parse_duration(feed["interval"]) <= max(45, floor), feed["name"]
        assert parse_duration(feed["interval"]) >= floor, feed["name"]
    for feed in feeds:  # every URL-feed answers
        if "url" in feed:
            status, _, body = get(demo, feed["url"][len(demo.base_url) :])
            assert status == 200, feed["name"]
            assert not feedparser.parse(body).bozo, feed["name"]
    quoted = demo.feeds_toml(tmp_path / 'we"ird\\ dir é' / "demo.db")
    assert tomllib.loads(quoted)["settings"]["database"] == str(tmp_path / 'we"ird\\ dir é' / "demo.db")


def test_parse_qs_sanity_of_links(demo: DemoServer) -> None:
    """The Link header's next page is a request the server itself understands."""
    _, headers, _ = get(demo, "/mastodon/api/v1/timelines/tag/lumen?limit=5")
    next_url = headers["link"].split(";")[0].strip("<>")
    parts = urlsplit(next_url)
    assert parse_qs(parts.query)["limit"] == ["5"]
    assert len(get_json(demo, f"{parts.path}?{parts.query}")) == 5


# --------------------------------------------------------------------------------------------------
# End to end: the real config loader, every real source, the real fetcher


# What each demo source's API reports, as Mention fields that must be filled (None means "not reported").
ENGAGEMENT = {
    "Lumen blog": ("replies",),
    "Lumen on YouTube": ("likes", "views"),
    "Hacker News": ("likes", "replies"),
    "Reddit": ("likes", "replies"),
    "Mastodon #lumen": ("likes", "replies", "shares"),
    "Bluesky": ("likes", "replies", "shares"),
    "Lemmy": ("likes", "replies"),
    "Stack Overflow": ("likes", "replies", "views"),
    "Lumen forum": ("likes", "replies", "views"),
    "GitHub issues": ("likes", "replies"),
}
STREAM_OF = {
    "Hacker News": "hackernews",
    "Reddit": "reddit",
    "Mastodon #lumen": "mastodon",
    "Bluesky": "bluesky",
    "Lemmy": "lemmy",
    "Stack Overflow": "stackexchange",
    "Lumen forum": "discourse",
    "GitHub issues": "github",
}


async def poll(
    source: Source,
    fetcher: Fetcher,
    now: datetime,
    cursor: Mapping[str, Any] | None = None,
    refresh: Sequence[str] = (),
) -> PollOutcome:
    context = PollContext(
        fetch=fetcher.fetch,
        parse=InlineParser(),
        now=now,
        cursor=dict(cursor or {}),
        refresh_keys=tuple(refresh),
        env={},
        first_poll=cursor is None,
    )
    return await source.poll(context)


async def test_every_source_reads_the_demo_through_the_real_pipeline(
    clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(90)  # the post that takes off and its first shares are out; the Hacker News burst is not
    with DemoServer(seed=7, clock=clock, start=START) as demo:
        config = parse_config(
            demo.feeds_toml(tmp_path / "demo.db"), tmp_path / "feeds.toml", registry=source_types()
        )
        sources = {entry.name: make_source(entry) for entry in config.sources}
        assert {entry.type for entry in config.sources} == set(source_types()) - {"base"}
        async with Fetcher(timeout=10) as fetcher:
            first = {name: await poll(source, fetcher, clock()) for name, source in sources.items()}
            for name, outcome in first.items():
                assert outcome.mentions, name
                for field in ENGAGEMENT.get(name, ()):
                    posts = [m for m in outcome.mentions if m.kind != MentionKind.COMMENT]
                    assert posts, name
                    assert all(getattr(m, field) is not None for m in posts), (name, field)
            for name, stream in STREAM_OF.items():  # the whole backlog arrives on the first poll
                assert len(first[name].mentions) == len(demo.world.mentions(stream, clock())), name
            kinds = Counter(m.kind for m in first["Lumen blog comments"].mentions)
            assert kinds[MentionKind.PINGBACK] >= 1
            assert kinds[MentionKind.COMMENT] >= 1
            titles = {m.title for m in first["Reddit"].mentions}
            assert any("[@click=app.quit]x[/]" in title for title in titles)
            assert any("Great post [/bold]" in title for title in titles)

            # Three minutes later: the Hacker News burst, Lemmy failing, engagement grown, feeds unchanged.
            clock.set(200)
            later: dict[str, PollOutcome] = {}
            for name, source in sources.items():
                keys = [m.key for m in first[name].mentions]
                if name == "Lemmy":
                    with pytest.raises(HTTPError) as failure:
                        await poll(source, fetcher, clock(), first[name].cursor, keys)
                    assert failure.value.http_status == 500
                    continue
                later[name] = await poll(source, fetcher, clock(), first[name].cursor, keys)
            assert later["Lumen releases"].not_modified
            old_keys = {m.key for m in first["Hacker News"].mentions}
            assert sum(1 for m in later["Hacker News"].mentions if m.key not in old_keys) >= 10
            before = {m.key: m.likes or 0 for m in first["Mastodon #lumen"].mentions}
            grown = [
                m
                for m in later["Mastodon #lumen"].mentions
                if m.key in before and (m.likes or 0) > before[m.key]
            ]
            assert grown  # refreshed by id, with higher counts
            new_mastodon = [m for m in later["Mastodon #lumen"].mentions if m.key not in before]
            assert new_mastodon  # min_id picked up what arrived since

            clock.set(250)
            with pytest.raises(RateLimited):
                await poll(sources["GitHub issues"], fetcher, clock(), later["GitHub issues"].cursor)
