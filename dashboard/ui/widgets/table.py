"""A DataTable whose rows are synchronised in place by key: added, updated, removed, reordered.

Panels never clear and reload their tables: the cursor stays on the row the user was reading,
and only changed cells are touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


class RankedText(Text):
    """A first-column cell that also carries its row's position, so `sort` can order by it."""

    def __init__(self, text: Text, rank: int) -> None:
        super().__init__(text.plain, style=text.style, end="", no_wrap=True)
        self.spans = list(text.spans)
        self.rank = rank


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row to show: its stable key and one cell per column."""

    key: str
    cells: tuple[Text, ...]


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]


class KeyedTable(DataTable[Text]):
    """A read-only table of `TableRow`s kept in the order given to `sync`."""

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._column_spec = tuple(columns)

    def on_mount(self) -> None:
        self.ensure_columns()

    def ensure_columns(self) -> None:
        """Add the columns once, whether the table is first synced before or after it is mounted."""
        if not self.columns:
            for label, key in self._column_spec:
                self.add_column(label, key=key)

    async def _on_idle(self, event: events.Idle) -> None:
        """Measure new rows (DataTable does it when idle), then drop renders cached at the old widths.

        DataTable's cell cache is keyed by an update counter, not by column width: a frame drawn
        between `add_row` and this measurement would otherwise keep columns at their header width.
        """
        widths = [column.content_width for column in self.columns.values()]
        await super()._on_idle(event)
        if widths != [column.content_width for column in self.columns.values()]:
            self._update_count += 1
            self.refresh()

    def _grow_column(self, column_key: str, cell: Text) -> None:
        """Widen a column for an updated cell in O(1) (DataTable's update_width re-measures the column)."""
        column = self.columns.get(ColumnKey(column_key))
        if column is not None and cell.cell_len > column.content_width:
            column.content_width = cell.cell_len
            self._require_update_dimensions = True

    @property
    def column_keys(self) -> tuple[str, ...]:
        return tuple(key for _, key in self._column_spec)

    @property
    def current_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if self.row_count == 0 or not self.is_valid_row_index(self.cursor_row):
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def has_key(self, key: str) -> bool:
        return RowKey(key) in self.rows

    def sync(self, rows: Sequence[TableRow]) -> SyncResult:
        """Make the table show exactly `rows`, in that order, touching only what changed."""
        self.ensure_columns()
        keep_cursor_on = self.current_key
        wanted = {row.key for row in rows}
        removed = tuple(key.value or "" for key in list(self.rows) if key.value not in wanted)
        for key in removed:
            self.remove_row(key)
        added: list[str] = []
        updated: list[str] = []
        moved = False
        columns = self.column_keys
        for rank, row in enumerate(rows):
            cells = (RankedText(row.cells[0], rank), *row.cells[1:])
            if not self.has_key(row.key):
                self.add_row(*cells, key=row.key)
                added.append(row.key)
                continue
            current = self.get_row(row.key)
            content_changed = False
            for column, old, new in zip(columns, current, cells, strict=False):
                if old != new:
                    self.update_cell(row.key, column, new)
                    self._grow_column(column, new)
                    content_changed = True
            if content_changed:
                updated.append(row.key)
            elif _rank_of(tuple(current)) != rank:
                self.update_cell(row.key, columns[0], cells[0])
                moved = True
        if added or removed or updated or moved:
            self.sort(key=_rank_of)
            if keep_cursor_on is not None and self.has_key(keep_cursor_on):
                self.move_cursor(row=self.get_row_index(keep_cursor_on), animate=False, scroll=False)
        return SyncResult(tuple(added), tuple(updated), removed)


def _rank_of(cells: tuple[Text, ...]) -> int:
    first = cells[0]
    return first.rank if isinstance(first, RankedText) else 0
