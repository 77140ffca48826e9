"""Benchmark: every dashboard panel over stores of 10k, 100k and 1M mentions, against the naive way.

    python -m bench.bench_panels                      # 10k, 100k, 1M (stores cached in bench/.cache/)
    python -m bench.bench_panels --sizes 1000000 --repeats 5

"fast" is `compute_dashboard` (aggregates in SQL, loads only a window's rows and columns). "naive" is
`SELECT *` of every table into pandas, then the same metrics computed in pandas from the rows (the
`*_from_rows` functions). Each (size, approach, window) runs in a fresh process, so its peak RSS (taken
before tracemalloc is switched on) is its own. Times are medians over the repeats, after one warm-up; CPU seconds are reported beside wall
seconds because this machine is shared (the load average is recorded too). Peak memory per panel is
tracemalloc's (Python and numpy allocations; SQLite's own cache is not in it, the process RSS is).
Results: bench/results/panels.json.

The stores get languages and sentiment filled in SQL (`opinion_store`: deterministic by id, 60 % English
and 20 % French scored, 10 % German and 10 % unknown left unscored), as the opinion pass would leave
them, so the sentiment panels count real rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.generate import generate_store
from dashboard.analytics import engagement as engagement_metrics
from dashboard.analytics import health, keywords, replies, rising, sentiment, spikes, trending, voices, volume
from dashboard.analytics.dashboard import DashboardOptions, compute_dashboard, shown_sources
from dashboard.analytics.windows import Window
from dashboard.durations import WINDOW_SPECS
from dashboard.store.db import connect
from dashboard.store.keywords import KeywordBackfill
from dashboard.store.reader import StoreReader, engagement_of
from dashboard.store.writer import Store

HERE = Path(__file__).parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "panels.json"
END = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
DAYS = 180.0
SEED = 7
GENERATOR_VERSION = 1
KEYWORDS = ("ourproject", "competitor", "othertool")
FAST_WINDOWS = WINDOW_SPECS  # the dashboard's windows
KEYWORD_BATCH = 20_000  # mentions per back-fill transaction here (the poller's: store.keywords.BATCH)


def store_path(size: int) -> Path:
    """The cached store of `size` mentions, generated on first use."""
    path = CACHE / f"store-{size}-d{int(DAYS)}-s{SEED}-v{GENERATOR_VERSION}.db"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        made = generate_store(path, size, days=DAYS, end=END, seed=SEED)
        print(f"generated {path.name}: {made.mentions:,} mentions in {made.seconds:.1f} s", file=sys.stderr)
    return at_current_schema(path)


def at_current_schema(path: Path) -> Path:
    """`path` migrated to this version's schema (a cache made by an older version would lack its columns:
    the dashboard's readers open read-only, so they never migrate), with KEYWORDS tracked and matched
    in every mention, as a poller's sync and back-fill leave a store (the back-fill is timed, once)."""
    with Store.open(path) as store:
        store.sync_keywords(KEYWORDS)
    connection = connect(path)
    try:
        backfill, matched = KeywordBackfill(connection), 0
        began = time.process_time()
        while done := backfill.run_batch(KEYWORD_BATCH):
            matched += done
        if matched:
            print(
                f"matched {len(KEYWORDS)} keywords in {path.name}: {matched:,} mention-keywords read, "
                f"{time.process_time() - began:.1f} s CPU",
                file=sys.stderr,
            )
    finally:
        connection.close()
    return path


OPINION_FILL_VERSION = 1


def opinion_store(size: int) -> Path:
    """`store_path(size)` copied once with language and sentiment filled (see the module docstring)."""
    path = CACHE / f"store-{size}-d{int(DAYS)}-s{SEED}-v{GENERATOR_VERSION}-opinion{OPINION_FILL_VERSION}.db"
    if path.exists():
        return at_current_schema(path)
    pending = path.with_suffix(".part")
    shutil.copyfile(store_path(size), pending)
    with sqlite3.connect(pending) as connection:
        connection.execute(
            """UPDATE mentions SET
               language = CASE WHEN id % 10 < 6 THEN 'en' WHEN id % 10 < 8 THEN 'fr'
                               WHEN id % 10 = 8 THEN 'de' END,
               sentiment = CASE WHEN id % 10 < 8 THEN ((id * 7919) % 2001 - 1000) / 1000.0 END,
               opinion_version = 1"""
        )
        connection.execute(
            """UPDATE mentions SET sentiment_label = CASE WHEN sentiment IS NULL THEN NULL
               WHEN sentiment >= 0.05 THEN 'positive' WHEN sentiment <= -0.05 THEN 'negative'
               ELSE 'neutral' END"""
        )
    connection.close()
    pending.rename(path)
    return path


