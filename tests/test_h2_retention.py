"""Retention (issue 16, "a year of running"): old attempts rolled into per-day rows, old engagement
history thinned, the freed pages given back; recent windows read exactly as before. The tests that
take `store` run on both backends."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.analytics import health, replies, rising
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.db import Database
from dashboard.store.reader import StoreReader
from dashboard.store.schema import MIGRATIONS, SCHEMA_VERSION
from dashboard.store.writer import DEFAULT_RETENTION, Retention, Store
from tests.backends import database_fixture, rows  # noqa: F401  (the `database` fixture)

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
SOURCES = [
    SourceConfig(name=name, type="feed", interval=900, url=f"http://127.0.0.1/{name}.xml")
    for name in ("A", "B")
]


def attempt(
    store: Store, source: SourceConfig, at: datetime, status: SourceStatus, *mentions: Mention
) -> None:
    record = PollRecord(source=source.name, started_at=at, duration=0.5, status=status, bytes_read=100)
    update = SourceUpdate(status, at + timedelta(hours=6), 0 if status.is_success else 1)
    outcome = PollOutcome(mentions=mentions) if status.is_success else None
    store.save_poll(source, record, update, outcome)


def forty_days_of_polls(store: Store) -> None:
    """Every 6 hours for 40 days; B fails every third attempt (its last one before the 30-day line too)."""
    at = NOW - timedelta(days=40)
    number = 0
    while at < NOW:
        attempt(store, SOURCES[0], at, SourceStatus.OK)
        attempt(store, SOURCES[1], at, SourceStatus.FAILING if number % 3 == 0 else SourceStatus.NOT_MODIFIED)
        at += timedelta(hours=6)
        number += 1


def health_views(reader: StoreReader) -> dict[str, pd.DataFrame]:
    return {
        "24h hourly": health.attempt_summary(reader, NOW - timedelta(days=1), NOW, 3600),
        "7d hourly": health.attempt_summary(reader, NOW - timedelta(days=7), NOW, 3600),
        "30d 6-hourly": health.attempt_summary(reader, NOW - timedelta(days=30), NOW, 6 * 3600),
        "40d daily": health.attempt_summary(
            reader, NOW - timedelta(days=40) - timedelta(hours=9, minutes=30), NOW, 86400
        ),
        "carried into 30d": health.last_polls_before(reader, NOW - timedelta(days=30)),
        "carried into 7d": health.last_polls_before(reader, NOW - timedelta(days=7)),
    }


def count(path: Database, sql: str) -> int:
    return int(rows(path, sql)[0][0])


@pytest.fixture
def store(database: Database) -> Store:
    store = Store.open(database)
    store.sync_sources(SOURCES, {source.name: "h" for source in SOURCES})
    return store


def test_old_attempts_are_rolled_into_days_and_every_health_view_reads_the_same(store: Store) -> None:
    forty_days_of_polls(store)
    total = count(store.path, "SELECT COUNT(*) FROM polls")
    with StoreReader.open(store.path) as reader:
        before = health_views(reader)

    report = store.apply_retention(NOW)

    cutoff = int((NOW - DEFAULT_RETENTION.attempts).timestamp()) // 86400 * 86400
    assert count(store.path, f"SELECT COUNT(*) FROM polls WHERE started_at < {cutoff}") == 0
    assert count(store.path, "SELECT COUNT(*) FROM polls") + report.polls_rolled == total
    assert count(store.path, "SELECT SUM(attempts) FROM poll_days") == report.polls_rolled
    assert count(store.path, "SELECT COUNT(*) FROM poll_days") == 2 * 10  # 2 sources x 10 whole days
    with StoreReader.open(store.path) as reader:
        after = health_views(reader)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    assert store.apply_retention(NOW).polls_rolled == 0  # idempotent


def test_rolled_days_keep_the_last_status_of_each_day(store: Store) -> None:
    day = NOW - timedelta(days=35)
    start = day.replace(hour=0, minute=0)
    attempt(store, SOURCES[0], start + timedelta(hours=1), SourceStatus.OK)
    attempt(store, SOURCES[0], start + timedelta(hours=20), SourceStatus.FAILING)
    attempt(store, SOURCES[0], start + timedelta(hours=3), SourceStatus.NOT_MODIFIED)
    store.apply_retention(NOW)
    (row,) = rows(
        store,
        "SELECT attempts, successes, failing, bytes, duration, last_status, last_started_at FROM poll_days",
    )
    assert row == (3, 2, 1, 300, 1.5, "failing", int((start + timedelta(hours=20)).timestamp()))


def test_engagement_history_keeps_full_resolution_for_a_week_then_a_row_a_day(store: Store) -> None:
    published = NOW - timedelta(days=12)
    at = published
    hour = 0
    while at < NOW:
        reply_count = 0 if hour < 30 else hour // 10
        built = Mention(
            key="m",
            kind=MentionKind.POST,
            url="u",
            title="t",
            author="a",
            published=published,
            likes=hour,
            replies=reply_count,
        )
        attempt(store, SOURCES[0], at, SourceStatus.OK, built)
        at += timedelta(hours=1)
        hour += 1
    recent = NOW - DEFAULT_RETENTION.history
    with StoreReader.open(store.path) as reader:
        replies_before = replies.response_seconds(reader, published, NOW)
        velocity_before = rising.engagement_snapshots(reader, NOW - timedelta(days=1), NOW)
        week_before = reader.history(recent)

    report = store.apply_retention(NOW)

    cutoff = int(recent.timestamp()) // 86400 * 86400
    old = rows(store, f"SELECT at, replies FROM engagement_history WHERE at < {cutoff} ORDER BY at")
    first_reply = int((published + timedelta(hours=30)).timestamp())
    days = {at // 86400 for at, _ in old}
    # One row per day (its last) + the very first row + the first row with a reply.
    assert len(old) == len(days) + 2
    assert old[0][0] == int(published.timestamp())
    assert first_reply in {at for at, _ in old}
    assert report.history_removed > 0
    with StoreReader.open(store.path) as reader:
        assert (
            replies.response_seconds(reader, published, NOW).tolist()
            == replies_before.tolist()
            == [30 * 3600]
        )
        pd.testing.assert_frame_equal(
            rising.engagement_snapshots(reader, NOW - timedelta(days=1), NOW), velocity_before
        )
        pd.testing.assert_frame_equal(reader.history(recent), week_before)
    assert store.apply_retention(NOW).history_removed == 0  # done up to the mark


def test_freed_pages_go_back_to_the_file_system(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "r.db")  # SQLite's incremental vacuum (PostgreSQL's autovacuum does it)
    store.sync_sources(SOURCES, {source.name: "h" for source in SOURCES})
    forty_days_of_polls(store)
    report = store.apply_retention(NOW, Retention(attempts=timedelta(days=1), history=timedelta(days=1)))
    assert report.pages_freed > 0
    assert count(store.path, "PRAGMA freelist_count") == 0


def test_a_first_schema_database_is_migrated_with_its_data_and_keeps_its_vacuum_mode(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.executescript(f"BEGIN; {MIGRATIONS[0]} PRAGMA user_version = 1; COMMIT;")
    connection.execute("INSERT INTO sources (name, type) VALUES ('A', 'feed')")
    old = int((NOW - timedelta(days=40)).timestamp())
    connection.execute(
        "INSERT INTO polls (source_id, started_at, duration, status) VALUES (1, ?, 0.1, 'ok')", (old,)
    )
    connection.close()
    with StoreReader.open(path) as reader:  # read-only on the old schema: no poll_days table yet
        assert len(health.attempt_summary(reader, NOW - timedelta(days=50), NOW, 86400)) == 1

    with Store.open(path) as store:
        assert count(path, "PRAGMA user_version") == SCHEMA_VERSION
        assert count(path, "SELECT COUNT(*) FROM polls") == 1
        report = store.apply_retention(NOW)
    assert (report.polls_rolled, report.pages_freed) == (1, 0)  # auto_vacuum NONE: pages are reused
    assert count(path, "PRAGMA auto_vacuum") == 0
    with StoreReader.open(path) as reader:
        summary = health.attempt_summary(reader, NOW - timedelta(days=50), NOW, 86400)
    assert summary[["source", "attempts", "successes", "last_status"]].values.tolist() == [["A", 1, 1, "ok"]]
