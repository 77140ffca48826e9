"""Benchmark: every dashboard panel over 10M mentions in PostgreSQL, beside SQLite (issue 15: 24 h < 1 s,
30 d < 2 s over 10M in PostgreSQL).

    python -m bench.bench_pg_panels                          # 10M in PostgreSQL, 1M in both
    python -m bench.bench_pg_panels --mentions 1000000 --side-mentions 100000   # a quick run

The store: `--mentions` mentions over a year across ~1,000 sources (Zipf-weighted, the types,
counts and kinds of bench/generate.py's dozen sources in turn, the first one `own` with its posts'
reactions in mention_links), published on a daily rhythm plus bursts, ids in publication order as a
poller leaves them (canonical_url kept for the own source's only, which the Posts panel reads:
its index stays small to fill); Zipf authors; language and sentiment filled as the opinion pass would (60 % en,
20 % fr scored, 10 % de, 10 % unknown); engagement_history rows (1-3 snapshots) for a third of the
mentions of sources that report counts; hourly polls of every source over the last 35 days (retention
keeps 30) and poll_days for the days before. Written by COPY into a fresh database of a durable
cluster (tests/pg.py), with the tables' triggers (the rollups and the foreign-key checks) and
secondary indexes off during the load, then the rollup tables filled by the migrations' own back-fill
statements (one INSERT ... SELECT ... GROUP BY each), indexes built, triggers back on, VACUUM ANALYZE
(an old store that autovacuum has seen). The rollup sums are checked against the counts
(copy.ROLLUP_SUMS). The SQLite store of the side-by-side size (`--side-mentions`) is the same data:
the PostgreSQL database of that size copied by the project's own `store copy` (to_sqlite.py).

Timed: `compute_dashboard(StoreReader.open(db), Window.last(w, now), keywords=..., now=now)` exactly as
dashboard/ui/data.py `compute` runs it (a fresh reader per refresh), for 24h, 7d, 30d; one warm-up,
then `--repeats` runs, median. Wall, client CPU (process_time) and the PostgreSQL server's CPU (the
cluster's processes from /proc, as bench_pg_poll). The side-by-side stores alternate run by run.
Then one profiled run per store and window: each StoreReader method's wall (outermost calls only) and,
on PostgreSQL, each statement's wall; the slowest statements get an EXPLAIN (ANALYZE, BUFFERS) in the
JSON. Results: bench/results/pg_panels.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from bench.bench_pg_poll import ServerCpu, postmaster_pid, server_cpu, server_cpu_between, url_of
from bench.common import (
    Target,
    busy_note,
    describe_machine,
    format_table,
    machine_cpu,
    machine_info,
    other_load,
    write_results,
)
from bench.generate import FILLER, HANDLES, KEYWORD_TERMS, SOURCES, WORDS
from dashboard.analytics.dashboard import compute_dashboard
from dashboard.analytics.windows import Window
from dashboard.links import LINKS_VERSION
from dashboard.opinion.mention import OPINION_VERSION
from dashboard.store.postgres import schema as pg_schema
from dashboard.store.postgres.connection import PgConnection
from dashboard.store.postgres.copy import ROLLUP_SUMS
from dashboard.store.postgres.to_sqlite import copy_to_sqlite
from dashboard.store.reader import StoreReader
from tests.pg import Cluster

END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
END_EPOCH = int(END.timestamp())
HOUR, DAY = 3600, 86400
DAYS = 365
POLL_DAYS = 35  # raw attempts kept (retention keeps 30 days); older days are in poll_days
WINDOWS = ("24h", "7d", "30d")
KEYWORDS = ("ourproject", "competitor", "othertool")
CHUNK = 500_000
SEED = 11
GENERATOR_VERSION = 1  # bump when the data changes: a kept fill is made again
# The server options of tests/pg.py Cluster.start(durable=True), to restart a kept cluster.
CLUSTER_OPTIONS = "-c listen_addresses='' -c unix_socket_directories={socket} -c synchronous_commit=off"
MENTION_COLUMNS = (
    "id, source_id, key, kind, url, title, author, published_at, first_seen_at, updated_at, summary, "
    "likes, replies, shares, views, handled_at, language, sentiment, sentiment_label, opinion_version, "
    "canonical_url, links_version"
)
FILLED_TABLES = ("mentions", "engagement_history", "polls", "mention_links", "poll_days")
# The opinion pass's results by id % 10, as bench_panels' opinion_store: 60 % en, 20 % fr scored.
LANGUAGE_BY_DIGIT = np.array(["en"] * 6 + ["fr"] * 2 + ["de", None], dtype=object)
LABELS = np.array(["negative", "neutral", "positive"], dtype=object)
TARGETS = {"24h": 1.0, "30d": 2.0}  # seconds, over 10M mentions in PostgreSQL


# -- the data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the generator draws, once for the whole store (the rest is drawn chunk by chunk)."""

    sources: int
    weights: np.ndarray
    published: np.ndarray  # sorted: ids follow publication, as a poller stores them


