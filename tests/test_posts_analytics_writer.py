"""The Posts panel end to end through the real writer (issue 12): mentions saved by Store.save_poll with
their links, an `own = true` blog and its comment feed, read back by analytics.posts.

Waits for the writer to fill sources.own, mentions.canonical_url and mention_links (helper H2's part);
until then it is an expected failure, like tests/test_demo_echo.py's store test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.analytics.posts import posts_frame, reactions_of
from dashboard.analytics.windows import Window
from dashboard.models import (
    Link,
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.reader import StoreReader
from dashboard.store.writer import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POST = "https://blog.example.org/2026/06/echo/"
BLOG = SourceConfig(name="Blog", type="feed", interval=900, url="https://blog.example.org/feed", own=True)
COMMENTS = SourceConfig(
    name="Comments", type="feed", interval=900, url="https://blog.example.org/comments/feed", own=True
)
MASTODON = SourceConfig(name="Mastodon", type="mastodon", interval=300, options={"query": "echo"})
REDDIT = SourceConfig(name="Reddit", type="reddit", interval=300, options={"query": "echo"})


def save(store: Store, source: SourceConfig, at: datetime, *mentions: Mention) -> None:
    record = PollRecord(source=source.name, started_at=at, duration=0.2, status=SourceStatus.OK)
    update = SourceUpdate(SourceStatus.OK, at + timedelta(minutes=15), 0)
    store.save_poll(source, record, update, PollOutcome(mentions=mentions))


def share(key: str, at: datetime, link: str, likes: int | None = None) -> Mention:
    return Mention(
        key=key,
        kind=MentionKind.POST,
        url=f"https://social.example/{key}",
        title=f"look {key}",
        author=key,
        published=at,
        likes=likes,
        links=(Link(link, "card"),),
    )


def test_the_writer_links_variants_early_reactions_and_comments_to_one_post(tmp_path: Path) -> None:
    sources = [BLOG, COMMENTS, MASTODON, REDDIT]
    with Store.open(tmp_path / "store.db") as store:
        store.sync_sources(sources, {source.name: "h" for source in sources})
        # Shared before the blog's feed is polled: joins the post once it arrives.
        save(store, MASTODON, NOW - timedelta(hours=6), share("early", NOW - timedelta(hours=7), POST, 2))
        post = Mention("p1", MentionKind.POST, POST, "Echo", "me", NOW - timedelta(hours=8))
        save(store, BLOG, NOW - timedelta(hours=5), post)
        variants = (
            "http://www.blog.example.org/2026/06/echo",
            POST + "?utm_source=mastodon",
            POST + "#comments",
        )
        save(
            store,
            MASTODON,
            NOW - timedelta(hours=2),
            *(share(f"m{i}", NOW - timedelta(hours=3), url, 1) for i, url in enumerate(variants)),
        )
        save(store, REDDIT, NOW - timedelta(hours=1), share("r1", NOW - timedelta(hours=2), POST + "amp/", 5))
        comment = Mention(
            "c1", MentionKind.COMMENT, POST + "#comment-12", "Re: Echo", "ann", NOW - timedelta(hours=4)
        )
        save(store, COMMENTS, NOW - timedelta(hours=1), comment)
    with StoreReader.open(tmp_path / "store.db") as reader:
        posts = posts_frame(reader, Window.last("24h", NOW))
        assert len(posts) == 1
        row = posts.iloc[0]
        assert row["post_url"] == "https://blog.example.org/2026/06/echo"
        assert row["reactions"] == 5
        assert row["reaction_engagement"] == 10
        assert row["comments"] == 1
        assert row["reactions_by_network"] == "mastodon 4; reddit 1"
        detail = reactions_of(reader, POST)
        assert sorted(detail["matched_by"]) == ["card"] * 5 + ["comment"]
