"""The most active voices of the window; people seen for the first time are marked new."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive

from dashboard.ui.formatting import format_count, is_missing
from dashboard.ui.safe import TEXT_CAP, safe_str
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.rows import Record, number_of, text_of
from dashboard.ui.widgets.table import KeyedTable, TableRow

NEW_MARK = "★ "


def voice_key(record: Record) -> str:
    """Authors are only unique within a source."""
    return f"{text_of(record, 'source')}\x1f{text_of(record, 'author')}"


def is_new(record: Record) -> bool:
    value = record.get("is_new")
    return False if is_missing(value) else bool(value)


class VoicesPanel(Panel):
    """Top authors by mentions, with their engagement; new voices first seen in this window."""

    TITLE = "Voices"
    COLUMNS = (
        ColumnSpec("Author", "author", min_width=10, flex=True, share=0.4, keep=10),
        ColumnSpec("Source", "source", min_width=6, max_width=12, keep=8),
        # '#' rather than 'Mentions': at 120 columns the narrow panel then keeps its Source column, so
        # one name on two networks reads as two voices, not as a person listed twice.
        ColumnSpec("#", "mentions", keep=9, justify="right", whole=True),
        ColumnSpec("Eng.", "engagement", max_width=6, keep=8, justify="right", whole=True),
    )
    EMPTY = "No one has mentioned the project in this window yet."

    rows: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)

    def compose(self) -> ComposeResult:
        yield KeyedTable(self.COLUMNS)

    def watch_rows(self, rows: tuple[dict[str, Any], ...] | None) -> None:
        if rows is None:
            return
        table = self.query_one(KeyedTable)
        table.empty_message = self.collection_note or self.EMPTY
        table.sync([self.make_row(record) for record in rows])
        new = sum(1 for record in rows if is_new(record))
        self.border_subtitle = f"{len(rows)} · {new} new" if rows else ""

    def make_row(self, record: Record) -> TableRow:
        author = Text(end="", no_wrap=True)
        if is_new(record):
            author.append(NEW_MARK, style=cell_style(self.app, "bold $accent"))
        author.append(safe_str(text_of(record, "author"), width=TEXT_CAP))
        return TableRow(
            key=voice_key(record),
            cells=(
                author,
                Text(safe_str(text_of(record, "source"), width=TEXT_CAP), end=""),
                Text(format_count(number_of(record, "mentions")), justify="right", end=""),
                Text(format_count(number_of(record, "engagement")), justify="right", end=""),
            ),
        )
