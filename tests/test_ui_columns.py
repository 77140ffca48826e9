"""Column widths fit the panel at every size: the title takes the room, nothing scrolls sideways."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from textual.app import App, ComposeResult

from dashboard.ui.widgets.columns import ColumnSpec, desired_width, fit_widths
from dashboard.ui.widgets.needs_reply import NeedsReplyPanel
from dashboard.ui.widgets.sources import SourcesPanel
from dashboard.ui.widgets.stream import StreamPanel
from dashboard.ui.widgets.table import KeyedTable, TableRow

STREAM = StreamPanel.COLUMNS
# The stream's widest cells in the demo: 'Nov 25', 'Lumen blog comments', 'comment', a long handle, a
# title, the sentiment glyph, 'pt-br', '1.2k'.
STREAM_NATURAL = (6, 19, 7, 32, 200, 1, 5, 4)


def shown(columns: tuple[ColumnSpec, ...], widths: tuple[int | None, ...]) -> dict[str, int]:
    return {column.key: width for column, width in zip(columns, widths, strict=True) if width is not None}


def used(widths: tuple[int | None, ...], padding: int = 2) -> int:
    return sum(width + padding for width in widths if width is not None)


def test_at_80_columns_the_title_gets_the_room_and_every_column_stays() -> None:
    widths = shown(STREAM, fit_widths(STREAM, STREAM_NATURAL, 77))
    # The language goes first; the sentiment glyph stays.
    assert list(widths) == ["time", "source", "kind", "author", "title", "sentiment", "engagement"]
    assert widths["title"] >= 29  # it had 10 when every column took its content's width
    assert widths["time"] == 6
    assert widths["kind"] == 7
    assert widths["source"] <= 12
    assert widths["author"] <= 14
    assert used(fit_widths(STREAM, STREAM_NATURAL, 77)) == 77


def test_spare_room_goes_to_the_title_first_then_to_cut_columns_then_to_the_title() -> None:
    long_titles = shown(STREAM, fit_widths(STREAM, STREAM_NATURAL, 150))
    assert (long_titles["source"], long_titles["author"]) == (12, 14)
    assert long_titles["title"] == 150 - 16 - (6 + 12 + 7 + 14 + 1 + 5 + 4)
    short_titles = shown(STREAM, fit_widths(STREAM, (6, 19, 7, 32, 60, 1, 5, 4), 150))
    assert (short_titles["source"], short_titles["author"]) == (19, 32)  # room to spare: nothing is cut
    assert short_titles["title"] == 150 - 16 - (6 + 19 + 7 + 32 + 1 + 5 + 4)


def test_narrow_panels_hide_the_least_kept_columns_first() -> None:
    columns = NeedsReplyPanel.COLUMNS
    widths = shown(columns, fit_widths(columns, (3, 30, 80), 37))
    assert "from" in widths  # who asked and where stays, cut, beside the title
    assert widths["title"] >= round(37 * 0.35)
    assert "from" not in shown(columns, fit_widths(columns, (3, 30, 80), 20))
    sources = shown(SourcesPanel.COLUMNS, fit_widths(SourcesPanel.COLUMNS, (19, 12, 5, 6, 60), 37))
    assert list(sources) == ["name", "status", "error"]  # the error stays; the times go
    assert used(fit_widths(SourcesPanel.COLUMNS, (19, 12, 5, 6, 60), 76)) == 76


def test_a_single_column_shows_what_fits() -> None:
    columns = (ColumnSpec("Title", "title", min_width=20, flex=True),)
    assert fit_widths(columns, (50,), 8) == (6,)
    assert desired_width(ColumnSpec("Kind", "kind", max_width=8), 2) == 4  # never under its header


specs = st.lists(
    st.builds(
        ColumnSpec,
        label=st.text("abcdef", min_size=1, max_size=8),
        key=st.just("k"),
        min_width=st.integers(0, 12),
        max_width=st.one_of(st.none(), st.integers(1, 30)),
        keep=st.integers(0, 5),
    ),
    min_size=1,
    max_size=6,
)


@given(specs, st.booleans(), st.data(), st.integers(1, 200))
def test_widths_never_overflow_and_drop_in_keep_order(
    columns: list[ColumnSpec], with_flex: bool, data: st.DataObject, available: int
) -> None:
    if with_flex:
        columns[0] = ColumnSpec(
            columns[0].label, "flex", min_width=columns[0].min_width, flex=True, share=0.3
        )
    natural = data.draw(st.lists(st.integers(0, 80), min_size=len(columns), max_size=len(columns)))
    widths = fit_widths(columns, natural, available)
    visible = [index for index, width in enumerate(widths) if width is not None]
    assert visible
    if len(visible) > 1:
        assert used(widths) <= available
        assert all(widths[i] is not None and widths[i] >= columns[i].floor for i in visible)  # type: ignore[operator]
    if with_flex and 0 in visible and len(visible) > 1:
        assert used(widths) == available  # the flexible column fills the table
    hidden = [index for index, width in enumerate(widths) if width is None]
    order = sorted(range(len(columns)), key=lambda i: (columns[i].keep, -i))
    assert order[: len(hidden)] == sorted(hidden, key=order.index)


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(STREAM, empty_message="Nothing yet: polls fill this in.")


def stream_row(key: str) -> TableRow:
    cells = ("23:41", "Mastodon #lumen", "comment", "someone@example.social", "T" * 150, "▼", "fr", "12")
    return TableRow(key, tuple(Text(cell) for cell in cells))


async def test_the_table_fits_its_width_and_refits_when_resized() -> None:
    app = OneTable()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(KeyedTable)
        await pilot.pause()
        message = table.render_line(2)
        assert "Nothing yet: polls fill this in." in message.text
        assert {segment.style.bgcolor for segment in message if segment.style} == {table.rich_style.bgcolor}
        table.sync([stream_row(str(n)) for n in range(20)])
        await pilot.pause()
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert table.max_scroll_x == 0
        assert set(table.column_keys) - set(table.visible_keys) == {"language"}  # the first to go
        title = table.get_row("3")[table.visible_keys.index("title")]
        assert title.overflow == "ellipsis"
        assert title.no_wrap
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        assert "author" not in table.visible_keys  # hidden, not squeezed to a sliver
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert table.cell_text("3", "author") == "someone@example.social"  # kept for when there is room
        await pilot.resize_terminal(120, 10)
        await pilot.pause()
        assert table.visible_keys == table.column_keys
        assert table.virtual_size.width == table.scrollable_content_region.width
