"""Spikes: hours whose volume stands out against a robust trailing baseline.

Per source and overall, each hour of the window is compared with the same series over the previous
7 days (168 hourly values, zeros included, "no data" hours left out): robust z = (x - median) / scale,
scale = 1.4826 * MAD (the median absolute deviation, scaled to a standard deviation for normal data).
Sparse series often have MAD = 0; then the scale is 1.2533 * the mean absolute deviation, and 1.0 if
that is 0 too (Iglewicz & Hoaglin's modified z-score). An hour is a spike when z > `threshold`, it has
at least `min_count` mentions and the baseline has at least `min_baseline_hours` hours with data.
Unlike a mean and standard deviation, the median and MAD are not dragged up by earlier spikes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from dashboard.analytics.health import OK
from dashboard.analytics.windows import Window, epochs_of
from dashboard.store.db import to_epoch
from dashboard.store.reader import StoreReader

OVERALL = ""  # the `source` of an all-sources spike
SPIKE_COLUMNS = ("bucket_start", "source", "mentions", "baseline", "score", "mention_ids")
BASELINE_HOURS = 168
THRESHOLD = 3.5
MIN_COUNT = 5
MIN_BASELINE_HOURS = 24


def spike_span(window: Window, baseline_hours: int = BASELINE_HOURS) -> Window:
    """The hourly span to load: the baseline before the window's first (aligned) hour, then the window."""
    first_hour = window.start - timedelta(seconds=window.start_epoch % 3600)
    return Window.between(first_hour - timedelta(hours=baseline_hours), window.end, bucket="h")


