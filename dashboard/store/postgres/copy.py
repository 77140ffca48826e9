"""Copy a SQLite store into an empty PostgreSQL database, ids kept, verified by counts.

`copy_store(sqlite_path, dsn, progress)` is the SQLite -> PostgreSQL half of `community-dashboard
store copy` (the other half is to_sqlite.py). Why it is built this way:

- One PostgreSQL transaction for the whole copy, the schema's creation included (DDL is transactional
  there): a copy that is refused, fails half-way or is killed leaves the target as it was (empty, no
  tables), never a store with mentions and no sources. The tables are locked meanwhile, and the
  migration lock is held to the commit: a poller or dashboard started on the target waits for the copy.
- COPY FROM STDIN per table, in foreign-key order, with the SQLite ids: alert and mention ids appear in
  other tables (mention_ids, alert_state values), so they must not be renumbered; the identity
  sequences are then set past the largest id so the next insert does not collide.
- Plain indexes and foreign keys are dropped for the load and made again at its end (each index built
  once, each key checked in one pass); the primary keys and unique constraints stay.
- The rollup tables (mention_hours, mention_hour_authors, poll_hours) and mentions.first_reply_at are
  copied as they are, with the rollup triggers disabled for the transaction: the same rows SQLite had (rows fallen to 0 included),
  and no trigger work over millions of rows. A check afterwards proves they match what was copied.
- The source must be at this version's schema (open it once with this version to migrate it), read
  through a read-only connection in one read transaction (one snapshot, so the counts compared at the
  end are those of the rows copied even while a poller writes), so the copy never changes the file.
- Text holding NUL, which SQLite stores and PostgreSQL cannot, is copied with U+FFFD in its place
  (as the PostgreSQL connection does for every write): one character lost rather than the store.

Refusals (a user's mistake: a target with rows, a source of another schema or program) raise
CopyRefused; anything that fails on the way raises CopyError; in both cases nothing was written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from dashboard.store import schema as sqlite_schema
from dashboard.store.db import StoreError, identify
from dashboard.store.postgres import schema

# Parents before children (the foreign keys are checked row by row during COPY).
TABLES = (
    "sources",
    "mentions",
    "engagement_history",
    "mention_links",
    "tracked_keywords",
    "keyword_mentions",
    "polls",
    "poll_days",
    "retention",
    "alerts",
    "alert_deliveries",
    "alert_attempts",
    "alert_state",
    "mention_hours",
    "mention_hour_authors",
    "mention_day_authors",
    "poll_hours",
    "sentiment_hours",
)
IDENTITY_TABLES = ("sources", "mentions", "tracked_keywords", "polls", "alerts")
ROLLUP_TRIGGERS = {
    "mentions": ("mentions_rollup_insert", "mentions_sentiment_insert", "mentions_day_authors_insert"),
    "polls": ("polls_rollup_insert",),
    "engagement_history": ("engagement_first_reply_insert",),  # first_reply_at is copied as it is
}
# What the rollups must add up to in any store: (rollup sum, the count it equals).
ROLLUP_SUMS = (
    ("SELECT COALESCE(SUM(mentions), 0) FROM mention_hours", "SELECT COUNT(*) FROM mentions"),
    ("SELECT COALESCE(SUM(mentions), 0) FROM mention_hour_authors", "SELECT COUNT(*) FROM mentions"),
    ("SELECT COALESCE(SUM(mentions), 0) FROM mention_day_authors", "SELECT COUNT(*) FROM mentions"),
    ("SELECT COALESCE(SUM(attempts), 0) FROM poll_hours", "SELECT COUNT(*) FROM polls"),
    (
        "SELECT COALESCE(SUM(positive + neutral + negative), 0) FROM sentiment_hours",
        "SELECT COUNT(*) FROM mentions WHERE sentiment_label IN ('positive', 'neutral', 'negative')",
    ),
)
BATCH = 5000

# progress(table, rows copied so far, rows in the table); total UNCOUNTED: a step without rows (FINISHING)
Progress = Callable[[str, int, int], None]
UNCOUNTED = -1
FINISHING = "indexes, keys and counts"  # the step after the last table: rebuilt, checked, compared
PgConnection = psycopg.Connection[tuple[object, ...]]


class CopyError(RuntimeError):
    """The copy failed; the target was left as it was."""


class CopyRefused(CopyError):
    """The copy was refused before anything was written (a user's mistake: the message says which)."""


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]  # per table, equal in both databases (verified)


