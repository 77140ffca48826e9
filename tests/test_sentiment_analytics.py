"""The Sentiment panels (analytics.sentiment through compute_dashboard) on real stores, against
hand-computed counts: only scored mentions count, the previous window lands at the same offset, and
nothing scored is unknown (None / empty), never 0 or neutral."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics import sentiment
from dashboard.analytics.dashboard import DashboardData, compute_dashboard
from dashboard.analytics.windows import Window
from dashboard.opinion import label_for, opinion_of
from dashboard.store.db import Database
from tests.analytics_data import NOW, StoreBuilder, at
from tests.backends import database_fixture  # noqa: F401  (the `database` fixture)


def score(builder: StoreBuilder, mention_id: int, language: str | None, value: float | None) -> None:
    """What the opinion pass stores: a language, and a score and label only in a scored language."""
    builder.connection.execute(
        "UPDATE mentions SET language = ?, sentiment = ?, sentiment_label = ?, opinion_version = 1 WHERE id = ?",
        (language, value, None if value is None else label_for(value), mention_id),
    )


def scored_mention(
    builder: StoreBuilder,
    source: str,
    published: datetime,
    language: str | None,
    value: float | None,
    **fields: object,
) -> int:
    mention_id = builder.mention(source, published, **fields)  # type: ignore[arg-type]
    score(builder, mention_id, language, value)
    return mention_id


@pytest.fixture
def store(database: Database) -> Iterator[StoreBuilder]:
    """Window: the 24 h before NOW (30 Mar 12:00 -> 31 Mar 12:00 UTC), hourly.

    In the window: A en +0.6 (30th 13:10), B en -0.7 (13:40), C fr -0.7 (13:50), D en 0.0 (31st 09:00),
    E de / F es / G unknown not scored (09:30-10:00), H fr -0.2 handled (11:59:59); I en -0.9 at 12:00
    is past the window's end. Previous window: P4 en -0.1 at its very start (29th 12:00), P1 en +0.5
    (13:20), P2 fr -0.4 (13:30), P6 de not scored (14:00), P3 en +0.3 (30th 11:59); P5 en -0.9 (29th
    11:59) is before it.
    """
    builder = StoreBuilder(database)  # on each backend (tests/backends.py)
    builder.source("Blog", "feed")
    builder.source("Mastodon", "mastodon")
    ids = {
        "A": scored_mention(builder, "Blog", at(-22) - timedelta(minutes=50), "en", 0.6, title="love it"),
        "B": scored_mention(
            builder, "Mastodon", at(-22) + timedelta(minutes=-20), "en", -0.7, title="it crashes"
        ),
        "C": scored_mention(builder, "Blog", at(-22) + timedelta(minutes=-10), "fr", -0.7, title="ça plante"),
        "D": scored_mention(builder, "Blog", at(-3), "en", 0.0, title="a release"),
        "E": scored_mention(builder, "Blog", at(-2.5), "de", None, title="Das ist schlecht"),
        "F": scored_mention(builder, "Mastodon", at(-2.25), "es", None, title="Es terrible"),
        "G": scored_mention(builder, "Blog", at(-2), None, None, title="ok"),
        "H": scored_mention(
            builder, "Mastodon", NOW - timedelta(seconds=1), "fr", -0.2, title="bof", handled_at=at(-0.5)
        ),
        "I": scored_mention(builder, "Blog", NOW, "en", -0.9, title="after"),
        "P1": scored_mention(builder, "Blog", at(-46) + timedelta(minutes=-40), "en", 0.5),
        "P2": scored_mention(builder, "Mastodon", at(-46) + timedelta(minutes=-30), "fr", -0.4),
        "P3": scored_mention(builder, "Blog", at(-24) - timedelta(minutes=1), "en", 0.3),
        "P4": scored_mention(builder, "Blog", at(-48), "en", -0.1),
        "P5": scored_mention(builder, "Blog", at(-48) - timedelta(minutes=1), "en", -0.9),
        "P6": scored_mention(builder, "Blog", at(-46), "de", None),
    }
    builder.ids = ids  # type: ignore[attr-defined]
    yield builder
    builder.close()


def dashboard(builder: StoreBuilder, window: Window) -> DashboardData:
    return compute_dashboard(builder.reader(), window, keywords=(), now=window.end)


def row(frame: pd.DataFrame, moment: datetime) -> dict[str, int]:
    found = frame[frame["bucket_start"] == pd.Timestamp(moment)]
    assert len(found) == 1, moment
    return {key: int(value) for key, value in found.iloc[0].drop("bucket_start").items()}


def zeros(**counts: int) -> dict[str, int]:
    base = dict.fromkeys(sentiment.SENTIMENT_COLUMNS[1:], 0)
    return {**base, **counts}


def test_counts_per_bucket_against_the_previous_window(store: StoreBuilder) -> None:
    data = dashboard(store, Window.last("24h", NOW))
    frame = data.sentiment
    assert tuple(frame.columns) == sentiment.SENTIMENT_COLUMNS
    assert frame["bucket_start"].tolist() == list(Window.last("24h", NOW).bucket_starts())
    assert len(frame) == 24
    for column in sentiment.SENTIMENT_COLUMNS[1:]:
        assert frame[column].dtype == "Int64", column
    assert row(frame, at(-24)) == zeros(previous_negative=1, previous_scored=1)  # P4
    assert row(frame, at(-23)) == zeros(  # A, B, C against P1, P2
        positive=1, negative=2, scored=3, previous_positive=1, previous_negative=1, previous_scored=2
    )
    assert row(frame, at(-3)) == zeros(neutral=1, scored=1)  # D; E, F, G are not scored
    assert row(frame, at(-2)) == zeros()  # G alone: nothing scored, not a neutral mention
    assert row(frame, at(-1)) == zeros(negative=1, scored=1, previous_positive=1, previous_scored=1)  # H; P3
    assert int(frame["scored"].sum()) == 5
    assert int(frame["previous_scored"].sum()) == 4
    assert (frame["scored"] == frame["positive"] + frame["neutral"] + frame["negative"]).all()


def test_kpis_net_sentiment_and_negative_share(store: StoreBuilder) -> None:
    kpis = dashboard(store, Window.last("24h", NOW)).kpis
    # Window: positive A, neutral D, negative B C H. Previous: positive P1 P3, negative P2 P4.
    assert kpis.net_sentiment == pytest.approx((1 - 3) / 5)
    assert kpis.negative_share == pytest.approx(3 / 5)
    assert kpis.net_sentiment_previous == pytest.approx(0.0)
    assert kpis.negative_share_previous == pytest.approx(2 / 4)
    assert kpis.mentions == 8  # the unscored ones still count as mentions


def test_most_negative_lowest_first_newest_first_between_ties(store: StoreBuilder) -> None:
    frame = dashboard(store, Window.last("24h", NOW)).most_negative
    ids = store.ids  # type: ignore[attr-defined]
    assert tuple(frame.columns) == sentiment.MOST_NEGATIVE_COLUMNS
    assert frame["id"].tolist() == [ids["C"], ids["B"], ids["H"]]  # I is past the end, P5 before
    assert frame["sentiment"].dtype == "Float64"
    assert frame["sentiment"].tolist() == [-0.7, -0.7, -0.2]
    assert frame["language"].tolist() == ["fr", "en", "fr"]
    assert frame["source"].tolist() == ["Blog", "Mastodon", "Mastodon"]
    assert frame["handled"].tolist() == [False, False, True]
    assert frame["title"].tolist() == ["ça plante", "it crashes", "bof"]
    assert str(frame["published_at"].dtype) == "datetime64[us, UTC]"
    assert frame["published_at"].iloc[2] == pd.Timestamp(NOW - timedelta(seconds=1))


def test_most_negative_keeps_twenty(tmp_path: Path) -> None:
    builder = StoreBuilder(tmp_path / "store.db")
    builder.source("Blog")
    made = [scored_mention(builder, "Blog", at(-1 - i * 0.1), "en", -0.5) for i in range(25)]
    frame = sentiment.most_negative(builder.reader(), Window.last("24h", NOW))
    assert frame["id"].tolist() == made[:20]  # all -0.5: the newest twenty, newest first
    builder.close()


def test_previous_window_of_seven_days_lands_at_the_same_offset(store: StoreBuilder) -> None:
    window = Window.last("7d", NOW)  # 24 Mar 12:00 -> 31 Mar 12:00, daily: 8 buckets, both edges partial
    scored_mention(store, "Blog", window.previous.start + timedelta(hours=1), "en", -0.5)  # -> 24th
    scored_mention(store, "Blog", window.start - timedelta(hours=1), "en", 0.5)  # 24th 11:00 -> 31st
    scored_mention(store, "Blog", datetime.fromisoformat("2024-03-18T01:00:00+00:00"), "fr", 0.0)  # -> 25th
    frame = dashboard(store, window).sentiment
    assert len(frame) == 8
    assert row(frame, window.start.replace(hour=0)) == zeros(previous_negative=1, previous_scored=1)
    assert row(frame, datetime.fromisoformat("2024-03-25T00:00:00+00:00")) == zeros(
        previous_neutral=1, previous_scored=1
    )
    last = row(frame, NOW.replace(hour=0))
    assert last["previous_positive"] == 1
    assert last["previous_scored"] == 1
    assert int(frame["previous_scored"].sum()) == 3
    # The window holds A B C D H and the 29th/30th rows P1-P5 (P5 at 29th 11:59 is inside 7 days).
    assert int(frame["scored"].sum()) == 10


def test_an_odd_window_maps_the_previous_one_onto_its_own_buckets(store: StoreBuilder) -> None:
    window = Window.between(at(-1.75), at(-0.25), bucket="h")  # 10:15 -> 11:45: buckets 10:00, 11:00
    scored_mention(store, "Blog", at(-3.1667), "en", 0.9)  # 08:50 -> +90 min = 10:20 -> bucket 10:00
    scored_mention(store, "Blog", at(-1.8333), "en", -0.9)  # 10:10 -> 11:40 -> bucket 11:00
    scored_mention(store, "Blog", at(-3.3), "en", -0.9)  # 08:42: before the previous window
    frame = sentiment.sentiment_panel(store.reader(), window)
    assert frame["bucket_start"].tolist() == [pd.Timestamp(at(-2)), pd.Timestamp(at(-1))]
    # D (en, neutral) at 09:00 is in the previous window too: +90 min = 10:30.
    assert row(frame, at(-2)) == zeros(previous_positive=1, previous_neutral=1, previous_scored=2)
    assert row(frame, at(-1)) == zeros(previous_negative=1, previous_scored=1)


def test_languages_not_scored_are_never_counted(tmp_path: Path) -> None:
    builder = StoreBuilder(tmp_path / "store.db")
    builder.source("Blog")
    for index, language in enumerate(["de", "es", "it", None, "de"]):
        scored_mention(builder, "Blog", at(-1 - index), language, None, title=f"post {index}")
    data = dashboard(builder, Window.last("24h", NOW))
    assert data.kpis.mentions == 5
    assert data.sentiment.empty
    assert tuple(data.sentiment.columns) == sentiment.SENTIMENT_COLUMNS
    assert data.kpis.net_sentiment is None
    assert data.kpis.negative_share is None
    assert data.kpis.net_sentiment_previous is None
    assert data.kpis.negative_share_previous is None
    assert data.most_negative.empty
    assert tuple(data.most_negative.columns) == sentiment.MOST_NEGATIVE_COLUMNS
    builder.close()


def test_only_the_previous_window_scored(tmp_path: Path) -> None:
    builder = StoreBuilder(tmp_path / "store.db")
    builder.source("Blog")
    scored_mention(builder, "Blog", at(-30), "en", -0.8)
    scored_mention(builder, "Blog", at(-2), "es", None)
    data = dashboard(builder, Window.last("24h", NOW))
    assert int(data.sentiment["scored"].sum()) == 0
    assert int(data.sentiment["previous_negative"].sum()) == 1
    assert data.kpis.net_sentiment is None
    assert data.kpis.negative_share is None
    assert data.kpis.negative_share_previous == 1.0
    assert data.kpis.net_sentiment_previous == -1.0
    builder.close()


def test_empty_store(tmp_path: Path) -> None:
    builder = StoreBuilder(tmp_path / "store.db")
    data = dashboard(builder, Window.last("7d", NOW))
    assert data.sentiment.empty
    assert tuple(data.sentiment.columns) == sentiment.SENTIMENT_COLUMNS
    assert data.most_negative.empty
    assert tuple(data.most_negative.columns) == sentiment.MOST_NEGATIVE_COLUMNS
    assert data.kpis.net_sentiment is None
    assert data.kpis.negative_share is None
    assert "sentiment" in data.timings
    assert "most_negative" in data.timings
    builder.close()


def test_label_totals_by_source(store: StoreBuilder) -> None:
    reader = store.reader()
    start, end = at(-24), NOW
    assert sentiment.label_totals(reader, start, end) == sentiment.Tally(1, 1, 3)
    assert sentiment.label_totals(reader, start, end, ["Mastodon"]) == sentiment.Tally(0, 0, 2)  # B, H
    assert sentiment.label_totals(reader, start, end, []) == sentiment.Tally()
    assert sentiment.Tally().negative_share is None
    assert sentiment.Tally().net_sentiment is None


def test_the_same_complaint_in_english_and_french_both_negative_spanish_unscored(tmp_path: Path) -> None:
    """Done-means of issue 13, through the real analysis (dashboard.opinion)."""
    builder = StoreBuilder(tmp_path / "store.db")
    builder.source("Forum")
    texts = {
        "en": "This update is terrible, the app crashes all the time and I hate it",
        "fr": "Cette mise à jour est nulle, l'application plante tout le temps, je déteste",
        "es": "Esta actualización es terrible, la aplicación se bloquea todo el tiempo y la odio",
    }
    for index, (expected, text) in enumerate(texts.items()):
        mention_id = builder.mention("Forum", at(-1 - index), title=text)
        found = opinion_of(text)
        assert found.language == expected
        builder.connection.execute(
            "UPDATE mentions SET language = ?, sentiment = ?, sentiment_label = ? WHERE id = ?",
            (found.language, found.sentiment, found.sentiment_label, mention_id),
        )
    data = dashboard(builder, Window.last("24h", NOW))
    assert data.kpis.negative_share == 1.0  # two scored, both negative; the Spanish one is not scored
    assert int(data.sentiment["scored"].sum()) == 2
    assert data.most_negative["language"].tolist().count("es") == 0
    assert sorted(data.most_negative["language"].tolist()) == ["en", "fr"]
    assert all(value < 0 for value in data.most_negative["sentiment"].tolist())
    spanish = builder.reader().latest_mentions(language="es")
    assert spanish["sentiment"].isna().all()
    assert spanish["sentiment_label"].tolist() == [""]
    assert data.kpis.net_sentiment == -1.0
    builder.close()


@pytest.mark.parametrize(
    "window",
    [
        Window.last("24h", NOW),
        Window.last("7d", NOW),
        Window.between(at(-30.25), at(-0.75), bucket="h"),  # 29.5 h, not on an hour
    ],
    ids=["24h", "7d", "odd"],
)
def test_sql_counts_match_pandas_over_the_mention_rows(tmp_path: Path, window: Window) -> None:
    """The panel's SQL against the same counts made in pandas from `reader.mentions()`."""
    rng = np.random.default_rng(13)
    builder = StoreBuilder(tmp_path / "store.db")
    for name in ("Blog", "Forum", "Chat"):
        builder.source(name)
    languages = np.array(["en", "fr", "de", "es", ""], dtype=object)
    for _ in range(600):
        published = NOW - timedelta(seconds=int(rng.integers(0, 16 * 86400)))
        language = str(rng.choice(languages))
        value = round(float(rng.uniform(-1, 1)), 3) if language in ("en", "fr") else None
        if value is not None and rng.random() < 0.2:
            value = 0.0
        scored_mention(
            builder, str(rng.choice(["Blog", "Forum", "Chat"])), published, language or None, value
        )
    reader = builder.reader()
    frame = sentiment.sentiment_panel(reader, window)
    assert int(frame["scored"].sum()) > 5
    assert int(frame["previous_scored"].sum()) > 5
    rows = reader.mentions(window.previous.start, window.end)
    scored = rows[rows["sentiment_label"] != ""]
    current = scored["published_at"] >= pd.Timestamp(window.start)
    moved = scored["published_at"].where(current, scored["published_at"] + window.length)
    expected = (
        scored.assign(bucket_start=moved.dt.floor(window.bucket), current=current)
        .groupby(["current", "bucket_start", "sentiment_label"])
        .size()
    )
    for prefix, is_current in (("", True), ("previous_", False)):
        for label in sentiment.LABELS:
            want = expected.xs((is_current, label), level=("current", "sentiment_label"), drop_level=True)
            got = frame.set_index("bucket_start")[f"{prefix}{label}"]
            assert got[got > 0].astype(int).to_dict() == want.astype(int).to_dict(), (prefix, label)
    per_source = sentiment.label_counts(reader, window.start, window.end, window.bucket_seconds)
    assert int(per_source[list(sentiment.LABELS)].to_numpy().sum()) == int(frame["scored"].sum())
    totals = sentiment.label_totals(reader, window.start, window.end)
    assert totals.scored == int(current.sum())
    builder.close()
