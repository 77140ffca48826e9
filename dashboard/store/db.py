"""Opening the SQLite database the way every reader and writer must: WAL, migrated, bounded WAL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from dashboard.store.schema import APPLICATION_ID, OUR_TABLES, SCHEMA_VERSION, migrate

BUSY_TIMEOUT_MS = 10_000
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
AUTO_VACUUM_INCREMENTAL = 2  # what `PRAGMA auto_vacuum` reads for INCREMENTAL


class StoreError(Exception):
    """The database cannot be opened or written (locked, corrupt, disk full, newer schema)."""


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and, for writers, create and migrate) the store at `path`.

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
                f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
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


# Rows re-queued per transaction when a background pass's rules change (its version column bumped).
REQUEUE_SPAN = 20_000


def requeue_older(connection: sqlite3.Connection, version_column: str, version: int) -> None:
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


def checkpoint(connection: sqlite3.Connection) -> None:
    """Fold the WAL back into the database; a long-lived reader otherwise lets it grow."""
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")


def to_epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int | float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
