"""The store's tests run against both backends: `database` is a SQLite file or a PostgreSQL URL.

A test module that takes the `database` fixture runs each test twice, `[sqlite]` and `[postgresql]`;
the PostgreSQL half gets a fresh database in the cluster tests/pg.py starts (and FAILS when PostgreSQL
cannot be started: a store suite that skipped its PostgreSQL half would prove nothing).

    from tests.backends import database_fixture, rows  # noqa: F401  (the `database` fixture)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from dashboard.store.db import Database, connect, connect_sqlite
from dashboard.store.postgres.connection import PgConnection
from dashboard.store.postgres.copy import TABLES
from tests.pg import new_database_url

BACKENDS = ("sqlite", "postgresql")


def new_store(backend: str, folder: Path, name: str = "store.db") -> Database:
    """Where a fresh store of `backend` lives (nothing created yet for SQLite; an empty database for
    PostgreSQL)."""
    return folder / name if backend == "sqlite" else new_database_url()


@pytest.fixture(name="database", params=BACKENDS)
def database_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    return new_store(request.param, tmp_path)


def rows(database: Database | Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one query, read through a read-only connection of the store's own backend (SQL in
    the store's dialect: `?` placeholders). `database` may be a Store (its `path`)."""
    target = getattr(database, "path", database)
    connection = connect(target, readonly=True)
    try:
        return [tuple(row) for row in connection.execute(sql, params).fetchall()]
    finally:
        connection.close()


# The store's tables, parents first (store copy's order), without the rollups: PostgreSQL's
# statement triggers build them from the mentions and polls copied, so a test reading both stores
# also checks that the triggers of the two backends agree.
ROLLUP_TABLES = (
    "mention_hours",
    "mention_hour_authors",
    "mention_day_authors",
    "poll_hours",
    "sentiment_hours",
)
COPIED_TABLES = tuple(table for table in TABLES if table not in ROLLUP_TABLES)


def copy_into_postgres(path: Path, url: str | None = None) -> str:
    """The SQLite store at `path`, row for row (ids kept), into a fresh PostgreSQL database, by COPY
    (which fires the rollup statement triggers once per table)."""
    url = url or new_database_url()
    source = connect_sqlite(path, readonly=True)
    target = connect(url)  # creates and migrates the schema
    assert isinstance(target, PgConnection)
    try:
        with target.raw.transaction(), target.raw.cursor() as cursor:
            for table in COPIED_TABLES:
                columns = ", ".join(row[1] for row in source.execute(f"PRAGMA table_info({table})"))
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in source.execute(f"SELECT {columns} FROM {table}"):
                        copy.write_row(row)
    finally:
        source.close()
        target.close()
    return url
