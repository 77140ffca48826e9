"""The Posts panel (Echo): the community's own posts of the window, ranked by the reactions they drew
on every network, with the conversation on the blog itself (comments, pingbacks).

Rows come from `DashboardData.posts`; Enter opens a post's reactions (`PostDetailScreen`), `o` opens
the post. Without own posts the panel says how to get them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import pandas as pd
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable

from dashboard.ui.formatting import compact_time, duration, format_count, is_missing
from dashboard.ui.safe import TEXT_CAP, TITLE_CAP, safe_str, safe_text
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.mentions import RowTable
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.rows import Record, moment_of, number_of, openable_url, text_of
from dashboard.ui.widgets.table import KeyedTable, TableRow

GROWING_MARK = "↗"
NO_POSTS = (
    "No own posts in this window. Mark your blog `own = true` in feeds.toml and add"
    " `domain = ...` to social sources: the posts then appear here with every reaction to them."
)


def span_of(record: Record, column: str) -> timedelta | None:
    """A duration column (Timedelta, timedelta or seconds) as a timedelta; None when unknown."""
    value = record.get(column)
    if is_missing(value):
        return None
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    try:
        return pd.Timedelta(value).to_pytimedelta()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def is_growing(record: Record) -> bool:
    value = record.get("growing")
    return False if is_missing(value) else bool(value)


def count_text(record: Record, column: str) -> Text:
    return Text(format_count(number_of(record, column)), justify="right", end="")


class PostsPanel(Panel):
    """Own posts by reactions: per network, their engagement, comments, pingbacks, first reaction."""

    TITLE = "Posts"
    COLUMNS = (
        ColumnSpec("", "growing", min_width=1, max_width=1, keep=8, whole=True),
        ColumnSpec("Post", "title", min_width=10, flex=True, share=0.3, keep=10),
        ColumnSpec("React.", "reactions", keep=9, justify="right", whole=True),
        ColumnSpec("Networks", "networks", min_width=8, max_width=40, keep=5),
        ColumnSpec("Eng.", "engagement", max_width=6, keep=7, justify="right", whole=True),
        ColumnSpec("Com.", "comments", keep=4, justify="right", whole=True),
        ColumnSpec("Pb.", "pingbacks", keep=3, justify="right", whole=True),
        ColumnSpec("First", "first", max_width=7, keep=6, justify="right", whole=True),
        ColumnSpec("Published", "published", max_width=8, keep=2, whole=True),
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("o", "open_link", "Link")]

    class PostChosen(Message):
        """The user asked for a post's reactions (Enter or a click on a row)."""

        def __init__(self, post: dict[str, Any]) -> None:
            super().__init__()
            self.post = post

    rows: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._by_key: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield RowTable(self.COLUMNS, id="posts-table")

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def watch_rows(self, rows: tuple[dict[str, Any], ...] | None) -> None:
        if rows is None:
            return
        now = self.now or datetime.now().astimezone()
        self._by_key = {text_of(record, "post_url"): dict(record) for record in rows}
        self.table.empty_message = self.collection_note or NO_POSTS
        self.table.sync([self.make_row(record, now) for record in self._by_key.values()])
        growing = sum(1 for record in rows if is_growing(record))
        self.border_subtitle = f"{len(rows)} · {growing} growing" if rows else ""

    def make_row(self, record: Record, now: datetime) -> TableRow:
        first = span_of(record, "time_to_first_reaction")
        return TableRow(
            key=text_of(record, "post_url"),
            cells=(
                Text(
                    GROWING_MARK if is_growing(record) else "",
                    style=cell_style(self.app, "bold $success"),
                    end="",
                ),
                safe_text(text_of(record, "title") or text_of(record, "post_url"), width=TITLE_CAP),
                Text(format_count(number_of(record, "reactions")), style="bold", justify="right", end=""),
                safe_text(text_of(record, "reactions_by_network"), width=TEXT_CAP),
                count_text(record, "reaction_engagement"),
                count_text(record, "comments"),
                count_text(record, "pingbacks"),
                Text(duration(first) if first is not None else "–", justify="right", end=""),
                Text(compact_time(moment_of(record, "published_at"), now), end=""),
            ),
        )

    def record_under_cursor(self) -> dict[str, Any] | None:
        key = self.table.current_key
        return self._by_key.get(key) if key is not None else None

    def action_open_link(self) -> None:
        record = self.record_under_cursor()
        url = openable_url(text_of(record, "post_url")) if record else None
        if url is None:
            self.notify("Choose a post first.", severity="warning")
            return
        self.app.open_url(url)

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        record = self._by_key.get(str(event.row_key.value))
        if record is not None:
            self.post_message(self.PostChosen(record))


def post_title(record: Record) -> str:
    return safe_str(text_of(record, "title") or text_of(record, "post_url")) or "(untitled)"
