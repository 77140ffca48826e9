"""A simulated year of polling, with and without retention (issue 16, "A year of running").

    python -m bench.bench_year                        # 100 sources every 15 min for 365 days
    python -m bench.bench_year --sources 200          # the scale of the issue's example (about 2 h)
    python -m bench.bench_year --sources 20 --days 35 # quicker

Both variants write the same synthetic year into a fresh database through the writer's own code, one
transaction per simulated day ("bulk": the writer's `_upsert_mentions` for each source's mentions four
times a day, and every attempt's `polls` row). The "retention" variant also runs
`Store.apply_retention` once per simulated day, as the poller would. Each source gets 5 new mentions a
day (100 authors per source), each mention is re-read for 3 days with its likes changing at every
6-hourly read and its replies every other one, so engagement_history gains a row per read;
96 attempts a day per source: 4 "ok", 2 % "failing", the rest "not modified".

At the checkpoints (day 1, 30, 90, 180, 365) it reports: database size (after a WAL checkpoint),
row counts, the CPU time of the reader's panel queries for the 24 h, 7 d and 30 d windows (median
of 3 after a warm-up), and poll write times through `Store.save_poll` (one real transaction per
source, 15 mentions each, as a scheduled round writes them). Results: bench/results/year.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import describe_machine, format_table, machine_info, ratio, write_results
from dashboard.analytics import health, replies, rising, spikes, trending, voices, volume
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store import writer
from dashboard.store.db import to_epoch
from dashboard.store.reader import StoreReader
from dashboard.store.writer import Store

START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
NEW_PER_DAY = 5
READS_PER_DAY = 4
REREAD_DAYS = 3
CHECKPOINTS = (1, 30, 90, 180, 365)


@dataclass
class Young:
    key: str
    published: datetime
    author: str


@dataclass
class World:
    """The synthetic sources and their mentions still being re-read."""

    sources: list[SourceConfig]
    interval: timedelta
    rng: random.Random
    young: dict[str, list[Young]] = field(default_factory=dict)
    serial: int = 0

    def mentions_at(self, source: SourceConfig, at: datetime) -> list[Mention]:
        """What a read of `source` at `at` returns: its mentions of the last REREAD_DAYS, counts grown."""
        young = [m for m in self.young.get(source.name, []) if at - m.published < REREAD_DAYS * DAY]
        self.young[source.name] = young
        result = []
        for item in young:
            reads = int((at - item.published) / (DAY / READS_PER_DAY))
            result.append(
                Mention(
                    key=item.key,
                    kind=MentionKind.POST,
                    url=f"https://example.org/{item.key}",
                    title=f"About the project, {item.key}",
                    author=item.author,
                    published=item.published,
                    summary="Textual dashboard words " * 8,
                    likes=reads * 3 + 1,
                    replies=reads // 2,
                )
            )
        return result

    def publish(self, source: SourceConfig, day: datetime) -> None:
        for number in range(NEW_PER_DAY):
            self.serial += 1
            self.young.setdefault(source.name, []).append(
                Young(
                    key=f"{source.name}-{self.serial}",
                    published=day + number * DAY / NEW_PER_DAY,
                    author=f"author{self.rng.randrange(100)}@{source.name}",
                )
            )


def make_world(count: int, interval: timedelta, seed: int) -> World:
    sources = [
        SourceConfig(
            name=f"Feed {n}", type="feed", interval=interval.total_seconds(), url=f"http://x/{n}.xml"
        )
        for n in range(count)
    ]
    return World(sources=sources, interval=interval, rng=random.Random(seed))


def simulate_day(store: Store, world: World, day: datetime, source_ids: dict[str, int]) -> None:
    """One day of attempts and reads, through the writer's code, in one transaction."""
    attempts_per_day = int(DAY / world.interval)
    read_every = max(1, attempts_per_day // READS_PER_DAY)
    rows: list[tuple[Any, ...]] = []
    with store._transaction() as db:
        for source in world.sources:
            world.publish(source, day)
            source_id = source_ids[source.name]
            for slot in range(attempts_per_day):
                at = day + slot * world.interval
                new = updated = 0
                if slot % read_every == 0:
                    status = SourceStatus.OK
                    new, updated = writer._upsert_mentions(db, source_id, world.mentions_at(source, at), at)
                elif world.rng.random() < 0.02:
                    status = SourceStatus.FAILING
                else:
                    status = SourceStatus.NOT_MODIFIED
                rows.append(
                    (
                        source_id,
                        to_epoch(at),
                        0.2,
                        str(status),
                        None if status == SourceStatus.FAILING else (200 if new or updated else 304),
                        40_000 if status == SourceStatus.OK else 0,
                        new,
                        updated,
                        "network" if status == SourceStatus.FAILING else "",
                        "connection refused" if status == SourceStatus.FAILING else "",
                        int(status == SourceStatus.FAILING),
                        to_epoch(at + world.interval),
                        "",
                    )
                )
        db.executemany(
            """INSERT INTO polls (source_id, started_at, duration, status, http_status, bytes, new, updated,
                                  error_class, error, consecutive_failures, next_poll_at, notes)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )


def panel_queries(reader: StoreReader, now: datetime, span: timedelta) -> None:
    """The reader's panel methods for one window, as compute_dashboard calls them."""
    since = now - span
    bucket = 3600 if span <= timedelta(days=1) else (6 * 3600 if span <= timedelta(days=7) else 86400)
    reader.sources()
    health.attempt_summary(reader, now - DAY, now, 3600)
    health.attempt_summary(reader, since, now, bucket)
    health.last_polls_before(reader, since)
    volume.bucket_stats(reader, since, now, bucket)
    volume.totals(reader, since, now)
    spikes.hourly_counts(reader, now - DAY, now)
    voices.author_stats(reader, since, now)
    replies.response_seconds(reader, since, now)
    replies.unanswered(reader, since, now, 500)
    replies.count_unanswered(reader, since, now)
    rising.engagement_snapshots(reader, now - DAY, now + timedelta(seconds=1))
    trending.texts(reader, since, now, max_docs=20_000, summary_chars=500)
    reader.latest_mentions(200)


def time_panels(path: Path, now: datetime) -> dict[str, float]:
    result = {}
    with StoreReader.open(path) as reader:
        for name, span in (("24h", DAY), ("7d", 7 * DAY), ("30d", 30 * DAY)):
            panel_queries(reader, now, span)  # warm-up: page cache
            cpu = []
            for _ in range(3):
                began = time.process_time()
                panel_queries(reader, now, span)
                cpu.append(time.process_time() - began)
            result[name] = statistics.median(cpu) * 1000
    return result


def time_poll_round(store: Store, world: World, now: datetime) -> dict[str, float]:
    """One scheduled round: every source saved through Store.save_poll (a transaction each)."""
    walls = []
    for source in world.sources:
        mentions = tuple(world.mentions_at(source, now))
        record = PollRecord(source=source.name, started_at=now, duration=0.2, status=SourceStatus.OK)
        update = SourceUpdate(SourceStatus.OK, now + world.interval, 0)
        began = time.perf_counter()
        store.save_poll(source, record, update, PollOutcome(mentions=mentions, http_status=200))
        walls.append(time.perf_counter() - began)
    walls.sort()
    return {
        "median_ms": statistics.median(walls) * 1000,
        "p95_ms": walls[int(len(walls) * 0.95)] * 1000,
        "round_ms": sum(walls) * 1000,
    }


def measure(store: Store, path: Path, world: World, now: datetime) -> dict[str, Any]:
    poll = time_poll_round(store, world, now)
    with store._lock:
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {
            table: store._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("mentions", "engagement_history", "polls", "poll_days")
        }
        free = store._db.execute("PRAGMA freelist_count").fetchone()[0]
    size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))
    return {
        "size_mib": size / 2**20,
        "free_pages": free,
        "rows": counts,
        "panels_cpu_ms": time_panels(path, now),
        "poll_write": poll,
    }


