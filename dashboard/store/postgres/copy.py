"""Copy a SQLite store into an empty PostgreSQL database, ids kept, verified by counts.

`copy_store(sqlite_path, dsn, progress)` is the engine of the future `community-dashboard store copy`
(issue 15; not wired to the CLI yet). Why it is built this way:

- One PostgreSQL transaction for the whole copy: a copy that fails half-way leaves the target as it was
  (empty), never a store with mentions and no sources.
- COPY FROM STDIN per table, in foreign-key order, with the SQLite ids: alert and mention ids appear in
  other tables (mention_ids, alert_state values), so they must not be renumbered; the identity
  sequences are then set past the largest id so the next insert does not collide.
- The rollup tables (mention_hours, mention_hour_authors, poll_hours) are copied as they are, with the
  rollup triggers disabled for the transaction: the same rows SQLite had (rows fallen to 0 included),
  and no trigger work over millions of rows. A check afterwards proves they match what was copied.
- The source must be at this version's schema (open it once with this version to migrate it), read
  through a read-only connection, so the copy never changes the user's file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from dashboard.store import schema as sqlite_schema
from dashboard.store.postgres import schema

# Parents before children (the foreign keys are checked row by row during COPY).
TABLES = (
    "sources",
    "mentions",
    "engagement_history",
    "mention_links",
    "polls",
    "poll_days",
    "retention",
    "alerts",
    "alert_deliveries",
    "alert_attempts",
    "alert_state",
    "mention_hours",
    "mention_hour_authors",
    "poll_hours",
)
IDENTITY_TABLES = ("sources", "mentions", "polls", "alerts")
ROLLUP_TRIGGERS = {"mentions": ("mentions_rollup_insert",), "polls": ("polls_rollup_insert",)}
_BATCH = 5000

# progress(table, rows copied so far, rows in the table)
Progress = Callable[[str, int, int], None]


class CopyError(RuntimeError):
    """The copy was refused or failed; the target was left as it was."""


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]  # per table, equal in both databases (verified)


def copy_store(sqlite_path: Path | str, dsn: str, progress: Progress | None = None) -> CopyReport:
    """Copy the SQLite store at `sqlite_path` into the (empty or new) PostgreSQL database at `dsn`."""
    source = sqlite3.connect(f"file:{Path(sqlite_path)}?mode=ro", uri=True)
    try:
        version = int(source.execute("PRAGMA user_version").fetchone()[0])
        if version != sqlite_schema.SCHEMA_VERSION:
            raise CopyError(
                f"{sqlite_path} is at schema {version}, this version copies schema "
                f"{sqlite_schema.SCHEMA_VERSION}: open it once with this version first"
            )
        with psycopg.connect(dsn) as target:
            schema.migrate(target)
            return _copy(source, target, progress or _silent)
    finally:
        source.close()


def _silent(table: str, done: int, total: int) -> None:
    """No progress shown."""


def _copy(
    source: sqlite3.Connection, target: psycopg.Connection[tuple[object, ...]], progress: Progress
) -> CopyReport:
    rows: dict[str, int] = {}
    with target.transaction():
        for table in TABLES:
            found = target.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()
            if found and found[0]:
                raise CopyError(
                    f"the PostgreSQL database is not empty (table {table} has rows): nothing copied"
                )
        for table, triggers in ROLLUP_TRIGGERS.items():
            for trigger in triggers:
                target.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        for table in TABLES:
            rows[table] = _copy_table(source, target, table, progress)
        for table, triggers in ROLLUP_TRIGGERS.items():
            for trigger in triggers:
                target.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        for table in IDENTITY_TABLES:
            target.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            )
        _verify(source, target, rows)
    return CopyReport(rows)


def _columns(target: psycopg.Connection[tuple[object, ...]], table: str) -> list[str]:
    found = target.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [str(row[0]) for row in found]


def _copy_table(
    source: sqlite3.Connection, target: psycopg.Connection[tuple[object, ...]], table: str, progress: Progress
) -> int:
    columns = ", ".join(f'"{name}"' for name in _columns(target, table))
    total = int(source.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    progress(table, 0, total)
    done = 0
    cursor = source.execute(f"SELECT {columns} FROM {table}")
    with target.cursor() as out, out.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        while batch := cursor.fetchmany(_BATCH):
            for row in batch:
                copy.write_row(row)
            done += len(batch)
            progress(table, done, total)
    return done


def _verify(
    source: sqlite3.Connection, target: psycopg.Connection[tuple[object, ...]], rows: dict[str, int]
) -> None:
    """Per-table counts equal on both sides, and the rollups equal what the copied rows make."""
    for table, copied in rows.items():
        row = target.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        here = int(str(row[0])) if row else -1
        there = int(source.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        if not here == there == copied:
            raise CopyError(f"{table}: {there} rows in SQLite, {here} in PostgreSQL after the copy")
    sums = target.execute(
        "SELECT (SELECT COUNT(*) FROM mentions), (SELECT COALESCE(SUM(mentions), 0) FROM mention_hours),"
        " (SELECT COUNT(*) FROM polls), (SELECT COALESCE(SUM(attempts), 0) FROM poll_hours)"
    ).fetchone()
    if sums is None or sums[0] != sums[1] or sums[2] != sums[3]:
        raise CopyError(f"the copied rollups disagree with the copied rows: {sums}")
