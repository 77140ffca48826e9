"""Mentions per bucket, total and per source, and the change against the previous window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from dashboard.analytics.health import OK, total_status
from dashboard.analytics.windows import Window, epochs_of, utc_times
from dashboard.store.reader import COUNTS, ENGAGEMENT_KNOWN_SQL, ENGAGEMENT_SQL, StoreReader, known

TOTAL = "total"
BUCKET_STAT_COLUMNS = (
    "bucket_start",
    "source",
    "mentions",
    *(f"{name}{suffix}" for name in (*COUNTS, "engagement") for suffix in ("", "_known")),
    "voices",
)
TOTALS_COLUMNS = ("source", "mentions", "engagement", "engagement_known")


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


def bucket_stats(reader: StoreReader, since: datetime, until: datetime, bucket_seconds: int) -> pd.DataFrame:
    """Per UTC-aligned bucket and source, over mentions published in [since, until):
    `BUCKET_STAT_COLUMNS` = bucket_start, source, mentions, likes, likes_known, replies, ...,
    engagement, engagement_known, voices. Each count is summed over the mentions that report it
    (`<count>_known` of them, so 0 with 0 known means unknown); voices = distinct non-empty authors.
    Only (bucket, source) pairs with mentions appear.

    Buckets of whole hours read the window's whole hours from mention_hours and
    mention_hour_authors (daily buckets its whole days from mention_day_authors), and only the partial
    hours at its edges from mentions.
    """
    split = reader.hour_split(since, until).whole_hours_only(bucket_seconds)
    sums = ", ".join(f"IFNULL(m.{name}, 0), {known(f'm.{name} IS NOT NULL')}" for name in COUNTS)
    raw = f"""SELECT m.published_at - m.published_at % ?1 AS bucket, m.source_id AS source_id, 1 AS n,
                     {sums}, IFNULL({ENGAGEMENT_SQL}, 0), {known(ENGAGEMENT_KNOWN_SQL)}
              FROM mentions m WHERE m.published_at >= ? AND m.published_at < ?"""
    rolled = f"""SELECT hour - hour % ?1, source_id, mentions,
                        {", ".join(f"{name}, {name}_known" for name in (*COUNTS, "engagement"))}
                 FROM mention_hours WHERE hour >= ? AND hour < ? AND mentions > 0"""
    union, params = split.union(raw, rolled)
    totals = ", ".join(f"SUM(c{index})" for index in range(3, 13))
    numbered = ", ".join(f"c{index}" for index in range(13))
    rows = reader.query(
        f"""WITH parts({numbered}) AS ({union})
            SELECT c0, c1, SUM(c2), {totals} FROM parts
            GROUP BY c0, c1 ORDER BY c0, c1""",
        (bucket_seconds, *params),
    )
    raw_voices = """SELECT m.published_at - m.published_at % ?1, m.source_id, m.author FROM mentions m
                    WHERE m.published_at >= ? AND m.published_at < ? AND m.author != ''"""
    hourly_voices = """SELECT hour - hour % ?1, source_id, author FROM mention_hour_authors
                       WHERE hour >= ? AND hour < ? AND mentions > 0 AND author != ''"""
    daily_voices = """SELECT day - day % ?1, source_id, author FROM mention_day_authors
                      WHERE day >= ? AND day < ? AND mentions > 0 AND author != ''"""
    voice_split = reader.day_split(since, until).whole_hours_only(bucket_seconds)
    union, params = voice_split.union_by_day(raw_voices, hourly_voices, daily_voices)
    voices = {
        (bucket, source_id): count
        for bucket, source_id, count in reader.query(
            f"""WITH parts(bucket, source_id, author) AS ({union})
                SELECT bucket, source_id, COUNT(DISTINCT author) FROM parts GROUP BY bucket, source_id""",
            (bucket_seconds, *params),
        )
    }
    rows = [(*row, voices.get((row[0], row[1]), 0)) for row in rows]
    frame = pd.DataFrame(rows, columns=list(BUCKET_STAT_COLUMNS))
    return reader.finish_aggregate(frame, "bucket_start")


def totals(reader: StoreReader, since: datetime, until: datetime) -> pd.DataFrame:
    """Per source over [since, until): `TOTALS_COLUMNS` (the previous window's figures, an alert's)."""
    split = reader.hour_split(since, until)
    raw = f"""SELECT source_id, 1, IFNULL({ENGAGEMENT_SQL}, 0), {known(ENGAGEMENT_KNOWN_SQL)}
              FROM mentions WHERE published_at >= ? AND published_at < ?"""
    rolled = """SELECT source_id, mentions, engagement, engagement_known FROM mention_hours
                WHERE hour >= ? AND hour < ? AND mentions > 0"""
    union, params = split.union(raw, rolled)
    rows = reader.query(
        f"""WITH parts(source_id, n, engagement, known) AS ({union})
            SELECT source_id, SUM(n), SUM(engagement), SUM(known) FROM parts
            GROUP BY source_id ORDER BY source_id""",
        params,
    )
    return reader.finish_aggregate(pd.DataFrame(rows, columns=list(TOTALS_COLUMNS)))


def bucket_stats_from_rows(mentions: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The pandas equivalent of `bucket_stats` over a loaded mention frame (for data that is
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


__all__ = [
    "BUCKET_STAT_COLUMNS",
    "TOTAL",
    "TOTALS_COLUMNS",
    "Change",
    "bucket_series",
    "bucket_stats",
    "bucket_stats_from_rows",
    "change",
    "totals",
    "volume_table",
]