def run_variant(world: World, days: int, retention: bool, directory: Path) -> dict[str, Any]:
    path = directory / f"year-{'retention' if retention else 'none'}.db"
    results: dict[str, Any] = {"checkpoints": {}, "retention_ms": []}
    with Store.open(path) as store:
        store.sync_sources(world.sources, {source.name: "h" for source in world.sources})
        ids = dict(store._db.execute("SELECT name, id FROM sources").fetchall())
        began = time.perf_counter()
        for number in range(1, days + 1):
            day = START + (number - 1) * DAY
            simulate_day(store, world, day, ids)
            if retention:
                started = time.perf_counter()
                store.apply_retention(day + DAY)
                results["retention_ms"].append((time.perf_counter() - started) * 1000)
            if number in CHECKPOINTS or number == days:
                results["checkpoints"][number] = measure(store, path, world, day + DAY)
                label = "retention" if retention else "none"
                print(f"  {label:9} day {number:3}: {_brief(results, number)}", flush=True)
        results["simulate_s"] = time.perf_counter() - began
    path.unlink()
    return results


def _variant(sources: int, minutes: float, seed: int, days: int, name: str, directory: str) -> dict[str, Any]:
    world = make_world(sources, timedelta(minutes=minutes), seed)
    return run_variant(world, days, name == "retention", Path(directory))


