"""Layouts at 80x24, 120x36 and 200x50: times and counts are never cut, Needs reply says who asked
where, Voices keeps its source column, and the volume legend shows only what is drawn."""

from __future__ import annotations

import pytest
from textual.app import App

from dashboard.ui.screens.main import MainScreen
from dashboard.ui.widgets.columns import ColumnSpec, fit_widths
from dashboard.ui.widgets.needs_reply import NeedsReplyPanel
from dashboard.ui.widgets.sources import SourcesPanel
from dashboard.ui.widgets.table import KeyedTable
from dashboard.ui.widgets.voices import VoicesPanel
from dashboard.ui.widgets.volume import Series, VolumeView, render_volume
from tests.test_ui_samples import NOW
from tests.test_ui_widgets import show_samples


def test_a_whole_column_is_hidden_rather_than_cut() -> None:
    columns = (
        ColumnSpec("Source", "name", min_width=10, max_width=16, keep=10),
        ColumnSpec("Next", "next", max_width=8, keep=6, whole=True),
        ColumnSpec("Error", "error", min_width=10, flex=True, keep=8),
    )
    natural = [15, 5, 0]
    assert fit_widths(columns, natural, 40)[1] == 5  # '19:16' whole
    assert fit_widths(columns, natural, 26)[1] is None  # no room for it: hidden, not '19:…'


class ScreenApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(MainScreen())


def cells(table: KeyedTable) -> list[str]:
    return [cell.plain for row in range(table.row_count) for cell in table.get_row_at(row)]


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 50)])
async def test_times_and_counts_are_never_cut(size: tuple[int, int]) -> None:
    app = ScreenApp()
    async with app.run_test(size=size) as pilot:
        screen = await show_samples(app)
        for panel in ("sources", "needs-reply", "voices"):
            screen.action_show_panel(panel)
            await pilot.pause()
        await pilot.pause()
        for panel_type in (SourcesPanel, NeedsReplyPanel, VoicesPanel):
            table = screen.query_one(panel_type).query_one(KeyedTable)
            for spec, width in zip(table.specs, table.column_widths, strict=True):
                if spec.whole and width:
                    index = table.visible_keys.index(spec.key)
                    shown = [table.get_row_at(row)[index].plain for row in range(table.row_count)]
                    assert all(len(text) <= width for text in shown), (panel_type, spec.label, shown)


@pytest.mark.parametrize("size", [(120, 36), (200, 50)])
async def test_needs_reply_says_who_asked_and_where(size: tuple[int, int]) -> None:
    app = ScreenApp()
    async with app.run_test(size=size) as pilot:
        screen = await show_samples(app)
        await pilot.pause()
        table = screen.query_one(NeedsReplyPanel).query_one(KeyedTable)
        assert "from" in table.visible_keys
        assert any(" · " in text for text in cells(table))


async def test_voices_keep_their_source_column_at_120_columns() -> None:
    app = ScreenApp()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await show_samples(app)
        await pilot.pause()
        assert "source" in screen.query_one(VoicesPanel).query_one(KeyedTable).visible_keys


def view(spiked: frozenset[int] = frozenset(), sources: int = 1) -> VolumeView:
    total = Series("total", (1.0, 2.0, 9.0, 2.0), spiked)
    rows = tuple(Series(f"s{n}", (1.0, 1.0, 1.0, 1.0)) for n in range(sources))
    return VolumeView(tuple(NOW for _ in range(4)), total, rows)


def test_the_legend_shows_a_spike_key_only_when_one_is_drawn() -> None:
    assert "spike" not in render_volume(view(), 40, 10, NOW).plain
    assert "█ spike" in render_volume(view(frozenset({2})), 40, 10, NOW).plain


def test_sources_without_a_row_are_counted() -> None:
    text = render_volume(view(sources=9), 60, 8, NOW).plain
    assert "more sources (see Sources)" in text
    assert "+" in text.splitlines()[-1]
    assert "more" not in render_volume(view(sources=2), 60, 12, NOW).plain
