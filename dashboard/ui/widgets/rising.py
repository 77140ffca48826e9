"""Mentions whose engagement grows fastest right now (from stored engagement snapshots)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from dashboard.ui.formatting import format_count
from dashboard.ui.safe import TEXT_CAP, TITLE_CAP, safe_text
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.mentions import MentionTablePanel
from dashboard.ui.widgets.rows import Record, int_of, number_of, text_of
from dashboard.ui.widgets.table import TableRow


class RisingPanel(MentionTablePanel):
    """Top mentions by engagement gained per hour."""

    TITLE = "Rising now"
    COLUMNS = (
        ColumnSpec("Gained", "gained", max_width=7, keep=9, justify="right", whole=True),
        ColumnSpec("/h", "per_hour", max_width=7, keep=7, justify="right", whole=True),
        ColumnSpec("Source", "source", min_width=8, max_width=12, keep=6),
        ColumnSpec("Title", "title", min_width=12, flex=True, share=0.45, keep=10),
    )
    EMPTY = (
        "No engagement gained over the last day yet. A mention rises once two polls see its likes,"
        " replies or shares grow."
    )

    def empty_message(self) -> str:
        return self.collection_note or self.EMPTY

    def make_row(self, record: Record, now: datetime) -> TableRow:
        gained = number_of(record, "gained")
        per_hour = number_of(record, "per_hour")
        return TableRow(
            key=str(int_of(record, "id")),
            cells=(
                Text(f"+{format_count(gained)}" if gained is not None else "–", justify="right", end=""),
                Text(
                    format_count(round(per_hour, 1)) if per_hour is not None else "–", justify="right", end=""
                ),
                safe_text(text_of(record, "source"), width=TEXT_CAP),
                safe_text(text_of(record, "title") or text_of(record, "url"), width=TITLE_CAP),
            ),
        )