# ---- fast: the product code ---------------------------------------------------------------------


def run_fast(path: Path, spec: str, repeats: int) -> dict[str, Any]:
    window = Window.last(spec, END)
    with StoreReader.open(path) as reader:
        compute_dashboard(reader, window, keywords=KEYWORDS, now=END)  # warm-up: page cache, imports
        walls, cpus, panels = [], [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            data = compute_dashboard(reader, window, keywords=KEYWORDS, now=END)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            panels.append(dict(data.timings))
        untraced_rss = max_rss_mb()
        tracemalloc.start()
        traced = compute_dashboard(reader, window, keywords=KEYWORDS, now=END)
        overall_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "panels_s": {name: statistics.median(run[name] for run in panels) for name in panels[0]},
        "panels_peak_mb": {name: peak / 2**20 for name, peak in traced.peak_memory.items()},
        "traced_peak_mb": overall_peak / 2**20,
        "rows_in_window": traced.kpis.mentions,
        "max_rss_mb": untraced_rss,
    }


# ---- naive: SELECT * then pandas ------------------------------------------------------------------


def load_everything(connection: sqlite3.Connection) -> dict[str, pd.DataFrame]:
    """What a first version would do: every table into pandas, then convert."""
    mentions = pd.read_sql_query("SELECT * FROM mentions", connection)
    history = pd.read_sql_query("SELECT * FROM engagement_history", connection)
    polls = pd.read_sql_query("SELECT * FROM polls", connection)
    sources = pd.read_sql_query("SELECT * FROM sources", connection)
    names = dict(zip(sources["id"], sources["name"], strict=True))
    for frame in (mentions, polls):
        frame["source"] = frame["source_id"].map(names).astype("str")
    for column in ("published_at", "first_seen_at", "handled_at"):
        mentions[column] = pd.to_datetime(mentions[column], unit="s", utc=True)
    for column in ("likes", "replies", "shares", "views"):
        mentions[column] = mentions[column].astype("Int64")
        history[column] = history[column].astype("Int64")
    mentions["engagement"] = engagement_of(mentions["likes"], mentions["replies"], mentions["shares"])
    mentions["handled"] = mentions["handled_at"].notna()
    history["at"] = pd.to_datetime(history["at"], unit="s", utc=True)
    history["engagement"] = engagement_of(history["likes"], history["replies"], history["shares"])
    polls["started_at"] = pd.to_datetime(polls["started_at"], unit="s", utc=True)
    sources["mentions_total"] = sources["id"].map(mentions["source_id"].value_counts()).fillna(0)
    sources["active"] = sources["active"].astype(bool)
    return {"mentions": mentions, "history": history, "polls": polls, "sources": sources}


def between(frame: pd.DataFrame, column: str, start: datetime, end: datetime) -> pd.DataFrame:
    return frame[(frame[column] >= pd.Timestamp(start)) & (frame[column] < pd.Timestamp(end))]


