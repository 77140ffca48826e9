"""Mentions waiting for an answer, oldest first; `x` marks one handled (stored, survives restarts)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from dashboard.ui.formatting import age_hours
from dashboard.ui.safe import TEXT_CAP, TITLE_CAP, safe_str, safe_text
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.mentions import MentionTablePanel
from dashboard.ui.widgets.rows import Record, int_of, number_of, text_of
from dashboard.ui.widgets.table import TableRow

OVERDUE_HOURS = 24.0


def from_cell(record: Record) -> Text:
    """'kwame · Reddit': who asked, and where."""
    author, source = text_of(record, "author"), text_of(record, "source")
    cell = safe_text(author, width=TEXT_CAP) if author else Text(end="")
    if source:
        if author:
            cell.append(" · ")
        cell.append_text(safe_text(source, width=TEXT_CAP))
    return cell


def _age(record: Record) -> tuple[str, bool]:
    """How long the mention has waited, as shown, and whether that is overdue."""
    hours = number_of(record, "age_hours")
    return age_hours(hours), hours is not None and hours >= OVERDUE_HOURS


class NeedsReplyPanel(MentionTablePanel):
    """The reply queue across every source."""

    TITLE = "Needs reply"
    COLUMNS = (
        ColumnSpec("Age", "age", max_width=6, keep=9, justify="right", whole=True),
        # Author and source in one column: two would not both fit the panel at 120 columns.
        ColumnSpec("From", "from", min_width=6, max_width=26, keep=8),
        ColumnSpec("Title", "title", min_width=10, flex=True, share=0.35, keep=10),
    )
    EMPTY = "Nothing is waiting for a reply."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "mark_handled", "Handled")]

    class HandledMarked(Message):
        """The user marked a mention handled; the app stores it."""

        def __init__(self, mention_id: int, title: str) -> None:
            super().__init__()
            self.mention_id = mention_id
            self.title = title

    def row_basis(self, record: Record) -> object:
        """The age as shown, not in hours: it grows on every refresh, the row changes only when
        its shown age or overdue mark does."""
        others = {column: value for column, value in record.items() if column != "age_hours"}
        return others, *_age(record)

    def make_row(self, record: Record, now: datetime) -> TableRow:
        age, overdue = _age(record)
        age_style = cell_style(self.app, "bold $warning") if overdue else ""
        return TableRow(
            key=str(int_of(record, "id")),
            cells=(
                Text(age, style=age_style, justify="right", end=""),
                from_cell(record),
                safe_text(text_of(record, "title") or text_of(record, "url"), width=TITLE_CAP),
            ),
        )

    def empty_message(self) -> str:
        return self.collection_note or self.EMPTY

    def subtitle(self) -> str:
        return f"{len(self._by_key)} waiting · x: handled"

    def action_mark_handled(self) -> None:
        record = self.record_under_cursor()
        if record is None:
            self.notify("Nothing is waiting for a reply.", severity="information")
            return
        mention_id = int_of(record, "id")
        if mention_id is not None:
            title = safe_str(text_of(record, "title") or text_of(record, "url"), width=60)
            self.post_message(self.HandledMarked(mention_id, title))
