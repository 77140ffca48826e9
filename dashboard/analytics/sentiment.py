"""Opinion over a window: positive / neutral / negative mentions per bucket against the previous
window, the most negative mentions, and the net sentiment and negative share (issue 13).

Only scored mentions count: `sentiment_label` is "positive", "neutral" or "negative" for a mention in
a scored language (`[settings] languages`), NULL for every other one (a German or Spanish post, a
language unknown, a mention the opinion pass has not reached yet). Those are left out of every count
and every share, never counted as neutral: a share is over the scored mentions, and it is unknown
(None) when none is scored.

Each panel's SQL sits beside the pandas that reads it (issue 16) and runs through
`StoreReader.query`. The counts are one GROUP BY, a few dozen rows back (buckets, or buckets x sources
for the export), over the window's whole hours in sentiment_hours (schema migration 11, kept by
triggers as the opinion pass labels mentions) and its partial hours in mentions; the previous window's
rows are shifted by the window's length in SQL so they land in the current window's buckets ("the same
offset in the previous window"), even when the window is not a whole number of buckets. Reading every
scored mention instead took ~90 ms per window over 30 days of a 1M-mention store. The most negative
mentions are one range of the partial index mentions_negative (published_at, sentiment).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

from dashboard.analytics.windows import Window, epochs_of, utc_times
from dashboard.store.reader import StoreReader, known, timestamps

LABELS: Final = ("positive", "neutral", "negative")
SENTIMENT_COLUMNS: Final = (
    "bucket_start",
    *LABELS,
    "scored",
    *(f"previous_{name}" for name in (*LABELS, "scored")),
)
MOST_NEGATIVE_COLUMNS: Final = (
    "id",
    "source",
    "kind",
    "title",
    "author",
    "url",
    "published_at",
    "sentiment",
    "language",
    "handled",
)
MOST_NEGATIVE_LIMIT: Final = 20
_SCORED = "sentiment_label IN ('positive', 'neutral', 'negative')"
_COUNTED = ", ".join(known(f"sentiment_label = '{label}'") for label in LABELS)
_SUMS = ", ".join(f"SUM({label})" for label in LABELS)

# The window's scored mentions as (at, source_id, positive, neutral, negative): one row per mention at
# its edges (`_RAW`), one per hour and source of sentiment_hours (`_ROLLED`) over its whole hours.
_RAW = f"SELECT published_at, source_id, {_COUNTED} FROM mentions WHERE published_at >= ? AND published_at < ? AND {_SCORED}"
_ROLLED = f"""SELECT hour, source_id, {", ".join(LABELS)} FROM sentiment_hours
              WHERE hour >= ? AND hour < ? AND positive + neutral + negative > 0"""
_PARTS = f"parts(at, source_id, {', '.join(LABELS)})"

# ?1/?2 the range, ?3 how many. Lowest score first; between equal scores, the newest.
MOST_NEGATIVE_SQL: Final = """
    SELECT id, source_id, kind, title, author, url, published_at, sentiment, IFNULL(language, ''),
           CASE WHEN handled_at IS NULL THEN 0 ELSE 1 END
    FROM mentions
    WHERE published_at >= ?1 AND published_at < ?2 AND sentiment_label = 'negative'
      AND sentiment IS NOT NULL
    ORDER BY sentiment, published_at DESC, id DESC LIMIT ?3"""


@dataclass(frozen=True, slots=True)
class Tally:
    """Scored mentions by label over some span; the shares are None when none is scored."""

    positive: int = 0
    neutral: int = 0
    negative: int = 0

    @property
    def scored(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def net_sentiment(self) -> float | None:
        """(positive - negative) / scored, in [-1, 1]."""
        return (self.positive - self.negative) / self.scored if self.scored else None

    @property
    def negative_share(self) -> float | None:
        """negative / scored, in [0, 1]."""
        return self.negative / self.scored if self.scored else None


# ---- SQL ------------------------------------------------------------------------------------------


def label_counts(
    reader: StoreReader,
    since: datetime,
    until: datetime,
    bucket_seconds: int,
    *,
    shift: int = 0,
    by_source: bool = True,
) -> pd.DataFrame:
    """Scored mentions published in [since, until) per UTC-aligned bucket and source:
    [bucket_start, source, positive, neutral, negative] (int64), only (bucket, source) pairs with a
    scored mention; `by_source=False` sums the sources (source ""). `shift` seconds are added before
    bucketing (the previous window's rows, shifted by the window's length, fall in the current
    window's buckets). Whole hours are read from sentiment_hours when every hour, shifted, falls in
    one bucket."""
    split = reader.hour_split(since, until, "sentiment_hours").whole_hours_only(
        math.gcd(bucket_seconds, shift)
    )
    union, params = split.union(_RAW, _ROLLED)
    source, group = ("source_id", "bucket, source_id") if by_source else ("0", "bucket")
    rows = reader.query(
        f"""WITH {_PARTS} AS ({union})
            SELECT (at + ?) - (at + ?) % ? AS bucket, {source}, {_SUMS} FROM parts
            GROUP BY {group} ORDER BY {group}""",
        (*params, shift, shift, bucket_seconds),
    )
    raw = pd.DataFrame(rows, columns=["bucket", "source", *LABELS])
    frame = pd.DataFrame(
        {
            "bucket_start": utc_times(raw["bucket"].to_numpy(dtype=np.int64)),
            "source": raw["source"].map(reader.source_names()).fillna("").astype("str"),
        }
    )
    for label in LABELS:
        frame[label] = raw[label].to_numpy(dtype=np.int64)
    return frame


def label_totals(
    reader: StoreReader, since: datetime, until: datetime, sources: Sequence[str] | None = None
) -> Tally:
    """The scored mentions published in [since, until), from `sources` (None: every source)."""
    union, params = reader.hour_split(since, until, "sentiment_hours").union(_RAW, _ROLLED)
    rows = reader.query(
        f"""WITH {_PARTS} AS ({union})
            SELECT source_id, {_SUMS} FROM parts GROUP BY source_id ORDER BY source_id""",
        params,
    )
    names = reader.source_names()
    wanted = None if sources is None else set(sources)
    kept = [row[1:] for row in rows if wanted is None or names.get(row[0]) in wanted]
    sums = np.asarray(kept, dtype=np.int64).reshape(-1, len(LABELS)).sum(axis=0)
    return Tally(*(int(value) for value in sums))


def most_negative(reader: StoreReader, window: Window, limit: int = MOST_NEGATIVE_LIMIT) -> pd.DataFrame:
    """Up to `limit` negative mentions of the window, lowest score first (ties: newest first):
    `MOST_NEGATIVE_COLUMNS`; sentiment is Float64, language "" when unknown."""
    rows = reader.query(MOST_NEGATIVE_SQL, (window.start_epoch, window.end_epoch, limit))
    raw = pd.DataFrame(rows, columns=list(MOST_NEGATIVE_COLUMNS))
    frame = pd.DataFrame(
        {
            "id": raw["id"].to_numpy(dtype=np.int64),
            "source": raw["source"].map(reader.source_names()).astype("str"),
        }
    )
    for column in ("kind", "title", "author", "url"):
        frame[column] = raw[column].astype("str")
    frame["published_at"] = timestamps(raw["published_at"].to_numpy(dtype=np.int64))
    frame["sentiment"] = pd.array(raw["sentiment"].to_numpy(dtype=float), dtype="Float64")
    frame["language"] = raw["language"].astype("str")
    frame["handled"] = raw["handled"].to_numpy(dtype=bool)
    return frame[list(MOST_NEGATIVE_COLUMNS)]


# ---- pandas ---------------------------------------------------------------------------------------


def sentiment_by_bucket(current: pd.DataFrame, previous: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The Sentiment panel: `SENTIMENT_COLUMNS`, one row per bucket of the window (its
    `bucket_starts()`, as the volume panel's), counts summed over sources (Int64). `current` and
    `previous` are `label_counts` of the window and of the previous window shifted into this one.
    Empty (with these columns) when neither window has a scored mention.

    A bucket with no scored mention has scored == 0: its counts are true zeros, its shares unknown.
    """
    index = window.bucket_starts()
    now, before = _per_bucket(current, index), _per_bucket(previous, index)
    if not now.to_numpy().any() and not before.to_numpy().any():
        return empty_sentiment()
    frame = pd.DataFrame({"bucket_start": index})
    for prefix, counts in (("", now), ("previous_", before)):
        for label in LABELS:
            frame[f"{prefix}{label}"] = pd.array(counts[label].to_numpy(dtype=np.int64), dtype="Int64")
        frame[f"{prefix}scored"] = pd.array(counts.to_numpy(dtype=np.int64).sum(axis=1), dtype="Int64")
    return frame[list(SENTIMENT_COLUMNS)].reset_index(drop=True)


def _per_bucket(counts: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    summed = counts.groupby("bucket_start")[list(LABELS)].sum()
    return summed.reindex(index, fill_value=0)


def empty_sentiment() -> pd.DataFrame:
    frame = pd.DataFrame({"bucket_start": pd.Series(dtype="datetime64[us, UTC]")})
    for column in SENTIMENT_COLUMNS[1:]:
        frame[column] = pd.array([], dtype="Int64")
    return frame


def tallies(frame: pd.DataFrame) -> tuple[Tally, Tally]:
    """(the window's, the previous window's) totals of a `sentiment_by_bucket` frame."""
    if frame.empty:
        return Tally(), Tally()
    now = Tally(*(int(frame[label].sum()) for label in LABELS))
    before = Tally(*(int(frame[f"previous_{label}"].sum()) for label in LABELS))
    return now, before


def sentiment_panel(reader: StoreReader, window: Window) -> pd.DataFrame:
    """`sentiment_by_bucket` of `window` read from the store (two GROUP BY bucket queries)."""
    size = window.bucket_seconds
    current = label_counts(reader, window.start, window.end, size, by_source=False)
    shift = int(window.length.total_seconds())
    before = window.previous
    previous = label_counts(reader, before.start, before.end, size, shift=shift, by_source=False)
    return sentiment_by_bucket(current, previous, window)


def with_label_counts(metrics: pd.DataFrame, counts: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The export's metrics rows (per bucket and source; the first bucket_start clipped to the window)
    with positive, neutral, negative (Int64) from `label_counts` of the window. Empty (<NA>) where the
    bucket has no scored mention of that source, and where its status is "no data" (like the other
    counts: a gap is never zero)."""
    aligned = window.bucket_of(epochs_of(metrics["bucket_start"]))
    keys = pd.DataFrame({"bucket": aligned, "source": metrics["source"].to_numpy(dtype=object)})
    found = pd.DataFrame(
        {
            "bucket": epochs_of(counts["bucket_start"]),
            "source": counts["source"].to_numpy(dtype=object),
            **{label: counts[label].to_numpy(dtype=np.int64) for label in LABELS},
        }
    )
    merged = keys.merge(found, on=["bucket", "source"], how="left")
    blank = metrics["status"].to_numpy(dtype=object) == "no data"
    result = metrics.copy()
    for label in LABELS:
        values = pd.array(merged[label].to_numpy(dtype=float), dtype="Float64").astype("Int64")
        values[blank] = pd.NA
        result[label] = values
    return result


__all__ = [
    "LABELS",
    "MOST_NEGATIVE_COLUMNS",
    "MOST_NEGATIVE_LIMIT",
    "MOST_NEGATIVE_SQL",
    "SENTIMENT_COLUMNS",
    "Tally",
    "empty_sentiment",
    "label_counts",
    "label_totals",
    "most_negative",
    "sentiment_by_bucket",
    "sentiment_panel",
    "tallies",
    "with_label_counts",
]