def _brief(results: dict[str, Any], day: int) -> str:
    point = results["checkpoints"][day]
    panels = point["panels_cpu_ms"]
    return (
        f"{point['size_mib']:.1f} MiB, panels 24h/7d/30d {panels['24h']:.0f}/{panels['7d']:.0f}/"
        f"{panels['30d']:.0f} ms CPU, poll write median {point['poll_write']['median_ms']:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=15, help="poll interval (default: 15)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    info = machine_info()
    print(describe_machine(info))
    # Side by side: one process per variant, at the same time (CPU times are per process; the wall
    # times of poll writes feel the other process on a 2-core machine).
    with tempfile.TemporaryDirectory(prefix="bench-year-") as directory, ProcessPoolExecutor(2) as pool:
        futures = {
            name: pool.submit(_variant, args.sources, args.minutes, args.seed, args.days, name, directory)
            for name in ("none", "retention")
        }
        runs = {name: future.result() for name, future in futures.items()}
    last = max(runs["none"]["checkpoints"])
    rows = []
    for day in sorted(runs["none"]["checkpoints"]):
        plain, kept = runs["none"]["checkpoints"][day], runs["retention"]["checkpoints"][day]
        for label, key in (("size MiB", None), ("24h", "24h"), ("7d", "7d"), ("30d", "30d"), ("poll", "")):
            if key is None:
                a, b = plain["size_mib"], kept["size_mib"]
            elif key:
                a, b = plain["panels_cpu_ms"][key], kept["panels_cpu_ms"][key]
                label = f"panels {key} CPU ms"
            else:
                a, b = plain["poll_write"]["median_ms"], kept["poll_write"]["median_ms"]
                label = "poll write median ms"
            rows.append((day, label, f"{a:.2f}", f"{b:.2f}", ratio(b, a)))
    print(
        format_table(
            ("day", "measure", "no retention", "retention", "ratio"),
            rows,
            title=f"{args.sources} sources every {args.minutes:g} min, {args.days} days",
        )
    )
    daily = runs["retention"]["retention_ms"]
    print(
        f"daily apply_retention: median {statistics.median(daily):.0f} ms, max {max(daily):.0f} ms; "
        f"rows at day {last}: none {runs['none']['checkpoints'][last]['rows']}, "
        f"retention {runs['retention']['checkpoints'][last]['rows']}"
    )
    path = write_results(
        "year",
        {
            "machine": info,
            "settings": vars(args),
            "runs": runs,
            "daily_retention_ms": {"median": statistics.median(daily), "max": max(daily)},
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
