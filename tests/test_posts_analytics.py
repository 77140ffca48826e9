"""The Posts panel (issue 12): own posts, their reactions across networks, comments, pingbacks, growing.

Stores are built through the real schema (tests/analytics_data.StoreBuilder) with the echo columns the
writer fills (sources.own, mentions.canonical_url, mention_links) written in SQL, canonicalised by the
real dashboard.links.canonical_url.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from dashboard.analytics.posts import POST_COLUMNS, REACTION_COLUMNS, posts_frame, reactions_of
from dashboard.analytics.windows import Window
from dashboard.links import canonical_url
from dashboard.store.db import Database
from tests.analytics_data import NOW, StoreBuilder, at
from tests.backends import database_fixture  # noqa: F401  (the `database` fixture)

POST = "https://blog.example.org/2024/03/echo"
OTHER = "https://blog.example.org/2024/03/other"
WINDOW = Window.last("24h", NOW)


class EchoBuilder(StoreBuilder):
    """StoreBuilder plus what migration 8's writer fills: own sources, canonical URLs, links."""

    def own(self, name: str) -> None:
        self.connection.execute("UPDATE sources SET own = 1 WHERE name = ?", (name,))

    def item(
        self, source: str, published: datetime, url: str, links: tuple[str, ...] = (), **fields: object
    ) -> int:
        ident = self.mention(source, published, url=url, **fields)  # type: ignore[arg-type]
        self.connection.execute(
            "UPDATE mentions SET canonical_url = ?, links_version = 1 WHERE id = ?",
            (canonical_url(url), ident),
        )
        for link in links:
            self.connection.execute(
                "INSERT INTO mention_links (mention_id, url, via) VALUES (?, ?, 'url') ON CONFLICT DO NOTHING",
                (ident, canonical_url(link)),
            )
        return ident


@pytest.fixture
def store(database: Database) -> EchoBuilder:
    builder = EchoBuilder(database)  # on each backend (tests/backends.py)
    builder.source("Blog", "feed")
    builder.source("Blog mirror", "feed")
    builder.source("Comments", "feed")
    builder.source("HN", "hackernews")
    builder.source("HN domain", "hackernews")
    builder.source("Reddit", "reddit")
    builder.source("Mastodon", "mastodon")
    for name in ("Blog", "Blog mirror", "Comments"):
        builder.own(name)
    return builder


def test_empty_store_gives_empty_frames_with_the_columns(store: EchoBuilder) -> None:
    posts = posts_frame(store.reader(), WINDOW)
    assert list(posts.columns) == list(POST_COLUMNS)
    assert posts.empty
    assert list(reactions_of(store.reader(), POST).columns) == list(REACTION_COLUMNS)


def test_url_variants_are_one_post_and_shares_count_once_per_mention(store: EchoBuilder) -> None:
    store.item("Blog", at(-10), POST + "/", title="Echo")
    store.item("Blog mirror", at(-9), "http://www." + POST[8:] + "?utm_source=rss", title="Echo (mirror)")
    store.item(
        "HN", at(-8), "https://news.ycombinator.com/item?id=1", (POST + "?utm_medium=x",), likes=10, replies=2
    )
    store.item("Reddit", at(-7), "https://reddit.com/r/x/1", ("http://www." + POST[8:] + "/",), likes=3)
    store.item("Reddit", at(-6), "https://reddit.com/r/x/2", (POST + "#comments",), likes=1)
    store.item("Mastodon", at(-5), "https://m.example/@a/1", (POST + "/amp",))
    posts = posts_frame(store.reader(), WINDOW)
    assert len(posts) == 1
    row = posts.iloc[0]
    assert row["post_url"] == POST
    assert row["source"] == "Blog"
    assert row["title"] == "Echo"
    assert row["reactions"] == 4
    assert row["reaction_engagement"] == 16
    assert row["networks"] == "reddit; hackernews; mastodon"
    assert row["reactions_by_network"] == "reddit 2; hackernews 1; mastodon 1"
    assert row["time_to_first_reaction"] == timedelta(hours=2)
    assert row["first_reaction_at"] == pd.Timestamp(at(-8))
    assert row["last_reaction_at"] == pd.Timestamp(at(-5))


def test_reactions_before_the_post_join_it_and_one_mention_reacts_to_two_posts(store: EchoBuilder) -> None:
    both = store.item("HN", at(-12), "https://news.ycombinator.com/item?id=7", (POST, OTHER), likes=5)
    assert posts_frame(store.reader(), WINDOW).empty  # no own post yet: nothing to react to
    store.item("Blog", at(-11), POST)
    store.item("Blog", at(-3), OTHER)
    store.item("Mastodon", at(-1), "https://m.example/@b/2", (OTHER,), likes=1)
    posts = posts_frame(store.reader(), WINDOW).set_index("post_url")
    assert posts.loc[POST, "reactions"] == 1
    assert posts.loc[OTHER, "reactions"] == 2
    assert posts.loc[POST, "time_to_first_reaction"] == timedelta(0)  # dated before the post: immediate
    assert list(posts.index) == [OTHER, POST]  # ranked by reactions
    assert reactions_of(store.reader(), OTHER)["id"].tolist()[-1] == both


