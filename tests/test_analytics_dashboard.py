"""compute_dashboard and metrics_table on the hand-computed scenario (tests/analytics_data.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics.dashboard import METRICS_COLUMNS, compute_dashboard, metrics_table
from dashboard.analytics.windows import Window
from tests.analytics_data import KEYWORDS, NOW, StoreBuilder, at, build_scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreBuilder]:
    builder = build_scenario(Path(tmp_path_factory.mktemp("scenario")) / "store.db")
    yield builder
    builder.close()


@pytest.fixture(scope="module")
def data(scenario: StoreBuilder):  # type: ignore[no-untyped-def]
    return compute_dashboard(scenario.reader(), Window.last("24h", NOW), keywords=KEYWORDS, now=NOW)


def hour(hours_before_now: float) -> pd.Timestamp:
    return pd.Timestamp(at(-hours_before_now))


def test_kpis(data) -> None:  # type: ignore[no-untyped-def]
    kpis = data.kpis
    assert (kpis.mentions, kpis.mentions_previous) == (10, 2)
    assert (kpis.mentions_change.absolute, kpis.mentions_change.percent) == (8.0, 400.0)
    assert (kpis.engagement, kpis.engagement_previous) == (28, 8)
    assert kpis.engagement_change is not None
    assert kpis.engagement_change.percent == 250.0
    assert (kpis.unique_voices, kpis.new_voices, kpis.returning_voices) == (8, 6, 2)
    assert kpis.reach == pytest.approx(0.8)
    assert kpis.passion == pytest.approx(0.4)
    assert kpis.waiting_reply == 2
    assert kpis.median_first_response == timedelta(hours=1)
    assert (kpis.sources_ok, kpis.sources_failing) == (3, 0)  # Fresh is new, Old feed inactive
    assert kpis.last_poll_at == at(-0.5)
    assert kpis.next_poll_at == at(0.5)
    assert kpis.spikes == 0


def test_volume_shows_failed_buckets_as_no_data_not_zero(data) -> None:  # type: ignore[no-untyped-def]
    volume, status = data.volume, data.volume_status
    assert list(volume.columns) == ["Blog", "Mastodon", "Reddit", "Fresh", "total"]
    assert len(volume) == 24
    assert volume.index[0] == hour(24)
    # Mastodon failed at 02:30 and 03:30: carol's 02:40 mention is not shown, the bucket is NaN.
    assert math.isnan(volume.loc[hour(10), "Mastodon"])
    assert math.isnan(volume.loc[hour(9), "Mastodon"])
    assert status.loc[hour(10), "Mastodon"] == "no data"
    assert status.loc[hour(10), "total"] == "partial"
    assert volume.loc[hour(10), "total"] == 0.0  # Blog 0 + Reddit 0 had data
    # Reddit: rate-limited at 20:30, carried through 21:00 and 22:00, ok again at 23:30.
    assert [status.loc[hour(h), "Reddit"] for h in (17, 16, 15, 14, 13, 12)] == [
        "ok",
        "no data",
        "no data",
        "no data",
        "ok",
        "ok",
    ]
    assert math.isnan(volume.loc[hour(14.5 + 0.5), "Reddit"])  # erin's 21:30 mention hidden
    assert volume.loc[hour(20), "Reddit"] == 1.0
    assert volume.loc[hour(1), "Reddit"] == 1.0
    assert volume.loc[hour(23), "Blog"] == 1.0
    assert volume.loc[hour(11), "Blog"] == 1.0
    # Fresh was never polled: time never observed is no data, never a row of 0 mentions.
    assert volume["Fresh"].isna().all()
    assert (status["Fresh"] == "no data").all()
    assert volume["total"].sum() == 8.0  # the 10 mentions less the 2 in no-data buckets
    no_data = status.drop(columns="total").eq("no data")
    assert volume.drop(columns="total")[no_data].isna().all().all()


def test_engagement_by_source(data) -> None:  # type: ignore[no-untyped-def]
    frame = data.engagement
    assert frame.loc["Mastodon", "engagement"] == 12
    assert frame.loc["Reddit", "engagement"] == 16
    assert math.isnan(frame.loc["Blog", "engagement"])  # unknown, not zero
    assert frame.loc["total", "engagement"] == 28
    assert frame.loc["total", "engagement_per_mention"] == pytest.approx(4.0)  # 28 over 7 that report it
    assert frame.loc["Reddit", "engagement_per_mention"] == pytest.approx(16 / 3)
    assert frame.loc["total", "likes"] == 21
    assert frame.loc["total", "likes_per_mention"] == pytest.approx(3.0)
    assert math.isnan(frame.loc["Reddit", "shares"])  # Reddit does not report shares


def test_voices_ranked_with_new_ones_marked(data) -> None:  # type: ignore[no-untyped-def]
    voices = data.voices
    assert list(zip(voices["source"], voices["author"], strict=True)) == [
        ("Mastodon", "carol"),
        ("Blog", "alice"),
        ("Reddit", "alice"),
        ("Mastodon", "alice"),
        ("Reddit", "erin"),
        ("Reddit", "frank"),
        ("Mastodon", "dave"),
        ("Blog", "bob"),
    ]
    assert list(voices["is_new"]) == [True, False, True, True, False, True, True, True]
    assert list(data.voices_by_engagement["author"][:2]) == ["alice", "carol"]  # Reddit alice: 10


def test_needs_reply_rising_share_trending(data) -> None:  # type: ignore[no-untyped-def]
    waiting = data.needs_reply
    assert list(waiting["author"]) == ["carol", "dave"]
    assert waiting["age_hours"].tolist() == pytest.approx([9 + 1 / 3, 7.0])
    rising = data.rising
    assert list(rising["author"]) == ["carol", "alice", "erin"]
    assert rising["per_hour"].tolist() == pytest.approx([5 / (85 / 60), 4 / 18, 1 / 7])
    share = data.share_of_voice.set_index("keyword")
    assert share.loc["textual", "mentions"] == 3
    assert share.loc["rich", "mentions"] == 2
    assert share["share"].sum() == pytest.approx(1.0)
    assert list(data.trending.columns) == ["term", "count", "baseline_count", "score"]
    assert set(data.sources["name"]) == {"Blog", "Mastodon", "Reddit", "Fresh", "Old feed"}
    assert set(data.timings) >= {"volume", "health", "voices", "trending", "spikes"}


def test_metrics_table_rows_and_no_data(scenario: StoreBuilder) -> None:
    table = metrics_table(scenario.reader(), Window.last("24h", NOW))
    assert list(table.columns) == list(METRICS_COLUMNS)
    assert len(table) == 24 * 4
    row = table[(table["bucket_start"] == hour(10)) & (table["source"] == "Mastodon")].iloc[0]
    assert row["status"] == "no data"
    assert np.isnan([row["mentions"], row["engagement"], row["unique_voices"], row["new_voices"]]).all()
    first = table[(table["bucket_start"] == hour(22)) & (table["source"] == "Mastodon")].iloc[0]
    assert (first["mentions"], first["engagement"], first["unique_voices"], first["new_voices"]) == (
        1,
        4,
        1,
        1,
    )
    blog = table[(table["bucket_start"] == hour(23)) & (table["source"] == "Blog")].iloc[0]
    assert blog["mentions"] == 1
    assert math.isnan(blog["engagement"])
    assert blog["new_voices"] == 0
    empty = table[(table["bucket_start"] == hour(5)) & (table["source"] == "Blog")].iloc[0]
    assert (empty["mentions"], empty["engagement"], empty["unique_voices"], empty["status"]) == (
        0,
        0,
        0,
        "ok",
    )
    ok = table["status"] == "ok"
    assert (
        table.loc[ok, "new_voices"].sum() == 5
    )  # 6 new voices, carol's first mention is in a no-data bucket
    assert (table["bucket_end"] - table["bucket_start"] == pd.Timedelta(hours=1)).all()


def test_metrics_table_clips_partial_edge_buckets(scenario: StoreBuilder) -> None:
    window = Window.between(at(-2.5), at(-0.25))
    table = metrics_table(scenario.reader(), window)
    assert table["bucket_start"].min() == pd.Timestamp(at(-2.5))
    assert table["bucket_end"].max() == pd.Timestamp(at(-0.25))
    assert sorted(set(table["bucket_start"])) == [pd.Timestamp(at(-2.5)), hour(2), hour(1)]


def test_previous_window_of_seven_days(scenario: StoreBuilder) -> None:
    data = compute_dashboard(scenario.reader(), Window.last("7d", NOW), keywords=KEYWORDS, now=NOW)
    assert data.window.bucket == "D"
    assert data.kpis.mentions == 12  # the 10, alice on the 29th, zed on the 30th
    assert data.volume.index[-1] == pd.Timestamp("2024-03-31", tz="UTC")
    # Daily buckets: Mastodon's day of the 31st had failed attempts but also successes: ok.
    assert data.volume_status.loc[pd.Timestamp("2024-03-31", tz="UTC"), "Mastodon"] == "ok"


def test_empty_store_and_sources_without_data(tmp_path: Path) -> None:
    """A fresh install: the dashboard must render before the first poll."""
    builder = StoreBuilder(tmp_path / "empty.db")
    window = Window.last("24h", NOW)
    empty = compute_dashboard(builder.reader(), window, keywords=KEYWORDS, now=NOW)
    assert empty.kpis.mentions == 0
    assert empty.kpis.engagement is None
    assert empty.kpis.reach is None
    assert empty.kpis.last_poll_at is None
    assert list(empty.volume.columns) == ["total"]
    assert (empty.volume["total"] == 0).all()
    assert empty.spikes.empty
    assert empty.trending.empty
    assert empty.share_of_voice["share"].isna().all()
    builder.source("Blog", "feed", status="new")
    fresh = compute_dashboard(builder.reader(), window, keywords=(), now=NOW)
    assert list(fresh.volume.columns) == ["Blog", "total"]
    assert fresh.share_of_voice.empty
    assert len(metrics_table(builder.reader(), window)) == 24
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_dashboard(builder.reader(), window, keywords=(), now=NOW.replace(tzinfo=None))
    builder.close()