def naive_panels(frames: dict[str, pd.DataFrame], window: Window) -> dict[str, Callable[[], object]]:
    """The same panels as compute_dashboard, each from the in-memory rows."""
    mentions, history, polls, sources = (frames[k] for k in ("mentions", "history", "polls", "sources"))
    settings = DashboardOptions()
    state: dict[str, Any] = {}

    def volume_panel() -> object:
        state["stats"] = volume.bucket_stats_from_rows(mentions, window)
        previous = volume.bucket_stats_from_rows(mentions, window.previous)
        state["names"] = shown_sources(sources, state["stats"])
        return previous

    def health_panel() -> object:
        span = spikes.spike_span(window)
        polls_small = polls[["source", "started_at", "status"]]
        state["grid"] = health.bucket_status(
            health.summarise_attempts(polls_small, window),
            health.carried_states(polls_small, pd.Timestamp(window.start)),
            state["names"],
            window,
        )
        state["hourly_grid"] = health.bucket_status(
            health.summarise_attempts(polls_small, span),
            health.carried_states(polls_small, pd.Timestamp(span.start)),
            state["names"],
            span,
        )
        state["span"] = span
        return volume.volume_table(state["stats"], state["grid"])

    def voices_panel() -> object:
        authors = voices.author_stats_from_rows(mentions, voices.first_seen_from_rows(mentions), window)
        return voices.summarise_voices(authors, window), voices.top_voices(authors, window)

    def spikes_panel() -> object:
        span = state["span"]
        rows = between(mentions, "published_at", span.start, span.end)
        hours = rows["published_at"].dt.floor("h")
        counts = (
            rows.groupby([hours.rename("bucket_start"), "source"]).size().rename("mentions").reset_index()
        )
        found = spikes.find_spikes(spikes.hourly_table(counts, state["hourly_grid"]))
        ids = pd.DataFrame({"id": rows["id"], "source": rows["source"], "bucket_start": hours})
        return spikes.attach_mention_ids(found, ids)

    def rising_panel() -> object:
        recent = between(history, "at", END - settings.rising_span, END + timedelta(seconds=1))
        return rising.rising(recent)

    def needs_reply_panel() -> object:
        waiting = replies.needs_reply(mentions, END)
        in_window = between(mentions, "published_at", window.start, window.end)
        return waiting, replies.median_first_response(replies.first_replies_from_rows(in_window, history))

    def share_panel() -> object:
        rows = between(mentions, "published_at", window.start, window.end)
        return keywords.share_of_voice(rows["title"] + "\n" + rows["summary"], KEYWORDS)

    def trending_panel() -> object:
        baseline_start = window.start - max(settings.trending_baseline, window.length)
        now_rows = between(mentions, "published_at", window.start, window.end)
        before = between(mentions, "published_at", baseline_start, window.start)
        return trending.trending_terms(
            (now_rows["title"] + "\n" + now_rows["summary"]).tolist(),
            (before["title"] + "\n" + before["summary"]).tolist(),
        )

    def engagement_panel() -> object:
        return engagement_metrics.engagement_by_source(state["stats"])

    def sentiment_panel() -> object:
        rows = between(mentions, "published_at", window.previous.start, window.end)
        scored = rows[rows["sentiment_label"].isin(sentiment.LABELS)]
        shifted = scored["published_at"].where(
            scored["published_at"] >= pd.Timestamp(window.start), scored["published_at"] + window.length
        )
        current = (scored["published_at"] >= pd.Timestamp(window.start)).rename("current")
        return scored.groupby(
            [shifted.dt.floor(window.bucket).rename("bucket_start"), current, "sentiment_label"]
        ).size()

    def most_negative_panel() -> object:
        rows = between(mentions, "published_at", window.start, window.end)
        negative = rows[rows["sentiment_label"] == "negative"]
        return negative.sort_values(["sentiment", "published_at", "id"], ascending=[True, False, False]).head(
            sentiment.MOST_NEGATIVE_LIMIT
        )

    return {
        "volume": volume_panel,
        "health": health_panel,
        "engagement": engagement_panel,
        "voices": voices_panel,
        "spikes": spikes_panel,
        "rising": rising_panel,
        "needs_reply": needs_reply_panel,
        "share_of_voice": share_panel,
        "trending": trending_panel,
        "sentiment": sentiment_panel,
        "most_negative": most_negative_panel,
    }


def run_naive(path: Path, spec: str, repeats: int) -> dict[str, Any]:
    window = Window.last(spec, END)
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    walls, cpus, panel_runs = [], [], []
    peaks: dict[str, float] = {}
    untraced_rss = 0.0
    for attempt in range(repeats + 1):
        traced = attempt == repeats  # the last run measures memory
        if traced:
            untraced_rss = max_rss_mb()
            tracemalloc.start()
        timings: dict[str, float] = {}
        wall, cpu = time.perf_counter(), time.process_time()
        began = time.perf_counter()
        frames = load_everything(connection)
        timings["load"] = time.perf_counter() - began
        if traced:
            peaks["load"] = tracemalloc.get_traced_memory()[1] / 2**20
        for name, panel in naive_panels(frames, window).items():
            if traced:
                before = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
            began = time.perf_counter()
            panel()
            timings[name] = time.perf_counter() - began
            if traced:
                peaks[name] = (tracemalloc.get_traced_memory()[1] - before) / 2**20
        if traced:
            overall = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        else:
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            panel_runs.append(timings)
        del frames
    connection.close()
    return {
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "panels_s": {name: statistics.median(run[name] for run in panel_runs) for name in panel_runs[0]},
        "panels_peak_mb": peaks,
        "traced_peak_mb": overall,
        "max_rss_mb": untraced_rss,
    }


