"""The demo plays echo and opinion (issues 12 and 13): its own blog's posts are shared and discussed on its
Hacker News, Reddit, Mastodon, Bluesky and Lemmy, with the links in each API's documented fields and
written the many ways people write them; one post takes off; the demo server answers the searches for
links to a domain; Mastodon and Bluesky say which language each post is in.

The world is asked about its first twelve minutes only (plus its backlog), which keeps these fast.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from dashboard.analytics.posts import posts_frame
from dashboard.analytics.windows import Window
from dashboard.config import load_config, parse_config
from dashboard.contracts.source import InlineParser, PollContext, Source
from dashboard.demo import formats
from dashboard.demo import server as server_module
from dashboard.demo.server import DemoServer
from dashboard.demo.world import (
    BLOG_HOST,
    SHARE_STREAMS,
    TAKEOFF_AT,
    TAKEOFF_TITLE,
    TAKEOFF_WINDOW,
    URL_VARIANTS,
    DemoWorld,
    post_url,
)
from dashboard.fetch.http import Fetcher
from dashboard.models import PollOutcome
from dashboard.opinion.sentiment import score
from dashboard.polling.service import running_poller
from dashboard.sources import make_source, source_types
from dashboard.store.reader import StoreReader

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
LATER = START + timedelta(seconds=TAKEOFF_WINDOW[1])  # the burst is over
POST_PATH = re.compile(r"^/blog/(\d+)/[a-z0-9-]+/?(amp/)?$")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return DemoWorld(seed=7, start=START)


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    with DemoServer(seed=7, clock=Clock(LATER), start=START) as server:
        yield server


def get_json(demo: DemoServer, path: str) -> Any:
    with urllib.request.urlopen(demo.url(path), timeout=10) as response:
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    return json.loads(body)


def post_of(url: str) -> int | None:
    """The blog post a URL in any of its variants points at (None for any other page)."""
    parts = urlsplit(url)
    if (parts.hostname or "").removeprefix("www.") != BLOG_HOST:
        return None
    found = POST_PATH.match(parts.path)
    return int(found.group(1)) if found else None


# --------------------------------------------------------------------------------------------------
# The world


def test_one_post_takes_off_in_a_burst_and_leads_every_other_post(world: DemoWorld) -> None:
    post = world.takeoff_post()
    assert post.title == TAKEOFF_TITLE
    assert post.published == START + timedelta(seconds=TAKEOFF_AT)
    reactions = Counter(
        share.post for stream in SHARE_STREAMS for m in world.mentions(stream, LATER) for share in m.shares
    )
    (top, most), (_, second) = reactions.most_common(2)
    assert top == post.ident
    assert most >= 3 * second
    assert len(reactions) >= 5  # older posts have their echo too (the backlog)
    times = [
        m.published
        for stream in SHARE_STREAMS
        for m in world.mentions(stream, LATER)
        if any(share.post == post.ident for share in m.shares)
    ]
    burst = START + timedelta(seconds=TAKEOFF_WINDOW[0])
    assert sum(1 for t in times if t >= burst) >= 0.8 * len(times)  # a burst, not a trickle
    networks = {
        stream
        for stream in SHARE_STREAMS
        for m in world.mentions(stream, LATER)
        if any(share.post == post.ident for share in m.shares)
    }
    assert networks == set(SHARE_STREAMS)


def test_shares_follow_their_post_and_use_every_url_variant(world: DemoWorld) -> None:
    posts = {post.ident: post for post in world.mentions("blog", LATER)}
    shares = [(m, share) for s in SHARE_STREAMS for m in world.mentions(s, LATER) for share in m.shares]
    assert len(shares) >= 100
    for mention, share in shares:
        post = posts[share.post]
        assert mention.published >= post.published
        assert post_of(share.url) == post.ident, share.url
        assert share.title == post.title
    urls = [share.url for _, share in shares]
    assert any(url.startswith("http://") for url in urls)
    assert any("://www." in url for url in urls)
    assert any("?utm_source=" in url for url in urls)
    assert any(url.endswith("#comments") for url in urls)
    assert any(url.endswith("/amp/") for url in urls)
    assert any(not url.endswith("/") and "?" not in url and "#" not in url for url in urls)
    assert sum(1 for url in urls if url == post_url(*_ident_title(posts, url))) > len(urls) / 4
    assert len(URL_VARIANTS) == 8


def _ident_title(posts: dict[int, Any], url: str) -> tuple[int, str]:
    ident = post_of(url)
    assert ident is not None
    return ident, posts[ident].title


def test_mastodon_and_bluesky_speak_french_english_and_a_little_spanish_and_german(world: DemoWorld) -> None:
    for stream in ("mastodon", "bluesky"):
        mentions = world.mentions(stream, LATER)
        langs = Counter(m.lang for m in mentions)
        assert langs["en"] > langs["fr"] >= 0.1 * len(mentions), (stream, langs)
        assert langs["es"] + langs["de"] >= 1, (stream, langs)
        assert set(langs) <= {"en", "fr", "es", "de"}
    french = " ".join(
        m.body for s in ("mastodon", "bluesky") for m in world.mentions(s, LATER) if m.lang == "fr"
    )
    assert "pas terrible" in french or "pas génial" in french  # negations, for the French lexicon's rules
    assert re.search(r"[éèàç]", french)
    english = [m.body for m in world.mentions("mastodon", LATER) if m.lang == "en"]
    assert any("disappointed" in body or "frustrating" in body for body in english)  # not all praise
    assert any("love it" in body or "nicest" in body for body in english)


def test_the_demo_gives_the_sentiment_panel_all_three_tones_and_other_languages_none(
    world: DemoWorld,
) -> None:
    labels: dict[str, Counter[str | None]] = {}
    for stream in ("mastodon", "bluesky"):
        for mention in world.mentions(stream, LATER):
            found = score(mention.body, mention.lang)
            labels.setdefault(mention.lang, Counter())[found.label if found else None] += 1
    for lang in ("en", "fr"):
        total = sum(labels[lang].values())
        assert all(labels[lang][label] >= 0.05 * total for label in ("positive", "neutral", "negative")), (
            labels
        )
    assert set(labels["es"]) == set(labels["de"]) == {None}  # never scored, never "neutral"


# --------------------------------------------------------------------------------------------------
# The formats: each API's own link fields


def test_hacker_news_and_reddit_put_the_link_in_url(demo: DemoServer) -> None:
    hits = get_json(demo, "/hn/api/v1/search_by_date?query=lumen&tags=story&hitsPerPage=1000")["hits"]
    linked = [hit for hit in hits if hit["url"] and post_of(hit["url"]) is not None]
    assert len(linked) >= 5
    takeoff = [hit for hit in linked if hit["title"].startswith("Show HN: Lumen 1.0")]
    assert takeoff
    assert takeoff[0]["points"] > max(hit["points"] for hit in linked if hit not in takeoff) / 2
    comments = get_json(demo, "/hn/api/v1/search_by_date?query=lumen&tags=comment&hitsPerPage=1000")["hits"]
    assert any(post_of(hit["story_url"] or "") is not None for hit in comments)

    posts = [
        c["data"]
        for c in get_json(demo, "/reddit/search.json?q=lumen&sort=new&limit=100&raw_json=1")["data"][
            "children"
        ]
    ]
    links = [p for p in posts if not p["is_self"] and post_of(p["url"]) is not None]
    assert links
    assert all(p["domain"] == BLOG_HOST for p in links)
    in_text = [
        p
        for p in posts
        if p["is_self"] and re.search(r"https?://(www\.)?" + re.escape(BLOG_HOST), p["selftext"])
    ]
    assert in_text  # a URL in the selftext, where only the text says it
    legacy = get_json(demo, f"/reddit/domain/{BLOG_HOST}/new.json?limit=100")["data"]["children"]
    assert any("&amp;utm_medium=" in child["data"]["url"] for child in legacy)  # without raw_json=1


def test_mastodon_has_anchors_and_a_card_and_a_language(demo: DemoServer) -> None:
    statuses = get_json(demo, "/mastodon/api/v1/timelines/tag/lumen?limit=40")
    assert {status["language"] for status in statuses} <= {"en", "fr", "es", "de"}
    carded = [status for status in statuses if status["card"]]
    assert len(carded) >= 5
    for status in carded:
        assert post_of(status["card"]["url"]) is not None
        assert status["card"]["type"] == "link"
        hrefs = re.findall(r'<a href="([^"]+)"', status["content"])
        assert status["card"]["url"] in [href.replace("&amp;", "&") for href in hrefs]


def test_bluesky_link_facets_index_utf8_bytes_and_embeds_carry_the_uri(demo: DemoServer) -> None:
    posts = get_json(demo, "/bluesky/xrpc/app.bsky.feed.searchPosts?q=lumen&sort=latest&limit=100")["posts"]
    assert all(post["record"]["langs"][0] in {"en", "fr", "es", "de"} for post in posts)
    embedded = [post for post in posts if "embed" in post["record"]]
    assert len(embedded) >= 10
    faceted = 0
    for post in embedded:
        record = post["record"]
        assert record["embed"]["$type"] == "app.bsky.embed.external"
        uri = record["embed"]["external"]["uri"]
        assert post_of(uri) is not None
        assert post["embed"]["$type"] == "app.bsky.embed.external#view"
        assert post["embed"]["external"]["uri"] == uri
        raw = record["text"].encode("utf-8")
        for facet in record.get("facets", []):
            feature = facet["features"][0]
            shown = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
            if feature["$type"] == "app.bsky.richtext.facet#link":
                faceted += 1
                assert feature["uri"] == uri
                assert shown == formats.bluesky_short_url(uri)
                assert shown.rstrip(".").removeprefix("www.").startswith(BLOG_HOST)
            else:
                assert feature["$type"] == "app.bsky.richtext.facet#tag"
                assert shown == "#" + feature["tag"]
    assert faceted >= 5
    assert any(not post["record"].get("facets") for post in embedded)  # some links only in the card
    assert any(
        not record["text"].isascii()
        for record in (p["record"] for p in embedded if p["record"].get("facets"))
    )


def test_bluesky_facets_of_text_with_accents_and_emoji() -> None:
    text, facets = formats.bluesky_richtext(
        "Zoë 🙏 lit https://lumen-tui.example/blog/12/un-billet/?utm_source=x #lumen"
    )
    raw = text.encode("utf-8")
    link, tag = facets
    assert (
        raw[link["index"]["byteStart"] : link["index"]["byteEnd"]].decode()
        == "lumen-tui.example/blog/12/un-b..."
    )
    assert link["features"][0]["uri"] == "https://lumen-tui.example/blog/12/un-billet/?utm_source=x"
    assert raw[tag["index"]["byteStart"] : tag["index"]["byteEnd"]].decode() == "#lumen"
    _, only_link = formats.bluesky_richtext("see https://lumen-tui.example/a/#comments")
    assert [f["features"][0]["$type"] for f in only_link] == ["app.bsky.richtext.facet#link"]


def test_lemmy_link_posts_carry_url(demo: DemoServer) -> None:
    posts = get_json(demo, "/lemmy/api/v3/search?q=lumen&type_=Posts&sort=New&limit=50")["posts"]
    linked = [view["post"] for view in posts if view["post"]["url"]]
    assert linked
    assert all(post_of(post["url"]) is not None for post in linked)
    assert all(post["embed_title"] for post in linked)


# --------------------------------------------------------------------------------------------------
# Searches for links to a domain


def test_hacker_news_url_search_returns_only_stories_linking_the_domain(demo: DemoServer) -> None:
    everything = get_json(demo, "/hn/api/v1/search_by_date?query=lumen&tags=story&hitsPerPage=1000")["hits"]
    found = get_json(
        demo,
        f"/hn/api/v1/search_by_date?query={BLOG_HOST}&restrictSearchableAttributes=url&tags=story&hitsPerPage=1000",
    )["hits"]
    expected = [hit["objectID"] for hit in everything if BLOG_HOST in (hit["url"] or "")]
    assert [hit["objectID"] for hit in found] == expected
    assert len(found) < len(everything)
    assert any(post_of(hit["url"]) is None for hit in found)  # the docs pages match the domain too


def test_reddit_domain_listing_is_link_posts_to_that_site_newest_first(demo: DemoServer) -> None:
    listing = get_json(demo, f"/reddit/domain/{BLOG_HOST}/new.json?limit=100&raw_json=1")["data"]
    posts = [child["data"] for child in listing["children"]]
    assert len(posts) >= 5
    assert all(not post["is_self"] and post["domain"] == BLOG_HOST for post in posts)
    assert [p["created_utc"] for p in posts] == sorted((p["created_utc"] for p in posts), reverse=True)
    www = get_json(demo, f"/reddit/domain/www.{BLOG_HOST}/new.json?limit=100")["data"]["children"]
    assert [c["data"]["id"] for c in www] == [p["id"] for p in posts]  # Reddit drops www.
    assert get_json(demo, "/reddit/domain/nowhere.example/new.json")["data"]["children"] == []


def test_bluesky_domain_and_url_search(demo: DemoServer) -> None:
    found = get_json(
        demo, f"/bluesky/xrpc/app.bsky.feed.searchPosts?q=*&domain={BLOG_HOST}&sort=latest&limit=100"
    )
    posts = found["posts"]
    assert len(posts) >= 10
    assert all(BLOG_HOST in post["record"]["embed"]["external"]["uri"] for post in posts)
    everything = get_json(demo, "/bluesky/xrpc/app.bsky.feed.searchPosts?q=lumen&sort=latest&limit=100")
    assert found["hitsTotal"] < everything["hitsTotal"]
    uri = posts[0]["record"]["embed"]["external"]["uri"]
    one = get_json(
        demo, "/bluesky/xrpc/app.bsky.feed.searchPosts?q=*&url=" + quote(uri, safe="") + "&limit=100"
    )
    assert posts[0]["uri"] in [post["uri"] for post in one["posts"]]
    none = get_json(demo, "/bluesky/xrpc/app.bsky.feed.searchPosts?q=*&domain=nowhere.example")
    assert none["posts"] == []


def test_lemmy_url_search(demo: DemoServer) -> None:
    found = get_json(demo, f"/lemmy/api/v3/search?q={BLOG_HOST}&type_=Url&sort=New&limit=50")
    assert found["type_"] == "Url"
    assert found["posts"]
    assert all(BLOG_HOST in view["post"]["url"] for view in found["posts"])
    assert get_json(demo, "/lemmy/api/v3/search?q=nowhere.example&type_=Url")["posts"] == []


# --------------------------------------------------------------------------------------------------
# Through the real sources, the real poller and a real store


def _config_keys_ready() -> bool:
    return server_module.OWN_CONFIG_KEY


async def test_the_real_sources_read_the_links_and_languages_the_demo_serves(tmp_path: Path) -> None:
    clock = Clock(LATER)
    with DemoServer(seed=7, clock=clock, start=START) as demo:
        config = parse_config(
            demo.feeds_toml(tmp_path / "demo.db"), tmp_path / "feeds.toml", registry=source_types()
        )
        sources = {entry.name: make_source(entry) for entry in config.sources if entry.name in SOCIAL}
        async with Fetcher(timeout=10) as fetcher:
            outcomes = {name: await _poll(source, fetcher, clock()) for name, source in sources.items()}
    takeoff = demo.world.takeoff_post().ident
    for name, outcome in outcomes.items():
        linked = [m for m in outcome.mentions if any(post_of(link.url) is not None for link in m.links)]
        assert linked, name
        assert any(post_of(link.url) == takeoff for m in linked for link in m.links), name
    vias = {link.via for outcome in outcomes.values() for m in outcome.mentions for link in m.links}
    assert {"url", "card", "embed", "facet"} <= vias
    for name in ("Mastodon #lumen", "Bluesky"):
        languages = Counter(m.language for m in outcomes[name].mentions)
        assert "" not in languages, name
        assert {"en", "fr"} <= set(languages), (name, languages)


SOCIAL = ("Hacker News", "Reddit", "Mastodon #lumen", "Bluesky", "Lemmy")


def only_feeds(toml: str, names: set[str]) -> str:
    """The demo's feeds.toml with only the [[feeds]] named (and no alert rules): a faster poll."""
    settings, *entries = toml.split("\n[[feeds]]\n")
    entries[-1] = entries[-1].split("\n# Alerts:")[0]
    kept = [entry for entry in entries if any(f"name = {json.dumps(name)}" in entry for name in names)]
    return "\n[[feeds]]\n".join([settings, *kept]) + "\n"


