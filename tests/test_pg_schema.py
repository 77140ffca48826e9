"""The PostgreSQL schema (dashboard/store/postgres/schema.py): the same tables as SQLite's, migrations
that are idempotent and safe when two processes run them at once, rollup triggers that stay exact."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.store import schema as sqlite_schema
from dashboard.store.postgres import schema
from tests.pg import pg_dsn_fixture  # noqa: F401  (the `pg_dsn` fixture)


@pytest.fixture
def migrated(pg_dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(pg_dsn) as connection:
        schema.migrate(connection)
        yield connection


def _sqlite_columns() -> dict[str, set[str]]:
    connection = sqlite3.connect(":memory:")
    sqlite_schema.migrate(connection)
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: {row[1] for row in connection.execute(f"PRAGMA table_info({t})")} for t in tables}


def _sqlite_indexes() -> set[str]:
    connection = sqlite3.connect(":memory:")
    sqlite_schema.migrate(connection)
    return {
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }


def test_every_sqlite_migration_has_its_twin() -> None:
    assert schema.SCHEMA_VERSION == sqlite_schema.SCHEMA_VERSION


def test_an_empty_database_gets_the_tables_columns_and_indexes_of_sqlite(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as connection:
        assert schema.current_version(connection) == 0
        assert schema.migrate(connection) == schema.SCHEMA_VERSION
        assert schema.current_version(connection) == schema.SCHEMA_VERSION
        rows = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall()
        indexes = {
            str(row[0])
            for row in connection.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'"
                " AND indexname NOT LIKE '%_key'"
            )
        }
        partial = connection.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'mentions_opinion_pending'"
        ).fetchone()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(str(table), set()).add(str(column))
    assert columns.pop("schema_version") == {"one", "application", "version"}
    assert columns == _sqlite_columns()
    assert indexes == _sqlite_indexes()
    assert partial is not None
    assert "WHERE (opinion_version IS NULL)" in str(partial[0])


def test_a_second_migrate_does_nothing(migrated: psycopg.Connection[tuple[object, ...]]) -> None:
    assert schema.migrate(migrated) == 0
    assert schema.current_version(migrated) == schema.SCHEMA_VERSION


def test_a_newer_or_foreign_database_is_refused(migrated: psycopg.Connection[tuple[object, ...]]) -> None:
    migrated.execute("UPDATE schema_version SET version = %s", (schema.SCHEMA_VERSION + 1,))
    migrated.commit()
    with pytest.raises(schema.SchemaError, match="newer version"):
        schema.migrate(migrated)
    migrated.execute("UPDATE schema_version SET application = 'someone-else', version = 1")
    migrated.commit()
    with pytest.raises(schema.SchemaError, match="someone-else"):
        schema.current_version(migrated)


def test_two_concurrent_migrators_apply_each_migration_once(pg_dsn: str) -> None:
    """Both wait on the lock a third connection holds, are released together, and share the work."""
    applied: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(pg_dsn) as connection:
                applied.append(schema.migrate(connection))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    with psycopg.connect(pg_dsn) as holder, psycopg.connect(pg_dsn, autocommit=True) as watcher:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (schema.MIGRATION_LOCK,))
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        waiting = 0
        while waiting < 2:  # both are blocked on the migration lock
            row = watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            waiting = int(str(row[0])) if row else 0
        holder.commit()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert sum(applied) == schema.SCHEMA_VERSION  # each migration applied once, by one of them
    with psycopg.connect(pg_dsn) as connection:
        assert schema.current_version(connection) == schema.SCHEMA_VERSION


_counts = st.one_of(st.none(), st.integers(0, 50))
_mention = st.tuples(
    st.sampled_from([1, 2]),  # source
    st.integers(0, 4 * 3600),  # published_at: a few hours, so rows share hours
    st.sampled_from(["ann", "bob", ""]),
    _counts,
    _counts,
    _counts,
    _counts,
)
_operation = st.one_of(
    st.tuples(st.just("insert"), st.lists(_mention, min_size=1, max_size=6)),
    st.tuples(st.just("update"), st.integers(0, 30), _mention),
    st.tuples(st.just("update_counts"), st.integers(0, 3), _counts),  # one statement, many rows
    st.tuples(st.just("delete"), st.integers(0, 30)),
)

_HOURS = """SELECT published_at - published_at % 3600 AS h, source_id, COUNT(*),
    COALESCE(SUM(likes), 0), COUNT(likes), COALESCE(SUM(replies), 0), COUNT(replies),
    COALESCE(SUM(shares), 0), COUNT(shares), COALESCE(SUM(views), 0), COUNT(views),
    COALESCE(SUM(e), 0), COUNT(e)
    FROM (SELECT *, CASE WHEN likes IS NULL AND replies IS NULL AND shares IS NULL THEN NULL
                 ELSE COALESCE(likes, 0) + COALESCE(replies, 0) + COALESCE(shares, 0) END AS e FROM mentions) m
    GROUP BY h, source_id ORDER BY h, source_id"""
_AUTHORS = """SELECT published_at - published_at % 3600 AS h, source_id, author, COUNT(*),
    COALESCE(SUM(e), 0), COUNT(e)
    FROM (SELECT *, CASE WHEN likes IS NULL AND replies IS NULL AND shares IS NULL THEN NULL
                 ELSE COALESCE(likes, 0) + COALESCE(replies, 0) + COALESCE(shares, 0) END AS e FROM mentions) m
    GROUP BY h, source_id, author ORDER BY h, source_id, author"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(_operation, min_size=1, max_size=12))