def silent(table: str, done: int, total: int) -> None:
    """No progress shown."""


def copy_store(sqlite_path: Path | str, dsn: str, progress: Progress | None = None) -> CopyReport:
    """Copy the SQLite store at `sqlite_path` into the (empty or new) PostgreSQL database at `dsn`."""
    source = open_sqlite_source(Path(sqlite_path))
    try:
        source.execute("BEGIN")  # one snapshot for the reads and the counts that verify them
        with connect_postgres(dsn) as target:
            try:
                return _copy(source, target, progress or silent)
            except psycopg.Error as error:
                raise CopyError(
                    f"PostgreSQL refused the copy: {one_line(error)}; nothing was copied"
                ) from error
            except sqlite3.Error as error:
                raise CopyError(f"reading {sqlite_path} failed: {error}; nothing was copied") from error
    finally:
        source.close()


def open_sqlite_source(path: Path) -> sqlite3.Connection:
    """A read-only connection to a store at this version's schema, or CopyRefused saying why not."""
    if not path.is_file():
        raise CopyRefused(f"no SQLite store at {path}" + (" (it is a folder)" if path.is_dir() else ""))
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    source.create_function("nul_free", 1, _nul_free, deterministic=True)
    try:
        if identify(source, path):
            raise CopyRefused(f"{path} is an empty database: there is nothing to copy")
        version = int(source.execute("PRAGMA user_version").fetchone()[0])
        if version != sqlite_schema.SCHEMA_VERSION:
            raise CopyRefused(
                f"{path} is at schema {version}, this version copies schema {sqlite_schema.SCHEMA_VERSION}:"
                f" open it once with this version first (`community-dashboard --db {path}`, or `poll --once`),"
                " which migrates it; nothing was copied"
            )
    except StoreError as error:
        source.close()
        raise CopyRefused(str(error)) from error
    except sqlite3.Error as error:
        source.close()
        raise CopyRefused(f"{path} cannot be read as a SQLite store: {error}") from error
    except BaseException:
        source.close()
        raise
    return source


def _nul_free(value: str | bytes | int | float | None) -> str | bytes | int | float | None:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def connect_postgres(dsn: str) -> PgConnection:
    """A connection for the copy; a database that does not exist is the user's to create (refused)."""
    try:
        return psycopg.connect(dsn, application_name="community-dashboard store copy")
    except psycopg.Error as error:
        message = one_line(error)
        if "does not exist" in message:
            raise CopyRefused(f"{message}: create it first (createdb NAME), the copy fills it") from error
        raise CopyError(f"cannot connect to PostgreSQL: {message}") from error


def one_line(error: BaseException) -> str:
    """A driver's message on one line (psycopg's carry a DETAIL / CONTEXT on further lines)."""
    return " ".join(str(error).split())


def _copy(source: sqlite3.Connection, target: PgConnection, progress: Progress) -> CopyReport:
    rows: dict[str, int] = {}
    with target.transaction():
        try:
            _refuse_foreign(target)
            schema.migrate(target)  # savepoints inside this transaction: rolled back with it
        except schema.SchemaError as error:
            raise CopyRefused(f"the PostgreSQL database cannot take this store: {error}") from error
        target.execute(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
        for table in TABLES:
            found = target.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()
            if found and found[0]:
                raise CopyRefused(
                    f"the PostgreSQL database is not empty (table {table} has rows): nothing copied;"
                    " copy into a new database (createdb NAME)"
                )
        for table, triggers in ROLLUP_TRIGGERS.items():
            for trigger in triggers:
                target.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        restore = _drop_indexes_and_foreign_keys(target)
        for table in TABLES:
            rows[table] = _copy_table(source, target, table, progress)
        progress(FINISHING, 0, UNCOUNTED)
        target.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the index builds sort in memory
        for statement in restore:
            target.execute(statement)
        for table, triggers in ROLLUP_TRIGGERS.items():
            for trigger in triggers:
                target.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        for table in IDENTITY_TABLES:
            target.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            )
        verify(rows, lambda sql: _number(source.execute(sql).fetchone()), lambda sql: _pg_number(target, sql))
    return CopyReport(rows)


