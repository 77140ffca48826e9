"""copy_store: a SQLite store written by the real writer, copied into PostgreSQL, row for row."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

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
from dashboard.store import schema as sqlite_schema
from dashboard.store.postgres import schema
from dashboard.store.postgres.copy import CopyError, CopyRefused, copy_store
from dashboard.store.writer import Store
from tests.pg import pg_dsn_fixture  # noqa: F401  (the `pg_dsn` fixture)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _mentions(feed: int, poll: int) -> tuple[Mention, ...]:
    site = f"https://blog{feed}.example.org"
    return tuple(
        Mention(
            key=f"{site}/?p={item}",
            kind=MentionKind.POST,
            url=f"{site}/posts/{item}",
            title=f"Post {item} — «quoted» of blog {feed}",
            author=["ann", "bob", ""][item % 3],
            published=T0 + timedelta(minutes=37 * item),
            summary=f"Words, a tab\there, a newline\nthere, a backslash \\ and a link {site}/x#{item}",
            likes=None if item % 2 else item + poll,  # counts that change between polls
            replies=item % 4 or None,
            links=(Link(f"https://community.example.org/thread/{item}", "content"),),
        )
        for item in range(12)
    )


def _store(path: Path) -> None:
    configs = [
        SourceConfig(name=f"blog {n}", type="feed", interval=900, url=f"https://blog{n}.example.org/feed")
        for n in range(3)
    ]
    with Store.open(path) as store:
        store.sync_sources(configs, {config.name: "x" for config in configs})
        for poll in range(2):
            for config in configs:
                record = PollRecord(config.name, T0 + timedelta(hours=poll), 0.1, SourceStatus.OK)
                update = SourceUpdate(SourceStatus.OK, T0 + timedelta(hours=poll, minutes=15), 0)
                store.save_poll(
                    config, record, update, PollOutcome(mentions=_mentions(int(config.name[-1]), poll))
                )
        store.mark_handled(3, at=T0 + timedelta(hours=3))


_ORDERED = {
    "sources": "id",
    "mentions": "id",
    "engagement_history": "mention_id, at",
    "polls": "id",
    "mention_hours": "hour, source_id",
    "mention_hour_authors": "hour, source_id, author",
    "poll_hours": "hour, source_id",
    "mention_links": "mention_id, url",
}


def test_a_written_store_is_copied_row_for_row(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "mentions.db"
    _store(path)
    seen: list[tuple[str, int, int]] = []
    report = copy_store(path, pg_dsn, lambda table, done, total: seen.append((table, done, total)))
    sqlite = sqlite3.connect(path)
    with psycopg.connect(pg_dsn) as pg:
        for table, order in _ORDERED.items():
            columns = [row[1] for row in sqlite.execute(f"PRAGMA table_info({table})")]
            listed = ", ".join(f'"{c}"' for c in columns)
            expected = sqlite.execute(f"SELECT {listed} FROM {table} ORDER BY {order}").fetchall()
            assert expected, table  # the store really holds rows of every table compared
            assert pg.execute(f"SELECT {listed} FROM {table} ORDER BY {order}").fetchall() == expected, table
            assert report.rows[table] == len(expected)
        # The sequences were reset past the copied ids, and the triggers are back on.
        new = pg.execute(
            "INSERT INTO mentions (source_id, key, kind, published_at, first_seen_at, updated_at)"
            " VALUES (1, 'new', 'post', 0, 0, 0) RETURNING id"
        ).fetchone()
        hours = pg.execute("SELECT mentions FROM mention_hours WHERE hour = 0").fetchone()
    assert new == (report.rows["mentions"] + 1,)
    assert hours == (1,)
    assert ("mentions", report.rows["mentions"], report.rows["mentions"]) in seen
    assert ("mentions", 0, report.rows["mentions"]) in seen


def _structure(pg: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Every index and constraint of the database, as PostgreSQL would write them again."""
    return pg.execute(
        "SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid::regclass::text NOT LIKE 'pg_%'"
        " UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = current_schema()::regnamespace UNION ALL"
        " SELECT 'trigger', tgname, tgenabled::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2, 3"
    ).fetchall()


def test_the_indexes_and_keys_dropped_for_the_load_are_all_back(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "mentions.db"
    _store(path)
    with psycopg.connect(pg_dsn) as pg:  # an empty store already there is a fine target too
        schema.migrate(pg)
        before = _structure(pg)
    copy_store(path, pg_dsn)
    with psycopg.connect(pg_dsn) as pg:
        assert _structure(pg) == before
    assert len([row for row in before if row[0] == "index"]) > 15
    assert any(str(row[2]).startswith("FOREIGN KEY") for row in before)


def test_a_target_with_data_is_refused_and_left_alone(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "mentions.db"
    _store(path)
    copy_store(path, pg_dsn)
    with pytest.raises(CopyError, match="not empty"):
        copy_store(path, pg_dsn)
    with psycopg.connect(pg_dsn) as pg:
        assert pg.execute("SELECT COUNT(*) FROM sources").fetchone() == (3,)


def test_an_old_sqlite_store_is_refused_and_left_as_it_was(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    for version, script in enumerate(sqlite_schema.MIGRATIONS[:3], start=1):
        old.executescript(f"{script}\nPRAGMA user_version = {version};")
    old.close()
    before = path.read_bytes()
    with pytest.raises(CopyRefused, match="at schema 3, this version copies schema"):
        copy_store(path, pg_dsn)
    assert path.read_bytes() == before
    with psycopg.connect(pg_dsn) as pg:  # not even the schema was created
        assert pg.execute("SELECT to_regclass('schema_version')").fetchone() == (None,)


def test_another_programs_file_and_a_missing_one_are_refused(tmp_path: Path, pg_dsn: str) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(CopyRefused, match="not a community-dashboard database"):
        copy_store(other, pg_dsn)
    with pytest.raises(CopyRefused, match="no SQLite store at"):
        copy_store(tmp_path / "missing.db", pg_dsn)
    assert not (tmp_path / "missing.db").exists()


def test_a_database_of_another_program_is_refused(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "mentions.db"
    _store(path)
    with psycopg.connect(pg_dsn) as pg:
        pg.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(CopyRefused, match="holds the tables invoices"):
        copy_store(path, pg_dsn)
    with psycopg.connect(pg_dsn) as pg:
        assert pg.execute("SELECT to_regclass('mentions')").fetchone() == (None,)


def test_nul_in_text_is_copied_as_the_replacement_character(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "mentions.db"
    _store(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE mentions SET title = 'a' || char(0) || 'b' WHERE id = 1")
    copy_store(path, pg_dsn)
    with psycopg.connect(pg_dsn) as pg:
        assert pg.execute("SELECT title FROM mentions WHERE id = 1").fetchone() == ("a\ufffdb",)


def test_a_row_postgresql_refuses_leaves_the_database_as_it_was(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "mentions.db"
    _store(path)
    with sqlite3.connect(path) as db:  # SQLite keeps text in an INTEGER column; bigint does not
        db.execute("UPDATE engagement_history SET likes = 'many' WHERE mention_id = 5")
    with pytest.raises(CopyError, match=r"PostgreSQL refused the copy.*COPY engagement_history"):
        copy_store(path, pg_dsn)
    with psycopg.connect(pg_dsn) as pg:
        assert pg.execute("SELECT to_regclass('mentions')").fetchone() == (None,)
