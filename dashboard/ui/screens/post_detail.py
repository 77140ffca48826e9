"""One own post and every reaction to it across networks, newest first (Echo).

Opened with Enter on the Posts panel. The reactions are read in a worker through `ui.data`; `o`
opens the reaction under the cursor (or the post when there is none), Enter a reaction's full
mention, Esc or q closes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from dashboard.ui.formatting import compact_time, duration, format_count, local_time
from dashboard.ui.records import records
from dashboard.ui.safe import TEXT_CAP, TITLE_CAP, safe_content, safe_str, safe_text
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.mentions import MentionTablePanel, RowTable
from dashboard.ui.widgets.posts import post_title, span_of
from dashboard.ui.widgets.rows import Record, int_of, moment_of, number_of, openable_url, text_of
from dashboard.ui.widgets.table import KeyedTable, TableRow

LoadReactions = Callable[[str], pd.DataFrame]

REACTION_COLUMNS = (
    ColumnSpec("Time", "time", max_width=8, keep=9, whole=True),
    ColumnSpec("Network", "source", min_width=7, max_width=16, keep=8),
    ColumnSpec("Kind", "kind", min_width=4, max_width=8, keep=4),
    ColumnSpec("Author", "author", min_width=6, max_width=16, keep=6),
    ColumnSpec("Title", "title", min_width=10, flex=True, share=0.35, keep=10),
    ColumnSpec("Eng.", "engagement", max_width=6, keep=7, justify="right", whole=True),
    ColumnSpec("Found by", "matched_by", min_width=8, max_width=16, keep=5),
)


def post_facts(post: Record, now: datetime) -> Content:
    """'source · published 14:03 · 12 reactions · engagement 340 · 3 comments · 1 pingback · first after 2 h'."""
    first = span_of(post, "time_to_first_reaction")
    parts: list[str | tuple[str, str]] = [
        (safe_str(text_of(post, "source")), "$accent"),
        (" · published ", "$text-muted"),
        local_time(moment_of(post, "published_at"), now),
        (" · ", "$text-muted"),
        (format_count(number_of(post, "reactions")), "bold"),
        (" reactions · engagement ", "$text-muted"),
        (format_count(number_of(post, "reaction_engagement")), "bold"),
        (" · comments ", "$text-muted"),
        format_count(number_of(post, "comments")),
        (" · pingbacks ", "$text-muted"),
        format_count(number_of(post, "pingbacks")),
    ]
    if first is not None:
        parts += [(" · first reaction after ", "$text-muted"), duration(first)]
    return Content.assemble(*parts)


def reaction_row(record: Record, now: datetime) -> TableRow:
    return TableRow(
        key=str(int_of(record, "id")),
        cells=(
            Text(compact_time(moment_of(record, "published_at"), now), end=""),
            safe_text(text_of(record, "source"), width=TEXT_CAP),
            safe_text(text_of(record, "kind"), width=TEXT_CAP),
            safe_text(text_of(record, "author"), width=TEXT_CAP),
            safe_text(text_of(record, "title") or text_of(record, "url"), width=TITLE_CAP),
            Text(format_count(number_of(record, "engagement")), justify="right", end=""),
            safe_text(text_of(record, "matched_by"), width=TEXT_CAP),
        ),
    )


class PostDetailScreen(ModalScreen[None]):
    """A post's reactions across networks; `o` opens the selected one (or the post), Esc closes."""

    CSS_PATH = "post_detail.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_screen", "Close"),
        Binding("q", "dismiss_screen", "Close", show=False),
        Binding("o", "open_link", "Open link"),
    ]

    def __init__(self, post: dict[str, Any], load: LoadReactions, *, now: datetime | None = None) -> None:
        super().__init__()
        self.post = post
        self._load = load
        self._now = now
        self._reactions: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        now = self._now or datetime.now().astimezone()
        with Vertical(id="post-box") as box:
            box.border_title = "Post"
            yield Static(safe_content(post_title(self.post), style="bold", one_line=True), id="post-title")
            yield Static(post_facts(self.post, now), id="post-facts")
            yield Static(
                safe_content(text_of(self.post, "post_url"), style="underline $text-muted", one_line=True),
                id="post-url",
            )
            yield Static(
                safe_content(text_of(self.post, "reactions_by_network") or "no reaction yet", one_line=True),
                id="post-networks",
            )
            yield RowTable(REACTION_COLUMNS, id="post-reactions")
        yield Footer()

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#post-reactions", KeyedTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._fetch(text_of(self.post, "post_url"))

    @work(thread=True, exit_on_error=False, group="post-reactions")
    def _fetch(self, post_url: str) -> None:
        rows = records(self._load(post_url))
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        now = self._now or datetime.now().astimezone()
        self._reactions = {str(int_of(record, "id")): record for record in rows}
        table = self.table
        table.empty_message = "No reaction to this post has been found yet."
        table.sync([reaction_row(record, now) for record in rows])
        self.query_one("#post-box").border_subtitle = f"{len(rows)} reactions · newest first"

    def selected_reaction(self) -> dict[str, Any] | None:
        key = self.table.current_key
        return self._reactions.get(key) if key is not None else None

    def action_open_link(self) -> None:
        reaction = self.selected_reaction()
        url = openable_url(text_of(reaction, "url")) if reaction is not None else None
        url = url or openable_url(text_of(self.post, "post_url"))
        if url is None:
            self.notify("Neither this reaction nor the post has a web link.", severity="warning")
            return
        self.app.open_url(url)

    @on(DataTable.RowSelected, "#post-reactions")
    def _reaction_chosen(self, event: DataTable.RowSelected) -> None:
        """Enter on a reaction: the full mention, as everywhere else (the app opens it)."""
        event.stop()
        if event.row_key.value is not None:
            self.post_message(MentionTablePanel.MentionChosen(int(event.row_key.value)))

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
