"""Benchmark: a cold poll's writes into PostgreSQL vs SQLite (issue 15: PostgreSQL within 1.5x of SQLite).

    python -m bench.bench_pg_write                    # 1,000 sources x 50 mentions, side by side
    python -m bench.bench_pg_write --sources 200

The store side of a cold poll of 1,000 feeds x 50 entries (50,000 new mentions, bench_poll's shape),
without network or parser: one transaction per source, as `Store.save_poll` does (look up the keys
already stored, insert the new mentions, one `polls` row, update the source), so the per-transaction
cost that decides a poll shows. Measured, each into a fresh database, in one run:

- sqlite writer:       the real `Store.save_poll` (WAL, synchronous=NORMAL), links not given;
- sqlite executemany:  the same statements by plain executemany into the same SQLite schema;
- pg row by row:       one `execute` per mention (a round trip each: the baseline to avoid);
- pg executemany:      psycopg's executemany (which pipelines by itself since psycopg 3.1);
- pg pipeline:         the whole transaction in one explicit pipeline (one sync per poll);
- pg one multi-row insert: one INSERT ... VALUES (...), (...) of the poll's rows;
- pg copy:             the mentions by COPY FROM STDIN (text format) in the transaction.

PostgreSQL runs in a throwaway cluster (tests/pg.py) over its Unix socket with fsync on and
synchronous_commit off: the durability of SQLite's WAL + synchronous=NORMAL (a crash keeps the database
consistent, and may lose the last commits). The rollup triggers of schema migration 5 run in both.
Wall seconds of the writes alone (setup and row building excluded). Results:
bench/results/pg_write.json.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.common import describe_machine, machine_info, write_results
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store import schema as sqlite_schema
from dashboard.store.postgres import schema as pg_schema
from dashboard.store.writer import Store
from tests.pg import start_cluster

T0 = datetime(2026, 11, 1, tzinfo=UTC)
EPOCH0 = int(T0.timestamp())
COLUMNS = (
    "source_id, key, kind, url, title, author, published_at, first_seen_at, updated_at, summary, "
    "likes, replies, shares, views"
)
Row = tuple[Any, ...]


def _rows(feed: int, entries: int) -> list[Row]:
    """The mentions rows of one feed's cold poll (source_id filled in by the writer)."""
    site = f"https://blog{feed}.example.org"
    return [
        (
            feed + 1,
            f"{site}/?p={10_000 + item}",
            "post",
            f"{site}/posts/{item}",
            f"Post {item} of blog {feed}",
            "someone",
            EPOCH0 + 60 * item,
            EPOCH0,
            EPOCH0,
            f"Some words about post {item} of blog {feed}, as a feed's description would hold them. " * 3,
            None,
            None,
            None,
            None,
        )
        for item in range(entries)
    ]


def _poll_row(source_id: int, hour: int) -> Row:
    return (source_id, EPOCH0 + hour * 3600, 0.1, "ok", 200, 20_000, 50, 0, "", "", 0, None, "")


_POLL = """INSERT INTO polls (source_id, started_at, duration, status, http_status, bytes, new, updated,
    error_class, error, consecutive_failures, next_poll_at, notes) VALUES ({})"""
_SOURCE = "UPDATE sources SET status = 'ok', last_attempt_at = {0}, last_success_at = {0}, http_status = 200 WHERE id = {0}"


# -- SQLite -------------------------------------------------------------------------------------------


def sqlite_writer(folder: Path, sources: int, entries: int) -> float:
    configs = [
        SourceConfig(name=f"blog {n}", type="feed", interval=900, url=f"https://blog{n}.example.org/feed")
        for n in range(sources)
    ]
    batches = []
    for n in range(sources):
        batches.append(
            tuple(
                Mention(
                    key=row[1],
                    kind=MentionKind.POST,
                    url=row[3],
                    title=row[4],
                    author=row[5],
                    published=datetime.fromtimestamp(row[6], UTC),
                    summary=row[9],
                )
                for row in _rows(n, entries)
            )
        )
    update = SourceUpdate(SourceStatus.OK, T0 + timedelta(minutes=15), 0)
    with Store.open(folder / "writer.db") as store:
        store.sync_sources(configs, {config.name: "x" for config in configs})
        started = time.perf_counter()
        for config, mentions in zip(configs, batches, strict=True):
            record = PollRecord(config.name, T0, 0.1, SourceStatus.OK)
            store.save_poll(config, record, update, PollOutcome(mentions=mentions))
        return time.perf_counter() - started


