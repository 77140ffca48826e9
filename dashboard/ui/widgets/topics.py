"""Share of voice over the configured keywords, and the terms trending in the window."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive

from dashboard.ui.formatting import format_count
from dashboard.ui.safe import TEXT_CAP, safe_str
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.rows import Record, number_of, text_of
from dashboard.ui.widgets.styles import widget_css
from dashboard.ui.widgets.table import KeyedTable, TableRow

BAR_WIDTH = 8


def share_bar(share: float | None, width: int = BAR_WIDTH) -> str:
    """A share in [0, 1] as a bar of eighth blocks followed by a percentage."""
    if share is None:
        return "–"
    share = min(1.0, max(0.0, share))
    eighths = round(share * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return f"{bar.ljust(width)} {share * 100:3.0f}%"


SHARE_COLUMNS = (
    ColumnSpec("Keyword", "keyword", min_width=8, flex=True, keep=10),
    ColumnSpec("Mentions", "mentions", keep=8, justify="right", whole=True),
    ColumnSpec("Share", "share", min_width=BAR_WIDTH + 5, keep=9),
)
TRENDING_COLUMNS = (
    ColumnSpec("Trending", "term", min_width=8, flex=True, keep=10),
    ColumnSpec("Count", "count", keep=8, justify="right", whole=True),
    ColumnSpec("Score", "score", keep=7, justify="right", whole=True),
)


class TopicsPanel(Panel):
    """Two small tables: keywords by share of mentions, then the trending terms."""

    DEFAULT_CSS = widget_css(__file__)
    TITLE = "Share of voice"

    share_of_voice: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)
    trending: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)

    def compose(self) -> ComposeResult:
        yield KeyedTable(SHARE_COLUMNS, id="sov")
        yield KeyedTable(TRENDING_COLUMNS, id="trending")

    def watch_share_of_voice(self, rows: tuple[dict[str, Any], ...] | None) -> None:
        if rows is not None:
            table = self.query_one("#sov", KeyedTable)
            table.empty_message = "No keywords configured: list some under [settings] keywords."
            table.sync([self.keyword_row(record) for record in rows])

    def watch_trending(self, rows: tuple[dict[str, Any], ...] | None) -> None:
        if rows is not None:
            table = self.query_one("#trending", KeyedTable)
            table.empty_message = self.collection_note or "Nothing trending in this window yet."
            table.sync([trend_row(record) for record in rows])

    def keyword_row(self, record: Record) -> TableRow:
        share = number_of(record, "share")
        return TableRow(
            key=text_of(record, "keyword"),
            cells=(
                Text(safe_str(text_of(record, "keyword"), width=TEXT_CAP), end=""),
                Text(format_count(number_of(record, "mentions")), justify="right", end=""),
                Text(share_bar(share), style=cell_style(self.app, "$primary"), end=""),
            ),
        )


def trend_row(record: Record) -> TableRow:
    score = number_of(record, "score")
    return TableRow(
        key=text_of(record, "term"),
        cells=(
            Text(safe_str(text_of(record, "term"), width=TEXT_CAP), end=""),
            Text(format_count(number_of(record, "count")), justify="right", end=""),
            Text(f"{score:.1f}" if score is not None else "–", justify="right", end=""),
        ),
    )