def test_mention_rollups_equal_a_group_by_after_any_writes(
    migrated: psycopg.Connection[tuple[object, ...]], operations: list[tuple[object, ...]]
) -> None:
    connection = migrated
    try:
        connection.execute("INSERT INTO sources (id, name, type) VALUES (1, 'a', 'rss'), (2, 'b', 'rss')")
        serial = 0
        for operation in operations:
            if operation[0] == "insert":
                rows = operation[1]
                assert isinstance(rows, list)
                values = []
                for row in rows:
                    serial += 1
                    values.append((row[0], f"k{serial}", *row[1:]))
                placeholders = ", ".join(["(%s, %s, 'post', %s, 0, 0, %s, %s, %s, %s, %s)"] * len(values))
                connection.execute(
                    "INSERT INTO mentions (source_id, key, kind, published_at, first_seen_at, updated_at, author,"
                    f" likes, replies, shares, views) VALUES {placeholders}",
                    [value for row in values for value in row],
                )
            elif operation[0] == "update":
                _, target, row = operation
                assert isinstance(row, tuple)
                connection.execute(
                    "UPDATE mentions SET source_id = %s, published_at = %s, author = %s, likes = %s, replies = %s,"
                    " shares = %s, views = %s WHERE id = (SELECT id FROM mentions ORDER BY id OFFSET %s LIMIT 1)",
                    (*row, target),
                )
            elif operation[0] == "update_counts":
                _, modulo, likes = operation
                connection.execute("UPDATE mentions SET likes = %s WHERE id %% 4 = %s", (likes, modulo))
            else:
                connection.execute(
                    "DELETE FROM mentions WHERE id = (SELECT id FROM mentions ORDER BY id OFFSET %s LIMIT 1)",
                    (operation[1],),
                )
        hours = connection.execute(
            "SELECT * FROM mention_hours WHERE mentions <> 0 ORDER BY hour, source_id"
        ).fetchall()
        authors = connection.execute(
            "SELECT * FROM mention_hour_authors WHERE mentions <> 0 ORDER BY hour, source_id, author"
        ).fetchall()
        emptied = connection.execute(
            "SELECT * FROM mention_hours WHERE mentions = 0 AND (likes, likes_known, engagement, engagement_known)"
            " <> (0, 0, 0, 0)"
        ).fetchall()
        assert hours == connection.execute(_HOURS).fetchall()
        assert authors == connection.execute(_AUTHORS).fetchall()
        assert emptied == []
    finally:
        connection.rollback()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    attempts=st.lists(
        st.tuples(
            st.integers(0, 3 * 3600), st.sampled_from(["ok", "not modified", "failing", "rate-limited"])
        ),
        min_size=1,
        max_size=15,
    ),
    deletions=st.lists(st.integers(0, 15), max_size=6),
)
def test_poll_rollups_equal_a_group_by_after_inserts_and_deletes(
    migrated: psycopg.Connection[tuple[object, ...]], attempts: list[tuple[int, str]], deletions: list[int]
) -> None:
    connection = migrated
    try:
        connection.execute("INSERT INTO sources (id, name, type) VALUES (1, 'a', 'rss')")
        half = len(attempts) // 2  # two statements: the second upserts into hours the first made
        for part in (attempts[:half], attempts[half:]):
            if part:
                connection.execute(
                    "INSERT INTO polls (source_id, started_at, duration, status) VALUES "
                    + ", ".join(["(1, %s, 1, %s)"] * len(part)),
                    [value for row in part for value in row],
                )
        for offset in deletions:
            connection.execute(
                "DELETE FROM polls WHERE id = (SELECT id FROM polls ORDER BY id OFFSET %s LIMIT 1)", (offset,)
            )
        expected = connection.execute(
            """SELECT DISTINCT ON (h) h, 1::bigint, COUNT(*) OVER w, SUM((status IN ('ok', 'not modified'))::int) OVER w,
                   started_at * 2147483648 + id AS key, status
               FROM (SELECT *, started_at - started_at % 3600 AS h FROM polls) p
               WINDOW w AS (PARTITION BY h)
               ORDER BY h, key DESC"""
        ).fetchall()
        assert connection.execute("SELECT * FROM poll_hours ORDER BY hour").fetchall() == expected
        connection.execute(
            "INSERT INTO polls (source_id, started_at, duration, status) VALUES (1, 0, 1, 'ok')"
        )
        with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
            connection.execute("UPDATE polls SET status = 'ok'")
    finally:
        connection.rollback()