# ---- loading: fetchall + DataFrame vs read_sql_query ----------------------------------------------


def compare_loaders(path: Path, repeats: int) -> dict[str, Any]:
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    query = """SELECT id, source_id, author, published_at, likes, replies, shares, title
               FROM mentions WHERE published_at >= ? AND published_at < ?"""
    columns = ["id", "source_id", "author", "published_at", "likes", "replies", "shares", "title"]
    result: dict[str, Any] = {}
    for spec in FAST_WINDOWS:
        window = Window.last(spec, END)
        params = (window.start_epoch, window.end_epoch)
        timings: dict[str, list[float]] = {"fetchall_dataframe_s": [], "read_sql_query_s": []}
        for _ in range(repeats):
            began = time.perf_counter()
            pd.DataFrame(connection.execute(query, params).fetchall(), columns=columns)
            timings["fetchall_dataframe_s"].append(time.perf_counter() - began)
            began = time.perf_counter()
            pd.read_sql_query(query, connection, params=params)
            timings["read_sql_query_s"].append(time.perf_counter() - began)
        result[spec] = {name: statistics.median(values) for name, values in timings.items()}
    connection.close()
    return result


# ---- driver --------------------------------------------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    path = Path(args.store)
    run = run_fast if args.worker == "fast" else run_naive
    result = run(path, args.window, args.repeats)
    # tracemalloc keeps a traceback per allocation: the RSS with it on says little about the code.
    result["max_rss_traced_mb"] = max_rss_mb()
    print(json.dumps(result))


def max_rss_mb() -> float:
    """Peak resident memory of this process so far: VmHWM. (getrusage's ru_maxrss survives execve on
    Linux, so a worker would report the peak of the parent that generated the store.)"""
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def spawn(approach: str, path: Path, spec: str, repeats: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bench_panels", "--worker", approach, "--store", str(path)]
    command += ["--window", spec, "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=HERE.parent)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def print_table(size: int, runs: dict[str, dict[str, Any]]) -> None:
    names = sorted({name for run in runs.values() for name in run["panels_s"]}, key=_panel_order)
    labels = list(runs)
    print(f"\n{size:,} mentions ({', '.join(labels)}): median wall ms / peak traced MB per panel")
    print(f"{'panel':<16}" + "".join(f"{label:>24}" for label in labels))
    for name in names:
        cells = []
        for label in labels:
            run = runs[label]
            if name in run["panels_s"]:
                cells.append(
                    f"{run['panels_s'][name] * 1000:>11.0f} / {run['panels_peak_mb'].get(name, 0):>7.1f}"
                )
            else:
                cells.append(f"{'-':>21}")
        print(f"{name:<16}" + "".join(f"{cell:>24}" for cell in cells))
    rows = (("wall_s", "total wall s"), ("cpu_s", "total cpu s"), ("max_rss_mb", "peak RSS MB"))
    for key, title in rows:
        print(f"{title:<16}" + "".join(f"{runs[label][key]:>24.2f}" for label in labels))


def _panel_order(name: str) -> int:
    order = ["load", "sources", "volume", "health", "engagement", "voices", "spikes", "rising"]
    order += ["needs_reply", "share_of_voice", "trending", "sentiment", "most_negative", "kpis"]
    return order.index(name) if name in order else len(order)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the dashboard panels")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--naive-repeats", type=int, default=2)
    parser.add_argument("--worker", choices=["fast", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--window", default="24h", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    report: dict[str, Any] = {
        "machine": machine(),
        "load_average_before": os.getloadavg(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": {"days": DAYS, "seed": SEED, "end": END.isoformat(), "generator": "bench/generate.py"},
        "sizes": {},
    }
    for size in args.sizes:
        path = opinion_store(size)
        runs: dict[str, dict[str, Any]] = {}
        for spec in FAST_WINDOWS:
            runs[f"fast {spec}"] = spawn("fast", path, spec, args.repeats)
        runs["naive 24h"] = spawn("naive", path, "24h", args.naive_repeats)
        report["sizes"][str(size)] = {
            "runs": runs,
            "loaders": compare_loaders(path, args.repeats),
            "store_mb": path.stat().st_size / 2**20,
        }
        print_table(size, runs)
        print("loaders (s):", json.dumps(report["sizes"][str(size)]["loaders"]))
    report["load_average_after"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {RESULTS.relative_to(HERE.parent)}; load average {report['load_average_after']}")


if __name__ == "__main__":
    main()
