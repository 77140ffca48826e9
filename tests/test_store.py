"""The write side: no duplicates, updates in place, history only on change, atomic polls.

Every test that takes `store` runs on both backends (SQLite and PostgreSQL: tests/backends.py)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store import writer
from dashboard.store.db import Database, StoreError, connect, database_errors
from dashboard.store.schema import SCHEMA_VERSION
from dashboard.store.writer import Store
from tests.backends import database_fixture, rows  # noqa: F401  (the `database` fixture)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SOURCE = SourceConfig(name="Blog", type="feed", interval=900, url="http://127.0.0.1/feed.xml")
OK = SourceUpdate(SourceStatus.OK, T0 + timedelta(minutes=15), 0)


def mention(
    key: str, *, likes: int | None = None, title: str = "A title", published: datetime | None = T0
) -> Mention:
    return Mention(
        key=key,
        kind=MentionKind.POST,
        url=f"http://x/{key}",
        title=title,
        author="ann",
        published=published,
        likes=likes,
    )


def save(store: Store, *mentions: Mention, at: datetime = T0, update: SourceUpdate = OK) -> PollRecord:
    record = PollRecord(source=SOURCE.name, started_at=at, duration=0.1, status=update.status)
    outcome = PollOutcome(mentions=mentions, cursor={"etag": "x"})
    return store.save_poll(SOURCE, record, update, outcome)


@pytest.fixture
def store(database: Database) -> Store:
    store = Store.open(database)
    store.sync_sources([SOURCE], {SOURCE.name: "h1"})
    return store


def test_new_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    Store.open(tmp_path / "m.db").close()
    connection = sqlite3.connect(tmp_path / "m.db")
    assert connection.execute("PRAGMA user_version").fetchall() == [(SCHEMA_VERSION,)]
    assert connection.execute("PRAGMA journal_mode").fetchall() == [("wal",)]


def test_repoll_adds_no_duplicate(store: Store) -> None:
    first = save(store, mention("a"), mention("b"), mention("a"))
    second = save(store, mention("a"), mention("b"), at=T0 + timedelta(minutes=15))
    assert (first.new, first.updated) == (2, 0)
    assert (second.new, second.updated) == (0, 0)
    assert rows(store, "SELECT COUNT(*) FROM mentions") == [(2,)]


def test_engagement_updates_in_place_with_a_history_row_only_on_change(store: Store) -> None:
    save(store, mention("a", likes=1))
    later = save(store, mention("a", likes=5), at=T0 + timedelta(minutes=15))
    same = save(store, mention("a", likes=5), at=T0 + timedelta(minutes=30))
    assert later.updated == 1
    assert same.updated == 0
    assert rows(store, "SELECT likes FROM mentions") == [(5,)]
    history = rows(store, "SELECT at, likes FROM engagement_history ORDER BY at")
    assert [likes for _, likes in history] == [1, 5]


def test_unknown_count_never_overwrites_a_known_one(store: Store) -> None:
    save(store, mention("a", likes=3))
    save(store, mention("a", likes=None), at=T0 + timedelta(minutes=15))
    assert rows(store, "SELECT likes FROM mentions") == [(3,)]


def test_missing_date_uses_first_seen(store: Store) -> None:
    save(store, mention("a", published=None))
    assert rows(store, "SELECT published_at, first_seen_at FROM mentions") == [(int(T0.timestamp()),) * 2]


def test_content_that_changes_every_poll_is_updated_a_bounded_number_of_times(store: Store) -> None:
    for poll in range(writer.MAX_CONTENT_CHANGES + 5):
        save(store, mention("a", title=f"title {poll}"), at=T0 + timedelta(minutes=poll))
    assert rows(store, "SELECT COUNT(*), MAX(content_changes) FROM mentions") == [
        (1, writer.MAX_CONTENT_CHANGES)
    ]


def test_states_for_the_schedule_leave_the_cursors_out(store: Store) -> None:
    save(store, mention("a"))
    full, schedule = store.states()[SOURCE.name], store.states(cursors=False)[SOURCE.name]
    assert full.cursor == {"etag": "x"}
    assert schedule.cursor == {}
    assert replace(schedule, cursor=full.cursor) == full


def test_failed_poll_keeps_cursor_and_records_the_attempt(store: Store) -> None:
    save(store, mention("a"))
    failing = SourceUpdate(SourceStatus.FAILING, T0 + timedelta(hours=1), 1)
    record = PollRecord(SOURCE.name, T0 + timedelta(minutes=15), 0.2, SourceStatus.FAILING, 500, error="boom")
    store.save_poll(SOURCE, record, failing, None)
    state = store.state(SOURCE.name)
    assert state.status == SourceStatus.FAILING
    assert state.cursor == {"etag": "x"}
    assert state.last_success_at == T0
    assert state.consecutive_failures == 1
    assert rows(store, "SELECT status, http_status, error FROM polls ORDER BY id") == [
        ("ok", None, ""),
        ("failing", 500, "boom"),
    ]


def test_a_poll_is_all_or_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(writer, "_insert_poll", explode)
    with pytest.raises(StoreError, match="disk I/O error"):
        save(store, mention("a"), mention("b"))
    assert rows(store, "SELECT COUNT(*) FROM mentions") == [(0,)]
    assert store.state(SOURCE.name).status == SourceStatus.NEW


def test_permanent_redirect_is_adopted_only_after_consistent_polls(store: Store) -> None:
    moved = replace(OK, permanent_redirect="http://127.0.0.1/new.xml")
    for poll in range(writer.REDIRECT_ADOPT_AFTER - 1):
        save(store, update=moved, at=T0 + timedelta(minutes=poll))
        assert store.state(SOURCE.name).url_override is None
    save(store, update=moved, at=T0 + timedelta(hours=1))
    assert store.state(SOURCE.name).url_override == "http://127.0.0.1/new.xml"


def test_interrupted_redirect_streak_starts_over(store: Store) -> None:
    moved = replace(OK, permanent_redirect="http://127.0.0.1/new.xml")
    save(store, update=moved)
    save(store, update=OK, at=T0 + timedelta(minutes=1))
    for poll in range(writer.REDIRECT_ADOPT_AFTER - 1):
        save(store, update=moved, at=T0 + timedelta(minutes=2 + poll))
    assert store.state(SOURCE.name).url_override is None


def test_changed_config_revives_a_gone_source(store: Store) -> None:
    store.save_poll(
        SOURCE,
        PollRecord(SOURCE.name, T0, 0.1, SourceStatus.GONE, 410),
        SourceUpdate(SourceStatus.GONE, None, 1),
        None,
    )
    store.sync_sources([SOURCE], {SOURCE.name: "h1"})
    assert store.state(SOURCE.name).status == SourceStatus.GONE
    store.sync_sources([SOURCE], {SOURCE.name: "h2"})
    assert store.state(SOURCE.name).status == SourceStatus.NEW


def test_mark_handled_persists(store: Store) -> None:
    save(store, mention("a"))
    (mention_id,) = rows(store, "SELECT id FROM mentions")[0]
    store.mark_handled(int(str(mention_id)), at=T0)
    assert rows(store, "SELECT handled_at FROM mentions") == [(int(T0.timestamp()),)]
    store.mark_handled(int(str(mention_id)), handled=False)
    assert rows(store, "SELECT handled_at FROM mentions") == [(None,)]


def test_young_keys_newest_first(store: Store) -> None:
    save(
        store,
        mention("old", published=T0 - timedelta(days=30)),
        mention("a", published=T0 - timedelta(hours=2)),
    )
    save(store, mention("b", published=T0 - timedelta(hours=1)))
    assert store.young_keys(SOURCE.name, T0 - timedelta(days=7)) == ["b", "a"]


def test_readonly_connection_refuses_writes(store: Store) -> None:
    save(store, mention("a"))
    reader = connect(store.path, readonly=True)
    assert reader.execute("SELECT COUNT(*) FROM mentions").fetchone() == (1,)
    with pytest.raises(database_errors()):
        reader.execute("DELETE FROM mentions")


def test_missing_database_for_a_reader_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        connect(tmp_path / "nope.db", readonly=True)


def test_huge_titles_and_authors_are_stored_within_bounds(store: Store) -> None:
    huge = Mention("a", MentionKind.POST, "http://x/a", "t" * 60_000, "n" * 16_000, T0)
    save(store, huge)
    save(store, huge, at=T0 + timedelta(minutes=15))
    ((title, author, changes),) = rows(store, "SELECT title, author, content_changes FROM mentions")
    assert len(str(title)) == writer.MAX_TITLE
    assert len(str(author)) == writer.MAX_AUTHOR
    assert changes == 0  # the same huge text next poll is not a change
