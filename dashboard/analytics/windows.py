"""Time windows and their buckets.

All bucketing is in UTC: an hourly bucket starts on a UTC hour, a daily bucket at UTC midnight (the
same arithmetic the store uses in SQL, `published_at - published_at % 3600`). A local day that crosses
a DST change is therefore still made of whole UTC hours; the UI converts bucket starts to local time
for display only. A window is the half-open interval [start, end); its first and last buckets may be
partial (they only count what falls inside the window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from dashboard import durations

Bucket = Literal["h", "D"]
BUCKET_SECONDS: dict[str, int] = {"h": 3600, "D": 86400}
# Windows up to this long are shown per hour, longer ones per day (and labelled so: "36 h", "7 d").
HOURLY_UP_TO = timedelta(seconds=durations.HOURLY_UP_TO)

# A window longer than ten years is a typo (and keeps datetime arithmetic far from overflowing).
MAX_SPAN_SECONDS = 3660 * 86400.0


def parse_span(spec: str) -> timedelta:
    """ "24h", "7d", "30d", "1h30m", "2w", "90 min" -> timedelta; ValueError (DurationError) otherwise.

    The grammar is `dashboard.durations.parse_duration`, the same as feeds.toml's `interval`.
    """
    return timedelta(seconds=durations.parse_duration(spec, maximum=MAX_SPAN_SECONDS))


def span_label(span: timedelta) -> str:
    """A short human label: "24 h", "36 h", "7 d", "1 h 30 min" (`dashboard.durations.span_label`)."""
    return durations.span_label(span.total_seconds())


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: {moment!r}")
    return moment.astimezone(UTC).replace(microsecond=0)


def default_bucket(span: timedelta) -> Bucket:
    return "h" if span <= HOURLY_UP_TO else "D"


@dataclass(frozen=True, slots=True)
class Window:
    """The half-open interval [start, end) in UTC, whole seconds, and how it is bucketed."""

    start: datetime
    end: datetime
    label: str
    bucket: Bucket

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, "start"))
        object.__setattr__(self, "end", _utc(self.end, "end"))
        if self.end <= self.start:
            raise ValueError(f"a window must end after it starts: {self.start} .. {self.end}")
        if self.bucket not in BUCKET_SECONDS:
            raise ValueError(f"unknown bucket {self.bucket!r}: expected 'h' or 'D'")

    @classmethod
    def last(cls, spec: str | timedelta, now: datetime) -> Window:
        """The span just before `now`: `Window.last("24h", now)`, `Window.last("7d", now)` (the
        dashboard's windows are `dashboard.durations.WINDOWS`)."""
        span = parse_span(spec) if isinstance(spec, str) else spec
        end = _utc(now, "now")
        return cls(end - span, end, span_label(span), default_bucket(span))

    @classmethod
    def between(cls, since: datetime, until: datetime, *, bucket: Bucket | None = None) -> Window:
        """An explicit interval; its label names both ends in UTC."""
        start, end = _utc(since, "since"), _utc(until, "until")
        label = f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"
        return cls(start, end, label, bucket or default_bucket(end - start))

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def bucket_seconds(self) -> int:
        return BUCKET_SECONDS[self.bucket]

    @property
    def start_epoch(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_epoch(self) -> int:
        return int(self.end.timestamp())

    @property
    def previous(self) -> Window:
        """The window of the same length (and bucket) just before this one."""
        return Window(self.start - self.length, self.start, f"previous {self.label}", self.bucket)

    def first_bucket_epoch(self) -> int:
        return self.start_epoch - self.start_epoch % self.bucket_seconds

    def bucket_epochs(self) -> np.ndarray:
        """UTC-aligned starts (epoch seconds) of every bucket that overlaps the window."""
        size = self.bucket_seconds
        return np.arange(self.first_bucket_epoch(), self.end_epoch, size, dtype=np.int64)

    def bucket_starts(self) -> pd.DatetimeIndex:
        """The same bucket starts as a UTC DatetimeIndex named "bucket_start"."""
        return epochs_to_index(self.bucket_epochs(), "bucket_start")

    def bucket_of(self, epochs: np.ndarray) -> np.ndarray:
        """The aligned bucket start of each epoch second (vectorised)."""
        aligned: np.ndarray = epochs - epochs % self.bucket_seconds
        return aligned

    def clipped_bucket(self, bucket_epoch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) of each bucket clipped to the window: the span actually counted."""
        start = np.maximum(bucket_epoch, self.start_epoch)
        end = np.minimum(bucket_epoch + self.bucket_seconds, self.end_epoch)
        return start, end

    def hours(self) -> float:
        return self.length.total_seconds() / 3600


def epochs_to_index(epochs: np.ndarray, name: str) -> pd.DatetimeIndex:
    return utc_times(epochs).rename(name)


def utc_times(epochs: np.ndarray) -> pd.DatetimeIndex:
    """int64 epoch seconds -> datetime64[us, UTC] (the store's timestamp dtype)."""
    return pd.DatetimeIndex(to_timestamps(epochs)).tz_localize(UTC)


def to_timestamps(epochs: np.ndarray) -> np.ndarray:
    """int64 epoch seconds -> datetime64[us] values (the store's timestamps, see reader.TIMESTAMP)."""
    return (np.asarray(epochs, dtype=np.int64) * 1_000_000).astype("datetime64[us]")


def to_epoch_seconds(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def epochs_of(moments: pd.Series | pd.Index) -> np.ndarray:
    """Aware timestamps (any unit) -> int64 epoch seconds, floored."""
    micros: np.ndarray = np.asarray(pd.DatetimeIndex(moments).as_unit("us").asi8, dtype=np.int64)
    seconds: np.ndarray = micros // 1_000_000
    return seconds
