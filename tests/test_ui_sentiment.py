"""The Sentiment panel and the stream's sentiment glyphs, on a real store the opinion pass filled
(its columns set as the pass stores them): the header line against the previous window, the share
per bucket with unknown buckets as gaps, the most negative mentions (Enter, o), and glyphs and
network text drawn literally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.ui.screens.detail import MentionDetailScreen
from dashboard.ui.screens.main import MainScreen
from dashboard.ui.widgets.opinion import GLYPHS, sentiment_glyph
from dashboard.ui.widgets.sentiment import (
    GAP,
    MoodChart,
    SentimentPanel,
    fit_shares,
    mood_view,
    render_mood,
    share_line,
    summary_line,
)
from dashboard.ui.widgets.stream import StreamPanel
from tests.test_ui_actions import app_on, filled
from tests.test_ui_app import main_screen, record_opened, wait_for
from tests.test_ui_filters_opinion import HOSTILE, with_opinions

START = datetime(2025, 3, 14, tzinfo=UTC)


def frame(rows: list[tuple[int, int, int, int, int, int]]) -> pd.DataFrame:
    """A sentiment frame: (positive, neutral, negative, previous_positive, _neutral, _negative)."""
    columns = [
        "positive",
        "neutral",
        "negative",
        "previous_positive",
        "previous_neutral",
        "previous_negative",
    ]
    table = pd.DataFrame(rows, columns=columns).astype("Int64")
    table["scored"] = (table["positive"] + table["neutral"] + table["negative"]).astype("Int64")
    table["previous_scored"] = (
        table["previous_positive"] + table["previous_neutral"] + table["previous_negative"]
    ).astype("Int64")
    table.insert(0, "bucket_start", [START + timedelta(hours=h) for h in range(len(rows))])
    return table


def test_the_header_line_names_the_window_and_the_one_before() -> None:
    line = summary_line(0.18, 0.12, "7 d", 0.23)
    assert line.plain == "negative 18% this week (12% last week)  net +0.23"
    assert "24 h" in summary_line(0.5, None, "24 h").plain
    assert summary_line(0.5, None, "24 h").plain.startswith("negative 50% the last 24 h (– the 24 h before)")
    assert "no scored mention" in summary_line(None, None, "7 d").plain  # unknown, never 0 %


def test_a_bucket_without_a_scored_mention_is_a_gap_not_zero() -> None:
    view = mood_view(frame([(2, 0, 2, 1, 1, 0), (0, 0, 0, 0, 0, 0), (0, 1, 3, 0, 0, 4)]))
    shares = fit_shares(view.negative, 3)
    assert shares == (0.5, None, 0.75)
    assert share_line(shares, "$error").plain[1] == GAP
    assert share_line((0.0,), "$error").plain == "▁"  # a true 0 % is the floor, not a gap
    assert view.negative.total_share() == 5 / 8
    assert fit_shares(view.negative, 1) == (5 / 8,)  # many buckets into one cell: hits over scored
    assert fit_shares(view.negative, 6) == (0.5, 0.5, None, None, 0.75, 0.75)


def test_the_chart_fits_80_columns_and_drops_the_previous_lines_when_short() -> None:
    view = mood_view(frame([(3, 1, 1, 1, 1, 1)] * 24))
    tall = render_mood(view, 76, 5, START).plain.splitlines()
    assert [line.split()[0] for line in tall[:4]] == ["positive", "before", "negative", "before"]
    assert all(len(line) <= 76 for line in tall)
    short = render_mood(view, 76, 3, START).plain.splitlines()
    assert [line.split()[0] for line in short[:2]] == ["positive", "negative"]
    assert tall[0].endswith("60%")
    assert tall[2].endswith("20%")


def test_the_glyphs_never_show_unknown_as_neutral() -> None:
    assert [sentiment_glyph(label) for label in ("positive", "neutral", "negative")] == ["▲", "●", "▼"]
    assert sentiment_glyph("") == ""
    assert sentiment_glyph("[b]x[/b]") == ""


async def wait_for_mood(app: object, pilot: object) -> SentimentPanel:
    panel = main_screen(app).query_one(SentimentPanel)  # type: ignore[arg-type]
    await wait_for(pilot, lambda: panel.table.row_count > 0)  # type: ignore[arg-type]
    return panel


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_the_panel_shows_the_share_and_the_most_negative(tmp_path: Path, size: tuple[int, int]) -> None:
    database = filled(tmp_path)
    groups = with_opinions(database)
    app = app_on(tmp_path)
    opened = record_opened(app)
    async with app.run_test(size=size) as pilot:
        await pilot.press("9")
        panel = await wait_for_mood(app, pilot)
        assert panel.display
        assert panel.region.width > 0
        summary = str(panel.query_one("#mood-summary").render())
        assert summary.startswith("negative ")
        assert "the last 24 h" in summary
        assert "the 24 h before" in summary
        chart = panel.query_one(MoodChart)
        assert chart.region.height >= 3
        keys = [
            int(panel.table.coordinate_to_cell_key((row, 0)).row_key.value or 0)
            for row in range(panel.table.row_count)
        ]
        assert set(keys) <= groups["negative"]
        first = panel.record_under_cursor()
        assert first is not None
        assert first["title"] == HOSTILE
        assert panel.table.cell_text(str(keys[0]), "title") == HOSTILE
        await pilot.press("o")
        assert opened == [first["url"]]
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, MentionDetailScreen) and app.screen.detail is not None
        )
        assert app.screen.mention_id == keys[0]  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert app.is_running  # the hostile title's [@click=app.quit] did nothing


async def test_the_stream_shows_each_sentiment_as_a_glyph_and_the_language(tmp_path: Path) -> None:
    database = filled(tmp_path)
    groups = with_opinions(database)
    app = app_on(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        stream = main_screen(app).query_one(StreamPanel)
        await wait_for(pilot, lambda: stream.table.row_count > 20)
        assert "sentiment" in stream.table.visible_keys
        assert "language" in stream.table.visible_keys
        for key in stream._by_key:
            glyph = stream.table.cell_text(key, "sentiment")
            language = stream.table.cell_text(key, "language")
            number = int(key)
            if number in groups["negative"]:
                assert glyph == GLYPHS["negative"]
            elif number in groups["positive"]:
                assert (glyph, language) == (GLYPHS["positive"], "en")
            elif number in groups["neutral"]:
                assert glyph == GLYPHS["neutral"]
            elif number in groups["german"]:
                assert (glyph, language) == ("", "de")  # a language not scored: no glyph, not neutral
            else:
                assert (glyph, language) == ("", "")  # unknown: blank
        hostile = next(k for k, r in stream._by_key.items() if r["title"] == HOSTILE)
        assert stream.table.cell_text(hostile, "title") == HOSTILE
        cells = stream.table.cells_of(hostile)
        assert cells[stream.table.column_keys.index("sentiment")].style  # coloured from the theme
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await wait_for(pilot, lambda: stream.table.size.width <= 80)
        assert "sentiment" in stream.table.visible_keys  # the glyph stays at 80 columns
        assert {"time", "title", "engagement"} <= set(stream.table.visible_keys)
        assert sum(width or 0 for width in stream.table.column_widths) <= 80


async def test_a_backfill_shows_a_bar_under_the_header_until_it_is_done(tmp_path: Path) -> None:
    from textual.widgets import ProgressBar

    from dashboard.polling.background import BackgroundProgress
    from dashboard.ui.widgets.backfill import SHOWN_FROM, BackfillBar

    filled(tmp_path)
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        bar = main_screen(app).query_one(BackfillBar)
        await wait_for(pilot, lambda: main_screen(app).dashboard is not None)
        assert not bar.display

        def progressed(done: int, total: int, *, running: bool = True, message: str = "") -> None:
            progress = BackgroundProgress("opinion", done, total, running, message, "Language and sentiment")
            app._background_progress(progress)  # as the runner's thread calls it

        progressed(10, SHOWN_FROM - 1)  # the few rows after a round of polls: no bar
        await pilot.pause()
        assert not bar.display
        progressed(12_000, 48_000)
        await wait_for(pilot, lambda: bar.display)
        assert str(bar.query_one("#backfill-label").render()) == "Language and sentiment: 12,000 of 48,000"
        assert bar.query_one(ProgressBar).percentage == 0.25
        assert bar.region.y < main_screen(app).query_one("#panels").region.y  # in the header area
        progressed(48_000, 48_000, running=False)
        await wait_for(pilot, lambda: not bar.display)
        progressed(0, 0, running=False, message="install the opinion extra")
        await wait_for(pilot, lambda: any("opinion extra" in str(n.message) for n in app._notifications))


def test_a_language_from_the_network_is_shown_literally_and_cut() -> None:
    from dashboard.ui.widgets.opinion import language_cell

    assert language_cell({"language": "fr"}).plain == "fr"
    assert language_cell({"language": ""}).plain == ""
    hostile = language_cell({"language": "[@click=app.quit]\x1b]0;x\x07"})
    assert hostile.plain.startswith("[@click")  # text, never markup
    assert "\x1b" not in hostile.plain
    assert hostile.cell_len <= 8