async def _poll(source: Source, fetcher: Fetcher, now: datetime) -> PollOutcome:
    context = PollContext(
        fetch=fetcher.fetch,
        parse=InlineParser(),
        now=now,
        cursor={},
        refresh_keys=(),
        env={},
        first_poll=True,
    )
    return await source.poll(context)


async def test_after_a_demo_poll_the_store_keeps_the_language_each_post_declares(tmp_path: Path) -> None:
    clock = Clock(LATER)
    database = tmp_path / "demo.db"
    with DemoServer(seed=7, clock=clock, start=START) as demo:
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(
            only_feeds(demo.feeds_toml(database), {"Mastodon #lumen", "Bluesky"}), encoding="utf-8"
        )
        async with running_poller(
            load_config(feeds, registry=source_types()), database, clock=clock
        ) as poller:
            await poller.poll_once()
        served = Counter(
            m.lang for stream in ("mastodon", "bluesky") for m in demo.world.mentions(stream, LATER)
        )
    with sqlite3.connect(database) as db:
        stored = Counter(lang for (lang,) in db.execute("SELECT declared_language FROM mentions").fetchall())
    assert stored == served


async def test_after_a_demo_poll_the_store_ties_every_variant_to_its_own_post(tmp_path: Path) -> None:
    clock = Clock(LATER)
    database = tmp_path / "demo.db"
    with DemoServer(seed=7, clock=clock, start=START) as demo:
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(
            only_feeds(demo.feeds_toml(database), {"Lumen blog", "Lumen blog comments", *SOCIAL}),
            encoding="utf-8",
        )
        config = load_config(feeds, registry=source_types())
        async with running_poller(config, database, clock=clock) as poller:
            await poller.poll_once()
        world = demo.world
        posts = world.mentions("blog", LATER)[-10:]  # what the blog's feed carries
        sharing: dict[int, set[tuple[str, int]]] = {post.ident: set() for post in posts}
        shared_posts: set[int] = set()
        for stream in SHARE_STREAMS:
            for mention in world.mentions(stream, LATER):
                for share in mention.shares:
                    shared_posts.add(share.post)
                    if share.post in sharing:
                        sharing[share.post].add((stream, mention.ident))
        under: dict[int, int] = Counter(  # HN comments under a story sharing the post (its story_url)
            post_of(m.story_url) or 0 for m in world.mentions("hackernews", LATER) if m.story_url
        )
    with sqlite3.connect(database) as db:
        own = dict(
            db.execute(
                "SELECT m.url, m.canonical_url FROM mentions m JOIN sources s ON s.id = m.source_id"
                " WHERE s.name = 'Lumen blog'"
            ).fetchall()
        )
        reactions = dict(
            db.execute(
                "SELECT l.url, COUNT(DISTINCT l.mention_id) FROM mention_links l"
                " JOIN mentions m ON m.id = l.mention_id JOIN sources s ON s.id = m.source_id"
                f" WHERE s.name IN ({', '.join('?' * len(SOCIAL))})"
                " GROUP BY l.url",
                SOCIAL,
            ).fetchall()
        )
        own_flags = dict(db.execute("SELECT name, own FROM sources").fetchall())
    assert len(own) == 10
    if _config_keys_ready():
        assert own_flags["Lumen blog"] == own_flags["Lumen blog comments"] == 1
        assert sum(own_flags.values()) == 2
    by_post = {post.ident: own[post_url(post.ident, post.title)] for post in posts}
    assert all(by_post.values())
    takeoff = world.takeoff_post().ident
    # Every share of a post, in whatever variant and on whichever network, is one reaction to it.
    for ident, canonical in by_post.items():
        expected = len(sharing[ident])
        assert reactions.get(canonical, 0) in (expected, expected + under[ident]), (ident, canonical)
    assert max(by_post, key=lambda ident: reactions.get(by_post[ident], 0)) == takeoff
    # Eight ways of writing a link, one URL each post: as many blog-post URLs as posts shared.
    post_links = {url for url in reactions if BLOG_HOST in url and "/blog/" in url}
    assert len(post_links) == len(shared_posts)
    # The Posts panel, from the same store: the post that takes off on top, on every network.
    with StoreReader.open(database) as reader:
        panel = posts_frame(reader, Window.last("24h", LATER))
    top = panel.iloc[0]
    assert top["post_url"] == by_post[takeoff]
    assert top["reactions"] == reactions[by_post[takeoff]]
    comments = [m for m in world.mentions("comments", LATER)[-30:] if m.parent == takeoff]
    assert top["comments"] + top["pingbacks"] == len(comments) > 0  # post#comment-N, on its post
    assert set(str(top["networks"]).split("; ")) >= {"hackernews", "reddit", "mastodon", "bluesky", "lemmy"}
