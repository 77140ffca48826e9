"""The store side of echo (issue 12): links written with the poll, the back-fill, the linking rules.

Real stores in tmp_path, Mentions built here (the sources' link extraction has its own tests)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.links import LINKS_VERSION
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
from dashboard.store.db import Database, connect
from dashboard.store.links import LinkBackfill
from dashboard.store.schema import APPLICATION_ID, MIGRATIONS
from dashboard.store.writer import Store
from tests.backends import database_fixture  # noqa: F401  (the `database` fixture)
from tests.backends import rows as read_rows

T0 = datetime(2026, 11, 2, 12, tzinfo=UTC)
OK = SourceUpdate(SourceStatus.OK, T0 + timedelta(minutes=15), 0)
POST = "https://blog.example.org/2026/11/echo"
BLOG = SourceConfig(name="Blog", type="feed", interval=900, url="https://blog.example.org/feed", own=True)
MIRROR = SourceConfig(
    name="Blog mirror", type="feed", interval=900, url="https://blog.example.org/atom", own=True
)
COMMENTS = SourceConfig(
    name="Comments", type="feed", interval=900, url="https://blog.example.org/comments/feed", own=True
)
HN = SourceConfig(name="HN", type="hackernews", interval=900, options={"domain": "blog.example.org"})
TOOTS = SourceConfig(name="Toots", type="mastodon", interval=900, options={"tag": "x"})


def mention(
    key: str, url: str, *links: Link, kind: MentionKind = MentionKind.POST, summary: str = "", at: int = 0
) -> Mention:
    return Mention(
        key=key,
        kind=kind,
        url=url,
        title=key,
        author="a",
        published=T0 + timedelta(minutes=at),
        summary=summary,
        links=links,
    )


def save(store: Store, source: SourceConfig, *mentions: Mention, at: int = 0) -> PollRecord:
    record = PollRecord(source.name, T0 + timedelta(minutes=at), 0.1, SourceStatus.OK)
    return store.save_poll(source, record, OK, PollOutcome(mentions=mentions))


@pytest.fixture
def store(database: Database):
    with Store.open(database) as opened:  # on each backend (tests/backends.py)
        opened.sync_sources(
            [BLOG, MIRROR, COMMENTS, HN, TOOTS], {s.name: s.name for s in (BLOG, MIRROR, COMMENTS, HN, TOOTS)}
        )
        yield opened


def rows(path: Database, sql: str, *params: object) -> list[tuple]:
    return read_rows(path, sql, params)


def links_of(path: Database, key: str) -> set[tuple[str, str]]:
    return set(
        rows(
            path,
            "SELECT l.url, l.via FROM mention_links l JOIN mentions m ON m.id = l.mention_id WHERE m.key = ?",
            key,
        )
    )


# The readers' join, as the module docstring of store/links.py states the rules.
REACTIONS = """
    WITH own(id) AS (SELECT id FROM sources WHERE own = 1),
    posts(url) AS (SELECT DISTINCT canonical_url FROM mentions
                   WHERE source_id IN (SELECT id FROM own) AND kind = 'post' AND canonical_url IS NOT NULL)
    SELECT p.url, r.key FROM posts p JOIN mention_links l ON l.url = p.url JOIN mentions r ON r.id = l.mention_id
    WHERE NOT (r.source_id IN (SELECT id FROM own) AND r.canonical_url = p.url)
    UNION ALL
    SELECT p.url, r.key FROM posts p JOIN mentions r ON r.canonical_url = p.url
    WHERE r.source_id IN (SELECT id FROM own) AND r.kind IN ('comment', 'pingback')
    ORDER BY 1, 2"""


def test_sync_sources_stores_own(store: Store) -> None:
    assert dict(rows(store.path, "SELECT name, own FROM sources")) == {
        "Blog": 1,
        "Blog mirror": 1,
        "Comments": 1,
        "HN": 0,
        "Toots": 0,
    }
    store.sync_sources(
        [BLOG.__class__(name="Blog", type="feed", interval=900, url=BLOG.url)], {"Blog": "Blog"}
    )
    assert dict(rows(store.path, "SELECT name, own FROM sources"))["Blog"] == 0


def test_a_poll_stores_canonical_url_links_and_version_in_its_transaction(store: Store) -> None:
    save(
        store,
        HN,
        mention(
            "hn1",
            "https://news.ycombinator.com/item?id=1",
            Link("http://www.blog.example.org/2026/11/echo/?utm_source=hn", "url"),
            Link("https://blog.example.org/2026/11/echo#comments", "content"),
            Link("mailto:x@example.org", "content"),
        ),
    )
    assert rows(store.path, "SELECT canonical_url, links_version FROM mentions") == [
        ("https://news.ycombinator.com/item?id=1", LINKS_VERSION)
    ]
    assert links_of(store.path, "hn1") == {(POST, "url")}  # each URL once, its first via; mailto dropped


def test_a_changed_text_replaces_the_links_and_the_same_text_keeps_them(store: Store) -> None:
    first = mention("t1", "https://m.example/@a/1", Link(POST, "card"), summary="v1")
    save(store, TOOTS, first)
    save(store, TOOTS, first, at=5)
    assert links_of(store.path, "t1") == {(POST, "card")}
    save(
        store,
        TOOTS,
        mention(
            "t1", "https://m.example/@a/1", Link("https://blog.example.org/other", "content"), summary="v2"
        ),
        at=10,
    )
    assert links_of(store.path, "t1") == {("https://blog.example.org/other", "content")}


def test_the_linking_rules(store: Store) -> None:
    # Reactions stored before the post: they join it once it arrives (nothing re-run).
    save(
        store,
        TOOTS,
        mention("early", "https://m.example/@a/1", Link("http://www.blog.example.org/2026/11/echo/", "card")),
    )
    save(
        store,
        HN,
        mention(
            "both",
            "https://news.ycombinator.com/item?id=2",
            Link(POST + "?utm_medium=social", "url"),
            Link("https://blog.example.org/second", "content"),
        ),
    )
    assert rows(store.path, REACTIONS) == []
    save(store, BLOG, mention("p1", POST + "/"), mention("p2", "https://blog.example.org/second/"), at=1)
    # The same URL in a second own feed is the same post, not a second one, and not a reaction.
    save(store, MIRROR, mention("p1-mirror", "http://blog.example.org/2026/11/echo", Link(POST, "url")), at=2)
    # A comment of an own source belongs to its post by canonical_url; a pingback too.
    save(
        store,
        COMMENTS,
        mention("c1", POST + "#comment-12", kind=MentionKind.COMMENT),
        mention(
            "pb",
            POST + "/#comment-13",
            Link("https://elsewhere.example/post", "content"),
            kind=MentionKind.PINGBACK,
        ),
        at=3,
    )
    assert rows(store.path, REACTIONS) == [
        (POST, "both"),
        (POST, "c1"),
        (POST, "early"),
        (POST, "pb"),
        ("https://blog.example.org/second", "both"),  # one mention linking two posts reacts to both
    ]
    posts = rows(
        store.path,
        """SELECT DISTINCT canonical_url FROM mentions WHERE kind = 'post'
                                AND source_id IN (SELECT id FROM sources WHERE own = 1)""",
    )
    assert sorted(posts) == [(POST,), ("https://blog.example.org/second",)]


def old_store(path: Path, rows_: list[tuple[str, str, str, str]]) -> None:
    """A store of schema 6 (before opinion and echo) holding (key, url, title, summary) rows."""
    connection = sqlite3.connect(path, isolation_level=None)
    for version, script in enumerate(MIGRATIONS[:6], start=1):
        connection.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute("INSERT INTO sources (id, name, type) VALUES (1, 'Reddit', 'reddit')")
    epoch = int(T0.timestamp())
    connection.executemany(
        """INSERT INTO mentions (source_id, key, kind, url, title, summary, published_at, first_seen_at, updated_at)
           VALUES (1, ?, 'post', ?, ?, ?, ?, ?, ?)""",
        [(*row, epoch, epoch, epoch) for row in rows_],
    )
    connection.close()


def test_back_fill_of_a_store_from_schema_6(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = [
        (
            "r1",
            "https://www.reddit.com/r/x/comments/1/",
            "Our post",
            "http://www.blog.example.org/2026/11/echo/?utm_source=reddit",
        ),
        (
            "r2",
            "https://www.reddit.com/r/x/comments/2/",
            "See https://blog.example.org/second.",
            "and (https://blog.example.org/2026/11/echo)",
        ),
        ("r3", "https://www.reddit.com/r/x/comments/3/", "no link", "just words"),
        ("r4", "https://www.reddit.com/r/x/comments/4/", "itself", "https://www.reddit.com/r/x/comments/4"),
    ]
    old_store(path, old)
    connection = connect(path)  # migrates to the current schema: every row pending
    try:
        backfill = LinkBackfill(connection)
        assert backfill.pending() == 4
        plan = connection.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM mentions INDEXED BY mentions_links_pending WHERE links_version IS NULL"
        ).fetchall()
        assert "mentions_links_pending" in str(plan)
        assert backfill.run_batch(limit=3) == 3  # newest first
        assert backfill.pending() == 1
        assert backfill.run_batch() == 1
        assert backfill.run_batch() == 0
        assert backfill.pending() == 0
    finally:
        connection.close()
    assert links_of(path, "r1") == {(POST, "content")}
    assert links_of(path, "r2") == {("https://blog.example.org/second", "content"), (POST, "content")}
    assert links_of(path, "r3") == set()
    assert links_of(path, "r4") == set()
    assert rows(path, "SELECT key, canonical_url, links_version FROM mentions ORDER BY key")[0] == (
        "r1",
        "https://reddit.com/r/x/comments/1",
        LINKS_VERSION,
    )
    # Idempotent: a second pass over the done store changes nothing.
    before = rows(path, "SELECT * FROM mention_links ORDER BY 1, 2")
    connection = connect(path)
    try:
        again = LinkBackfill(connection)
        assert again.pending() == 0
        assert again.run_batch() == 0
    finally:
        connection.close()
    assert rows(path, "SELECT * FROM mention_links ORDER BY 1, 2") == before


def test_a_kill_between_batches_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_store(
        path,
        [(f"r{n}", f"https://www.reddit.com/r/x/comments/{n}/", "t", f"{POST}?n={n}") for n in range(10)],
    )
    connection = connect(path)
    LinkBackfill(connection).run_batch(limit=4)
    connection.close()  # the process ends here (a kill between batches: each batch committed whole)
    assert rows(path, "SELECT count(*) FROM mentions WHERE links_version IS NULL") == [(6,)]
    assert rows(path, "SELECT count(DISTINCT mention_id) FROM mention_links") == [(4,)]
    connection = connect(path)
    try:
        backfill = LinkBackfill(connection)
        assert backfill.pending() == 6
        assert backfill.run_batch() == 6
    finally:
        connection.close()
    assert rows(path, "SELECT count(DISTINCT mention_id) FROM mention_links") == [(10,)]


def test_rows_of_an_older_links_version_are_redone_from_their_stored_links(store: Store) -> None:
    save(store, TOOTS, mention("t1", "https://m.example/@a/1", Link(POST + "/", "card")))
    connection = connect(store.path)
    try:
        connection.execute("UPDATE mentions SET links_version = 0, canonical_url = NULL")
        connection.execute(
            "UPDATE mention_links SET url = url || '/?utm_source=old'"
        )  # as an older version kept it
        backfill = LinkBackfill(connection)
        assert backfill.pending() == 1
        assert backfill.run_batch() == 1
    finally:
        connection.close()
    assert links_of(store.path, "t1") == {(POST, "card")}  # re-canonicalised, its via kept
    assert rows(store.path, "SELECT canonical_url, links_version FROM mentions") == [
        ("https://m.example/@a/1", LINKS_VERSION)
    ]


def test_a_mention_seen_again_gains_links_and_loses_none_until_its_text_changes(store: Store) -> None:
    toot = "https://m.example/@a/2"
    save(store, TOOTS, mention("t2", toot, Link("https://elsewhere.example/x", "content"), summary="s"))
    # The card arrives a poll later; the next poll misses a field: nothing is dropped.
    save(
        store,
        TOOTS,
        mention("t2", toot, Link("https://elsewhere.example/x", "content"), Link(POST, "card"), summary="s"),
        at=5,
    )
    save(store, TOOTS, mention("t2", toot, summary="s"), at=10)
    assert links_of(store.path, "t2") == {("https://elsewhere.example/x", "content"), (POST, "card")}


def test_a_row_from_before_the_links_is_linked_by_the_poll_that_sees_it_again(store: Store) -> None:
    toot = "https://m.example/@a/3"
    save(store, TOOTS, mention("t3", toot, summary="s"))
    connection = connect(store.path)
    connection.execute("UPDATE mentions SET links_version = NULL, canonical_url = NULL")
    connection.close()
    save(store, TOOTS, mention("t3", toot, Link(POST, "card"), summary="s"), at=5)
    assert rows(store.path, "SELECT canonical_url, links_version FROM mentions") == [(toot, LINKS_VERSION)]
    assert links_of(store.path, "t3") == {(POST, "card")}
