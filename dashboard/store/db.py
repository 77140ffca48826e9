"""Opening the store the way every reader and writer must, on either backend.

The store is a SQLite file (the embedded default: WAL, migrated, bounded WAL) or a PostgreSQL
database (a team's shared store, `postgresql://...`). Both are opened here and answer the same
`Connection` methods, so the writer, the reader, the alert log and the background passes are written
once; what really differs between the two (a table's existence, WAL checkpoints, freeing pages,
streaming a big SELECT, telling dashboards about a change) is a method of each connection.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from dashboard.database import Database, display_name, is_postgres
from dashboard.store.schema import APPLICATION_ID, OUR_TABLES, SCHEMA_VERSION, migrate

__all__ = [
    "Connection",
    "Database",
    "SqliteConnection",
    "StoreError",
    "connect",
    "display_name",
    "is_postgres",
]

BUSY_TIMEOUT_MS = 10_000
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
AUTO_VACUUM_INCREMENTAL = 2  # what `PRAGMA auto_vacuum` reads for INCREMENTAL


class StoreError(Exception):
    """The database cannot be opened or written (locked, corrupt, disk full, newer schema)."""


class Cursor(Protocol):
    """What the store reads of a cursor (sqlite3's and psycopg's both have it)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


class Changes(Protocol):
    """What an executemany answers: how many rows its statements changed."""

    @property
    def rowcount(self) -> int: ...


class Connection(Protocol):
    """A store connection of either backend: SQLite's (`SqliteConnection`) or PostgreSQL's
    (`dashboard.store.postgres.connection.PgConnection`). SQL is written in SQLite's dialect, kept to
    what PostgreSQL speaks too; the PostgreSQL side translates placeholders and a few names."""

    backend: str

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Changes: ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...

    def has_table(self, name: str) -> bool: ...

    def checkpoint(self) -> None: ...

    def free_pages(self) -> int: ...

    def stream(self, sql: str, params: Sequence[Any], size: int) -> Iterator[list[Any]]: ...

    def announce_change(self) -> None: ...

    def recover(self, wait: float = ...) -> bool: ...

    def identity(self) -> str | None: ...


class SqliteConnection(sqlite3.Connection):
    """sqlite3's connection (its `execute` untouched: no cost per statement) with the methods that
    differ between the backends."""

    backend = "sqlite"

    def has_table(self, name: str) -> bool:
        found = self.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return found.fetchone() is not None

    def checkpoint(self) -> None:
        """Fold the WAL back into the database; a long-lived reader otherwise lets it grow."""
        self.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def free_pages(self) -> int:
        """Give free pages back to the file system; how many. A database created before auto_vacuum
        was set (auto_vacuum NONE) keeps its size: its free pages are reused by new rows, so the file
        stops growing; only a full `VACUUM` with the poller stopped shrinks it."""
        if self.execute("PRAGMA auto_vacuum").fetchone()[0] != AUTO_VACUUM_INCREMENTAL:
            return 0
        before = int(self.execute("PRAGMA freelist_count").fetchone()[0])
        # Through sqlite3_exec: `execute` steps the pragma once, which frees a single page.
        self.executescript("PRAGMA incremental_vacuum;")
        return before - int(self.execute("PRAGMA freelist_count").fetchone()[0])

    def stream(self, sql: str, params: Sequence[Any], size: int) -> Iterator[list[Any]]:
        """The rows of one SELECT in lists of `size`: one statement, so one snapshot (WAL)."""
        cursor = self.execute(sql, params)
        try:
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            cursor.close()

    def announce_change(self) -> None:
        """Nothing to send: SQLite dashboards look at `StoreReader.change_marker`, two rowid reads."""

    def recover(self, wait: float = 0.0) -> bool:
        """A file is never disconnected: nothing to reopen."""
        return False

    def identity(self) -> str | None:
        """This file, for what readers remember across connections: its path (None in memory)."""
        row = self.execute("PRAGMA database_list").fetchone()  # (seq, name, file) of "main"
        return f"sqlite:{row[2]}" if row is not None and row[2] else None


