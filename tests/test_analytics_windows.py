"""Windows: parsing, labels, bucket choice, UTC alignment across midnight and a DST change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics.windows import Window, epochs_of, parse_span, span_label
from tests.analytics_data import NOW

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("spec", "seconds"),
    [
        ("24h", 86400),
        ("7d", 7 * 86400),
        ("30d", 30 * 86400),
        ("1h30m", 5400),
        ("2w", 14 * 86400),
        ("90 min", 5400),
        ("45s", 45),
        ("1.5h", 5400),
    ],
)
def test_parse_span_accepts_durations(spec: str, seconds: int) -> None:
    assert parse_span(spec) == timedelta(seconds=seconds)


@pytest.mark.parametrize("spec", ["", "24", "h", "24x", "-1h", "0h", "1h and more"])
def test_parse_span_rejects_nonsense(spec: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        parse_span(spec)


@pytest.mark.parametrize(
    ("span", "label"),
    [
        (timedelta(hours=24), "24 h"),
        (timedelta(days=7), "7 d"),
        (timedelta(days=30), "30 d"),
        (timedelta(minutes=90), "1 h 30 min"),
        (timedelta(hours=36), "36 h"),
    ],
)
def test_span_labels(span: timedelta, label: str) -> None:
    assert span_label(span) == label


def test_last_24h_is_hourly_and_ends_now() -> None:
    window = Window.last("24h", NOW)
    assert (window.start, window.end, window.label, window.bucket) == (
        NOW - timedelta(hours=24),
        NOW,
        "24 h",
        "h",
    )
    assert window.previous.end == window.start
    assert window.previous.length == window.length
    assert window.previous.bucket == "h"


def test_bucket_is_daily_past_48_hours() -> None:
    assert Window.last("48h", NOW).bucket == "h"
    assert Window.last("49h", NOW).bucket == "D"
    assert Window.last("7d", NOW).bucket == "D"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window.last("24h", datetime(2024, 3, 31, 12))


def test_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="end after"):
        Window.between(NOW, NOW)


def test_microseconds_are_dropped_and_other_zones_converted() -> None:
    local = datetime(2024, 3, 31, 14, 0, 0, 999_999, tzinfo=PARIS)
    window = Window.last("1h", local)
    assert window.end == datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
    assert window.end.tzinfo is UTC


def test_partial_buckets_at_both_ends_are_utc_aligned() -> None:
    # 22:30 -> 01:30 UTC crosses midnight: buckets 22:00, 23:00, 00:00, 01:00.
    start = datetime(2024, 3, 30, 22, 30, tzinfo=UTC)
    window = Window.between(start, start + timedelta(hours=3))
    starts = window.bucket_starts()
    assert [stamp.strftime("%d %H:%M") for stamp in starts] == [
        "30 22:00",
        "30 23:00",
        "31 00:00",
        "31 01:00",
    ]
    assert str(starts.dtype) == "datetime64[us, UTC]"
    clipped_start, clipped_end = window.clipped_bucket(window.bucket_epochs())
    assert clipped_start[0] == window.start_epoch
    assert clipped_end[-1] == window.end_epoch
    assert list(clipped_end[:-1]) == list(clipped_start[1:])


def test_daily_buckets_start_at_utc_midnight() -> None:
    window = Window.last("7d", NOW)
    starts = window.bucket_starts()
    assert len(starts) == 8  # 24 Mar 12:00 -> 31 Mar 12:00 touches 8 UTC days
    assert all(stamp.hour == 0 and stamp.minute == 0 for stamp in starts)


def test_local_day_across_dst_change_is_23_utc_hours() -> None:
    """Paris springs forward on 31 March 2024: its local day is 23 UTC hours, bucketed without gaps."""
    local_start = datetime(2024, 3, 31, 0, 0, tzinfo=PARIS)
    local_end = datetime(2024, 4, 1, 0, 0, tzinfo=PARIS)
    window = Window.between(local_start, local_end)
    assert window.length == timedelta(hours=23)
    assert window.bucket == "h"
    epochs = window.bucket_epochs()
    assert len(epochs) == 23
    assert np.all(np.diff(epochs) == 3600)
    assert window.bucket_starts()[0] == pd.Timestamp("2024-03-30 23:00", tz="UTC")
    # Shown in local time, the hours jump from 01:00 to 03:00 — the data has no hole.
    local_hours = [stamp.hour for stamp in window.bucket_starts().tz_convert(PARIS)]
    assert local_hours[:4] == [0, 1, 3, 4]


def test_bucket_of_and_epochs_of_agree() -> None:
    window = Window.last("24h", NOW)
    moments = pd.Series(pd.to_datetime(["2024-03-31 10:59:59", "2024-03-31 11:00:00"], utc=True))
    assert list(window.bucket_of(epochs_of(moments))) == [
        epoch - epoch % 3600 for epoch in epochs_of(moments)
    ]
    assert list(epochs_of(moments)) == [1711882799, 1711882800]
