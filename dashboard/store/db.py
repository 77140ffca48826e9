"""Opening the SQLite database the way every reader and writer must: WAL, migrated, bounded WAL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from dashboard.store.schema import migrate

BUSY_TIMEOUT_MS = 10_000
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


class StoreError(Exception):
    """The database cannot be opened or written (locked, corrupt, disk full, newer schema)."""


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and, for writers, create and migrate) the store at `path`.

    Readers open with `mode=ro`, so a second dashboard or an export never writes; WAL lets them
    read while the poller writes.
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
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not readonly:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            connection.execute("PRAGMA foreign_keys = ON")
            migrate(connection)
        return connection
    except sqlite3.Error as error:
        raise StoreError(f"cannot open the database {path}: {error}") from error


def checkpoint(connection: sqlite3.Connection) -> None:
    """Fold the WAL back into the database; a long-lived reader otherwise lets it grow."""
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")


def to_epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int | float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
