"""The live stream: the newest mentions, updated in place as polls store them.

New rows are highlighted for a few seconds; the table is bounded (older mentions are a query away
through the filter). Enter opens a mention, `o` its link, `/` the filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from dashboard.ui.filtering import MentionFilter, known_source_names, parse_filter, resolve_source
from dashboard.ui.formatting import compact_time, format_count
from dashboard.ui.safe import TEXT_CAP, TITLE_CAP, safe_text
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.mentions import MentionTablePanel, RowTable
from dashboard.ui.widgets.opinion import language_cell, sentiment_cell
from dashboard.ui.widgets.rows import Record, engagement_of, int_of, moment_of, text_of
from dashboard.ui.widgets.styles import widget_css
from dashboard.ui.widgets.table import TableRow

MAX_ROWS = 500
FRESH_SECONDS = 8.0
NEWEST_KEY = "n"

__all__ = ["MAX_ROWS", "MentionFilter", "StreamPanel", "stream_row"]


def stream_row(
    record: Record, now: datetime, *, fresh: bool, highlight: Style, mood: Text | None = None
) -> TableRow:
    """One mention as table cells; untrusted columns go through the sanitiser.

    A mention that just arrived has its time in the highlight colour and its title in bold. `mood` is
    the sentiment glyph cell (`opinion.sentiment_cell`, which needs the app's theme); blank if None.
    """
    published = moment_of(record, "published_at")
    engagement = engagement_of(record)
    return TableRow(
        key=str(int_of(record, "id")),
        cells=(
            Text(compact_time(published, now), style=highlight if fresh else "", end=""),
            safe_text(text_of(record, "source"), width=TEXT_CAP),
            safe_text(text_of(record, "kind"), width=TEXT_CAP),
            safe_text(text_of(record, "author"), width=TEXT_CAP),
            safe_text(
                text_of(record, "title") or text_of(record, "url"),
                style="bold" if fresh else "",
                width=TITLE_CAP,
            ),
            mood if mood is not None else Text("", end=""),
            language_cell(record),
            Text(format_count(engagement), justify="right", end=""),
        ),
    )


class StreamPanel(MentionTablePanel):
    """The newest mentions; filter with `/` (text, `source:NAME`, `kind:KIND`, `sentiment:LABEL`,
    `lang:CODE`). Each row shows its sentiment as a glyph and its language where known.

    The stream follows the newest row while the cursor is on the first row and the view at the top.
    Once the user has moved down or scrolled away, the rows they are reading stay where they are,
    new rows collect above them and a line says how many; `n` or Home jumps back to the newest.
    """

    DEFAULT_CSS = widget_css(__file__)
    TITLE = "Live stream"
    COLUMNS = (
        ColumnSpec("Time", "time", max_width=8, keep=9, whole=True),
        ColumnSpec("Source", "source", min_width=8, max_width=12, keep=8),
        ColumnSpec("Kind", "kind", min_width=7, max_width=8, keep=7),
        ColumnSpec("Author", "author", min_width=8, max_width=14, keep=6),
        ColumnSpec("Title", "title", min_width=12, flex=True, share=0.38, keep=10),
        # The sentiment glyph (blank when unscored) and the language code (blank when unknown).
        ColumnSpec("", "sentiment", min_width=1, max_width=1, keep=9, whole=True),
        ColumnSpec("Lang", "language", max_width=5, keep=5, whole=True),
        ColumnSpec("Eng.", "engagement", max_width=6, keep=7, justify="right", whole=True),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding(NEWEST_KEY, "newest", "Newest", show=False),
    ]

    class FilterChanged(Message):
        """The filter was edited: the app re-queries the store with it."""

        def __init__(self, mention_filter: MentionFilter) -> None:
            super().__init__()
            self.mention_filter = mention_filter

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._fresh: set[str] = set()
        self._loaded_once = False
        # New rows that arrived above the view while the user was reading further down.
        self._unseen: set[str] = set()
        # The next rows answer a new filter: show them from the newest, whatever the cursor was on.
        self._to_newest = True
        self._settling = False  # a scroll keeping the rows being read in place is on its way
        self._seen_sources: dict[str, None] = {}
        self.source_names: tuple[str, ...] = ()  # every source in the store, when the screen knows them

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="words, source:NAME, kind:post, sentiment:negative, lang:fr  (Esc clears)",
            id="stream-filter",
        )
        yield Static("", id="stream-new")
        yield RowTable(self.COLUMNS, id="stream-table")

    def on_mount(self) -> None:
        self.watch(self.table, "scroll_y", self._scrolled, init=False)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#stream-filter", Input)

    @property
    def is_filtered(self) -> bool:
        return bool(self.filter_input.value.strip())

    @property
    def new_above(self) -> int:
        """How many rows arrived above the view since the user moved away from the newest."""
        return len(self._unseen)

    @property
    def is_following(self) -> bool:
        """Whether the user is at the newest row (cursor on the first row, view at the top)."""
        table = self.table
        return table.cursor_row <= 0 and round(table.scroll_y) == 0

    def watch_rows(self, rows: Sequence[dict[str, Any]] | None) -> None:
        if rows is None:
            return
        newest = list(rows)[:MAX_ROWS]
        keys = {str(int_of(record, "id")) for record in newest}
        for name in known_source_names(newest):
            self._seen_sources[name] = None
        previous = set(self._by_key)
        if self._loaded_once and not self.is_filtered and self._by_key:  # (a first backlog is not news)
            self._fresh |= keys - previous
        self._fresh &= keys
        self._loaded_once = True
        follow = self._to_newest or self.is_following
        anchor = self._top_key()
        super().watch_rows(newest)
        if follow:
            self._to_newest = False
            self.action_newest()
        else:
            self._keep_view_on(anchor, previous)
        if self._fresh:
            self.set_timer(FRESH_SECONDS, self._fade, name="fade new rows")

    def _top_key(self) -> str | None:
        """The key of the row at the top of the view (what the user reads stays put)."""
        table = self.table
        top = round(table.scroll_y)
        if table.row_count == 0 or not table.is_valid_row_index(top):
            return None
        return table.coordinate_to_cell_key(Coordinate(top, 0)).row_key.value

    def _keep_view_on(self, anchor: str | None, previous: set[str]) -> None:
        """After new rows were inserted: scroll so `anchor` is at the top again, and count the new
        rows that are now above the view."""
        table = self.table
        if anchor is None or not table.has_key(anchor):
            return
        top = table.get_row_index(anchor)
        arrived = {key for key in self._by_key if key not in previous and table.get_row_index(key) < top}
        self._unseen = (self._unseen | arrived) & set(self._by_key)
        self._show_indicator()
        # The table scrolls its cursor into view first (after the refresh that sizes the new rows);
        # until this scroll lands, its intermediate positions say nothing about what was seen.
        self._settling = True

        def settle() -> None:
            table.scroll_to(y=top, animate=False, force=True)
            self._settling = False

        table.call_after_refresh(settle)

    def _scrolled(self, scroll_y: float) -> None:
        """Rows scrolled into view are no longer 'new above'."""
        if not self._unseen or self._settling:
            return
        table = self.table
        top = round(scroll_y)
        self._unseen = {key for key in self._unseen if table.has_key(key) and table.get_row_index(key) < top}
        self._show_indicator()

    def _show_indicator(self) -> None:
        count = len(self._unseen)
        self.set_class(count > 0, "-behind")
        if count:
            noun = "mention" if count == 1 else "mentions"
            self.query_one("#stream-new", Static).update(
                f"▲ {count} new {noun} above · {NEWEST_KEY} or Home: back to the newest"
            )
        self.border_subtitle = self.subtitle()

    def action_newest(self) -> None:
        """Back to the newest row: cursor on the first row, view at the top, no 'new above'."""
        table = self.table
        self._unseen.clear()
        self._show_indicator()
        if table.row_count:
            table.move_cursor(row=0, animate=False, scroll=False)
        table.scroll_to(y=0, animate=False, force=True)

    @on(DataTable.RowHighlighted, "#stream-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor reached the first row (arrow keys, Home, Ctrl+Home): the user is at the newest."""
        if self.table.cursor_row == 0 and self._unseen:
            self.action_newest()

    def make_row(self, record: Record, now: datetime) -> TableRow:
        key = str(int_of(record, "id"))
        return stream_row(
            record,
            now,
            fresh=key in self._fresh,
            highlight=cell_style(self.app, "bold $success"),
            mood=sentiment_cell(self.app, record),
        )

    def render_basis(self, key: str) -> object:
        return key in self._fresh

    def empty_message(self) -> str:
        if not self.is_filtered:
            return self.collection_note or "No mentions yet: they appear here as polls find them."
        asked = parse_filter(self.filter_input.value)
        if asked.problem is not None:
            return asked.problem + " Esc clears the filter."
        wanted = asked.source
        if wanted is not None:
            known = list(self.source_names) + list(self._seen_sources)
            problem = resolve_source(wanted, known).problem if known else None
            if problem:
                return problem + " Esc clears the filter."
        return "No mention matches this filter. Esc clears it."

    def subtitle(self) -> str:
        parts = [f"{len(self._by_key)} newest"]
        if self.is_filtered:
            parts.append("filtered")
        if self._unseen:
            parts.append(f"{len(self._unseen)} new above")
        return " · ".join(parts)

    def _fade(self) -> None:
        if self._fresh:
            self._fresh.clear()
            self.refresh_rows()

    def open_filter(self) -> None:
        self.add_class("-filtering")
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        if self.filter_input.value:
            self.filter_input.value = ""
        self.remove_class("-filtering")
        self.table.focus()

    @on(Input.Changed, "#stream-filter")
    def _filter_edited(self, event: Input.Changed) -> None:
        event.stop()
        self._to_newest = True
        self.post_message(self.FilterChanged(parse_filter(event.value)))

    @on(Input.Submitted, "#stream-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
