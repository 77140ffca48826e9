"""Benchmark: the top voices of a 30-day window of 1M mentions, read from the contenders only
(`voices.top_voices`) against sorting every voice, side by side in one run.

    python -m bench.bench_voices

The voices are `voices.author_stats` of bench_panels' cached 1M store (with languages and sentiment,
as bench_panels measures it), 30 days ending at its END: ~38k (source, author) pairs. CPU ms, median
of 5 after a warm-up. Results: bench/results/voices.json.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pandas as pd

from bench.bench_panels import END, machine, opinion_store
from bench.bench_rollups import cpu_median
from dashboard.analytics import voices
from dashboard.analytics.windows import Window
from dashboard.store.reader import StoreReader

RESULTS = Path(__file__).parent / "results" / "voices.json"


def sorted_fully(stats: pd.DataFrame, window: Window, by: voices.RankBy) -> pd.DataFrame:
    """What top_voices did before: every voice sorted on the four keys, then the head."""
    return voices.top_voices(stats, window, by=by, top_n=len(stats) + 1).head(10)


def main() -> None:
    window = Window.last("30d", END)
    with StoreReader.open(opinion_store(1_000_000)) as reader:
        stats = voices.author_stats(reader, window.start, window.end)
    result: dict[str, object] = {"machine": machine(), "voices": len(stats)}
    ranks: tuple[voices.RankBy, ...] = ("mentions", "engagement")
    for by in ranks:
        full = cpu_median(partial(sorted_fully, stats, window, by), 5)
        contenders = cpu_median(partial(voices.top_voices, stats, window, by=by, top_n=10), 5)
        result[by] = {
            "full_sort_ms": full * 1000,
            "contenders_ms": contenders * 1000,
            "ratio": full / contenders,
        }
        print(
            f"top 10 voices by {by} of {len(stats):,}: sorting all {full * 1000:.1f} ms, "
            f"the contenders {contenders * 1000:.1f} ms  x{full / contenders:.1f}"
        )
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
