"""Benchmark: the dashboard panels over 1M mentions with the per-hour rollups (schema migration 5)
against the raw queries, side by side in one run; and what the rollup triggers add to a poll's write.

    python -m bench.bench_rollups                   # 1M mentions, 24h / 7d / 30d, 5 repeats
    python -m bench.bench_rollups --size 100000 --repeats 3

Panels: `compute_dashboard` CPU seconds (process_time, median after a warm-up) with
`StoreReader(rollups=True)` and `rollups=False` alternating on the same store (bench_panels' cached
store, migrated in place), for a window ending on the hour (bench_panels' END) and one ending
mid-hour (the usual case: `now`); plus the five aggregates the rollups and the stored keyword matches
(schema migration 10) serve, alone. The cached store gets bench_panels' KEYWORDS tracked and matched.
Writes: CPU per `Store.save_poll` of 50 new mentions plus 50 re-polled ones with new counts, and of
an attempt with no mentions (a 304), on a fresh store, with the triggers and with them dropped; and
with the three keywords tracked and none.
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
from dashboard.analytics import keywords, spikes, voices, volume
from dashboard.analytics.dashboard import compute_dashboard
from dashboard.analytics.windows import Window
from dashboard.database import Database
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
from dashboard.opinion import Opinion
from dashboard.opinion.mention import Label
from dashboard.store.db import connect
from dashboard.store.opinion import AnalysisResult, OpinionPass
from dashboard.store.reader import StoreReader
from dashboard.store.writer import Store

RESULTS = Path(__file__).parent / "results" / "rollups.json"
WINDOWS = WINDOW_SPECS  # the dashboard's windows
DAY_AUTHOR_TRIGGERS = tuple(f"mentions_day_authors_{event}" for event in ("insert", "update", "delete"))
SENTIMENT_TRIGGERS = tuple(f"mentions_sentiment_{event}" for event in ("insert", "update", "delete"))
SOURCE = SourceConfig(name="Blog", type="feed", interval=900, url="http://127.0.0.1/feed.xml")
BASE = datetime(2026, 3, 1, tzinfo=UTC)  # the write benches' first poll
FIRST_REPLY_TRIGGERS = tuple(f"engagement_first_reply_{event}" for event in ("insert", "update", "delete"))
TRIGGERS = (
    "mentions_rollup_insert",
    "mentions_rollup_delete",
    "mentions_rollup_update",
    "polls_rollup_insert",
    "polls_rollup_delete",
    "polls_rollup_update",
    *FIRST_REPLY_TRIGGERS,
    *SENTIMENT_TRIGGERS,
    *DAY_AUTHOR_TRIGGERS,
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
    """The reader calls the rollups (and the stored keyword matches) serve, as compute_dashboard makes them."""
    return (
        volume.bucket_stats(reader, window.start, window.end, window.bucket_seconds),
        volume.totals(reader, window.previous.start, window.previous.end),
        spikes.hourly_counts(reader, window.start - timedelta(days=7), window.end),
        voices.author_stats(reader, window.start, window.end),
        keywords.window_share_of_voice(reader, window.start, window.end, KEYWORDS),
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


def share_of_voice(path: Path, repeats: int) -> list[dict[str, Any]]:
    """Share of voice alone: the stored keyword matches against the search of the window's texts."""
    results = []
    with StoreReader.open(path, rollups=True) as stored, StoreReader.open(path, rollups=False) as scan:
        for spec in WINDOWS:
            window = Window.last(spec, END)
            row: dict[str, Any] = {"window": spec}
            for label, reader in (("scan", scan), ("stored", stored)):
                measure = partial(keywords.window_share_of_voice, reader, window.start, window.end, KEYWORDS)
                row[f"{label}_cpu_s"] = cpu_median(measure, repeats)
            row["ratio"] = row["scan_cpu_s"] / row["stored_cpu_s"]
            print(
                f"share of voice {spec:>4}: searching the texts {row['scan_cpu_s'] * 1000:6.1f} ms, "
                f"stored matches {row['stored_cpu_s'] * 1000:5.2f} ms  x{row['ratio']:.0f}",
                flush=True,
            )
            results.append(row)
    return results


def _title(index: int) -> str:
    """A title; a fifth of them name one of KEYWORDS."""
    return (
        f"{KEYWORDS[index % len(KEYWORDS)]} release notes {index}" if index % 5 == 0 else f"a title {index}"
    )


