"""The panels on hand-built data: pure helpers, in-place table sync, hostile text shown literally."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from dashboard.ui.app import home_relative
from dashboard.ui.formatting import Trend, age_hours, change_against, format_count, local_time, relative
from dashboard.ui.safe import safe_content, safe_str, safe_text
from dashboard.ui.screens.main import MainScreen
from dashboard.ui.views import dashboard_view
from dashboard.ui.widgets.alerts import AlertsPanel
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.kpis import HeaderState, KpiBar
from dashboard.ui.widgets.rows import openable_url
from dashboard.ui.widgets.sources import SourcesPanel, status_label
from dashboard.ui.widgets.stream import MentionFilter, StreamPanel
from dashboard.ui.widgets.table import KeyedTable, TableRow
from dashboard.ui.widgets.topics import share_bar
from dashboard.ui.widgets.volume import GAP, Series, bar_cells, fit, render_volume, volume_view
from tests.test_ui_samples import HOSTILE_TITLES, NOW, sample_dashboard, sample_mentions, sample_volume


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local times in assertions are UTC whatever the machine's zone."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# -- pure helpers ---------------------------------------------------------------------------------


def test_counts_and_changes_read_at_a_glance() -> None:
    assert format_count(1234) == "1,234"
    assert format_count(12_345) == "12.3k"
    assert format_count(None) == "–"
    assert format_count(float("nan")) == "–"
    assert change_against(112, 100).label == "▲ 12%"
    assert change_against(97, 100).trend is Trend.DOWN
    assert change_against(5, 0) == change_against(1, 0)
    assert change_against(5, 0).trend is Trend.NEW
    assert change_against(0, 0).label == "= 0%"


def test_times_are_local_and_relative() -> None:
    assert local_time(NOW, NOW) == "12:00"
    assert local_time(NOW - timedelta(days=1), NOW) == "Mar 13 12:00"
    assert local_time(None, NOW) == "–"
    assert relative(NOW + timedelta(minutes=4), NOW) == "in 4 min"
    assert relative(NOW - timedelta(hours=3), NOW) == "3 h ago"
    assert age_hours(30.0) == "30 h"
    assert age_hours(72.0) == "3 d"


def test_sanitiser_is_applied_to_every_display_helper() -> None:
    hostile = "a\x1b]0;pwned\x07b\u202ec\x9bd\ne"
    assert safe_str(hostile) == "a]0;pwnedbcd e"
    assert safe_text(hostile).plain == "a]0;pwnedbcd e"
    assert safe_content(hostile).plain == "a]0;pwnedbcd\ne"
    assert safe_str("x" * 50, width=10) == "x" * 9 + "…"


def test_only_web_links_are_opened() -> None:
    assert openable_url("https://example.com/a") == "https://example.com/a"
    assert openable_url("file:///etc/passwd") is None
    assert openable_url("javascript:alert(1)") is None
    assert openable_url("") is None


def test_filter_reads_source_and_kind() -> None:
    assert MentionFilter.parse("source:hn kind:Post rust async") == MentionFilter("rust async", "hn", "post")
    assert MentionFilter.parse("  ").is_empty
    assert MentionFilter.parse("re:thing") == MentionFilter("re:thing")


def test_volume_gaps_stay_gaps_and_zeros_stay_zeros() -> None:
    assert bar_cells(None, 10, 3) == [" ", " ", GAP]
    assert bar_cells(0, 10, 3) == [" ", " ", "▁"]
    assert bar_cells(10, 10, 3) == ["█", "█", "█"]
    assert bar_cells(5, 10, 2) == [" ", "█"]
    widened = fit(Series("x", (1.0, None), frozenset({1})), 4)
    assert widened.values == (1.0, 1.0, None, None)
    assert widened.spikes == {2, 3}
    summed = fit(Series("x", (1.0, 2.0, None, None, 3.0, None)), 3)
    assert summed.values == (3.0, None, 3.0)


def test_volume_view_marks_spikes_and_no_data() -> None:
    data = sample_dashboard()
    view = volume_view(data.volume, data.volume_status, data.spikes)
    mastodon = next(series for series in view.sources if series.label == "mastodon")
    assert mastodon.values[8:12] == (None, None, None, None)
    hn = next(series for series in view.sources if series.label == "hn")
    assert hn.spikes == {20}
    assert view.sources[0].label == "hn"  # busiest first
    chart = render_volume(view, 60, 12, NOW).plain
    assert GAP in chart
    assert "no data" in chart


def test_share_bar_and_status_labels() -> None:
    assert share_bar(0.5, 10).startswith("█████ ")
    assert share_bar(None) == "–"
    record = {"status": "rate-limited", "next_poll_at": pd.Timestamp(NOW + timedelta(minutes=5))}
    assert status_label(record, NOW) == "rate-limited until 12:05"
    assert status_label({"status": "failing", "consecutive_failures": 3}, NOW) == "failing ×3"


def alert(number: int, *, suppressed: str = "") -> dict[str, object]:
    return {
        "id": number,
        "rule": "spikes",
        "kind": "spike",
        "raised_at": pd.Timestamp(NOW - timedelta(minutes=number)),
        "title": f"Spike on hn [b]{number}[/b]",
        "delivery": "chat: delivered",
        "suppressed": suppressed,
        "mention_ids": (),
    }


async def test_the_alerts_panel_shows_the_log_and_notifies_only_what_is_new() -> None:
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await show_samples(app)
        panel = screen.query_one(AlertsPanel)
        panel.alerts = (alert(2), alert(1))  # in the log when the dashboard opened: listed quietly
        await pilot.pause()
        assert panel.query_one(DataTable).row_count == 2
        assert not app._notifications
        panel.alerts = (alert(4, suppressed="cool-down"), alert(3), alert(2), alert(1))
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["Spike on hn [b]3[/b]"]  # literal, once
        panel.failing_channels = {"chat": "HTTP 500"}
        await pilot.pause()
        assert "delivery failing: chat" in str(panel.border_subtitle)


# -- widgets in an app ----------------------------------------------------------------------------


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable((ColumnSpec("A", "a"), ColumnSpec("B", "b", flex=True)))


def rows(*pairs: tuple[str, str]) -> list[TableRow]:
    return [TableRow(key, (Text(key), Text(value))) for key, value in pairs]


async def test_keyed_table_updates_in_place_and_keeps_the_cursor() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        first = table.sync(rows(("1", "one"), ("2", "two"), ("3", "three")))
        assert first.added == ("1", "2", "3")
        table.move_cursor(row=1)
        assert table.current_key == "2"
        result = table.sync(rows(("0", "zero"), ("1", "one"), ("2", "TWO")))
        await pilot.pause()
        assert result.added == ("0",)
        assert result.updated == ("2",)
        assert result.removed == ("3",)
        assert [table.get_row_at(i)[0].plain for i in range(table.row_count)] == ["0", "1", "2"]
        assert table.current_key == "2"  # still on the row being read, though it moved down
        assert table.get_row("2")[1].plain == "TWO"


class ScreenApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(MainScreen())


async def show_samples(app: App[None], titles: tuple[str, ...] = ()) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen)
    screen.header = HeaderState("24 h", NOW, "idle")
    screen.view = dashboard_view(sample_dashboard(titles=titles))  # type: ignore[arg-type]
    screen.show_stream(sample_mentions(40, titles=titles), NOW)
    return screen


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_hostile_titles_render_literally_in_every_panel(size: tuple[int, int]) -> None:
    app = ScreenApp()
    async with app.run_test(size=size) as pilot:
        screen = await show_samples(app, HOSTILE_TITLES)
        await pilot.pause()
        stream = screen.query_one(StreamPanel)
        titles = {stream.table.cell_text(key, "title") for key in map(str, range(1, 41))}
        assert "Great post [/bold] by someone" in titles
        assert "[@click=app.quit]Click me[/]" in titles
        assert "[link=file:///etc/passwd]y[/link]" in titles
        assert not any("\x1b" in title or "\x9b" in title or "\u202e" in title for title in titles)
        for number in range(1, 9):  # every panel, so each renders at this size
            await pilot.press(str(number))
            await pilot.pause()
        await pilot.click(StreamPanel)
        assert app.is_running  # the quit markup did nothing


async def test_header_shows_changes_and_poll_times() -> None:
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await show_samples(app)
        await pilot.pause()
        text = app.screen.query_one(KpiBar).render().plain
        assert "Mentions 128 ▲ 28%" in text
        assert "Engagement 2,341 ▼ 6%" in text
        assert "3 ok · 1 failing" in text
        assert "Polled 11:58 · next 12:03" in text


async def test_new_stream_rows_are_highlighted_then_fade() -> None:
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await show_samples(app)
        await pilot.pause()
        stream = screen.query_one(StreamPanel)
        newer = sample_mentions(42)
        screen.show_stream(newer, NOW)
        await pilot.pause()
        assert is_highlighted(stream, "42")
        assert not is_highlighted(stream, "40")
        assert stream.table.get_row_index("42") == 0
        stream._fade()
        assert not is_highlighted(stream, "42")


async def test_the_first_backlog_is_not_highlighted() -> None:
    app = ScreenApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.show_stream([], NOW)
        await pilot.pause()
        stream = screen.query_one(StreamPanel)
        assert "No mentions yet" in stream.table.empty_message
        screen.show_stream(sample_mentions(40), NOW)  # the first poll's backlog
        await pilot.pause()
        assert not any(is_highlighted(stream, str(key)) for key in range(1, 41))
        screen.show_stream(sample_mentions(41), NOW)
        await pilot.pause()
        assert is_highlighted(stream, "41")


def is_highlighted(stream: StreamPanel, key: str) -> bool:
    """A new row's time is in the highlight style and its title bold."""
    time, title = stream.table.cells_of(key)[0], stream.table.cells_of(key)[4]
    return bool(isinstance(time.style, Style) and time.style.bold and title.style == "bold")


async def test_sources_panel_lists_every_status() -> None:
    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await show_samples(app)
        await pilot.pause()
        table = screen.query_one(SourcesPanel).query_one(DataTable)
        assert table.row_count == 4
        assert "failing ×3" in table.get_row("mastodon")[1].plain
        assert [table.get_row(name)[1].plain for name in ("hn", "reddit")] == ["ok", "unchanged"]
        data = sample_dashboard()
        data.sources.loc[0, "status"] = "gone"
        screen.view = dashboard_view(data)  # type: ignore[arg-type]
        await pilot.pause()
        assert table.get_row("hn")[1].plain.startswith("gone")


def test_volume_view_of_an_empty_window() -> None:
    frame, status = sample_volume()
    view = volume_view(frame.iloc[0:0], status.iloc[0:0], None)
    assert render_volume(view, 40, 10, NOW).plain == "no mentions in this window yet"


def test_paths_in_notifications_are_home_relative() -> None:
    assert home_relative(Path.home() / "exports" / "snapshot-1") == "~/exports/snapshot-1"
    assert home_relative(Path("/elsewhere/snapshot-1")) == "/elsewhere/snapshot-1"
