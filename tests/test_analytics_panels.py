"""Each analytics module on small frames with hand-computed answers."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics import health, keywords, replies, rising, spikes, trending, voices, volume
from dashboard.analytics.windows import Window, utc_times
from tests.analytics_data import NOW, at, epoch

WINDOW = Window.last("6h", NOW)  # 06:00 -> 12:00 UTC, six hourly buckets


def attempts(rows: list[tuple[str, float, str]]) -> pd.DataFrame:
    """[source, started_at, status] from (source, hours before NOW, status)."""
    return pd.DataFrame(
        {
            "source": pd.Series([row[0] for row in rows], dtype="str"),
            "started_at": utc_times(np.array([epoch(at(-row[1])) for row in rows], dtype=np.int64)),
            "status": pd.Series([row[2] for row in rows], dtype="str"),
        }
    )


def grid(
    polls: pd.DataFrame, carried: pd.DataFrame, names: list[str], window: Window = WINDOW
) -> pd.DataFrame:
    return health.bucket_status(health.summarise_attempts(polls, window), carried, names, window)


# ---- health --------------------------------------------------------------------------------------


def test_health_rules_carry_state_between_attempts() -> None:
    polls = attempts(
        [
            ("a", 5.5, "failing"),  # bucket 06:00: only a failure -> no data
            ("a", 4.9, "ok"),  # 07:00: a success -> ok
            ("a", 3.5, "rate-limited"),  # 08:00: failure, carried into 09:00
            ("a", 1.8, "rate-limited"),  # 10:00: a failure then a success in the same bucket -> ok
            ("a", 1.2, "not modified"),  # ... and carried into 11:00 as a success
            ("b", 2.5, "gone"),  # b: never attempted before -> ok until its first (failed) attempt
        ]
    )
    carried = attempts([("a", 7.0, "ok")])
    status = grid(polls, carried, ["a", "b", "c"])
    assert list(status["a"]) == ["no data", "ok", "no data", "no data", "ok", "ok"]
    assert list(status["b"]) == ["ok", "ok", "ok", "no data", "no data", "no data"]
    assert list(status["c"]) == ["no data"] * 6  # never attempted: never observed, not "0 mentions"
    assert list(health.total_status(status)) == [
        "partial",
        "partial",
        "partial",
        "no data",
        "partial",
        "partial",
    ]


def test_health_carried_failure_from_before_the_window() -> None:
    carried = attempts([("a", 30.0, "ok"), ("a", 9.0, "needs credentials")])
    status = grid(attempts([("a", 2.5, "ok")]), carried, ["a"])
    assert list(status["a"]) == ["no data", "no data", "no data", "ok", "ok", "ok"]


def test_health_carried_states_from_loaded_polls() -> None:
    polls = attempts([("a", 9.0, "ok"), ("a", 8.0, "failing"), ("b", 20.0, "ok"), ("a", 1.0, "ok")])
    carried = health.carried_states(polls, pd.Timestamp(at(-6)))
    assert dict(zip(carried["source"], carried["status"], strict=True)) == {"a": "failing", "b": "ok"}


# ---- volume ----------------------------------------------------------------------------------------


def test_change_against_previous() -> None:
    assert volume.change(15, 10) == volume.Change(15.0, 10.0, 5.0, 50.0)
    assert volume.change(3, 0).percent is None
    assert volume.change(0, 4).percent == -100.0


def test_volume_total_sums_only_sources_with_data() -> None:
    status = grid(attempts([("a", 5.5, "failing")]), attempts([("b", 7.0, "ok")]), ["a", "b"])
    stats = pd.DataFrame(
        {
            "bucket_start": utc_times(np.array([epoch(at(-6)), epoch(at(-6)), epoch(at(-1))])),
            "source": ["a", "b", "b"],
            "mentions": [4, 2, 7],
        }
    )
    frame, frame_status = volume.volume_table(stats, status)
    assert math.isnan(frame.iloc[0]["a"])
    assert frame.iloc[0]["total"] == 2.0
    assert frame_status.iloc[0]["total"] == "partial"
    # a's failure carries forward: every later bucket is "no data" for a, never 0.
    assert frame["a"].isna().all()
    assert (frame_status["a"] == "no data").all()
    assert frame.iloc[5]["total"] == 7.0
    assert frame_status.iloc[5]["total"] == "partial"
    assert frame["total"].sum() == 9.0


# ---- voices ----------------------------------------------------------------------------------------


def author_rows(rows: list[tuple[str, str, int, int, int, float]]) -> pd.DataFrame:
    """(source, author, mentions, engagement, known, first seen hours before NOW)."""
    return pd.DataFrame(
        {
            "source": [row[0] for row in rows],
            "author": [row[1] for row in rows],
            "mentions": [row[2] for row in rows],
            "engagement": [row[3] for row in rows],
            "engagement_known": [row[4] for row in rows],
            "first_seen_at": utc_times(np.array([epoch(at(-row[5])) for row in rows], dtype=np.int64)),
        }
    )


def test_same_name_on_two_sources_is_two_voices() -> None:
    stats = author_rows(
        [("HN", "sam", 3, 9, 3, 100.0), ("Reddit", "sam", 1, 2, 1, 2.0), ("HN", "kim", 1, 0, 0, 1.0)]
    )
    summary = voices.summarise_voices(stats, WINDOW)
    assert (summary.unique, summary.new, summary.returning, summary.mentions) == (3, 2, 1, 5)
    assert summary.reach == pytest.approx(3 / 5)
    assert summary.passion == pytest.approx(3 / 5)
    top = voices.top_voices(stats, WINDOW, by="engagement", top_n=2)
    assert list(zip(top["source"], top["author"], top["is_new"], strict=True)) == [
        ("HN", "sam", False),
        ("Reddit", "sam", True),
    ]
    assert math.isnan(voices.top_voices(stats, WINDOW)["engagement"].iloc[2])  # kim: none known
    per_bucket = voices.new_voices_per_bucket(stats, WINDOW)
    assert list(per_bucket["new_voices"]) == [1, 1]
    assert list(per_bucket["source"]) == ["Reddit", "HN"]


def test_voice_summary_without_mentions() -> None:
    summary = voices.summarise_voices(author_rows([]), WINDOW)
    assert (summary.unique, summary.reach, summary.passion) == (0, None, None)


# ---- keywords --------------------------------------------------------------------------------------


def test_share_of_voice_whole_words_case_insensitive() -> None:
    texts = pd.Series(
        [
            "I use Rust, and Go.",
            "trust the process",
            "RUST is fast",
            "c++ and Go",
            "gopher",
            "Go go go",
            "x_rust",
        ]
    )
    share = keywords.share_of_voice(texts, ["rust", "Go", "c++", "", "RUST", "zig"]).set_index("keyword")
    assert list(share.index) == ["rust", "Go", "c++", "zig"]
    assert list(share["mentions"]) == [2, 3, 1, 0]
    assert share["share"].tolist() == pytest.approx([2 / 6, 3 / 6, 1 / 6, 0.0])


def test_share_of_voice_without_any_match_is_nan() -> None:
    share = keywords.share_of_voice(pd.Series(["nothing here"]), ["rust"])
    assert share["mentions"].tolist() == [0]
    assert math.isnan(share["share"].iloc[0])


def test_keyword_hits_match_the_reference_regex() -> None:
    texts = pd.Series(["Émile aime Rust", "rust\nrust", "(rust)", "rustacean", "ærust", "über-rust"])
    fast = keywords.keyword_hits(texts.tolist(), ["rust", "émile"])
    for keyword in ("rust", "émile"):
        expected = texts.str.contains(keywords.keyword_pattern(keyword))
        assert fast[keyword].tolist() == expected.tolist()


# ---- trending --------------------------------------------------------------------------------------


def test_trending_finds_the_rising_phrase_and_drops_urls_handles_stopwords() -> None:
    baseline = ["the docs are good", "release notes for the docs", "we love the docs"] * 10 + [
        "dark mode maybe"
    ]
    window = [
        "Dark mode is here! https://example.org/dark-mode-post @alice@mastodon.social",
        "dark mode, finally",
        "Le mode sombre (dark mode) est là",
        "the docs",
    ]
    top = trending.trending_terms(window, baseline, min_count=3, top_n=5)
    assert top["term"].iloc[0] in {"dark mode", "dark", "mode"}
    assert "dark mode" in set(top["term"])
    row = top.set_index("term").loc["dark mode"]
    assert (row["count"], row["baseline_count"]) == (3, 1)
    terms = set(trending.term_counts(window, baseline)["term"])
    assert not terms & {"the", "est", "le", "https", "example", "alice", "mastodon"}
    assert "docs" not in set(top["term"])  # frequent, but falling


def test_trending_counts_documents_not_repeats() -> None:
    counts = trending.term_counts(["spam spam spam spam"], ["eggs"]).set_index("term")
    assert counts.loc["spam", "count"] == 1
    assert counts.loc["spam spam", "count"] == 1


def test_log_odds_is_zero_for_identical_distributions() -> None:
    scores = trending.log_odds_scores(np.array([10, 20, 30]), np.array([10, 20, 30]))
    assert np.allclose(scores, 0.0)


def test_trending_scales_sampled_counts() -> None:
    top = trending.trending_terms(["fresh idea"] * 4, ["old"] * 4, min_count=3, window_weight=5)
    assert top.set_index("term").loc["fresh", "count"] == 20


# ---- spikes ----------------------------------------------------------------------------------------


def spike_table(values: dict[str, list[float]], window: Window) -> pd.DataFrame:
    span = spikes.spike_span(window)
    index = span.bucket_starts()
    return pd.DataFrame(dict(values.items()), index=index)


def test_spike_detected_against_median_and_mad() -> None:
    window = Window.last("3h", NOW)
    hours = len(spikes.spike_span(window).bucket_epochs())  # 168 + 3
    calm = [2.0, 3.0] * (hours // 2) + [2.0] * (hours % 2)
    burst = [*calm[:-2], 12.0, 3.0]
    sparse = [0.0] * (hours - 1) + [4.0]  # MAD = 0 and mean deviation ~ 0: but only 4 mentions
    table = spike_table({"a": burst, "b": calm, "c": sparse}, window)
    table[""] = table.sum(axis=1)
    found = spikes.find_spikes(table)
    assert list(zip(found["source"], found["mentions"], strict=True)) == [("", 15), ("a", 12)]
    spike = found[found["source"] == "a"].iloc[0]
    assert spike["bucket_start"] == pd.Timestamp(at(-2))
    assert spike["baseline"] == 2.5  # median of alternating 2s and 3s
    assert spike["score"] == pytest.approx((12 - 2.5) / (1.4826 * 0.5))


def test_quiet_series_are_left_out_without_changing_the_spikes() -> None:
    """find_spikes builds baselines only for series reaching min_count in the window: the spikes
    found are those of the whole table (min_count 0 computes every series) that reach it."""
    rng = np.random.default_rng(5)
    window = Window.last("7d", NOW)
    hours = len(spikes.spike_span(window).bucket_epochs())
    series = {f"s{i}": rng.poisson(3.0 if i % 10 == 0 else 0.05, hours).astype(float) for i in range(60)}
    for i in range(0, 60, 7):
        series[f"s{i}"][hours - 1 - i] = 14.0  # a burst in the window
    series["no data"] = np.full(hours, np.nan)
    table = spike_table({name: list(values) for name, values in series.items()}, window)
    found = spikes.find_spikes(table, min_count=5)
    everything = spikes.find_spikes(table, min_count=0)
    assert len(found) >= 5
    assert len(everything) > len(found)
    pd.testing.assert_frame_equal(found, everything[everything["mentions"] >= 5].reset_index(drop=True))


def test_no_data_hours_are_not_zero_and_never_spike() -> None:
    window = Window.last("2h", NOW)
    hours = len(spikes.spike_span(window).bucket_epochs())
    counts = pd.DataFrame(
        {
            "bucket_start": utc_times(np.array([epoch(at(-1))])),
            "source": ["a"],
            "mentions": [50],
        }
    )
    span = spikes.spike_span(window)
    polls = attempts([("a", 0.5, "failing")])  # the 11:00 hour failed
    status = grid(polls, attempts([]), ["a"], span)
    table = spikes.hourly_table(counts, status)
    assert len(table) == hours
    assert math.isnan(table.loc[pd.Timestamp(at(-1)), "a"])
    assert math.isnan(table.loc[pd.Timestamp(at(-1)), spikes.OVERALL])
    assert table.loc[pd.Timestamp(at(-2)), "a"] == 0.0
    assert spikes.find_spikes(table, min_count=1).empty


def test_spike_needs_enough_baseline() -> None:
    window = Window.last("1h", NOW)
    hours = len(spikes.spike_span(window).bucket_epochs())
    values = [np.nan] * (hours - 11) + [1.0] * 10 + [40.0]
    assert spikes.find_spikes(spike_table({"a": values}, window)).empty
    assert not spikes.find_spikes(spike_table({"a": values}, window), min_baseline_hours=10).empty


def test_mention_ids_attached_per_source_and_overall() -> None:
    found = pd.DataFrame(
        {
            "bucket_start": utc_times(np.array([epoch(at(-2)), epoch(at(-2))])),
            "source": ["a", ""],
            "mentions": [2, 3],
            "baseline": [0.0, 0.0],
            "score": [9.0, 9.0],
        }
    )
    mentions = pd.DataFrame(
        {
            "id": [7, 3, 5, 9],
            "source": ["a", "a", "b", "a"],
            "bucket_start": utc_times(np.array([epoch(at(-2))] * 3 + [epoch(at(-1))])),
        }
    )
    result = spikes.attach_mention_ids(found, mentions)
    assert result["mention_ids"].tolist() == [[3, 7], [3, 5, 7]]


# ---- rising ----------------------------------------------------------------------------------------


def snapshots(rows: list[tuple[int, float, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mention_id": [row[0] for row in rows],
            "at": utc_times(np.array([epoch(at(-row[1])) for row in rows], dtype=np.int64)),
            "engagement": pd.array([row[2] for row in rows], dtype="Int64"),
        }
    )


def test_rising_is_velocity_not_size() -> None:
    history = snapshots(
        [
            (1, 10.0, 1000),
            (1, 0.0, 1100),  # big but slow: 10/h
            (2, 2.0, 0),
            (2, 1.0, 30),  # small but fast: 30/h
            (3, 3.0, 5),
            (3, 2.0, None),  # unknown totals are skipped: one known row only
            (4, 1.0, 8),
            (4, 1.0 - 1 / 120, 10),  # 30 s apart: rated over the minimum span (10 min), 12/h, not 240/h
            (5, 6.0, 9),
            (5, 1.0, 9),  # no gain
            (6, 0.5, 50),  # a single snapshot: no rate yet
        ]
    )
    top = rising.rising(history, top_n=5)
    assert top["id"].tolist() == [2, 4, 1]
    assert top["per_hour"].tolist() == pytest.approx([30.0, 12.0, 10.0])
    assert top["gained"].tolist() == [30, 2, 100]
    assert top["hours"].tolist() == pytest.approx([1.0, 1 / 120, 10.0])


def test_rising_shows_after_the_second_poll() -> None:
    """Two polls a minute apart are enough to see a mention taking off."""
    history = snapshots([(7, 2 / 60, 3), (7, 1 / 60, 9)])
    top = rising.rising(history, top_n=5)
    assert top["id"].tolist() == [7]
    assert top["per_hour"].tolist() == pytest.approx([6 / (10 / 60)])


# ---- replies ---------------------------------------------------------------------------------------


def test_needs_reply_filters_and_orders() -> None:
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "source": ["m"] * 6,
            "kind": ["post"] * 6,
            "title": ["a", "b", "c", "d", "e", "f"],
            "author": ["x"] * 6,
            "url": [""] * 6,
            "published_at": utc_times(np.array([epoch(at(-h)) for h in (3, 1, 200, 5, 4, 2)])),
            "replies": pd.array([0, 0, 0, None, 2, 0], dtype="Int64"),
            "handled": [False, False, False, False, False, True],
        }
    )
    waiting = replies.needs_reply(frame, NOW)
    assert waiting["id"].tolist() == [1]  # 2 too young, 3 too old, 4 unknown, 5 answered, 6 handled
    assert waiting["age_hours"].tolist() == [3.0]
    assert replies.needs_reply(frame, NOW, min_age=timedelta(0))["id"].tolist() == [1, 2]


def test_median_first_response() -> None:
    first = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "source": ["m"] * 4,
            "published_at": utc_times(np.array([epoch(at(-h)) for h in (10, 10, 10, 10)])),
            "first_reply_at": utc_times(np.array([epoch(at(-h)) for h in (9, 7, 10.5, 1)])),
        }
    )
    first.loc[3, "first_reply_at"] = pd.NaT
    assert replies.response_times(first).tolist() == [
        pd.Timedelta(hours=1),
        pd.Timedelta(hours=3),
        pd.Timedelta(0),
    ]
    assert replies.median_first_response(first) == timedelta(hours=1)
    assert replies.median_first_response(first.iloc[3:]) is None