def hourly_table(counts: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    """Mentions per hour (rows: the index of the hourly health grid `status`), one column per source plus
    OVERALL (the sum over the sources with data); NaN where a source has no data (or none has)."""
    if counts.empty:
        table = pd.DataFrame(0.0, index=status.index, columns=status.columns)
    else:
        keyed = pd.DataFrame(
            {
                "hour": epochs_of(counts["bucket_start"]),
                "source": counts["source"].to_numpy(),
                "mentions": counts["mentions"].to_numpy(),
            }
        )
        wide = keyed.groupby(["hour", "source"])["mentions"].sum().unstack("source")
        table = wide.reindex(index=epochs_of(status.index), columns=status.columns).fillna(0).astype(float)
        table.index = status.index
    table = table.where(status.to_numpy() == OK)
    table[OVERALL] = table.sum(axis=1, min_count=1) if status.shape[1] else 0.0
    return table


def find_spikes(
    table: pd.DataFrame,
    *,
    baseline_hours: int = BASELINE_HOURS,
    threshold: float = THRESHOLD,
    min_count: int = MIN_COUNT,
    min_baseline_hours: int = MIN_BASELINE_HOURS,
) -> pd.DataFrame:
    """[bucket_start, source, mentions, baseline, score] for every spike among the rows of `table` after
    its first `baseline_hours` (the hourly_table of `spike_span(window)`), oldest first."""
    everything = table.to_numpy(dtype=float)
    hours = everything.shape[0]
    if hours <= baseline_hours or everything.shape[1] == 0:
        return _empty()
    # Only a series that reaches `min_count` in some hour of the window can spike: the baselines
    # (hours x series x baseline_hours values, sorted twice) are built for those alone. With 1,000
    # mostly quiet sources this is most of the 7 d and 30 d panels' time otherwise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN series: no data, no spike
        candidates = np.flatnonzero(np.nanmax(everything[baseline_hours:], axis=0) >= min_count)
    if candidates.size == 0:
        return _empty()
    values = everything[:, candidates]
    baselines = sliding_window_view(values, baseline_hours, axis=0)[: hours - baseline_hours]
    current = values[baseline_hours:]
    known = np.sum(~np.isnan(baselines), axis=2)
    median = _nan_median(baselines, known)
    deviation = np.abs(baselines - median[..., None])
    mad = _nan_median(deviation, known)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN baselines: no data, no spike
        mean_deviation = np.nanmean(deviation, axis=2)
    scale = np.where(mad > 0, 1.4826 * mad, np.where(mean_deviation > 0, 1.2533 * mean_deviation, 1.0))
    score = (current - median) / scale
    flagged = (
        (known >= min_baseline_hours)
        & ~np.isnan(current)
        & (current >= min_count)
        & (np.nan_to_num(score, nan=-np.inf) > threshold)
    )
    rows, columns = np.nonzero(flagged)
    return pd.DataFrame(
        {
            "bucket_start": table.index[baseline_hours:][rows],
            "source": pd.Series(table.columns[candidates[columns]], dtype="str"),
            "mentions": current[rows, columns].astype(np.int64),
            "baseline": median[rows, columns],
            "score": score[rows, columns],
        }
    ).sort_values(["bucket_start", "source"], ignore_index=True)


def _nan_median(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Median along the last axis ignoring NaN (NaN where nothing is known): one sort, which puts NaN
    last, then the middle of the known values; np.nanmedian was ~5x slower on these shapes."""
    ordered = np.sort(values, axis=-1)
    low = np.maximum((known - 1) // 2, 0)[..., None]
    high = np.maximum(known // 2, 0)[..., None]
    middle = (np.take_along_axis(ordered, low, -1) + np.take_along_axis(ordered, high, -1))[..., 0] / 2
    result: np.ndarray = np.where(known > 0, middle, np.nan)
    return result


def attach_mention_ids(spikes: pd.DataFrame, mentions: pd.DataFrame) -> pd.DataFrame:
    """Add `mention_ids` (sorted list[int]) to each spike: the mentions of that source in that hour, or
    of every source for an OVERALL spike. `mentions` has [id, source, bucket_start] (hourly buckets)."""
    hour = epochs_of(mentions["bucket_start"])
    ids = mentions["id"].to_numpy(dtype=np.int64)
    keyed = pd.concat(
        [
            pd.DataFrame({"hour": hour, "source": mentions["source"].astype("str").to_numpy(), "id": ids}),
            pd.DataFrame({"hour": hour, "source": OVERALL, "id": ids}),
        ],
        ignore_index=True,
    ).sort_values("id", kind="stable")
    listed = keyed.groupby(["hour", "source"], sort=False)["id"].agg(list).rename("mention_ids")
    result = spikes.assign(hour=epochs_of(spikes["bucket_start"]))
    result = result.merge(listed.reset_index(), on=["hour", "source"], how="left").drop(columns="hour")
    # A spike always has mentions; an empty list only if rows were deleted in between.
    result["mention_ids"] = result["mention_ids"].apply(
        lambda found: found if isinstance(found, list) else []
    )
    return result


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bucket_start": pd.Series(dtype="datetime64[us, UTC]"),
            "source": pd.Series(dtype="str"),
            "mentions": pd.Series(dtype="int64"),
            "baseline": pd.Series(dtype="float64"),
            "score": pd.Series(dtype="float64"),
        }
    )


# ---- from the store --------------------------------------------------------------------------------


def hourly_counts(reader: StoreReader, since: datetime, until: datetime) -> pd.DataFrame:
    """Mentions per UTC hour and source over [since, until): [bucket_start, source, mentions]
    (whole hours from mention_hours, the edges through the covering index mentions_source_published;
    only non-empty hours appear)."""
    split = reader.hour_split(since, until)
    # Naming every source id lets SQLite use the covering index (2x faster than mentions_published).
    ids = list(reader.source_names())
    marks = ", ".join("?" * len(ids))
    raw = f"""SELECT published_at - published_at % 3600, source_id, 1 FROM mentions
              WHERE source_id IN ({marks}) AND published_at >= ? AND published_at < ?"""
    rolled = (
        "SELECT hour, source_id, mentions FROM mention_hours WHERE hour >= ? AND hour < ? AND mentions > 0"
    )
    union, params = split.union(raw, rolled, raw_prefix=ids)
    rows = reader.query(
        f"""WITH parts(bucket, source_id, n) AS ({union})
            SELECT bucket, source_id, SUM(n) FROM parts GROUP BY bucket, source_id ORDER BY bucket, source_id""",
        params,
    )
    frame = pd.DataFrame(rows, columns=["bucket_start", "source", "mentions"])
    return reader.finish_aggregate(frame, "bucket_start")


def ids_in_hours(reader: StoreReader, hours: Sequence[datetime]) -> pd.DataFrame:
    """[id, source, bucket_start] of the mentions published in the given UTC hours (spike drivers),
    ordered by id: one index range per hour, a UNION ALL of them (a join with a VALUES list of the
    hours made PostgreSQL walk all 10M mentions by id: 13.9 s for a day's spikes, bench_pg_panels)."""
    starts = sorted({to_epoch(hour) - to_epoch(hour) % 3600 for hour in hours})
    rows: list[tuple[Any, ...]] = []
    one_hour = (
        "SELECT id, source_id, CAST(? AS BIGINT) FROM mentions WHERE published_at >= ? AND published_at < ?"
    )
    for offset in range(0, len(starts), 200):
        chunk = starts[offset : offset + 200]
        rows += reader.query(
            " UNION ALL ".join([one_hour] * len(chunk)),
            [value for start in chunk for value in (start, start, start + 3600)],
        )
    frame = pd.DataFrame(rows, columns=["id", "source", "bucket_start"])
    frame["id"] = frame["id"].astype(np.int64)
    frame = frame.sort_values("id", ignore_index=True)
    return reader.finish_aggregate(frame, "bucket_start")


__all__ = [
    "BASELINE_HOURS",
    "MIN_BASELINE_HOURS",
    "MIN_COUNT",
    "OVERALL",
    "SPIKE_COLUMNS",
    "THRESHOLD",
    "attach_mention_ids",
    "find_spikes",
    "hourly_counts",
    "hourly_table",
    "ids_in_hours",
    "spike_span",
]
