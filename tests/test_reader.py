"""StoreReader: frames, dtypes, NA handling, paging, and SQL aggregates equal to their pandas versions.

Every test runs on both backends (SQLite, PostgreSQL): the generated store is made in SQLite and
copied row for row into PostgreSQL, whose triggers build its rollups, so each aggregate is checked
against pandas on both, which makes the two backends agree with each other."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from bench.generate import generate_store
from dashboard.analytics import health, keywords, replies, rising, spikes, trending, voices, volume
from dashboard.analytics.windows import Window
from dashboard.store.db import StoreError
from dashboard.store.reader import MENTION_COLUMNS, StoreReader, history_frame
from tests.analytics_data import NOW, StoreBuilder, at, build_scenario
from tests.backends import BACKENDS, copy_into_postgres, new_store


@pytest.fixture(params=BACKENDS)
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBuilder]:
    builder = build_scenario(new_store(request.param, tmp_path))
    yield builder
    builder.close()


@pytest.fixture(scope="module", params=BACKENDS)
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreReader]:
    path = Path(tmp_path_factory.mktemp("generated")) / "store.db"
    generate_store(path, 3000, days=20, end=datetime(2026, 3, 31, 12, tzinfo=UTC), seed=3)
    database = path if request.param == "sqlite" else copy_into_postgres(path)
    with StoreReader.open(database) as reader:
        yield reader


GENERATED_END = datetime(2026, 3, 31, 12, tzinfo=UTC)


def test_mention_frame_columns_and_dtypes(scenario: StoreBuilder) -> None:
    frame = scenario.reader().mentions(at(-24), NOW)
    assert tuple(frame.columns) == MENTION_COLUMNS
    assert len(frame) == 10
    dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
    assert dtypes["published_at"] == dtypes["first_seen_at"] == dtypes["handled_at"] == "datetime64[us, UTC]"
    assert {dtypes[c] for c in ("likes", "replies", "shares", "views", "engagement")} == {"Int64"}
    assert dtypes["id"] == "int64"
    assert dtypes["handled"] == "bool"
    assert dtypes["title"] == "str"
    assert frame["published_at"].is_monotonic_increasing


def test_unknown_counts_are_na_never_zero(scenario: StoreBuilder) -> None:
    frame = scenario.reader().mentions(at(-24), NOW).set_index("title")
    assert frame.loc["Textual 1.0 released", ["likes", "replies", "shares", "engagement"]].isna().all()
    assert frame.loc["Anyone?", "engagement"] == 0  # known zeros stay zeros
    assert frame.loc["Data enrichment", "engagement"] == 4  # shares unknown: 1 + 3
    assert pd.isna(frame.loc["Data enrichment", "shares"])
    assert frame.loc["Thanks", "handled"]
    assert not frame.loc["Anyone?", "handled"]
    assert frame.loc["Thanks", "source_type"] == "reddit"


def test_filters_and_half_open_interval(scenario: StoreBuilder) -> None:
    reader = scenario.reader()
    assert len(reader.mentions(at(-24), NOW, sources=["Reddit"])) == 3
    assert len(reader.mentions(at(-24), NOW, sources=["Reddit", "Blog"], kinds=["post"])) == 6
    assert len(reader.mentions(at(-24), NOW, kinds=["comment"])) == 0
    assert len(reader.mentions(at(-0.5), NOW)) == 1  # starts at 11:30 exactly: included
    assert len(reader.mentions(at(-24), at(-0.5))) == 9  # ends at 11:30: excluded
    assert len(reader.mentions(None, None)) == 13


def test_iter_mentions_streams_the_same_rows(scenario: StoreBuilder) -> None:
    reader = scenario.reader()
    chunks = list(reader.iter_mentions(chunk_size=4))
    assert [len(chunk) for chunk in chunks] == [4, 4, 4, 1]
    streamed = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(streamed, reader.mentions(None, None))
    with pytest.raises(ValueError, match="chunk_size"):
        next(reader.iter_mentions(chunk_size=0))


def test_latest_mentions_pages_newest_first(scenario: StoreBuilder) -> None:
    reader = scenario.reader()
    first = reader.latest_mentions(limit=4)
    assert first["title"].tolist() == ["Show", "Again", "Notes from the sprint", "Anyone?"]
    second = reader.latest_mentions(limit=4, before_id=int(first["id"].iloc[-1]))
    assert second["title"].tolist()[0] == "I love textual and RICH"
    assert set(first["id"]).isdisjoint(second["id"])
    assert reader.latest_mentions(text="RICH")["title"].tolist() == [  # a substring, any case
        "I love textual and RICH",
        "Rich text in the terminal",
        "Data enrichment",
    ]
    assert reader.latest_mentions(text="carol", source="Mastodon")["author"].tolist() == ["carol", "carol"]
    assert reader.latest_mentions(text="%").empty
    assert reader.latest_mentions(text="_").empty
    assert reader.latest_mentions(kind="post", source="Nope").empty


def test_mentions_since_and_detail(scenario: StoreBuilder) -> None:
    reader = scenario.reader()
    newest = reader.max_mention_id()
    assert reader.mentions_since(newest).empty
    added = scenario.mention("Blog", at(-0.1), author="new", title="Just in")
    assert reader.mentions_since(newest)["id"].tolist() == [added]
    assert reader.max_mention_id() == added
    carol = int(reader.latest_mentions(text="Again")["id"].iloc[0])
    detail = reader.mention(carol)
    assert detail is not None
    assert (detail.source, detail.author, detail.engagement, detail.handled) == (
        "Mastodon",
        "carol",
        5,
        False,
    )
    assert [snapshot.likes for snapshot in detail.history] == [0, 2, 4]
    assert detail.history[1].at == at(-1.5)
    assert reader.mention(10_000) is None


def test_counts_carried_between_readers_of_a_file_follow_the_file(tmp_path: Path) -> None:
    """Every refresh opens a new reader and the per-source counts carry over (recounting 1M mentions
    cost ~0.5 s a refresh); a file replaced at the same path is counted afresh, not added to."""
    path = tmp_path / "store.db"

    def totals() -> dict[str, int]:
        with StoreReader.open(path) as reader:
            frame = reader.sources().set_index("name")
        return {str(name): int(count) for name, count in frame["mentions_total"].items()}

    def counted_in_sql() -> dict[str, int]:
        connection = sqlite3.connect(path)
        try:
            rows = connection.execute(
                "SELECT s.name, COUNT(m.id) FROM sources s LEFT JOIN mentions m ON m.source_id = s.id GROUP BY s.id"
            ).fetchall()
        finally:
            connection.close()
        return {str(name): int(count) for name, count in rows}

    generate_store(path, 3000, days=20, end=GENERATED_END, seed=3)
    first = counted_in_sql()
    assert totals() == first
    assert totals() == first  # carried over to the next reader
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    generate_store(path, 4000, days=20, end=GENERATED_END, seed=4)
    replaced = counted_in_sql()
    assert replaced != first
    assert totals() == replaced


def test_sources_count_mentions_incrementally(scenario: StoreBuilder) -> None:
    reader = scenario.reader()
    frame = reader.sources().set_index("name")
    assert frame.loc["Mastodon", "mentions_total"] == 5
    assert frame.loc["Fresh", "mentions_total"] == 0
    assert not frame.loc["Old feed", "active"]
    assert frame.loc["Blog", "status"] == "not modified"
    assert str(frame["last_attempt_at"].dtype) == "datetime64[us, UTC]"
    assert pd.isna(frame.loc["Fresh", "last_attempt_at"])
    scenario.mention("Fresh", at(-1), author="x")
    scenario.mention("Mastodon", at(-1), author="y")
    again = reader.sources().set_index("name")
    assert again.loc["Mastodon", "mentions_total"] == 6
    assert again.loc["Fresh", "mentions_total"] == 1


def test_history_polls_and_snapshots(scenario: StoreBuilder) -> None:
    reader = scenario.reader()
    history = reader.history(at(-3))
    assert history["mention_id"].is_monotonic_increasing
    assert len(history) == 4  # since 09:00: carol's three snapshots and Reddit alice's one
    snapshots = rising.engagement_snapshots(reader, at(-3), NOW)
    assert snapshots["engagement"].tolist() == history["engagement"].dropna().tolist()
    polls = reader.polls(at(-16), at(-12), sources=["Reddit"])
    assert polls["status"].tolist() == ["rate-limited", "ok"]
    assert polls["http_status"].tolist() == [429, 200]
    carried = health.last_polls_before(reader, at(-24)).set_index("source")
    assert carried.loc["Reddit", "status"] == "ok"
    assert "Fresh" not in carried.index


def test_open_is_read_only(tmp_path: Path) -> None:
    builder = build_scenario(tmp_path / "store.db")
    builder.close()
    with StoreReader.open(tmp_path / "store.db") as reader:
        assert len(reader.mentions(None, None)) == 13
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._db.execute("DELETE FROM mentions")
    with pytest.raises(StoreError, match="no database"):
        StoreReader.open(tmp_path / "missing.db")


# ---- SQL aggregates == their pandas equivalents, on a generated store ------------------------------


@pytest.mark.parametrize("spec", ["24h", "7d"])
def test_bucket_and_author_stats_match_pandas(generated: StoreReader, spec: str) -> None:
    window = Window.last(spec, GENERATED_END - timedelta(minutes=17))
    rows = generated.mentions(None, None)
    sql = volume.bucket_stats(generated, window.start, window.end, window.bucket_seconds)
    expected = volume.bucket_stats_from_rows(rows, window)
    assert len(expected) > 10
    pd.testing.assert_frame_equal(
        sql.sort_values(["bucket_start", "source"], ignore_index=True),
        expected.sort_values(["bucket_start", "source"], ignore_index=True),
    )
    first_seen = voices.first_seen_from_rows(rows)
    sql_authors = voices.author_stats(generated, window.start, window.end)
    from_rows = voices.author_stats_from_rows(rows, first_seen, window)
    pd.testing.assert_frame_equal(
        sql_authors.sort_values(["source", "author"], ignore_index=True),
        from_rows.sort_values(["source", "author"], ignore_index=True),
    )


def test_response_seconds_match_pandas(generated: StoreReader) -> None:
    window = Window.last("7d", GENERATED_END)
    rows = generated.mentions(window.start, window.end)
    history = generated.history(window.start - timedelta(days=1))
    expected = replies.response_times(replies.first_replies_from_rows(rows, history)).dt.total_seconds()
    stored = replies.response_seconds(generated, window.start, window.end)
    assert sorted(stored.tolist()) == sorted(expected.astype(int).tolist())
    assert len(stored) > 10
    assert replies.median_response(stored) == replies.median_first_response(
        replies.first_replies_from_rows(rows, history)
    )


def test_attempt_summary_matches_pandas(generated: StoreReader) -> None:
    window = Window.last("24h", GENERATED_END - timedelta(minutes=7))
    polls = generated.polls(window.start, window.end)
    expected = health.summarise_attempts(polls[["source", "started_at", "status"]], window)
    sql = health.attempt_summary(generated, window.start, window.end, window.bucket_seconds)
    pd.testing.assert_frame_equal(
        sql.sort_values(["bucket_start", "source"], ignore_index=True),
        expected.sort_values(["bucket_start", "source"], ignore_index=True),
    )


def test_hourly_counts_unanswered_and_texts(generated: StoreReader) -> None:
    end = GENERATED_END
    rows = generated.mentions(end - timedelta(days=2), end)
    counts = spikes.hourly_counts(generated, end - timedelta(days=2), end)
    assert counts["mentions"].sum() == len(rows)
    by_hour = rows.groupby([rows["published_at"].dt.floor("h"), "source"]).size()
    assert (
        counts.set_index(["bucket_start", "source"])["mentions"].sort_index().tolist()
        == by_hour.sort_index().tolist()
    )
    waiting = replies.unanswered(generated, end - timedelta(days=2), end)
    expected = rows[rows["replies"].eq(0).fillna(False) & ~rows["handled"]]
    assert waiting["id"].tolist() == expected["id"].tolist()
    assert replies.count_unanswered(generated, end - timedelta(days=2), end) == len(expected)
    assert len(replies.unanswered(generated, end - timedelta(days=2), end, limit=3)) == 3
    everything = trending.texts(generated, end - timedelta(days=2), end)
    sample = trending.texts(generated, end - timedelta(days=2), end, max_docs=50)
    assert everything.attrs["sampled_every"] == 1
    assert len(everything) == len(rows)
    assert sample.attrs["sampled_every"] > 1
    assert len(sample) <= 50
    assert set(sample["id"]) <= set(everything["id"])
    candidates = keywords.keyword_candidates(generated, end - timedelta(days=2), end, ["ourproject"])
    contains = everything["text"].str.contains("ourproject", case=False)
    assert set(candidates["id"]) >= set(everything.loc[contains, "id"])


def test_history_frame_engagement_is_na_aware() -> None:
    null = -(2**62)
    frame = history_frame([(1, 0, 2, null, null, 7), (1, 60, null, null, null, 9)])
    assert frame["engagement"].tolist()[0] == 2
    assert pd.isna(frame["engagement"].iloc[1])


def test_attempts_in_the_same_second_take_the_later_one(scenario: StoreBuilder) -> None:
    scenario.poll("Fresh", at(-3), "ok")
    scenario.poll("Fresh", at(-3), "failing")
    window = Window.last("6h", NOW)
    summary = health.attempt_summary(scenario.reader(), window.start, window.end, 3600).set_index("source")
    assert summary.loc["Fresh", "last_status"] == "failing"
    assert summary.loc["Fresh", "successes"] == 1