def plan(mentions: int, sources: int, rng: np.random.Generator) -> Plan:
    weights = 1.0 / np.arange(1, sources + 1) ** 0.8
    weights = rng.permutation(weights / weights.sum())
    start = END_EPOCH - DAYS * DAY
    bursts = mentions // 20
    steady = mentions - bursts
    days = rng.integers(0, DAYS, steady) * DAY
    hour = (np.clip(rng.normal(15.0, 4.5, steady), 0, 23.99) * HOUR).astype(np.int64)
    centres = rng.integers(start, END_EPOCH, max(1, mentions // 2000))
    burst = rng.choice(centres, bursts) + rng.normal(0, 1800, bursts).astype(np.int64)
    published = np.clip(np.concatenate([start + days + hour, burst]), start, END_EPOCH - 1)
    published.sort()
    return Plan(sources, weights, published)


def source_spec(index: int) -> Any:
    return SOURCES[index % len(SOURCES)]


def _texts(rng: np.random.Generator, length: int, pool: int) -> list[str]:
    vocabulary = np.array(WORDS + FILLER * 3 + list(KEYWORD_TERMS) + list(HANDLES))
    weights = 1.0 / np.arange(1, vocabulary.size + 1) ** 0.6
    words = rng.choice(vocabulary, size=(pool, length), p=weights / weights.sum())
    return [" ".join(row) for row in words.tolist()]


def _nullable(values: np.ndarray) -> list[int | None]:
    return [None if value < 0 else value for value in values.tolist()]


def mention_chunks(
    layout: Plan, rng: np.random.Generator
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """(mentions rows, engagement_history rows, mention_links rows), CHUNK mentions at a time."""
    count = layout.published.size
    titles = _texts(rng, 8, 50_000)
    summaries = _texts(rng, 30, 5_000)
    reports = {
        name: np.array([name in source_spec(i).counts for i in range(layout.sources)])
        for name in ("likes", "replies", "shares", "views")
    }
    kinds = np.array([source_spec(i).kind for i in range(layout.sources)], dtype=object)
    author_pool = max(50, count // 8)
    own_posts: list[str] = []
    for offset in range(0, count, CHUNK):
        size = min(CHUNK, count - offset)
        ids = np.arange(offset + 1, offset + size + 1)
        published = layout.published[offset : offset + size]
        source = rng.choice(layout.sources, size=size, p=layout.weights)
        first_seen = np.minimum(published + rng.exponential(600, size).astype(np.int64), END_EPOCH)
        author_ids = np.minimum(rng.zipf(1.6, size), author_pool)
        author_ids = np.where(rng.random(size) < 0.8, author_ids, rng.integers(1, author_pool, size))
        counts = {}
        for name, mean in (("likes", 6.0), ("replies", 1.5), ("shares", 2.0), ("views", 120.0)):
            values = rng.negative_binomial(1, 1 / (1 + mean), size)
            counts[name] = np.where(reports[name][source], values, -1)
        handled = np.where(rng.random(size) < 0.2, first_seen + HOUR, -1)
        digit = ids % 10
        language = LANGUAGE_BY_DIGIT[digit]
        sentiment = np.where(digit < 8, ((ids * 7919) % 2001 - 1000) / 1000.0, np.nan)
        label = LABELS[(sentiment > -0.05).astype(int) + (sentiment >= 0.05).astype(int)]
        label[np.isnan(sentiment)] = None
        urls = [f"https://example.org/s{s}/m/{i}" for s, i in zip(source.tolist(), ids.tolist(), strict=True)]
        rows = list(
            zip(
                ids.tolist(),
                (source + 1).tolist(),
                [f"k{i}" for i in ids.tolist()],
                kinds[source].tolist(),
                urls,
                [titles[i] for i in rng.integers(0, len(titles), size).tolist()],
                [f"user{i}" for i in author_ids.tolist()],
                published.tolist(),
                first_seen.tolist(),
                first_seen.tolist(),
                [summaries[i] for i in rng.integers(0, len(summaries), size).tolist()],
                *(_nullable(counts[name]) for name in ("likes", "replies", "shares", "views")),
                [None if h < 0 else h for h in handled.tolist()],
                language.tolist(),
                [None if np.isnan(s) else s for s in sentiment.tolist()],
                label.tolist(),
                [OPINION_VERSION] * size,
                [url if s == 0 else None for s, url in zip(source.tolist(), urls, strict=True)],
                [LINKS_VERSION] * size,
                strict=True,
            )
        )
        yield rows, _history(rng, ids, first_seen, counts), _links(rng, ids, source, urls, own_posts)


def _history(
    rng: np.random.Generator, ids: np.ndarray, first_seen: np.ndarray, counts: dict[str, np.ndarray]
) -> list[tuple[Any, ...]]:
    """For a third of the mentions that report counts: 1-3 snapshots growing to the final counts."""
    tracked = ((counts["likes"] >= 0) | (counts["replies"] >= 0)) & (rng.random(ids.size) < 1 / 3)
    snapshots = np.where(tracked, rng.integers(1, 4, ids.size), 0)
    snapshots = np.where(tracked & (END_EPOCH - first_seen < HOUR), 1, snapshots)
    room = (END_EPOCH - first_seen) // np.maximum(snapshots - 1, 1)
    gap = np.minimum(rng.integers(HOUR // 2, 10 * HOUR, ids.size), room)
    row = np.repeat(np.arange(ids.size), snapshots)
    step = np.arange(row.size) - np.repeat(np.cumsum(snapshots) - snapshots, snapshots)
    last = np.repeat(snapshots, snapshots) - 1
    fraction = np.where(last == 0, 1.0, step / np.maximum(last, 1))
    columns = []
    for name in ("likes", "replies", "shares", "views"):
        final = counts[name][row]
        columns.append(_nullable(np.where(final < 0, -1, np.floor(final * fraction).astype(np.int64))))
    at = first_seen[row] + step * gap[row]
    return list(zip(ids[row].tolist(), at.tolist(), *columns, strict=True))


def _links(
    rng: np.random.Generator, ids: np.ndarray, source: np.ndarray, urls: list[str], own_posts: list[str]
) -> list[tuple[Any, ...]]:
    """Source 1 is own: its mentions are posts; 1 % of the others link to one of its recent posts."""
    rows = []
    for position in np.flatnonzero(source == 0).tolist():
        own_posts.append(urls[position])
    if own_posts:
        for position in np.flatnonzero((source != 0) & (rng.random(ids.size) < 0.01)).tolist():
            target = own_posts[-1 - int(rng.integers(0, min(20, len(own_posts))))]
            rows.append((int(ids[position]), target, "link"))
    return rows


def poll_rows(sources: int, rng: np.random.Generator) -> Iterator[list[tuple[Any, ...]]]:
    """Hourly attempts of every source over the last POLL_DAYS days, a source at a time."""
    start = END_EPOCH - POLL_DAYS * DAY
    for source_id in range(1, sources + 1):
        times = np.arange(start, END_EPOCH, HOUR) + (source_id * 7) % HOUR
        draw = rng.random(times.size)
        status = np.where(draw < 0.7, "not modified", np.where(draw < 0.98, "ok", "failing"))
        http = np.where(status == "failing", 503, np.where(status == "ok", 200, 304))
        yield list(
            zip(
                [source_id] * times.size,
                times.tolist(),
                (rng.random(times.size) * 2).round(3).tolist(),
                status.tolist(),
                http.tolist(),
                (times + HOUR).tolist(),
                strict=True,
            )
        )


def poll_day_rows(sources: int) -> list[tuple[Any, ...]]:
    """What retention left of the older attempts: one row per source and day."""
    first = (END_EPOCH - DAYS * DAY) // DAY * DAY
    last = (END_EPOCH - POLL_DAYS * DAY) // DAY * DAY
    return [
        (source_id, day, 24, 23, 1, 2, 0, 480_000, 12.0, day + 23 * HOUR, "ok")
        for source_id in range(1, sources + 1)
        for day in range(first, last, DAY)
    ]


# -- filling PostgreSQL -----------------------------------------------------------------------------


def fill_postgres(dsn: str, mentions: int, sources: int) -> dict[str, Any]:
    """A fresh, migrated database at `dsn` filled by COPY (see the module docstring); seconds per step."""
    steps: dict[str, float] = {}
    began = time.perf_counter()
    rng = np.random.default_rng(SEED)
    layout = plan(mentions, sources, rng)
    with psycopg.connect(dsn) as connection:
        pg_schema.migrate(connection)
        connection.execute("SET maintenance_work_mem = '1GB'")
        connection.execute("SET work_mem = '256MB'")  # the rollups' GROUP BY over every mention
        with connection.transaction():
            connection.cursor().executemany(
                "INSERT INTO sources (id, name, type, target, own) VALUES (%s, %s, %s, %s, %s)",
                [
                    (i + 1, f"{source_spec(i).name} #{i}", source_spec(i).type, "ourproject", int(i == 0))
                    for i in range(sources)
                ],
            )
        indexes = _drop_secondary_indexes(connection)
        for table in FILLED_TABLES:
            connection.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        connection.commit()
        steps["setup_s"] = time.perf_counter() - began
        counts = {"mentions": 0, "engagement_history": 0, "mention_links": 0, "polls": 0}
        mark = time.perf_counter()
        for rows, history, links in mention_chunks(layout, rng):
            with connection.transaction(), connection.cursor() as cursor:
                _copy(cursor, "mentions", MENTION_COLUMNS, rows)
                _copy(cursor, "engagement_history", "mention_id, at, likes, replies, shares, views", history)
                _copy(cursor, "mention_links", "mention_id, url, via", links)
            counts["mentions"] += len(rows)
            counts["engagement_history"] += len(history)
            counts["mention_links"] += len(links)
            print(
                f"    {counts['mentions']:,} mentions copied ({time.perf_counter() - mark:.0f} s)", flush=True
            )
        with connection.transaction(), connection.cursor() as cursor:
            for rows in poll_rows(sources, rng):
                _copy(
                    cursor,
                    "polls",
                    "source_id, started_at, duration, status, http_status, next_poll_at",
                    rows,
                )
                counts["polls"] += len(rows)
            days = poll_day_rows(sources)
            _copy(
                cursor,
                "poll_days",
                "source_id, day, attempts, successes, failing, new, updated, bytes, duration, "
                "last_started_at, last_status",
                days,
            )
            counts["poll_days"] = len(days)
        steps["copy_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        with connection.transaction():
            # The back-fill statements of migrations 5 and 6: the rollups as the triggers would keep them.
            listed = ", ".join(pg_schema._ROLLUP_COLUMNS)
            connection.execute(pg_schema._mention_rollup_upserts(f"SELECT {listed}, 1 AS sign FROM mentions"))
            connection.execute(pg_schema._poll_hours_upsert("polls"))
        steps["rollups_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        for sql in indexes:
            connection.execute(sql)
            connection.commit()
        for table in FILLED_TABLES:
            connection.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
        connection.execute(
            "SELECT setval(pg_get_serial_sequence('mentions', 'id'), (SELECT MAX(id) FROM mentions))"
        )
        connection.execute(
            "SELECT setval(pg_get_serial_sequence('polls', 'id'), (SELECT MAX(id) FROM polls))"
        )
        connection.execute(
            """UPDATE sources s SET status = p.status, last_attempt_at = p.started_at,
                   last_success_at = p.started_at, http_status = p.http_status, next_poll_at = p.next_poll_at
               FROM (SELECT DISTINCT ON (source_id) source_id, status, started_at, http_status, next_poll_at
                     FROM polls ORDER BY source_id, started_at DESC) p WHERE p.source_id = s.id"""
        )
        connection.commit()
        steps["indexes_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        connection.autocommit = True
        connection.execute("VACUUM (ANALYZE)")
        steps["vacuum_analyze_s"] = time.perf_counter() - mark
        for rollup, total in ROLLUP_SUMS:
            got, expected = (connection.execute(sql).fetchone() for sql in (rollup, total))
            if got != expected:
                raise RuntimeError(f"rollups inconsistent: {rollup} = {got}, {total} = {expected}")
        size = connection.execute("SELECT pg_database_size(current_database())").fetchone()
    steps["total_s"] = time.perf_counter() - began
    return {"rows": counts, "seconds": steps, "database_mib": (size[0] if size else 0) / 2**20}


def _drop_secondary_indexes(connection: psycopg.Connection[Any]) -> list[str]:
    """Drop the filled tables' indexes and UNIQUE constraints that no foreign key needs (primary
    keys stay); returns the SQL that creates them again."""
    again: list[str] = []
    tables = list(FILLED_TABLES)
    for name, table, definition in connection.execute(
        """SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)""",
        (tables,),
    ).fetchall():
        connection.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        again.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for name, definition in connection.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        (tables,),
    ).fetchall():
        connection.execute(f"DROP INDEX {name}")
        again.append(definition)
    return again


def _copy(cursor: psycopg.Cursor[Any], table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# -- timing the panels ----------------------------------------------------------------------------


@dataclass
class Store:
    label: str
    database: str  # a SQLite path or a postgresql:// URL
    postmaster: int | None  # the cluster's, for its CPU (None: SQLite)


def one_compute(store: Store, spec: str) -> dict[str, Any]:
    """One refresh as dashboard/ui/data.py `compute` runs it: a fresh reader, every panel."""
    window = Window.last(spec, END)
    server_before: ServerCpu | None = server_cpu(store.postmaster) if store.postmaster else None
    machine_before = machine_cpu()
    wall, cpu = time.perf_counter(), time.process_time()
    with StoreReader.open(store.database) as reader:
        data = compute_dashboard(reader, window, keywords=KEYWORDS, now=END)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server = (
        server_cpu_between(server_before, server_cpu(store.postmaster))
        if server_before and store.postmaster
        else 0.0
    )
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "server_cpu_s": server,
        "other_load_cores": other_load(machine_before, machine_cpu(), cpu + server),
        "panels_s": dict(data.timings),
        "mentions_in_window": int(data.kpis.mentions),
    }


def time_stores(stores: Sequence[Store], repeats: int) -> dict[str, dict[str, Any]]:
    """Per store and window: one warm-up, then `repeats` runs, the stores alternating run by run."""
    results: dict[str, dict[str, Any]] = {}
    for spec in WINDOWS:
        runs: dict[str, list[dict[str, Any]]] = {store.label: [] for store in stores}
        for store in stores:
            one_compute(store, spec)  # warm-up: page cache, imports, plans
        for attempt in range(repeats):
            for store in stores if attempt % 2 == 0 else stores[::-1]:
                runs[store.label].append(one_compute(store, spec))
        for store in stores:
            done = runs[store.label]
            results[f"{store.label} {spec}"] = {
                "store": store.label,
                "window": spec,
                **{
                    key: statistics.median(run[key] for run in done)
                    for key in ("wall_s", "cpu_s", "server_cpu_s", "other_load_cores")
                },
                "panels_s": {
                    name: statistics.median(run["panels_s"][name] for run in done)
                    for name in done[0]["panels_s"]
                },
                "mentions_in_window": done[0]["mentions_in_window"],
                "runs": done,
            }
            numbers = results[f"{store.label} {spec}"]
            print(
                f"  {store.label:14} {spec:>4}: {numbers['wall_s']:6.2f} s wall, {numbers['cpu_s']:5.2f} s CPU, "
                f"{numbers['server_cpu_s']:5.2f} s server (other load {numbers['other_load_cores']:.1f})",
                flush=True,
            )
    return results


# -- profiling: which reader method, which statement -----------------------------------------------


class Profile:
    """Wall seconds per StoreReader method (outermost calls) and per PostgreSQL statement."""

    def __init__(self) -> None:
        self.methods: dict[str, list[float]] = {}
        self.statements: dict[str, dict[str, Any]] = {}
        self._depth = 0

    def wrap_method(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            began = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.methods.setdefault(name, []).append(time.perf_counter() - began)

        return timed

    def wrap_execute(self, execute: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(execute)
        def timed(connection: PgConnection, sql: str, params: Any) -> Any:
            began = time.perf_counter()
            cursor = execute(connection, sql, params)
            spent = time.perf_counter() - began
            entry = self.statements.setdefault(
                " ".join(sql.split()), {"calls": 0, "wall_s": 0.0, "longest_s": 0.0}
            )
            entry["calls"] += 1
            entry["wall_s"] += spent
            if spent >= entry["longest_s"]:
                entry["longest_s"], entry["params"] = spent, list(params or ())
            return cursor

        return timed


def profile_compute(store: Store, spec: str) -> Profile:
    profile = Profile()
    originals: dict[str, Any] = {}
    for name, value in vars(StoreReader).items():
        if callable(value) and not name.startswith("__") and name not in ("open", "close"):
            originals[name] = value
            setattr(StoreReader, name, profile.wrap_method(name, value))
    execute = PgConnection._execute
    PgConnection._execute = profile.wrap_execute(execute)  # type: ignore[method-assign]
    try:
        one_compute(store, spec)
    finally:
        PgConnection._execute = execute  # type: ignore[method-assign]
        for name, value in originals.items():
            setattr(StoreReader, name, value)
    return profile


def explain(url: str, sql: str, params: Sequence[Any]) -> str:
    connection = PgConnection.open(url, readonly=True)
    try:
        rows = connection.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
    finally:
        connection.close()
    return "\n".join(str(row[0]) for row in rows)


def profile_stores(stores: Sequence[Store], top: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for store in stores:
        for spec in WINDOWS:
            profile = profile_compute(store, spec)
            methods = sorted(
                ((name, sum(times), len(times)) for name, times in profile.methods.items()),
                key=lambda m: -m[1],
            )
            statements = sorted(profile.statements.items(), key=lambda item: -item[1]["wall_s"])
            slowest = []
            for sql, entry in statements[:top]:
                plan_text = explain(store.database, sql, entry["params"]) if store.postmaster else ""
                params = [
                    p if p is None or isinstance(p, int | float | str) else str(p) for p in entry["params"]
                ]
                slowest.append({"sql": sql, **entry, "params": params, "explain_analyze": plan_text})
            found[f"{store.label} {spec}"] = {
                "methods_s": {name: {"wall_s": spent, "calls": calls} for name, spent, calls in methods},
                "slowest_statements": slowest,
            }
            print(f"\n  {store.label} {spec}: slowest reader methods (wall s, outermost calls):")
            for name, spent, calls in methods[:6]:
                print(f"    {name:22} {spent:6.3f} s  ({calls} call(s))")
            for entry in slowest:
                print(f"    statement {entry['wall_s']:6.3f} s x{entry['calls']}: {entry['sql'][:160]}")
    return found


# -- driver -----------------------------------------------------------------------------------------


def create_database(cluster: Cluster, name: str) -> tuple[str, str]:
    """(libpq DSN, postgresql:// URL) of a fresh database `name`."""
    with psycopg.connect(cluster.dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    return cluster.dsn.replace("dbname=postgres", f"dbname={name}"), url_of(cluster, name)


@dataclass
class Stores:
    """The filled cluster and the SQLite copy; `fills` says how they were made and in how long."""

    cluster: Cluster
    sqlite_path: Path
    fills: dict[str, Any]


def fill_stores(folder: Path, args: argparse.Namespace) -> Stores:
    """A durable cluster in `folder` with databases `side` and `big`, and `folder`/side.db; reused
    as they are when `folder` holds a fill of the same parameters (`--keep`)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o711)  # the server runs as postgres (tests/pg.py) and must reach its folder
    marker = folder / "filled.json"
    wanted = {key: getattr(args, key) for key in ("mentions", "side_mentions", "sources")}
    wanted["generator"] = GENERATOR_VERSION
    if marker.exists() and (done := json.loads(marker.read_text()))["parameters"] == wanted:
        cluster = Cluster(folder / "cluster")
        cluster._options = CLUSTER_OPTIONS.format(socket=cluster.socket)  # what start(durable=True) sets
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start_again()
        print(f"reusing the stores filled in {folder} ({done['fills']})", flush=True)
        return Stores(cluster, folder / "side.db", done["fills"])
    for stale in (folder / "cluster", folder / "side.db"):
        if stale.is_dir():
            Cluster(stale).stop()
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
    (folder / "cluster").mkdir(parents=True)
    os.chmod(folder / "cluster", 0o700)
    cluster = Cluster(folder / "cluster")
    cluster.start(durable=True)
    fills: dict[str, Any] = {}
    if args.side_mentions:
        dsn, _ = create_database(cluster, "side")
        print(f"filling PostgreSQL with {args.side_mentions:,} mentions", flush=True)
        fills["postgresql side"] = fill_postgres(dsn, args.side_mentions, args.sources)
        began = time.perf_counter()
        copy_to_sqlite(dsn, folder / "side.db")
        fills["sqlite side (store copy from PostgreSQL)"] = {
            "seconds": time.perf_counter() - began,
            "file_mib": (folder / "side.db").stat().st_size / 2**20,
        }
    dsn, _ = create_database(cluster, "big")
    print(f"filling PostgreSQL with {args.mentions:,} mentions", flush=True)
    fills["postgresql big"] = fill_postgres(dsn, args.mentions, args.sources)
    marker.write_text(json.dumps({"parameters": wanted, "fills": fills}, indent=2) + "\n")
    return Stores(cluster, folder / "side.db", fills)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=10_000_000, help="PostgreSQL only (default 10M)")
    parser.add_argument("--side-mentions", type=int, default=1_000_000, help="in both backends; 0: none")
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top-statements", type=int, default=4, help="EXPLAIN ANALYZE of the slowest")
    parser.add_argument("--keep", type=Path, help="keep the filled stores in this folder and reuse them")
    parser.add_argument("--fill-only", action="store_true", help="fill (into --keep) and stop")
    args = parser.parse_args(argv)
    if note := busy_note():
        print(note)
    info = machine_info()
    print(describe_machine(info))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-pg-panels-"))
    stores = fill_stores(folder, args)
    payload: dict[str, Any] = {"parameters": vars(args), "now": END.isoformat(), "fills": stores.fills}
    for name, fill in stores.fills.items():
        print(f"  {name}: {fill}")
    if args.fill_only:
        stores.cluster.stop("fast")
        return
    try:
        postmaster = postmaster_pid(stores.cluster)
        side: list[Store] = []
        if args.side_mentions:
            side = [
                Store(f"sqlite {args.side_mentions // 1000:,}k", str(stores.sqlite_path), None),
                Store(f"pg {args.side_mentions // 1000:,}k", url_of(stores.cluster, "side"), postmaster),
            ]
        big = Store(f"pg {args.mentions // 1000:,}k", url_of(stores.cluster, "big"), postmaster)
        print(f"\ntiming compute_dashboard, median of {args.repeats} (warm):", flush=True)
        results = {}
        if side:
            results.update(time_stores(side, args.repeats))
        results.update(time_stores([big], args.repeats))
        payload["results"] = results
        payload["profiles"] = profile_stores([*side, big], args.top_statements)
    finally:
        stores.cluster.stop("fast")
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    rows = [
        [
            name,
            numbers["wall_s"],
            numbers["cpu_s"],
            numbers["server_cpu_s"],
            numbers["mentions_in_window"],
            numbers["other_load_cores"],
        ]
        for name, numbers in results.items()
    ]
    print(
        format_table(
            ["store window", "wall s", "client CPU s", "server CPU s", "in window", "other load"],
            rows,
            title="\nall panels (compute_dashboard), median:",
        )
    )
    ratios = {}
    if side:
        for spec in WINDOWS:
            pg, lite = results[f"{side[1].label} {spec}"], results[f"{side[0].label} {spec}"]
            ratios[spec] = {
                "wall": pg["wall_s"] / lite["wall_s"],
                "cpu_with_server": (pg["cpu_s"] + pg["server_cpu_s"]) / lite["cpu_s"],
            }
            print(
                f"PG / SQLite at {side[0].label.split()[1]}, {spec}: wall x{ratios[spec]['wall']:.2f}, CPU (client + server) x{ratios[spec]['cpu_with_server']:.2f}"
            )
    targets = [
        Target(
            f"all panels {spec}, {big.label} in PostgreSQL",
            results[f"{big.label} {spec}"]["wall_s"],
            limit,
            "s",
        )
        for spec, limit in TARGETS.items()
    ]
    for target in targets:
        print(target.line())
    payload.update({"ratios_pg_over_sqlite": ratios, "targets": targets})
    write_results("pg_panels", payload)


if __name__ == "__main__":
    main()