def test_comments_and_pingbacks_of_the_blog_are_counted_apart(store: EchoBuilder) -> None:
    store.item("Blog", at(-20), POST, (POST,))  # a self link is not a reaction
    store.item("Comments", at(-19), POST + "#comment-12", (POST,), kind="comment", author="ann")
    store.item("Comments", at(-18), POST + "#comment-13", kind="comment", author="bob")
    store.item("Comments", at(-17), POST + "#comment-14", kind="pingback")
    store.item("Reddit", at(-16), "https://reddit.com/r/x/9", (POST,), likes=2)
    row = posts_frame(store.reader(), WINDOW).iloc[0]
    assert (row["reactions"], row["comments"], row["pingbacks"]) == (1, 2, 1)
    detail = reactions_of(store.reader(), "http://www.blog.example.org/2024/03/echo/")
    assert detail["matched_by"].tolist() == ["url", "pingback", "comment", "comment"]  # newest first
    assert detail["published_at"].is_monotonic_decreasing


def test_the_same_thread_seen_by_two_sources_is_one_reaction(store: EchoBuilder) -> None:
    store.item("Blog", at(-20), POST)
    store.item("HN", at(-4), "https://news.ycombinator.com/item?id=3", (POST,), likes=4)
    store.item("HN domain", at(-4), "https://news.ycombinator.com/item?id=3", (POST,), likes=6)
    row = posts_frame(store.reader(), WINDOW).iloc[0]
    assert row["reactions"] == 1
    assert row["reaction_engagement"] == 6


def test_an_old_post_reacted_to_today_shows_and_a_deleted_post_stays(store: EchoBuilder) -> None:
    store.item("Blog", at(0, days=-40), POST, title="Old but gold")
    store.item("Reddit", at(0, days=-39), "https://reddit.com/r/x/old", (POST,))
    store.item("Mastodon", at(-2), "https://m.example/@c/3", (POST,))
    store.item("Blog", at(0, days=-30), OTHER)  # never reacted to in the window: not listed
    posts = posts_frame(store.reader(), WINDOW)
    assert posts["post_url"].tolist() == [POST]
    row = posts.iloc[0]
    assert row["reactions"] == 1  # the window's
    assert row["time_to_first_reaction"] == timedelta(days=1)  # the post's own, all time
    # "Deleted from the feed": the feed no longer lists it, the store still has it.
    assert len(posts_frame(store.reader(), Window.last("24h", at(0, days=-39) + timedelta(hours=1)))) == 1


def test_unknown_engagement_is_not_zero(store: EchoBuilder) -> None:
    store.item("Blog", at(-5), POST)
    store.item("Blog", at(-4), OTHER)
    store.item("Mastodon", at(-3), "https://m.example/@d/4", (POST,))
    posts = posts_frame(store.reader(), WINDOW).set_index("post_url")
    assert posts.loc[POST, "reactions"] == 1
    assert posts["reaction_engagement"].isna()[POST]
    assert posts.loc[OTHER, "reactions"] == 0
    assert posts["first_reaction_at"].isna()[OTHER]
    assert posts["time_to_first_reaction"].isna()[OTHER]
    assert posts.loc[OTHER, "networks"] == ""


def test_growing_compares_the_latest_quarter_with_the_rest(store: EchoBuilder) -> None:
    store.item("Blog", at(-23), POST)
    store.item("Blog", at(-23), OTHER)
    fresh = "https://blog.example.org/2024/03/fresh"
    store.item("Blog", at(-2), fresh)
    for hour in (-22, -20, -18, -16, -14, -12):  # OTHER: steady early, then one recent share
        store.item("Reddit", at(hour), f"https://reddit.com/r/x/o{hour}", (OTHER,))
    store.item("Reddit", at(-1), "https://reddit.com/r/x/o-late", (OTHER,))
    for minute in (10, 20, 30):  # POST: quiet, then takes off in the last 6 h
        store.item(
            "Mastodon", at(-3, days=0) + timedelta(minutes=minute), f"https://m.example/@e/{minute}", (POST,)
        )
    store.item("Mastodon", at(-1.5), "https://m.example/@f/1", (fresh,))
    store.item("Mastodon", at(-1), "https://m.example/@f/2", (fresh,))
    growing = posts_frame(store.reader(), WINDOW).set_index("post_url")["growing"]
    assert growing[POST]
    assert growing[fresh]
    assert not growing[OTHER]
