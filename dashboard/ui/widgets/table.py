"""A DataTable whose rows are synchronised in place by key and whose columns fit the panel's width.

Panels never clear and reload their tables: the cursor stays on the row the user was reading, and
only changed cells are touched. Column widths follow the table's width (`columns.fit_widths`): the
flexible column takes the room the others leave, and columns that cannot fit are hidden, so nothing
ever scrolls sideways. An empty table says why it is empty instead of showing a blank box.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec, fit_widths
from dashboard.ui.widgets.styles import widget_css

LOADING = "loading…"


class RankedText(Text):
    """A first-column cell that also carries its row's position, so `sort` can order by it."""

    def __init__(self, text: Text, rank: int) -> None:
        super().__init__(
            text.plain,
            style=text.style,
            justify=text.justify,
            overflow=text.overflow,
            no_wrap=True,
            end="",
        )
        self.spans = list(text.spans)
        self.rank = rank


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row to show: its stable key and one cell per column (hidden columns included)."""

    key: str
    cells: tuple[Text, ...]


class RowCache:
    """The rows a panel drew last time, each with what it was drawn from: a row whose basis (its
    record, the minute, the theme...) is equal is handed back as is, so `KeyedTable.sync` skips it."""

    def __init__(self) -> None:
        self._drawn: dict[str, tuple[object, TableRow]] = {}

    def rows(self, keyed: Iterable[tuple[str, object]], draw: Callable[[str], TableRow]) -> list[TableRow]:
        """The row of each (key, basis), in order: the one drawn before from an equal basis, else `draw(key)`."""
        drawn: dict[str, tuple[object, TableRow]] = {}
        for key, basis in keyed:
            cached = self._drawn.get(key)
            drawn[key] = (basis, cached[1] if cached is not None and cached[0] == basis else draw(key))
        self._drawn = drawn
        return [row for _, row in drawn.values()]


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]


ColumnWidths = tuple[int | None, ...]  # each column's width, None when hidden


class KeyedTable(DataTable[Text]):
    """A read-only table of `TableRow`s kept in the order given to `sync`."""

    DEFAULT_CSS = widget_css(__file__)

    def __init__(
        self, columns: Sequence[ColumnSpec], *, id: str | None = None, empty_message: str = LOADING
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._specs = tuple(columns)
        self._rows: dict[str, TableRow] = {}
        self._ranks: dict[str, int] = {}  # each row's position as last synced
        self._natural = [len(spec.label) for spec in self._specs]
        self._widths: ColumnWidths = ()
        self._empty_message = empty_message
        self._empty_lines: tuple[str, int, list[Strip]] | None = None

    # -- columns --------------------------------------------------------------------------------

    @property
    def specs(self) -> tuple[ColumnSpec, ...]:
        return self._specs

    @property
    def column_keys(self) -> tuple[str, ...]:
        return tuple(spec.key for spec in self._specs)

    @property
    def visible_keys(self) -> tuple[str, ...]:
        return tuple(spec.key for spec, width in zip(self._specs, self._widths, strict=False) if width)

    @property
    def column_widths(self) -> ColumnWidths:
        return self._widths

    def on_mount(self) -> None:
        self._relayout()

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def _available_width(self) -> int:
        return self.scrollable_content_region.width

    def _fit(self) -> ColumnWidths:
        available = self._available_width()
        if available <= 0:  # not laid out yet (or hidden): every column at its content's width
            return tuple(
                max(natural, spec.floor) for spec, natural in zip(self._specs, self._natural, strict=True)
            )
        return fit_widths(self._specs, self._natural, available, padding=2 * self.cell_padding)

    def _relayout(self) -> None:
        """Fit the columns to the width; rebuild the table when any width changed.

        Rebuilding uses only DataTable's public API (clear, add_column, add_row). Resizing columns in
        place would need its private caches (`_require_update_dimensions`, `_clear_caches`), which
        Textual may change in any release; widths change only when the terminal is resized or a cell
        outgrows its column, so the rebuild is rare.
        """
        widths = self._fit()
        if widths == self._widths and self.columns:
            return
        self._rebuild(widths)

    def _rebuild(self, widths: ColumnWidths) -> None:
        """Re-add the visible columns and every row (a resize that hides or shows a column)."""
        keep_cursor_on = self.current_key
        self._widths = widths
        self.clear(columns=True)
        for spec, width in zip(self._specs, widths, strict=True):
            if width is not None:
                self.add_column(Text(spec.label, justify=spec.justify, end=""), key=spec.key, width=width)
        for rank, row in enumerate(self._rows.values()):
            self.add_row(*self._shown_cells(row, rank), key=row.key)
        if keep_cursor_on is not None and self.has_key(keep_cursor_on):
            self.move_cursor(row=self.get_row_index(keep_cursor_on), animate=False, scroll=True)

    def _shown_cells(self, row: TableRow, rank: int) -> list[Text]:
        """The cells of the visible columns, set to cut with an ellipsis at the column's width."""
        cells = [
            _fitted(cell, spec)
            for cell, spec, width in zip(row.cells, self._specs, self._widths, strict=False)
            if width is not None
        ]
        if cells:
            cells[0] = RankedText(cells[0], rank)
        return cells

    # -- rows -----------------------------------------------------------------------------------

    @property
    def current_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if self.row_count == 0 or not self.is_valid_row_index(self.cursor_row):
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def has_key(self, key: str) -> bool:
        return RowKey(key) in self.rows

    def cells_of(self, key: str) -> tuple[Text, ...]:
        """Every cell of a row as last synced, hidden columns included."""
        return self._rows[key].cells

    def cell_text(self, key: str, column: str) -> str:
        return self._rows[key].cells[self.column_keys.index(column)].plain

    def sync(self, rows: Sequence[TableRow]) -> SyncResult:
        """Make the table show exactly `rows`, in that order, touching only what changed."""
        previous, previous_ranks = self._rows, self._ranks
        self._rows = {row.key: row for row in rows}
        self._ranks = {row.key: rank for rank, row in enumerate(rows)}
        self._natural = natural_widths(self._specs, rows)
        result = SyncResult(
            added=tuple(row.key for row in rows if row.key not in previous),
            updated=tuple(
                row.key for row in rows if row.key in previous and not _same_row(previous[row.key], row)
            ),
            removed=tuple(key for key in previous if key not in self._rows),
        )
        widths = self._fit()
        if not self.columns or widths != self._widths:  # new widths: rebuilt with the rows just set
            self._rebuild(widths)
            return result
        self._apply(rows, result, previous_ranks)
        return result

    def _apply(self, rows: Sequence[TableRow], changes: SyncResult, previous_ranks: dict[str, int]) -> None:
        """Touch only the rows added, changed or moved (a panel of 1,000 sources, a few of which
        changed, costs a few rows' work, not a thousand)."""
        keep_cursor_on = self.current_key
        for key in changes.removed:
            self.remove_row(key)
        updated = set(changes.updated)
        visible = self.visible_keys
        moved = False
        for rank, row in enumerate(rows):
            if not self.has_key(row.key):
                self.add_row(*self._shown_cells(row, rank), key=row.key)
                continue
            rank_moved = previous_ranks.get(row.key) != rank
            if row.key in updated or rank_moved:
                cells = self._shown_cells(row, rank)
                current = self.get_row(row.key)
                for column, old, new in zip(visible, current, cells, strict=False):
                    if not same_text(old, new) or (rank_moved and column == visible[0]):
                        self.update_cell(row.key, column, new)
                moved = moved or rank_moved
        if changes.added or changes.removed or changes.updated or moved:
            self.sort(key=_rank_of)
            if keep_cursor_on is not None and self.has_key(keep_cursor_on):
                self.move_cursor(row=self.get_row_index(keep_cursor_on), animate=False, scroll=False)

    # -- the empty state ------------------------------------------------------------------------

    @property
    def empty_message(self) -> str:
        return self._empty_message

    @empty_message.setter
    def empty_message(self, message: str) -> None:
        if message != self._empty_message:
            self._empty_message = message
            self._empty_lines = None
            self.refresh()

    def render_line(self, y: int) -> Strip:
        header = self.header_height if self.show_header else 0
        if self.row_count or y < header:
            return super().render_line(y)
        lines = self._message_lines(self.size.width)
        index = y - header - 1
        if 0 <= index < len(lines):
            return lines[index]
        return Strip.blank(self.size.width, self.rich_style)

    def _message_lines(self, width: int) -> list[Strip]:
        """The empty message wrapped to the width, in the muted colour, one cell in from the edge."""
        cached = self._empty_lines
        if cached is not None and cached[:2] == (self._empty_message, width):
            return cached[2]
        style = self.rich_style + cell_style(self.app, "italic $text-muted")
        text = Text(self._empty_message, style=style)
        wrapped = text.wrap(self.app.console, max(1, width - 2 * self.cell_padding))
        pad = Segment(" " * self.cell_padding, self.rich_style)
        strips = [
            Strip([pad, Segment(line.plain.rstrip(), style)]).adjust_cell_length(width, self.rich_style)
            for line in wrapped
        ]
        self._empty_lines = (self._empty_message, width, strips)
        return strips


