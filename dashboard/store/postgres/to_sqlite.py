"""Copy a PostgreSQL store into a new SQLite file, ids kept, verified by counts.

`copy_to_sqlite(dsn, path, progress)` is the PostgreSQL -> SQLite half of `community-dashboard store
copy` (copy.py is the other half, and holds what both share). Why it is built this way:

- The file is written beside the target under a temporary name and renamed onto it only once every
  count agreed: a copy that fails, or is killed, never leaves a half-written store at the target's
  name (a failure removes the temporary file; a kill -9 leaves it, named `.NAME.partial-PID`).
- The target must not exist or be empty (0 bytes, or a SQLite file without tables): the copy never
  mixes into, nor replaces, a store.
- The new file is created and migrated by `dashboard.store.db.connect`, as any store is, then filled
  in one SQLite transaction (rollback journal, not WAL, for it: a WAL would grow to the whole store).
- The rows are streamed through a server-side cursor (BATCH rows a round trip: 2.5-5x less CPU than
  COPY TO STDOUT, which psycopg hands over one row per call), in one REPEATABLE READ read-only
  PostgreSQL transaction: one snapshot, so the counts compared at the end are those of the rows
  copied even while a poller writes; memory stays flat however many rows.
- SQLite's triggers (the rollups kept on insert into mentions and polls) and indexes are dropped for
  the copy and created again from their own SQL before the commit: the rollup tables are copied as
  they are, not counted twice, no trigger runs per row and each index is built once, sorted. Foreign
  keys are checked once at the end (`PRAGMA foreign_key_check`) rather than per row.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import psycopg

from dashboard.store import schema as sqlite_schema
from dashboard.store.db import StoreError, connect, identify
from dashboard.store.postgres import schema
from dashboard.store.postgres.copy import (
    BATCH,
    FINISHING,
    TABLES,
    UNCOUNTED,
    CopyError,
    CopyRefused,
    CopyReport,
    PgConnection,
    Progress,
    columns,
    connect_postgres,
    one_line,
    silent,
    verify,
)


def copy_to_sqlite(dsn: str, path: Path | str, progress: Progress | None = None) -> CopyReport:
    """Copy the PostgreSQL store at `dsn` into the SQLite file `path` (new, or empty)."""
    path = Path(path)
    refuse_unless_empty(path)
    with connect_postgres(dsn) as source:
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        source.read_only = True
        partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        try:
            with source.transaction():
                _refuse_other_schema(source)
                rows = _fill(source, partial, progress or silent)
            refuse_unless_empty(path)  # nobody put a store there meanwhile
            _sync(partial)
            os.replace(partial, path)
            _sync(path.parent)
        except psycopg.Error as error:
            _remove(partial)
            raise CopyError(f"reading PostgreSQL failed: {one_line(error)}; nothing was written") from error
        except sqlite3.Error as error:
            _remove(partial)
            raise CopyError(f"writing {path} failed: {error}; nothing was written") from error
        except BaseException:
            _remove(partial)
            raise
    return CopyReport(rows)


def refuse_unless_empty(path: Path) -> None:
    """CopyRefused unless `path` is free for a new store: missing, 0 bytes, or SQLite without tables."""
    if path.is_dir():
        raise CopyRefused(f"{path} is a folder: give the SQLite file to create")
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:  # renamed onto, the file would get another's WAL
        raise CopyRefused(f"{path} is in use (it has a write-ahead log, {wal.name}): copy into a new file")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        existing = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise CopyRefused(f"{path} exists and cannot be read ({error}): copy into a new file") from error
    try:
        if identify(existing, path):
            return
        mentions = existing.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
        detail = f"a store with {mentions:,} mentions"
    except (StoreError, sqlite3.Error):
        detail = "a file that is not an empty store"
    finally:
        existing.close()
    raise CopyRefused(f"{path} already exists and holds {detail}: nothing copied; copy into a new file")


def _refuse_other_schema(source: PgConnection) -> None:
    try:
        version = schema.current_version(source)
    except schema.SchemaError as error:
        raise CopyRefused(f"the PostgreSQL database is not a community-dashboard store: {error}") from error
    if version == 0:
        raise CopyRefused("the PostgreSQL database holds no community-dashboard store: nothing to copy")
    if version != schema.SCHEMA_VERSION or version != sqlite_schema.SCHEMA_VERSION:
        raise CopyRefused(
            f"the PostgreSQL store is at schema {version}, this version copies schema {schema.SCHEMA_VERSION}:"
            " use the community-dashboard that writes it; nothing was copied"
        )


def _fill(source: PgConnection, partial: Path, progress: Progress) -> dict[str, int]:
    """Create the store at `partial` and copy every table into it in one transaction, verified."""
    _remove(partial)  # a leftover of a killed copy by a process of the same id
    connect(partial).close()  # created and migrated like any store
    target = sqlite3.connect(partial, isolation_level=None)
    try:
        target.execute("PRAGMA journal_mode = DELETE")
        target.execute("PRAGMA foreign_keys = OFF")  # checked once at the end, not row by row
        target.execute("BEGIN IMMEDIATE")
        # Triggers (the rollups) and indexes off for the load, back from their own SQL before the commit.
        dropped = target.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index') AND sql IS NOT NULL"
        ).fetchall()
        for kind, name, _ in dropped:
            target.execute(f'DROP {kind.upper()} "{name}"')
        rows = {table: _copy_table(source, target, table, progress) for table in TABLES}
        progress(FINISHING, 0, UNCOUNTED)
        for _, _, sql in dropped:
            target.execute(sql)
        broken = target.execute("PRAGMA foreign_key_check").fetchmany(3)
        if broken:
            raise CopyError(f"rows whose parent is missing (table, rowid, parent): {broken}")
        verify(rows, lambda sql: _pg_count(source, sql), lambda sql: int(target.execute(sql).fetchone()[0]))
        target.execute("COMMIT")
        target.execute("PRAGMA journal_mode = WAL")  # what every store is
    finally:
        target.close()
    return rows


def _pg_count(source: PgConnection, sql: str) -> int:
    row = source.execute(sql).fetchone()
    return -1 if row is None else int(str(row[0]))


def _copy_table(source: PgConnection, target: sqlite3.Connection, table: str, progress: Progress) -> int:
    names = [str(row[1]) for row in target.execute(f"PRAGMA table_info({table})")]
    theirs = columns(source, table)
    if sorted(names) != sorted(theirs):
        raise CopyError(f"{table}: the columns differ (SQLite {names}, PostgreSQL {theirs})")
    listed = ", ".join(f'"{name}"' for name in names)
    insert = f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' * len(names))})"
    total = _pg_count(source, f"SELECT COUNT(*) FROM {table}")
    progress(table, 0, total)
    done = 0
    with source.cursor(name=f"store_copy_{table}") as cursor:  # server-side: BATCH rows a round trip
        cursor.execute(f"SELECT {listed} FROM {table}")
        while batch := cursor.fetchmany(BATCH):
            target.executemany(insert, batch)
            done += len(batch)
            progress(table, done, total)
    return done


def _sync(path: Path) -> None:
    """The file (or folder entry) on disk before the rename makes it the store."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(partial: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
