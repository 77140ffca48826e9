"""Keyword matches kept by the store (schema migration 10, dashboard.store.keywords), on both backends:
the writer matches what it stores, the back-fill matches what was stored before a keyword was tracked,
and share of voice counts the stored matches only once they are complete, always equal to the scan.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.analytics import keywords as share
from dashboard.cli import main
from dashboard.keywords import keyword_pattern, mention_text
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.db import Database, connect
from dashboard.store.keywords import KeywordBackfill
from dashboard.store.reader import StoreReader
from dashboard.store.writer import Store
from tests.backends import database_fixture, new_store, rows  # noqa: F401  (the `database` fixture)
from tests.feeds_factory import T0 as FEEDS_T0
from tests.feeds_factory import serve_feeds, write_config
from tests.localserver import LocalServer

T0 = datetime(2026, 5, 1, tzinfo=UTC)
FORUM = SourceConfig(name="Forum", type="feed", interval=900, url="http://127.0.0.1/forum.xml")
NEWS = SourceConfig(name="News", type="feed", interval=900, url="http://127.0.0.1/news.xml")
# Texts as busy feeds write them: the keyword in any case, in punctuation, inside other words, in the
# summary only, twice, beside non-ASCII letters.
TITLES = (
    "Rust 1.80 released",
    "Why I trust my compiler",
    "C++ and Rust, side by side",
    "rustacean meetup",
    "A (c++) question",
    "Émile aime Rust!",
    "ærust is not a word",
    "über-rust",
    "Nothing to see",
    "",
)
SUMMARIES = ("", "Written in rust.", "see c++17 and .NET", "trusty old c", "RUST RUST", "Émile: hi")
KEYWORDS = ("Rust", "c++", "émile", ".net")


def _mention(key: str, title: str, summary: str, published: datetime) -> Mention:
    return Mention(
        key=key,
        kind=MentionKind.POST,
        url=f"http://x/{key}",
        title=title,
        author="ann",
        summary=summary,
        published=published,
    )


def _save(store: Store, source: SourceConfig, at: datetime, mentions: list[Mention]) -> None:
    record = PollRecord(source=source.name, started_at=at, duration=0.1, status=SourceStatus.OK)
    update = SourceUpdate(SourceStatus.OK, at + timedelta(minutes=15), 0)
    store.save_poll(source, record, update, PollOutcome(mentions=tuple(mentions), cursor={}))


def _fill(store: Store, rng: random.Random, count: int, first_key: int = 0) -> None:
    for source in (FORUM, NEWS):
        batch = [
            _mention(
                f"{source.name}-{first_key + n}",
                rng.choice(TITLES),
                rng.choice(SUMMARIES),
                T0 + timedelta(minutes=rng.randint(0, 3 * 24 * 60)),
            )
            for n in range(count)
        ]
        _save(store, source, T0 + timedelta(days=3), batch)


def _open(database: Database, keywords: tuple[str, ...] = ()) -> Store:
    store = Store.open(database)
    store.sync_sources([FORUM, NEWS], {FORUM.name: "a", NEWS.name: "b"})
    if keywords:
        store.sync_keywords(list(keywords))
    return store


def stored_matches(database: Database) -> set[tuple[str, int]]:
    return {
        (str(keyword), int(mention_id))
        for keyword, mention_id in rows(
            database,
            """SELECT k.keyword, m.mention_id FROM keyword_mentions m
               JOIN tracked_keywords k ON k.id = m.keyword_id""",
        )
    }


def oracle_matches(database: Database, keywords: tuple[str, ...]) -> set[tuple[str, int]]:
    """What the reference regex finds in every stored text."""
    texts = rows(database, "SELECT id, title, summary FROM mentions")
    return {
        (keyword.lower(), int(mention_id))
        for keyword in keywords
        for mention_id, title, summary in texts
        if keyword_pattern(keyword).search(mention_text(title, summary))
    }


def assert_same_share(
    database: Database, since: datetime, until: datetime, keywords: tuple[str, ...]
) -> None:
    with StoreReader.open(database) as fast, StoreReader.open(database, rollups=False) as scan:
        pd.testing.assert_frame_equal(
            share.window_share_of_voice(fast, since, until, keywords),
            share.window_share_of_voice(scan, since, until, keywords),
        )


def back_fill(database: Database, limit: int) -> list[int]:
    """Run the pass to the end; the pending counts seen before each batch."""
    connection = connect(database)
    try:
        backfill = KeywordBackfill(connection)
        seen = []
        while pending := backfill.pending():
            seen.append(pending)
            assert backfill.run_batch(limit) > 0
            assert len(seen) < 1000
        assert backfill.run_batch(limit) == 0
        return seen
    finally:
        connection.close()


def test_the_writer_stores_the_matches_of_each_mention_it_inserts(database: Database) -> None:
    store = _open(database, KEYWORDS)
    _fill(store, random.Random(1), 60)
    store.close()
    found = stored_matches(database)
    assert found == oracle_matches(database, KEYWORDS)
    assert {keyword for keyword, _ in found} == {"rust", "c++", "émile", ".net"}
    with StoreReader.open(database) as reader:
        assert set(share.matched_keywords(reader)) == {
            "rust",
            "c++",
            "émile",
            ".net",
        }  # empty store: complete
    assert_same_share(database, T0, T0 + timedelta(days=1), KEYWORDS)


def test_a_text_changed_by_a_later_poll_is_matched_again(database: Database) -> None:
    store = _open(database, ("rust",))
    _save(store, FORUM, T0, [_mention("a", "Rust news", "", T0), _mention("b", "nothing", "", T0)])
    _save(
        store,
        FORUM,
        T0 + timedelta(hours=1),
        [_mention("a", "Go news", "", T0), _mention("b", "rust!", "", T0)],
    )
    store.close()
    ids = dict(rows(database, "SELECT key, id FROM mentions"))
    assert stored_matches(database) == {("rust", ids["b"])}


def test_a_keyword_added_later_is_back_filled_and_counted_once_complete(database: Database) -> None:
    store = _open(database, ("Rust",))
    _fill(store, random.Random(2), 45)
    store.sync_keywords(["Rust", "c++", "émile"])  # two new ones: 90 mentions to back-fill each
    _fill(store, random.Random(3), 5, first_key=1000)  # after the sync: the writer matches these
    store.close()
    keywords = ("Rust", "c++", "émile")
    with StoreReader.open(database) as reader:
        assert set(share.matched_keywords(reader)) == {"rust"}  # the others are searched meanwhile
    week = (T0 - timedelta(days=1), T0 + timedelta(days=6))
    assert_same_share(database, *week, keywords)
    pending = back_fill(database, limit=17)
    assert pending[0] == 2 * 90
    assert pending == sorted(pending, reverse=True)
    assert stored_matches(database) == oracle_matches(database, keywords)
    with StoreReader.open(database) as reader:
        assert set(share.matched_keywords(reader)) == {"rust", "c++", "émile"}
        counted = share.window_share_of_voice(reader, *week, keywords)
    assert counted["mentions"].sum() > 0
    assert_same_share(database, *week, keywords)
    assert_same_share(database, T0 + timedelta(hours=5), T0 + timedelta(hours=30), keywords)


def test_a_keyword_dropped_from_the_config_takes_its_matches(database: Database) -> None:
    store = _open(database, ("Rust", "c++"))
    _fill(store, random.Random(4), 30)
    store.sync_keywords(["c++"])
    store.close()
    assert {keyword for keyword, _ in stored_matches(database)} == {"c++"}
    assert stored_matches(database) == oracle_matches(database, ("c++",))


texts = st.lists(
    st.sampled_from(["rust", "Rust,", "trust", "go", "GO!", "gopher", "c++", "(rust)", "é"]), max_size=5
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    titles=st.lists(texts.map(" ".join), min_size=1, max_size=30),
    added_after=st.integers(0, 30),
    start=st.integers(-3600, 30 * 3600),
    length=st.integers(0, 30 * 3600),
)
def test_stored_counts_equal_the_scan_whenever_a_keyword_was_added(
    tmp_path_factory: pytest.TempPathFactory, titles: list[str], added_after: int, start: int, length: int
) -> None:
    database = new_store("sqlite", tmp_path_factory.mktemp("kw"))
    store = _open(database, ("rust",))
    mentions = [_mention(f"m{n}", title, "", T0 + timedelta(hours=n)) for n, title in enumerate(titles)]
    _save(store, FORUM, T0, mentions[:added_after])
    store.sync_keywords(["rust", "go", "c++"])
    _save(store, FORUM, T0 + timedelta(days=2), mentions[added_after:])
    store.close()
    back_fill(database, limit=4)
    since = T0 + timedelta(seconds=start)
    assert_same_share(database, since, since + timedelta(seconds=length), ("rust", "go", "c++"))
    assert stored_matches(database) == oracle_matches(database, ("rust", "go", "c++"))


def test_poll_tracks_the_config_s_keywords_and_back_fills_a_new_one(
    tmp_path: Path, server: LocalServer
) -> None:
    """End to end: `poll --once` over served feeds stores the matches of feeds.toml's keyword (the
    factory's feeds say "About <b>textual</b>"); a keyword added later is back-filled by the next run."""
    paths = serve_feeds(server, 3, 40)
    config = write_config(tmp_path, server, paths)
    assert main(["poll", "--once", "--config", str(config)]) == 0
    database = tmp_path / "mentions.db"
    assert rows(database, "SELECT keyword, unmatched_below FROM tracked_keywords") == [("textual", 0)]
    assert stored_matches(database) == oracle_matches(database, ("textual",))
    assert len(stored_matches(database)) == 120
    config.write_text(
        config.read_text().replace('keywords = ["textual"]', 'keywords = ["textual", "post 3"]')
    )
    assert main(["poll", "--once", "--config", str(config)]) == 0  # all 304: nothing new stored
    assert rows(database, "SELECT keyword, unmatched_below FROM tracked_keywords ORDER BY keyword") == [
        ("post 3", 0),
        ("textual", 0),
    ]
    assert stored_matches(database) == oracle_matches(database, ("textual", "post 3"))
    with StoreReader.open(database) as reader:
        frame = share.window_share_of_voice(
            reader, FEEDS_T0 - timedelta(days=30), FEEDS_T0 + timedelta(days=1), ["textual", "post 3"]
        )
    assert frame["mentions"].tolist() == [120, 3]  # "post 3" in each feed; "post 30".. are other words
