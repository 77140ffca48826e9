"""Mentions per bucket, total and per source, and the change against the previous window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analytics.health import OK, total_status
from dashboard.analytics.windows import Window, epochs_of, utc_times
from dashboard.store.reader import BUCKET_STAT_COLUMNS, COUNTS

TOTAL = "total"


@dataclass(frozen=True, slots=True)
class Change:
    """A number against the same number over the previous window."""

    current: float
    previous: float
    absolute: float
    percent: float | None  # None when the previous value is 0 (no meaningful ratio)


def change(current: float, previous: float) -> Change:
    percent = None if previous == 0 else (current - previous) / abs(previous) * 100.0
    return Change(float(current), float(previous), float(current - previous), percent)


def bucket_stats_from_rows(mentions: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The pandas equivalent of StoreReader.bucket_stats over a loaded mention frame (for data that is
    already in memory, and to check the SQL): `BUCKET_STAT_COLUMNS`, only non-empty pairs."""
    epochs = epochs_of(mentions["published_at"])
    inside = (epochs >= window.start_epoch) & (epochs < window.end_epoch)
    rows = mentions.loc[inside]
    frame = pd.DataFrame(
        {
            "bucket": window.bucket_of(epochs[inside]),
            "source": rows["source"].to_numpy(),
            "author": rows["author"].replace("", pd.NA).to_numpy(),
            **{name: rows[name].to_numpy() for name in (*COUNTS, "engagement")},
        }
    )
    aggregations: dict[str, tuple[str, str]] = {"mentions": ("source", "size")}
    for name in (*COUNTS, "engagement"):
        frame[name] = frame[name].astype("Int64")
        aggregations[name] = (name, "sum")
        aggregations[f"{name}_known"] = (name, "count")
    aggregations["voices"] = ("author", "nunique")
    stats = frame.groupby(["bucket", "source"], sort=True).agg(**aggregations).reset_index()
    stats.insert(0, "bucket_start", utc_times(stats.pop("bucket").to_numpy()))
    for column in BUCKET_STAT_COLUMNS[2:]:
        stats[column] = stats[column].astype(np.int64)
    return stats[list(BUCKET_STAT_COLUMNS)]


def bucket_series(stats: pd.DataFrame, status: pd.DataFrame, column: str = "mentions") -> pd.DataFrame:
    """One float column per source of `status` (the health grid), indexed like it: the summed
    `column` of `stats` per bucket, 0 where nothing was published, NaN where the bucket has no data."""
    if stats.empty:
        wide = pd.DataFrame(0.0, index=status.index, columns=status.columns)
    else:
        epochs = epochs_of(stats["bucket_start"])
        keyed = pd.DataFrame({"bucket": epochs, "source": stats["source"].to_numpy(), "v": stats[column]})
        summed = keyed.groupby(["bucket", "source"])["v"].sum().unstack("source")
        wide = summed.reindex(index=epochs_of(status.index), columns=status.columns).fillna(0).astype(float)
        wide.index = status.index
    return wide.where(status.to_numpy() == OK)


def volume_table(stats: pd.DataFrame, status: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(volume, volume_status) for the UI: mentions per bucket with one column per source plus TOTAL.

    A source's "no data" bucket is NaN; TOTAL sums the sources that have data (NaN when none has), and
    its status is "ok", "partial" (some sources lack data) or "no data".
    """
    volume = bucket_series(stats, status, "mentions")
    total = volume.sum(axis=1, min_count=1) if volume.shape[1] else pd.Series(0.0, index=volume.index)
    volume[TOTAL] = total
    volume_status = status.copy()
    volume_status[TOTAL] = total_status(status)
    volume.columns.name = volume_status.columns.name = "source"
    return volume, volume_status


__all__ = ["TOTAL", "Change", "bucket_series", "bucket_stats_from_rows", "change", "volume_table"]