def _drop_indexes_and_foreign_keys(target: PgConnection) -> list[str]:
    """Drop our tables' plain indexes and foreign keys for the load; the SQL that restores them.

    Each index is then built once, sorted, and each foreign key checked in one pass, rather than both
    maintained row by row (with the same in to_sqlite.py, half the time of a 1M-mention copy). Primary keys and unique constraints stay: they
    catch a duplicate as it arrives. All of it inside the copy's transaction, like the rest.
    """
    tables = list(TABLES)
    keys = target.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) ORDER BY conrelid::regclass::text, conname",
        (tables,),
    ).fetchall()
    indexes = target.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid::regclass::text = ANY(%s) AND NOT indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = indexrelid)"
        " ORDER BY 1",
        (tables,),
    ).fetchall()
    for table, name, _ in keys:
        target.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        target.execute(f'DROP INDEX "{name}"')
    return [str(definition) for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in keys
    ]


def _refuse_foreign(target: PgConnection) -> None:
    """A database holding tables but no schema_version is someone else's: never add ours beside them."""
    if schema.current_version(target) > 0:
        return
    found = target.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " ORDER BY table_name LIMIT 6"
    ).fetchall()
    if found:
        names = ", ".join(str(row[0]) for row in found[:5]) + (", ..." if len(found) > 5 else "")
        raise CopyRefused(
            f"the PostgreSQL database is not empty (it holds the tables {names}, and is not a"
            " community-dashboard store): nothing copied; copy into a new database (createdb NAME)"
        )


def columns(target: PgConnection, table: str) -> list[str]:
    found = target.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [str(row[0]) for row in found]


def _copy_table(source: sqlite3.Connection, target: PgConnection, table: str, progress: Progress) -> int:
    names = columns(target, table)
    info = source.execute(f"PRAGMA table_info({table})").fetchall()
    if sorted(names) != sorted(str(row[1]) for row in info):
        raise CopyError(
            f"{table}: the columns differ (SQLite {[row[1] for row in info]}, PostgreSQL {names})"
        )
    texts = {str(row[1]) for row in info if str(row[2]).upper() == "TEXT"}
    # NUL -> U+FFFD: SQLite's C code finds the rare values holding one, Python mends only those.
    selected = ", ".join(
        f'CASE WHEN instr(CAST("{n}" AS BLOB), x\'00\') THEN nul_free("{n}") ELSE "{n}" END'
        if n in texts
        else f'"{n}"'
        for n in names
    )
    listed = ", ".join(f'"{name}"' for name in names)
    total = int(source.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    progress(table, 0, total)
    done = 0
    cursor = source.execute(f"SELECT {selected} FROM {table}")
    with target.cursor() as out, out.copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
        while batch := cursor.fetchmany(BATCH):
            for row in batch:
                copy.write_row(row)
            done += len(batch)
            progress(table, done, total)
    return done


def _number(row: tuple[object, ...] | None) -> int:
    return -1 if row is None or row[0] is None else int(str(row[0]))


def _pg_number(connection: PgConnection, sql: str) -> int:
    return _number(connection.execute(sql).fetchone())


def verify(rows: dict[str, int], source: Callable[[str], int], target: Callable[[str], int]) -> None:
    """Per-table counts equal on both sides and to what was copied, and the copied rollups add up to
    the copied rows; `source` and `target` run one SQL query (both dialects) and return its number."""
    for table, copied in rows.items():
        there, here = source(f"SELECT COUNT(*) FROM {table}"), target(f"SELECT COUNT(*) FROM {table}")
        if not here == there == copied:
            raise CopyError(f"{table}: {there} rows in the source, {copied} copied, {here} in the target")
    for rollup, count in ROLLUP_SUMS:
        summed, counted = target(rollup), target(count)
        if summed != counted:
            raise CopyError(
                f"the copied rollups disagree with the copied rows: {rollup} = {summed}, {count} = {counted}"
            )
