"""Benchmark: a whole panel compute over 1M mentions when the store lists 1,000 sources, for the
per-source costs that a 12-source store hides (health grids, spike tables, per-source maps).

    python -m bench.bench_wide_store                    # 24h / 7d / 30d, 5 repeats
    python -m bench.bench_wide_store --repeats 3 --windows 24h

bench_panels' cached 1M store (12 sources, 180 days) is copied once and given 988 more feed sources
that were never polled, as a config of 1,000 feeds on a young store has. Side by side in one run,
alternating: `compute_dashboard` CPU seconds (process_time, median after a warm-up) with the health
grid as built now (one object block) and as it was built before (one string array per source,
`dtype="str"`), which every reader then joins back into one array to compare with OK.
Results: bench/results/wide_store.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.bench_panels import CACHE, END, KEYWORDS, at_current_schema, machine, store_path
from dashboard.analytics import health
from dashboard.analytics.dashboard import compute_dashboard
from dashboard.analytics.windows import Window
from dashboard.store.reader import StoreReader

RESULTS = Path(__file__).resolve().parent / "results" / "wide_store.json"
SOURCES = 1000


def wide_store(size: int) -> Path:
    """`store_path(size)` with sources up to SOURCES, made once."""
    path = CACHE / f"{store_path(size).stem}-sources{SOURCES}.db"
    if not path.exists():
        pending = path.with_suffix(".part")
        shutil.copyfile(store_path(size), pending)
        connection = sqlite3.connect(pending)
        try:
            with connection:
                have = connection.execute("SELECT COUNT(*) FROM sources").fetchone()[0]
                connection.executemany(
                    "INSERT INTO sources (name, type, target) VALUES (?, 'feed', ?)",
                    [(f"feed-{n:04d}", f"https://feed-{n:04d}.example/feed") for n in range(SOURCES - have)],
                )
        finally:
            connection.close()  # the last connection checkpoints the WAL into the file being renamed
        pending.rename(path)
    return at_current_schema(path)


def _string_columns(healthy: np.ndarray, index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    """The grid as it was built before: a "str" column per source."""
    return pd.DataFrame(
        np.where(healthy, health.OK, health.NO_DATA), index=index, columns=columns, dtype="str"
    )


@contextmanager
def grid_built_as_before() -> Iterator[None]:
    """bucket_status with the earlier frame construction, for the side-by-side run."""
    current: Callable[..., pd.DataFrame] = health.bucket_status

    def before(attempts: Any, carried: Any, sources: Any, window: Window, **options: Any) -> pd.DataFrame:
        grid = current(attempts, carried, sources, window, **options)
        return _string_columns(grid.to_numpy() == health.OK, grid.index, grid.columns)

    health.bucket_status = before  # type: ignore[assignment]
    try:
        yield
    finally:
        health.bucket_status = current  # type: ignore[assignment]


def compute_seconds(path: Path, window: str) -> float:
    with StoreReader.open(path) as reader:
        began = time.process_time()
        compute_dashboard(reader, Window.last(window, END), keywords=KEYWORDS, now=END)
        return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--windows", nargs="+", default=["24h", "7d", "30d"])
    args = parser.parse_args()
    path = wide_store(args.size)
    results: dict[str, dict[str, float]] = {}
    for window in args.windows:
        runs: dict[str, list[float]] = {"object grid (now)": [], "str columns (before)": []}
        for _ in range(args.repeats + 1):  # the first of each is a warm-up
            runs["object grid (now)"].append(compute_seconds(path, window))
            with grid_built_as_before():
                runs["str columns (before)"].append(compute_seconds(path, window))
        medians = {name: statistics.median(times[1:]) for name, times in runs.items()}
        results[window] = medians
        now, before = medians.values()
        print(f"{window:>4}: now {now:.3f} s, before {before:.3f} s CPU ({before / now:.2f}x)")
    RESULTS.write_text(
        json.dumps({"machine": machine(), "size": args.size, "sources": SOURCES, **results}, indent=2)
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
