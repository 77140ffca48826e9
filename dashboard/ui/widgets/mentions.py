"""The behaviour shared by panels whose rows are mentions: Enter opens one, `o` opens its link."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable

from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.rows import Record, int_of, openable_url, text_of
from dashboard.ui.widgets.table import KeyedTable, RowCache, TableRow


class RowTable(KeyedTable):
    """A row table where Home and End move the cursor to the first and last row.

    DataTable binds Home/End to a sideways scroll, which a row cursor never needs, so in a panel
    they did nothing (the help promised they jump).
    """

    def action_scroll_home(self) -> None:
        self.action_scroll_top()

    def action_scroll_end(self) -> None:
        self.action_scroll_bottom()


class MentionTablePanel(Panel):
    """A panel listing mentions keyed by their store id; subclasses say how a row looks."""

    COLUMNS: ClassVar[tuple[ColumnSpec, ...]] = ()
    EMPTY: ClassVar[str] = "Nothing here yet."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("o", "open_link", "Link")]

    class MentionChosen(Message):
        """The user asked for a mention's details (Enter or a click on a row)."""

        def __init__(self, mention_id: int) -> None:
            super().__init__()
            self.mention_id = mention_id

    rows: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._by_key: dict[str, dict[str, Any]] = {}
        self._drawn = RowCache()  # unchanged records are not drawn again

    def compose(self) -> ComposeResult:
        yield RowTable(self.COLUMNS)

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def watch_rows(self, rows: Sequence[dict[str, Any]] | None) -> None:
        if rows is None:
            return
        self._by_key = {str(int_of(record, "id")): dict(record) for record in rows}
        self.table.empty_message = self.empty_message()
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """Re-render every row from the records held (after new data, or when time moved on)."""
        now = self.now or datetime.now().astimezone()
        day, theme = now.astimezone().date(), self.app.theme
        keyed = (
            (key, (self.row_basis(record), self.render_basis(key), day, theme))
            for key, record in self._by_key.items()
        )
        self.table.sync(self._drawn.rows(keyed, lambda key: self.make_row(self._by_key[key], now)))
        self.border_subtitle = self.subtitle()

    def empty_message(self) -> str:
        """What the table says when it has no rows (once data has arrived)."""
        return self.EMPTY

    def row_basis(self, record: Record) -> object:
        """What of the record a row's look depends on: all of it, unless a panel says less."""
        return record

    def render_basis(self, key: str) -> object:
        """Anything besides the record a row's look depends on (the stream's 'just arrived' mark)."""
        return None

    def make_row(self, record: Record, now: datetime) -> TableRow:
        raise NotImplementedError

    def subtitle(self) -> str:
        return str(len(self._by_key))

    def record_under_cursor(self) -> dict[str, Any] | None:
        key = self.table.current_key
        return self._by_key.get(key) if key is not None else None

    def action_open_link(self) -> None:
        record = self.record_under_cursor()
        url = openable_url(text_of(record, "url")) if record else None
        if url is None:
            self.notify("This mention has no web link to open.", severity="warning")
            return
        self.app.open_url(url)

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.MentionChosen(int(event.row_key.value)))
