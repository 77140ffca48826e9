"""Benchmark: the dashboard panels over 1M mentions with the per-hour rollups (schema migration 5)
against the raw queries, side by side in one run; and what the rollup triggers add to a poll's write.

    python -m bench.bench_rollups                   # 1M mentions, 24h / 7d / 30d, 5 repeats
    python -m bench.bench_rollups --size 100000 --repeats 3

Panels: `compute_dashboard` CPU seconds (process_time, median after a warm-up) with
`StoreReader(rollups=True)` and `rollups=False` alternating on the same store (bench_panels' cached
store, migrated in place), for a window ending on the hour (bench_panels' END) and one ending
mid-hour (the usual case: `now`); plus the four aggregate methods the rollups serve, alone.
Writes: CPU per `Store.save_poll` of 50 new mentions plus 50 re-polled ones with new counts, and of
an attempt with no mentions (a 304), on a fresh store, with the triggers and with them dropped.
Results: bench/results/rollups.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.bench_panels import END, KEYWORDS, machine, store_path
from dashboard.analytics import spikes, voices, volume
from dashboard.analytics.dashboard import compute_dashboard
from dashboard.analytics.windows import Window
from dashboard.durations import WINDOW_SPECS
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.db import connect
from dashboard.store.reader import StoreReader
from dashboard.store.writer import Store

RESULTS = Path(__file__).parent / "results" / "rollups.json"
WINDOWS = WINDOW_SPECS  # the dashboard's windows
FIRST_REPLY_TRIGGERS = tuple(f"engagement_first_reply_{event}" for event in ("insert", "update", "delete"))
TRIGGERS = (
    "mentions_rollup_insert",
    "mentions_rollup_delete",
    "mentions_rollup_update",
    "polls_rollup_insert",
    "polls_rollup_delete",
    "polls_rollup_update",
    *FIRST_REPLY_TRIGGERS,
)


def cpu_median(function: Callable[[], object], repeats: int) -> float:
    function()  # warm-up: page cache
    times = []
    for _ in range(repeats):
        began = time.process_time()
        function()
        times.append(time.process_time() - began)
    return statistics.median(times)


def dashboard_once(reader: StoreReader, window: Window, now: datetime) -> object:
    return compute_dashboard(reader, window, keywords=KEYWORDS, now=now)


def aggregates_once(reader: StoreReader, window: Window) -> object:
    """The reader calls the rollups serve, as compute_dashboard makes them."""
    return (
        volume.bucket_stats(reader, window.start, window.end, window.bucket_seconds),
        volume.totals(reader, window.previous.start, window.previous.end),
        spikes.hourly_counts(reader, window.start - timedelta(days=7), window.end),
        voices.author_stats(reader, window.start, window.end),
    )


def panels(path: Path, repeats: int) -> list[dict[str, Any]]:
    results = []
    with StoreReader.open(path, rollups=True) as fast, StoreReader.open(path, rollups=False) as raw:
        for end_label, end in (("on the hour", END), ("mid-hour", END + timedelta(minutes=17, seconds=23))):
            for spec in WINDOWS:
                window = Window.last(spec, end)
                row: dict[str, Any] = {"window": spec, "end": end_label}
                for label, reader in (("raw", raw), ("rollups", fast)):
                    row[f"{label}_cpu_s"] = cpu_median(partial(dashboard_once, reader, window, end), repeats)
                    row[f"{label}_aggregates_cpu_s"] = cpu_median(
                        partial(aggregates_once, reader, window), repeats
                    )
                row["ratio"] = row["raw_cpu_s"] / row["rollups_cpu_s"]
                row["aggregates_ratio"] = row["raw_aggregates_cpu_s"] / row["rollups_aggregates_cpu_s"]
                print(
                    f"{spec:>4} ending {end_label:<11}  panels raw {row['raw_cpu_s'] * 1000:7.0f} ms  "
                    f"rollups {row['rollups_cpu_s'] * 1000:7.0f} ms  x{row['ratio']:.2f}   "
                    f"aggregates raw {row['raw_aggregates_cpu_s'] * 1000:6.0f} ms  "
                    f"rollups {row['rollups_aggregates_cpu_s'] * 1000:6.0f} ms  x{row['aggregates_ratio']:.2f}",
                    flush=True,
                )
                results.append(row)
    return results


def _poll_mentions(poll: int, base: datetime) -> tuple[Mention, ...]:
    fresh = [
        Mention(
            key=f"p{poll}-{index}",
            kind=MentionKind.POST,
            url=f"http://x/{poll}/{index}",
            title="a title",
            author=f"user{index % 17}",
            published=base + timedelta(minutes=poll * 15, seconds=index),
            likes=index,
            replies=index % 3,
        )
        for index in range(50)
    ]
    again = [
        Mention(
            key=f"p{poll - 1}-{index}",
            kind=MentionKind.POST,
            url=f"http://x/{poll - 1}/{index}",
            title="a title",
            author=f"user{index % 17}",
            published=base + timedelta(minutes=(poll - 1) * 15, seconds=index),
            likes=index + poll,
            replies=index % 3 + 1,
        )
        for index in range(50 if poll else 0)
    ]
    return (*fresh, *again)


def write_cost(polls: int, *, empty: bool = False, triggers: Sequence[str] = TRIGGERS) -> dict[str, float]:
    """CPU ms per save_poll (50 new + 50 updated mentions; `empty`: a 304 with none), with and without
    the rollup `triggers`."""
    source = SourceConfig(name="Blog", type="feed", interval=900, url="http://127.0.0.1/feed.xml")
    base = datetime(2026, 3, 1, tzinfo=UTC)
    found: dict[str, float] = {}
    for label in ("without_triggers", "with_triggers", "without_triggers_again", "with_triggers_again"):
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "w.db"
            store = Store.open(path)
            if label.startswith("without"):
                for name in triggers:
                    store._db.execute(f"DROP TRIGGER {name}")
            store.sync_sources([source], {source.name: "h"})
            began = time.process_time()
            for poll in range(polls):
                at = base + timedelta(minutes=poll * 15)
                record = PollRecord(source=source.name, started_at=at, duration=0.1, status=SourceStatus.OK)
                update = SourceUpdate(SourceStatus.OK, at + timedelta(minutes=15), 0)
                outcome = PollOutcome(mentions=() if empty else _poll_mentions(poll, base), cursor={})
                store.save_poll(source, record, update, outcome)
            found[label] = (time.process_time() - began) / polls * 1000
            store.close()
    result = {
        "without_triggers_ms": min(found["without_triggers"], found["without_triggers_again"]),
        "with_triggers_ms": min(found["with_triggers"], found["with_triggers_again"]),
    }
    result["increase"] = result["with_triggers_ms"] / result["without_triggers_ms"] - 1
    what = "an attempt with no mentions (304)" if empty else "50 new + 50 updated mentions"
    if triggers != TRIGGERS:
        what += f"; only {', '.join(triggers)} dropped"
    print(
        f"save_poll ({what}): {result['without_triggers_ms']:.2f} ms CPU without the triggers, "
        f"{result['with_triggers_ms']:.2f} ms with (+{result['increase'] * 100:.0f} %)",
        flush=True,
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rollups against raw queries, and their write cost")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--polls", type=int, default=400)
    args = parser.parse_args(argv)
    path = store_path(args.size)
    began = time.perf_counter()
    connect(path).close()  # a cached store from before migration 5 is migrated (rollups back-filled)
    migrated = time.perf_counter() - began
    print(f"{args.size:,} mentions; opening as a writer (migration if due) took {migrated:.1f} s", flush=True)
    with open("/proc/loadavg", encoding="utf-8") as loadavg:
        load = loadavg.read().split()[:3]
    result = {
        "machine": machine(),
        "load_average": load,
        "size": args.size,
        "repeats": args.repeats,
        "migration_s": migrated,
        "panels": panels(path, args.repeats),
        "write": write_cost(args.polls),
        "write_304": write_cost(args.polls * 3, empty=True),
        "write_first_reply": write_cost(args.polls, triggers=FIRST_REPLY_TRIGGERS),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
