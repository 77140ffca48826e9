"""The per-hour rollups (schema migration 5) answer exactly what the raw mentions answer.

For random stores written through the writer (new mentions, re-polls that refresh engagement, a
source that stops reporting a count, text changes that move a mention to another author) and through
raw SQL (a changed published time, a deleted mention), every aggregate the reader takes from the
rollups (`bucket_stats`, `totals`, `hourly_counts`, `author_stats`, and from migration 6's per-hour
attempts `attempt_summary`, after attempts in the same second and deleted attempts) equals the raw query's frame, over
windows aligned to the hour and not; and migration 9's `first_reply_at` stays each mention's first history row
with a reply while history rows are inserted, changed and deleted. On both backends: SQLite's row triggers and PostgreSQL's
statement triggers must keep the same rollups.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.analytics import health, sentiment, spikes, voices, volume
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
from dashboard.store.reader import StoreReader
from dashboard.store.writer import Store
from tests.backends import BACKENDS, new_store, rows

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
SOURCES = (
    SourceConfig(name="Blog", type="feed", interval=900, url="http://127.0.0.1/a.xml"),
    SourceConfig(name="Forum", type="feed", interval=900, url="http://127.0.0.1/b.xml"),
)
AUTHORS = ("ann", "bob", "", "cyd")


def _count(rng: random.Random) -> int | None:
    return None if rng.random() < 0.3 else rng.randint(-3, 50)


def _mention(rng: random.Random, key: int, published: datetime) -> Mention:
    return Mention(
        key=f"k{key}",
        kind=MentionKind.POST,
        url=f"http://x/{key}",
        title=f"title {rng.randint(0, 3)}",
        author=rng.choice(AUTHORS),
        published=published,
        likes=_count(rng),
        replies=_count(rng),
        shares=_count(rng),
        views=_count(rng),
    )


def build(path: Database, seed: int) -> None:
    """A store of a few polls per source over three days, then raw edits and deletes."""
    rng = random.Random(seed)
    store = Store.open(path)
    store.sync_sources(list(SOURCES), {source.name: "h" for source in SOURCES})
    known: dict[str, list[tuple[int, datetime]]] = {source.name: [] for source in SOURCES}
    for poll in range(rng.randint(1, 8)):
        at = T0 + timedelta(hours=poll * 9)
        for source in SOURCES:
            batch = []
            for _ in range(rng.randint(0, 15)):  # new mentions
                key = rng.randint(0, 10_000)
                published = T0 + timedelta(seconds=rng.randint(0, 3 * 86400))
                known[source.name].append((key, published))
                batch.append(_mention(rng, key, published))
            for key, published in rng.sample(known[source.name], min(5, len(known[source.name]))):
                batch.append(_mention(rng, key, published))  # re-poll: new counts, maybe a new author
            record = PollRecord(source=source.name, started_at=at, duration=0.1, status=SourceStatus.OK)
            update = SourceUpdate(SourceStatus.OK, at + timedelta(minutes=15), 0)
            store.save_poll(source, record, update, PollOutcome(mentions=tuple(batch), cursor={}))
            for _ in range(rng.randint(0, 6)):  # more attempts, some in the same second
                started = at + timedelta(seconds=rng.choice([0, 1, rng.randint(0, 9 * 3600)]))
                status = rng.choice(list(SourceStatus))
                record = PollRecord(source=source.name, started_at=started, duration=0.1, status=status)
                store.save_poll(source, record, SourceUpdate(status, started, 0), None)
    store.close()
    db = connect(path)  # autocommit: each edit lands as its own statement
    try:
        ids = [row[0] for row in db.execute("SELECT id FROM mentions ORDER BY id")]
        for mention_id in rng.sample(ids, len(ids) * 2 // 3):  # as the opinion pass labels them
            label = rng.choice(["positive", "neutral", "negative", "negative", None])
            db.execute(
                "UPDATE mentions SET sentiment_label = ?, sentiment = ? WHERE id = ?",
                (label, None if label is None else rng.uniform(-1, 1), mention_id),
            )
        for mention_id in rng.sample(ids, min(4, len(ids))):  # analysed again: some labels change
            db.execute(
                "UPDATE mentions SET sentiment_label = ? WHERE id = ?",
                (rng.choice(["positive", "negative", None]), mention_id),
            )
        for mention_id in rng.sample(ids, min(3, len(ids))):
            db.execute(
                "UPDATE mentions SET published_at = published_at + ?, author = ? WHERE id = ?",
                (rng.randint(-7200, 7200), rng.choice(AUTHORS), mention_id),
            )
        polls = [row[0] for row in db.execute("SELECT id FROM polls ORDER BY id")]
        for poll_id in rng.sample(polls, min(4, len(polls))):  # as retention does, a few at a time
            db.execute("DELETE FROM polls WHERE id = ?", (poll_id,))
        history = [tuple(row) for row in db.execute("SELECT mention_id, at FROM engagement_history")]
        for mention_id, at in rng.sample(history, min(4, len(history))):  # first replies come and go
            db.execute(
                "UPDATE engagement_history SET replies = ? WHERE mention_id = ? AND at = ?",
                (rng.choice([0, 2, None]), mention_id, at),
            )
        for mention_id, at in rng.sample(history, min(3, len(history))):
            db.execute("DELETE FROM engagement_history WHERE mention_id = ? AND at = ?", (mention_id, at))
        for mention_id in rng.sample(ids, min(2, len(ids))):
            db.execute("DELETE FROM engagement_history WHERE mention_id = ?", (mention_id,))
            db.execute("DELETE FROM mention_links WHERE mention_id = ?", (mention_id,))
            db.execute("DELETE FROM mentions WHERE id = ?", (mention_id,))
    finally:
        db.close()


def assert_same(path: Database, since: datetime, until: datetime, bucket: int) -> None:
    with StoreReader.open(path) as fast, StoreReader.open(path, rollups=False) as raw:
        pd.testing.assert_frame_equal(
            volume.bucket_stats(fast, since, until, bucket), volume.bucket_stats(raw, since, until, bucket)
        )
        pd.testing.assert_frame_equal(volume.totals(fast, since, until), volume.totals(raw, since, until))
        pd.testing.assert_frame_equal(
            spikes.hourly_counts(fast, since, until), spikes.hourly_counts(raw, since, until)
        )
        pd.testing.assert_frame_equal(
            voices.author_stats(fast, since, until), voices.author_stats(raw, since, until)
        )
        pd.testing.assert_frame_equal(
            health.attempt_summary(fast, since, until, bucket),
            health.attempt_summary(raw, since, until, bucket),
        )
        for shift, by_source in ((0, True), (until - since, False), (timedelta(minutes=90), True)):
            seconds = int(shift.total_seconds()) if isinstance(shift, timedelta) else shift
            pd.testing.assert_frame_equal(
                sentiment.label_counts(fast, since, until, bucket, shift=seconds, by_source=by_source),
                sentiment.label_counts(raw, since, until, bucket, shift=seconds, by_source=by_source),
            )
        assert sentiment.label_totals(fast, since, until) == sentiment.label_totals(raw, since, until)


def assert_first_replies_kept(path: Database) -> None:
    """mentions.first_reply_at (migration 9's triggers) is each mention's first history row with a reply."""
    kept = rows(path, "SELECT id, first_reply_at FROM mentions WHERE first_reply_at IS NOT NULL ORDER BY id")
    fresh = rows(
        path,
        """SELECT mention_id, MIN(at) FROM engagement_history WHERE replies > 0
           GROUP BY mention_id ORDER BY mention_id""",
    )
    assert kept == fresh


WINDOWS = {
    "seed": st.integers(0, 2**32),
    "start": st.integers(-3600, 3 * 86400),
    "length": st.integers(0, 3 * 86400),
    "bucket": st.sampled_from([3600, 86400, 900, 7200]),
}


def check_random_store(folder: Path, backend: str, seed: int, start: int, length: int, bucket: int) -> None:
    path = new_store(backend, folder, "m.db")
    build(path, seed)
    since = T0 + timedelta(seconds=start)
    assert_same(path, since, since + timedelta(seconds=length), bucket)
    assert_same(path, T0 - timedelta(days=1), T0 + timedelta(days=4), bucket)  # aligned, everything
    assert_first_replies_kept(path)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**WINDOWS)
def test_rollups_equal_the_raw_queries(
    tmp_path_factory: pytest.TempPathFactory, seed: int, start: int, length: int, bucket: int
) -> None:
    check_random_store(tmp_path_factory.mktemp("rollup"), "sqlite", seed, start, length, bucket)


# Fewer examples on PostgreSQL (each is a new database, migrated): its statement triggers are checked
# on stores as varied, the windows' edge cases stay SQLite's to explore.
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**WINDOWS)
def test_rollups_equal_the_raw_queries_on_postgresql(
    tmp_path_factory: pytest.TempPathFactory, seed: int, start: int, length: int, bucket: int
) -> None:
    check_random_store(tmp_path_factory.mktemp("rollup"), "postgresql", seed, start, length, bucket)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rollups_are_used_and_match_the_mentions(tmp_path: Path, backend: str) -> None:
    """The rollup rows equal a fresh GROUP BY of the mentions (the triggers kept them), and an aligned
    window reads them: emptied, the rollups give an empty answer."""
    path = new_store(backend, tmp_path, "m.db")
    build(path, 11)
    kept = rows(
        path,
        "SELECT hour, source_id, mentions, likes, likes_known FROM mention_hours WHERE mentions > 0 ORDER BY 1, 2",
    )
    fresh = rows(
        path,
        """SELECT published_at - published_at % 3600 AS h, source_id, COUNT(*), IFNULL(SUM(likes), 0),
                  COUNT(likes) FROM mentions GROUP BY h, source_id ORDER BY 1, 2""",
    )
    assert kept == fresh
    assert kept
    db = connect(path)
    db.execute("DELETE FROM mention_hours")
    db.close()
    with StoreReader.open(path) as reader:
        assert volume.totals(reader, T0, T0 + timedelta(days=4)).empty


# What takes back migrations 12 and 11 (run before the older ones' undo: their triggers are on mentions).
UNDO_12 = (
    *(f"DROP TRIGGER mentions_day_authors_{event}" for event in ("insert", "update", "delete")),
    "DROP TABLE mention_day_authors",
)
UNDO_11 = (
    *(f"DROP TRIGGER mentions_sentiment_{event}" for event in ("insert", "update", "delete")),
    "DROP INDEX mentions_negative",
    "DROP TABLE sentiment_hours",
)


def rewind(path: Path, version: int, undo: Sequence[str]) -> None:
    """Make the file at `path` a store of schema `version` again: run `undo`, set its user_version."""
    db = sqlite3.connect(path)
    with db:
        for statement in undo:
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {version}")
    db.close()


def test_migration_backfills_the_rollups_of_an_older_store(tmp_path: Path) -> None:
    """A store written before migration 5 gets its rollups from the rows already there."""
    path = tmp_path / "m.db"
    build(path, 5)
    rewind(path, 10, (*UNDO_12, *UNDO_11))  # then the older migrations' undo, down to version 4
    db = sqlite3.connect(path)
    with db:
        for name in ("mentions_rollup_insert", "mentions_rollup_delete", "mentions_rollup_update"):
            db.execute(f"DROP TRIGGER {name}")
        for name in ("polls_rollup_insert", "polls_rollup_delete", "polls_rollup_update"):
            db.execute(f"DROP TRIGGER {name}")
        for name in ("insert", "update", "delete"):  # migration 9
            db.execute(f"DROP TRIGGER engagement_first_reply_{name}")
        db.execute("DROP INDEX mentions_first_reply")
        for name in ("keyword_mentions", "tracked_keywords"):  # migration 10
            db.execute(f"DROP TABLE {name}")
        for name in ("mention_hours", "mention_hour_authors", "poll_hours", "mention_links"):
            db.execute(f"DROP TABLE {name}")
        # ... and what migrations 7 and 8 added, so the file is a version-4 store again.
        for name in ("mentions_opinion_pending", "mentions_canonical_url", "mentions_links_pending"):
            db.execute(f"DROP INDEX {name}")
        for column in (
            "declared_language",
            "language",
            "sentiment",
            "sentiment_label",
            "opinion_version",
            "canonical_url",
            "links_version",
            "first_reply_at",
        ):
            db.execute(f"ALTER TABLE mentions DROP COLUMN {column}")
        db.execute("ALTER TABLE sources DROP COLUMN own")
    db.execute("PRAGMA user_version = 4")
    db.close()
    with StoreReader.open(path) as old:  # read-only, no rollups yet: the raw queries answer
        before = volume.bucket_stats(old, T0, T0 + timedelta(days=4), 3600)
        attempts = health.attempt_summary(old, T0, T0 + timedelta(days=4), 3600)
    connect(path).close()  # a writer migrates
    with StoreReader.open(path) as reader:
        pd.testing.assert_frame_equal(volume.bucket_stats(reader, T0, T0 + timedelta(days=4), 3600), before)
        pd.testing.assert_frame_equal(
            health.attempt_summary(reader, T0, T0 + timedelta(days=4), 3600), attempts
        )
        assert reader.uses_rollup("mention_hours")
        assert reader.uses_rollup("poll_hours")
    assert_first_replies_kept(path)
    assert rows(path, "SELECT COUNT(*) FROM mentions WHERE first_reply_at IS NOT NULL")[0][0] > 0


def test_migration_11_backfills_the_sentiment_hours_of_a_labelled_store(tmp_path: Path) -> None:
    """A store whose mentions the opinion pass labelled before migration 11 gets its sentiment_hours
    from those labels: the same counts as reading the mentions."""
    path = tmp_path / "m.db"
    build(path, 3)
    rewind(path, 10, (*UNDO_12, *UNDO_11))
    connect(path).close()  # a writer migrates
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=4)
    with StoreReader.open(path) as fast, StoreReader.open(path, rollups=False) as raw:
        assert fast.uses_rollup("sentiment_hours")
        counted = sentiment.label_counts(fast, since, until, 3600)
        pd.testing.assert_frame_equal(counted, sentiment.label_counts(raw, since, until, 3600))
        assert counted[["positive", "neutral", "negative"]].to_numpy().sum() > 0
    assert rows(path, "SELECT SUM(positive + neutral + negative) FROM sentiment_hours") == rows(
        path, "SELECT COUNT(*) FROM mentions WHERE sentiment_label IN ('positive', 'neutral', 'negative')"
    )


def test_migration_12_backfills_the_day_authors_from_the_hour_authors(tmp_path: Path) -> None:
    """A store from before migration 12 gets mention_day_authors from mention_hour_authors: author_stats
    over whole days reads it and equals reading the mentions."""
    path = tmp_path / "m.db"
    build(path, 5)
    rewind(path, 11, UNDO_12)
    connect(path).close()  # a writer migrates
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=4)
    with StoreReader.open(path) as fast, StoreReader.open(path, rollups=False) as raw:
        assert fast.day_split(since, until).days == (
            int(T0.timestamp()) - 86400,
            int(T0.timestamp()) + 4 * 86400,
        )
        pd.testing.assert_frame_equal(
            voices.author_stats(fast, since, until), voices.author_stats(raw, since, until)
        )
        pd.testing.assert_frame_equal(
            volume.bucket_stats(fast, since, until, 86400), volume.bucket_stats(raw, since, until, 86400)
        )
    assert rows(path, "SELECT SUM(mentions) FROM mention_day_authors") == rows(
        path, "SELECT COUNT(*) FROM mentions"
    )