def natural_widths(columns: Sequence[ColumnSpec], rows: Sequence[TableRow]) -> list[int]:
    """Each column's widest cell (or its header)."""
    widths = [len(spec.label) for spec in columns]
    for row in rows:
        for index, cell in enumerate(row.cells[: len(widths)]):
            length = cell.cell_len
            if length > widths[index]:
                widths[index] = length
    return widths


def same_text(old: Text, new: Text) -> bool:
    """Equal text, spans and style (Text's own == ignores the style, e.g. an age turning overdue)."""
    return old.plain == new.plain and old.style == new.style and old.spans == new.spans


def same_cells(old: TableRow, new: TableRow) -> bool:
    return len(old.cells) == len(new.cells) and all(map(same_text, old.cells, new.cells))


def _same_row(old: TableRow, new: TableRow) -> bool:
    """A panel hands back the very row it drew before when nothing changed: no cell to compare."""
    return old is new or same_cells(old, new)


def _fitted(cell: Text, spec: ColumnSpec) -> Text:
    """The cell set to stay on one line and end in '…' where the column cuts it."""
    if cell.justify == spec.justify and cell.overflow == "ellipsis" and cell.no_wrap:
        return cell
    fitted = cell.copy()
    fitted.justify = spec.justify
    fitted.overflow = "ellipsis"
    fitted.no_wrap = True
    fitted.end = ""
    return fitted


def _rank_of(cells: tuple[Text, ...]) -> int:
    first = cells[0]
    return first.rank if isinstance(first, RankedText) else 0


__all__ = ["ColumnSpec", "ColumnWidths", "KeyedTable", "RowCache", "SyncResult", "TableRow", "natural_widths"]