def _poll_mentions(poll: int, base: datetime) -> tuple[Mention, ...]:
    fresh = [
        Mention(
            key=f"p{poll}-{index}",
            kind=MentionKind.POST,
            url=f"http://x/{poll}/{index}",
            title=_title(index),
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
            title=_title(index),
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

    def drop_triggers(store: Store) -> None:
        for name in triggers:
            store._db.execute(f"DROP TRIGGER {name}")

    what = "an attempt with no mentions (304)" if empty else "50 new + 50 updated mentions"
    if triggers != TRIGGERS:
        what += f"; only {', '.join(triggers)} dropped"
    return compare_writes(polls, what, "triggers", without=drop_triggers, empty=empty)


def keyword_write_cost(polls: int) -> dict[str, float]:
    """CPU ms per save_poll (50 new + 50 updated mentions, a fifth naming a keyword) with bench_panels'
    three KEYWORDS tracked (matched as the mentions are stored: schema migration 10) and with none."""

    def track(store: Store) -> None:
        store.sync_keywords(KEYWORDS)

    return compare_writes(polls, "50 new + 50 updated mentions", "keyword matching", with_=track)


def label_write_cost(mentions: int = 20_000) -> dict[str, float]:
    """CPU ms per 1,000 mentions the opinion pass labels (its batches of store.opinion.BATCH, the
    analysis itself left out: a stand-in returns the labels), with and without migration 11's
    sentiment_hours triggers."""

    def labels(titles: Sequence[str], *rest: object) -> AnalysisResult:
        kinds: tuple[Label, ...] = ("positive", "neutral", "negative")
        return AnalysisResult([Opinion("en", 0.5, kinds[len(title) % 3]) for title in titles])

    def measure(with_triggers: bool) -> float:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "w.db"
            with Store.open(path) as store:
                if not with_triggers:
                    for name in SENTIMENT_TRIGGERS:
                        store._db.execute(f"DROP TRIGGER {name}")
                store.sync_sources([SOURCE], {SOURCE.name: "h"})
                _save_polls(store, mentions // 50, fresh_only=True)
            connection = connect(path)
            opinion = OpinionPass(connection, ["en"], run=labels)
            began = time.process_time()
            while opinion.run_batch():
                pass
            spent = (time.process_time() - began) / mentions * 1000 * 1000
            connection.close()
        return spent

    return alternate(measure, "opinion pass, writing 1,000 labels", "sentiment triggers")


def postgresql_write_cost(polls: int) -> dict[str, dict[str, float]]:
    """Wall ms (client and server) per save_poll into PostgreSQL (a throwaway cluster, tests/pg.py):
    with and without migration 11's sentiment statement triggers (they run on every UPDATE of
    mentions, the writer's count refreshes included), and with and without the keyword matching."""
    from tests.pg import new_database_url

    def drop_sentiment_triggers(store: Store) -> None:
        for name in SENTIMENT_TRIGGERS:
            store._db.execute(f"DROP TRIGGER {name} ON mentions")

    def track(store: Store) -> None:
        store.sync_keywords(KEYWORDS)

    on_postgresql = {
        "new_store": lambda folder: new_database_url(),
        "clock": time.perf_counter,
        "unit": "wall",
    }
    what = "PostgreSQL, 50 new + 50 updated mentions"
    return {
        "sentiment_triggers": compare_writes(
            polls, what, "sentiment triggers", without=drop_sentiment_triggers, **on_postgresql
        ),
        "keyword_matching": compare_writes(polls, what, "keyword matching", with_=track, **on_postgresql),
    }


def compare_writes(
    polls: int,
    what: str,
    thing: str,
    *,
    without: Callable[[Store], None] = lambda store: None,
    with_: Callable[[Store], None] = lambda store: None,
    empty: bool = False,
    new_store: Callable[[Path], Database] = lambda folder: folder / "w.db",
    clock: Callable[[], float] = time.process_time,
    unit: str = "CPU",
) -> dict[str, float]:
    """ms (`clock`: CPU by default) per save_poll on fresh stores (`new_store`: a SQLite file by default)
    prepared `without` and `with_` `thing`, alternating, the best of two runs each."""

    def measure(with_thing: bool) -> float:
        with tempfile.TemporaryDirectory() as directory:
            store = Store.open(new_store(Path(directory)))
            (with_ if with_thing else without)(store)
            store.sync_sources([SOURCE], {SOURCE.name: "h"})
            began = clock()
            _save_polls(store, polls, empty=empty)
            spent = (clock() - began) / polls * 1000
            store.close()
        return spent

    return alternate(measure, f"save_poll ({what})", thing, unit)


def _save_polls(store: Store, polls: int, *, empty: bool = False, fresh_only: bool = False) -> None:
    """`polls` attempts of SOURCE, 15 min apart: 50 new mentions and the previous poll's 50 again with
    new counts (`fresh_only`: the new ones alone; `empty`: none, a 304)."""
    for poll in range(polls):
        at = BASE + timedelta(minutes=poll * 15)
        record = PollRecord(source=SOURCE.name, started_at=at, duration=0.1, status=SourceStatus.OK)
        update = SourceUpdate(SourceStatus.OK, at + timedelta(minutes=15), 0)
        mentions = () if empty else _poll_mentions(poll, BASE)[: 50 if fresh_only else None]
        store.save_poll(SOURCE, record, update, PollOutcome(mentions=mentions, cursor={}))


def alternate(measure: Callable[[bool], float], what: str, thing: str, unit: str = "CPU") -> dict[str, float]:
    """`measure(False)` and `measure(True)` (without and with `thing`), alternating twice; the best of
    each, its increase, printed."""
    found: dict[bool, list[float]] = {False: [], True: []}
    for with_thing in (False, True, False, True):
        found[with_thing].append(measure(with_thing))
    key = thing.replace(" ", "_")
    result = {f"without_{key}_ms": min(found[False]), f"with_{key}_ms": min(found[True])}
    result["increase"] = result[f"with_{key}_ms"] / result[f"without_{key}_ms"] - 1
    print(
        f"{what}: {result[f'without_{key}_ms']:.2f} ms {unit} without the {thing}, "
        f"{result[f'with_{key}_ms']:.2f} ms with (+{result['increase'] * 100:.0f} %)",
        flush=True,
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rollups against raw queries, and their write cost")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--polls", type=int, default=400)
    parser.add_argument(
        "--postgresql-writes",
        action="store_true",
        help="only the write costs on PostgreSQL (starts a cluster)",
    )
    args = parser.parse_args(argv)
    if args.postgresql_writes:
        postgresql_write_cost(args.polls)
        return
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
        "share_of_voice": share_of_voice(path, args.repeats),
        "write": write_cost(args.polls),
        "write_304": write_cost(args.polls * 3, empty=True),
        "write_first_reply": write_cost(args.polls, triggers=FIRST_REPLY_TRIGGERS),
        "write_keywords": keyword_write_cost(args.polls),
        "write_labels": label_write_cost(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