def sqlite_executemany(folder: Path, sources: int, entries: int) -> float:
    db = sqlite3.connect(folder / "plain.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    sqlite_schema.migrate(db)
    db.executemany(
        "INSERT INTO sources (id, name, type) VALUES (?, ?, 'feed')",
        [(n + 1, f"blog {n}") for n in range(sources)],
    )
    batches = [_rows(n, entries) for n in range(sources)]
    marks = ", ".join("?" * 14)
    started = time.perf_counter()
    for n, rows in enumerate(batches):
        db.execute("BEGIN IMMEDIATE")
        keys = [row[1] for row in rows]
        db.execute(
            f"SELECT key FROM mentions WHERE source_id = ? AND key IN ({','.join('?' * len(keys))})",
            (n + 1, *keys),
        ).fetchall()
        db.executemany(f"INSERT INTO mentions ({COLUMNS}) VALUES ({marks})", rows)
        db.execute(_POLL.format(", ".join("?" * 13)), _poll_row(n + 1, 0))
        db.execute(_SOURCE.format(n + 1))
        db.execute("COMMIT")
    spent = time.perf_counter() - started
    db.close()
    return spent


# -- PostgreSQL ---------------------------------------------------------------------------------------

_PG_MARKS = ", ".join(["%s"] * 14)
_PG_INSERT = f"INSERT INTO mentions ({COLUMNS}) VALUES ({_PG_MARKS})"
_PG_POLL = _POLL.format(", ".join(["%s"] * 13))
_PG_EXISTING = "SELECT key FROM mentions WHERE source_id = %s AND key = ANY(%s)"


def _pg_prepare(dsn: str, sources: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench")
        admin.execute("CREATE DATABASE bench")
    with psycopg.connect(_bench_dsn(dsn)) as connection:
        pg_schema.migrate(connection)
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO sources (id, name, type) VALUES (%s, %s, 'feed')",
                [(n + 1, f"blog {n}") for n in range(sources)],
            )


def _bench_dsn(dsn: str) -> str:
    return dsn.replace("dbname=postgres", "dbname=bench")


def _pg_run(
    dsn: str,
    sources: int,
    entries: int,
    write: Callable[[psycopg.Cursor[Row], list[Row]], None],
    pipeline: bool = False,
    triggers: bool = True,
) -> float:
    _pg_prepare(dsn, sources)
    if not triggers:
        with psycopg.connect(_bench_dsn(dsn)) as connection:
            connection.execute("ALTER TABLE mentions DISABLE TRIGGER mentions_rollup_insert")
    batches = [_rows(n, entries) for n in range(sources)]
    with psycopg.connect(_bench_dsn(dsn)) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        for n, rows in enumerate(batches):
            if pipeline:
                with connection.pipeline(), connection.transaction():
                    # the existing keys are needed before the inserts: the one sync inside the pipeline
                    cursor.execute(_PG_EXISTING, (n + 1, [row[1] for row in rows]))
                    cursor.fetchall()
                    write(cursor, rows)
                    cursor.execute(_PG_POLL, _poll_row(n + 1, 0))
                    cursor.execute(_SOURCE.format(n + 1))
            else:
                with connection.transaction():
                    cursor.execute(_PG_EXISTING, (n + 1, [row[1] for row in rows]))
                    cursor.fetchall()
                    write(cursor, rows)
                    cursor.execute(_PG_POLL, _poll_row(n + 1, 0))
                    cursor.execute(_SOURCE.format(n + 1))
        spent = time.perf_counter() - started
        count = connection.execute(
            "SELECT count(*), (SELECT sum(mentions) FROM mention_hours) FROM mentions"
        ).fetchone()
    assert count == (sources * entries, sources * entries if triggers else None), count
    return spent


def _row_by_row(cursor: psycopg.Cursor[Row], rows: list[Row]) -> None:
    for row in rows:
        cursor.execute(_PG_INSERT, row)


def _executemany(cursor: psycopg.Cursor[Row], rows: list[Row]) -> None:
    cursor.executemany(_PG_INSERT, rows)


def _multirow(cursor: psycopg.Cursor[Row], rows: list[Row]) -> None:
    """One INSERT of every row: one statement, so the statement-level rollup trigger runs once."""
    values = ", ".join([f"({_PG_MARKS})"] * len(rows))
    cursor.execute(f"INSERT INTO mentions ({COLUMNS}) VALUES {values}", [v for row in rows for v in row])


def _copy(cursor: psycopg.Cursor[Row], rows: list[Row]) -> None:
    with cursor.copy(f"COPY mentions ({COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    args = parser.parse_args(argv)
    sources, entries = args.sources, args.entries
    cluster, dsn = start_cluster(durable=True)
    results: dict[str, dict[str, float]] = {}
    try:
        folder = Path(tempfile.mkdtemp(prefix="bench-pg-write-"))
        runs: list[tuple[str, Callable[[], float]]] = [
            ("sqlite writer (Store.save_poll)", lambda: sqlite_writer(folder, sources, entries)),
            ("sqlite executemany", lambda: sqlite_executemany(folder, sources, entries)),
            ("pg row by row", lambda: _pg_run(dsn, sources, entries, _row_by_row)),
            ("pg executemany", lambda: _pg_run(dsn, sources, entries, _executemany)),
            ("pg executemany, pipeline", lambda: _pg_run(dsn, sources, entries, _executemany, pipeline=True)),
            ("pg one multi-row insert", lambda: _pg_run(dsn, sources, entries, _multirow)),
            ("pg copy", lambda: _pg_run(dsn, sources, entries, _copy)),
            # Diagnostic: what the rollup trigger of migration 5 costs (no rollups kept: not a store).
            (
                "pg executemany, no rollup trigger",
                lambda: _pg_run(dsn, sources, entries, _executemany, triggers=False),
            ),
            ("pg copy, no rollup trigger", lambda: _pg_run(dsn, sources, entries, _copy, triggers=False)),
        ]
        for name, run in runs:
            results[name] = {"wall_s": run()}
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)
    base = results["sqlite writer (Store.save_poll)"]["wall_s"]
    plain = results["sqlite executemany"]["wall_s"]
    info = machine_info()
    print(describe_machine(info))
    print(f"{sources} sources x {entries} mentions, one transaction per source, wall seconds:")
    for name, numbers in results.items():
        numbers["vs_sqlite_writer"] = numbers["wall_s"] / base
        numbers["vs_sqlite_executemany"] = numbers["wall_s"] / plain
        print(
            f"  {name:34} {numbers['wall_s']:6.2f} s  x{numbers['vs_sqlite_writer']:.2f} of the writer, x{numbers['vs_sqlite_executemany']:.2f} of plain sqlite"
        )
    write_results("pg_write", {"machine": info, "parameters": vars(args), "results": results})


if __name__ == "__main__":
    main()
