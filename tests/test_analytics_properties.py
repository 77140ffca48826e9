"""Invariants of the analytics over random data (hypothesis).

- per-source volumes sum to the total in every bucket that has data;
- a bucket whose source failed is never reported as 0 (NaN everywhere: volume, metrics);
- the health grid equals a literal, loop-by-loop reading of its definition;
- new + returning = unique voices; keyword shares sum to 1 whenever any keyword matched.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.analytics import health, keywords, voices, volume
from dashboard.analytics.dashboard import metrics_from
from dashboard.analytics.windows import Window, utc_times
from dashboard.store.reader import engagement_of
from tests.analytics_data import NOW, at, epoch

SOURCES = ["a", "b", "c"]
STATUSES = ["ok", "not modified", "failing", "rate-limited", "gone"]
SPAN_MINUTES = 4 * 24 * 60  # data spread over the 4 days before NOW

windows = st.sampled_from([Window.last("24h", NOW), Window.last("3d", NOW), Window.last("90m", NOW)])
poll_rows = st.lists(
    st.tuples(st.sampled_from(SOURCES), st.integers(1, SPAN_MINUTES), st.sampled_from(STATUSES)), max_size=40
)
mention_rows = st.lists(
    st.tuples(
        st.sampled_from(SOURCES),
        st.integers(1, SPAN_MINUTES),
        st.sampled_from(["", "ann", "bo", "cy", "di"]),
        st.one_of(st.none(), st.integers(0, 20)),
    ),
    max_size=60,
)


def poll_frame(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": pd.Series([row[0] for row in rows], dtype="str"),
            "started_at": utc_times(np.array([epoch(NOW) - 60 * row[1] for row in rows], dtype=np.int64)),
            "status": pd.Series([row[2] for row in rows], dtype="str"),
        }
    )


def mention_frame(rows: list[tuple[str, int, str, int | None]]) -> pd.DataFrame:
    likes = pd.Series(pd.array([row[3] for row in rows], dtype="Int64"))
    unknown = pd.Series(pd.array([None] * len(rows), dtype="Int64"))
    return pd.DataFrame(
        {
            "id": np.arange(1, len(rows) + 1, dtype=np.int64),
            "source": pd.Series([row[0] for row in rows], dtype="str"),
            "author": pd.Series([row[2] for row in rows], dtype="str"),
            "published_at": utc_times(np.array([epoch(NOW) - 60 * row[1] for row in rows], dtype=np.int64)),
            "likes": likes,
            "replies": unknown,
            "shares": unknown,
            "views": unknown,
            "engagement": engagement_of(likes, unknown, unknown),
        }
    )


def health_grid(polls: pd.DataFrame, window: Window) -> pd.DataFrame:
    carried = health.carried_states(polls, pd.Timestamp(window.start))
    return health.bucket_status(health.summarise_attempts(polls, window), carried, SOURCES, window)


def reference_status(polls: pd.DataFrame, window: Window, source: str) -> list[str]:
    """The definition, read literally, one bucket at a time."""
    mine = [
        (int(moment.timestamp()), status in ("ok", "not modified"))
        for moment, status, name in zip(polls["started_at"], polls["status"], polls["source"], strict=True)
        if name == source
    ]
    if not any(moment < window.end_epoch for moment, _ in mine):
        return ["no data"] * len(window.bucket_epochs())  # never attempted: never observed
    result = []
    for bucket in window.bucket_epochs().tolist():
        low, high = max(bucket, window.start_epoch), min(bucket + window.bucket_seconds, window.end_epoch)
        inside = [ok for moment, ok in mine if low <= moment < high]
        if inside:
            result.append("ok" if any(inside) else "no data")
            continue
        # Attempts of the same second: the later row is the later attempt (sorted() is stable).
        before = sorted(((moment, ok) for moment, ok in mine if moment < low), key=lambda attempt: attempt[0])
        result.append("ok" if not before or before[-1][1] else "no data")
    return result


@settings(max_examples=40, deadline=None)
@given(poll_rows, windows)
def test_health_grid_follows_its_definition(rows: list[tuple[str, int, str]], window: Window) -> None:
    polls = poll_frame(rows)
    grid = health_grid(polls, window)
    for source in SOURCES:
        assert grid[source].tolist() == reference_status(polls, window, source)


@settings(max_examples=40, deadline=None)
@given(poll_rows, mention_rows, windows)
def test_volumes_sum_and_failed_buckets_are_never_zero(
    polls: list[tuple[str, int, str]], mentions: list[tuple[str, int, str, int | None]], window: Window
) -> None:
    grid = health_grid(poll_frame(polls), window)
    rows = mention_frame(mentions)
    stats = volume.bucket_stats_from_rows(rows, window)
    frame, status = volume.volume_table(stats, grid)
    per_source = frame[SOURCES]
    has_data = frame["total"].notna()
    assert np.allclose(per_source[has_data].sum(axis=1, min_count=1).fillna(0), frame.loc[has_data, "total"])
    failed = grid.to_numpy() == "no data"
    values = per_source.to_numpy()
    assert np.isnan(values[failed]).all()
    assert not np.isnan(values[~failed]).any()
    assert (status.loc[frame["total"].isna(), "total"] == "no data").all()
    # Everything that was counted is in the window, and nothing was lost where data exists.
    assert per_source.sum().sum() <= len(rows)

    first_seen = voices.first_seen_from_rows(rows)
    authors = voices.author_stats_from_rows(rows, first_seen, window)
    metrics = metrics_from(stats, authors, grid, window)
    no_data = metrics["status"] == "no data"
    measures = ["mentions", "engagement", "unique_voices", "new_voices"]
    assert metrics.loc[no_data, measures].isna().all().all()
    assert not (metrics.loc[no_data, measures] == 0).any().any()
    assert metrics.loc[~no_data, ["mentions", "unique_voices", "new_voices"]].notna().all().all()


@settings(max_examples=40, deadline=None)
@given(mention_rows, windows)
def test_new_plus_returning_is_unique(
    mentions: list[tuple[str, int, str, int | None]], window: Window
) -> None:
    rows = mention_frame(mentions)
    authors = voices.author_stats_from_rows(rows, voices.first_seen_from_rows(rows), window)
    summary = voices.summarise_voices(authors, window)
    assert summary.new + summary.returning == summary.unique == len(authors)
    in_window = rows[
        (rows["published_at"] >= pd.Timestamp(window.start))
        & (rows["published_at"] < pd.Timestamp(window.end))
    ]
    named = in_window[in_window["author"] != ""]
    assert summary.unique == len(named.drop_duplicates(["source", "author"]))
    assert summary.mentions == len(named)
    if summary.mentions:
        assert summary.reach is not None
        assert 0 < summary.reach <= 1
        assert summary.passion is not None
        assert 0 <= summary.passion <= 1
    per_bucket = voices.new_voices_per_bucket(authors, window)
    assert per_bucket["new_voices"].sum() == summary.new


words = st.sampled_from(["rust", "Rust,", "trust", "go", "GO!", "gopher", "c++", "the", "and", "(rust)"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(words, max_size=6).map(" ".join), max_size=20))
def test_keyword_shares_sum_to_one(texts: list[str]) -> None:
    series = pd.Series(texts, dtype="str")
    share = keywords.share_of_voice(series, ["rust", "go", "c++"])
    if share["mentions"].sum() > 0:
        assert share["share"].sum() == np.float64(1.0) or abs(share["share"].sum() - 1.0) < 1e-12
    else:
        assert share["share"].isna().all()
    for keyword in ("rust", "go", "c++"):
        expected = series.str.contains(keywords.keyword_pattern(keyword)).sum() if len(series) else 0
        assert share.set_index("keyword").loc[keyword, "mentions"] == expected


def test_windows_used_above_are_what_they_claim() -> None:
    assert Window.last("3d", NOW).bucket == "D"
    assert Window.last("90m", NOW).start == at(-1.5)
    assert Window.last("24h", NOW).length == timedelta(hours=24)


voice_rows = st.lists(
    st.tuples(
        st.sampled_from(["HN", "Reddit", "Blog"]),
        st.integers(0, 40),  # author number: (source, author) kept unique below
        st.integers(1, 4),  # mentions: many ties
        st.integers(0, 5),  # engagement
        st.integers(0, 1),  # engagement known by how many (0: unknown)
    ),
    max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(voice_rows, st.integers(0, 12), st.sampled_from(["mentions", "engagement"]))
def test_top_voices_equal_a_full_sort(
    rows: list[tuple[str, int, int, int, int]], top_n: int, by: str
) -> None:
    """The top voices, read from the contenders only, are the head of the whole frame sorted."""
    unique = list({(row[0], row[1]): row for row in rows}.values())
    stats = pd.DataFrame(
        {
            "source": pd.Series([row[0] for row in unique], dtype="str"),
            "author": pd.Series([f"user{row[1]}" for row in unique], dtype="str"),
            "mentions": np.asarray([row[2] for row in unique], dtype=np.int64),
            "engagement": np.asarray([row[3] for row in unique], dtype=np.int64),
            "engagement_known": np.asarray([row[4] for row in unique], dtype=np.int64),
            "first_seen_at": utc_times(np.asarray([epoch(at(-row[1])) for row in unique], dtype=np.int64)),
        }
    )
    window = Window.last("24h", NOW)
    top = voices.top_voices(stats, window, by=by, top_n=top_n)
    everything = voices.top_voices(stats, window, by=by, top_n=len(stats) + 1)
    other = "engagement" if by == "mentions" else "mentions"
    reference = everything.sort_values(
        [by, other, "source", "author"], ascending=[False, False, True, True], na_position="last"
    )
    pd.testing.assert_frame_equal(top, reference.head(top_n).reset_index(drop=True))