def changes(database: Database, *, every: float = 1.0, stopped: Callable[[], bool]) -> Iterator[int]:
    """For a PostgreSQL store: blocks, and yields (how many polls were stored) at most once per `every`
    seconds after the poller stored something (LISTEN/NOTIFY), until `stopped()`. Dashboards refresh
    on it instead of asking the database every few seconds. A SQLite store yields nothing (its readers
    look at `StoreReader.change_marker`, two rowid reads)."""
    if not is_postgres(database):
        return
    import psycopg

    from dashboard.store.postgres.connection import listen

    listener: psycopg.Connection[Any] | None = None
    try:
        while not stopped():
            try:
                if listener is None or listener.closed or listener.broken:
                    listener = listen(str(database))
                    yield 0  # (re)connected: whatever was stored meanwhile is worth a look
                count = sum(1 for _ in listener.notifies(timeout=every))
            except psycopg.OperationalError:  # the server restarted: listen again in a moment
                time.sleep(every)
                continue
            if count:
                yield count
    finally:
        if listener is not None:
            listener.close()


def database_errors() -> tuple[type[Exception], ...]:
    """The exceptions of both drivers (psycopg only when it is installed)."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def connect(database: Database, *, readonly: bool = False) -> Connection:
    """Open (and, for writers, create and migrate) the store at `database`: a SQLite path or a
    PostgreSQL URL."""
    if is_postgres(database):
        return _connect_postgres(str(database), readonly=readonly)
    return connect_sqlite(database, readonly=readonly)


def _connect_postgres(url: str, *, readonly: bool) -> Connection:
    """PostgreSQL: the password comes from libpq ($PGPASSWORD, ~/.pgpass), never from feeds.toml."""
    try:
        import psycopg

        from dashboard.store.postgres import schema
        from dashboard.store.postgres.connection import PgConnection
    except ImportError as error:
        raise StoreError(
            f"{display_name(url)} is a PostgreSQL store, and PostgreSQL support is not installed "
            f"({error}): pip install 'community-dashboard[postgres]'"
        ) from error
    try:
        connection = PgConnection.open(url, readonly=readonly)
    except psycopg.Error as error:
        raise StoreError(f"cannot open the database {display_name(url)}: {error}".strip()) from error
    try:
        version = schema.current_version(connection.raw)
        if version > schema.SCHEMA_VERSION:
            raise StoreError(
                f"{display_name(url)} was written by a newer community-dashboard (schema version "
                f"{version}; this version supports up to {schema.SCHEMA_VERSION}): upgrade "
                "community-dashboard to use it; nothing was read or written"
            )
        if readonly and version == 0:
            raise StoreError(
                f"no community-dashboard data in {display_name(url)} yet: run `community-dashboard poll --once`"
            )
        if not readonly:
            schema.migrate(connection.raw)
    except schema.SchemaError as error:
        connection.close()
        raise StoreError(f"{display_name(url)}: {error}; refusing to change it") from error
    except psycopg.Error as error:
        connection.close()
        raise StoreError(f"cannot open the database {display_name(url)}: {error}") from error
    except BaseException:
        connection.close()
        raise
    return connection


def connect_sqlite(path: Path | str, *, readonly: bool = False) -> SqliteConnection:
    """Open (and, for writers, create and migrate) the SQLite store at `path`.

    Readers open with `mode=ro`, so a second dashboard or an export never writes; WAL lets them
    read while the poller writes. Before anything is changed the file is identified (`identify`): a
    database of another program, or one written by a newer version of this one, is refused, for
    reading too (a newer schema may mean something else by the same columns), and left as it was.
    """
    path = Path(path)
    try:
        if readonly:
            if not path.exists():
                raise StoreError(f"no database at {path} yet: run `community-dashboard poll --once`")
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                check_same_thread=False,
                factory=SqliteConnection,
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, factory=SqliteConnection
            )
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            empty = identify(connection, path)
            if not readonly:
                if empty:
                    # Only possible before the first table (or by a VACUUM, instant on an empty file):
                    # freed pages can then be given back to the file system by `PRAGMA
                    # incremental_vacuum` (the retention does, see writer.Store.apply_retention).
                    connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
                    if connection.execute("PRAGMA auto_vacuum").fetchone()[0] != AUTO_VACUUM_INCREMENTAL:
                        connection.execute("VACUUM")
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
                connection.execute("PRAGMA foreign_keys = ON")
                migrate(connection)
        except BaseException:
            connection.close()
            raise
        return connection
    except sqlite3.Error as error:
        raise StoreError(f"cannot open the database {path}: {error}") from error


def identify(connection: sqlite3.Connection, path: Path) -> bool:
    """True for an empty database (no tables yet: ours to create); None of the checks writes.

    Raises StoreError for a database of another program (an application id not ours, or tables
    without ours) and for one whose schema is newer than this program's.
    """
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    application = int(connection.execute("PRAGMA application_id").fetchone()[0])
    tables = {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
        )
    }
    if application not in (0, APPLICATION_ID):
        raise StoreError(
            f"{path} is not a community-dashboard database (SQLite application id {application:#x}): "
            "refusing to change it; give --db a new file"
        )
    if not tables and version == 0:
        return True
    if application != APPLICATION_ID and (version == 0 or not tables >= OUR_TABLES):
        found = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise StoreError(
            f"{path} is not a community-dashboard database (it holds the tables {found or 'none'}"
            f"{'' if version == 0 else f', schema version {version}'}): "
            "refusing to change it; give --db a new file"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer community-dashboard (schema version {version}; this version "
            f"supports up to {SCHEMA_VERSION}): upgrade community-dashboard to use it; nothing was read "
            "or written"
        )
    return False


# Rows per statement of `update_rows`.
UPDATE_CHUNK = 500


def update_rows(
    connection: Connection,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    *,
    key: str = "id",
    extra: Sequence[str] = (),
    condition: str = "",
) -> int:
    """Set `columns` (name, SQL type) to each row's first values where `key` equals the row's last
    value (`extra`: the SQL types of values between them, for `condition` to read),
    UPDATE_CHUNK rows a statement (`UPDATE ... FROM (VALUES ...)`, SQLite 3.33+ and PostgreSQL);
    returns the rows changed. One statement per chunk, not per row: PostgreSQL's rollup triggers run
    per statement (the opinion pass's 50,000 one-row UPDATEs took 22 s of its server's time, measured
    by bench/bench_pg_poll.py --statements). `condition` may name the values as v.columnN (1-based,
    the key being last) and the table's columns as `table.name`. Names are ours, never user input."""
    width = len(columns) + len(extra) + 1
    types = [kind for _, kind in columns] + list(extra) + ["BIGINT"]
    one_row = "(" + ", ".join(f"CAST(? AS {kind})" for kind in types) + ")"
    assignments = ", ".join(f"{name} = v.column{number}" for number, (name, _) in enumerate(columns, 1))
    where = f"{table}.{key} = v.column{width}" + (f" AND {condition}" if condition else "")
    changed = 0
    for start in range(0, len(rows), UPDATE_CHUNK):
        chunk = rows[start : start + UPDATE_CHUNK]
        values = ", ".join([one_row] * len(chunk))
        cursor = connection.execute(
            f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v WHERE {where}",
            [value for row in chunk for value in row],
        )
        changed += max(cursor.rowcount, 0)
    return changed


# Rows re-queued per transaction when a background pass's rules change (its version column bumped).
REQUEUE_SPAN = 20_000


def requeue_older(connection: Connection, version_column: str, version: int) -> None:
    """Mentions analysed under a version older than `version` back to pending (NULL), a range of ids
    per short transaction, so a poll's save never waits behind one long rewrite. `version_column` is
    one of our column names (links_version, opinion_version), never user input."""
    low, high = connection.execute(
        f"SELECT min(id), max(id) FROM mentions WHERE {version_column} < ?", (version,)
    ).fetchone()
    if low is None:
        return
    for start in range(low, high + 1, REQUEUE_SPAN):
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                f"UPDATE mentions SET {version_column} = NULL WHERE id >= ? AND id < ? AND {version_column} < ?",
                (start, start + REQUEUE_SPAN, version),
            )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def to_epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int | float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
