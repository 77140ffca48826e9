"""The live stream: the newest mentions, updated in place as polls store them.

New rows are highlighted for a few seconds; the table is bounded (older mentions are a query away
through the filter). Enter opens a mention, `o` its link, `/` the filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from dashboard.ui.formatting import compact_time, format_count
from dashboard.ui.safe import TEXT_CAP, TITLE_CAP, safe_text
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.mentions import MentionTablePanel
from dashboard.ui.widgets.rows import Record, engagement_of, int_of, moment_of, text_of
from dashboard.ui.widgets.styles import widget_css
from dashboard.ui.widgets.table import KeyedTable, TableRow

MAX_ROWS = 500
FRESH_SECONDS = 8.0


@dataclass(frozen=True, slots=True)
class MentionFilter:
    """What `/` asks for: words in the text, and optionally `source:NAME` / `kind:KIND`."""

    text: str = ""
    source: str | None = None
    kind: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.text or self.source or self.kind)

    @classmethod
    def parse(cls, query: str) -> MentionFilter:
        words: list[str] = []
        source: str | None = None
        kind: str | None = None
        for word in query.split():
            name, colon, value = word.partition(":")
            if colon and value and name.lower() == "source":
                source = value
            elif colon and value and name.lower() == "kind":
                kind = value.lower()
            else:
                words.append(word)
        return cls(" ".join(words), source, kind)


def stream_row(record: Record, now: datetime, *, fresh: bool, highlight: Style) -> TableRow:
    """One mention as table cells; untrusted columns go through the sanitiser.

    A mention that just arrived has its time in the highlight colour and its title in bold.
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
            Text(format_count(engagement), justify="right", end=""),
        ),
    )


class StreamPanel(MentionTablePanel):
    """The newest mentions; filter with `/` (text, `source:NAME`, `kind:KIND`)."""

    DEFAULT_CSS = widget_css(__file__)
    TITLE = "Live stream"
    COLUMNS = (
        ColumnSpec("Time", "time", max_width=8, keep=9),
        ColumnSpec("Source", "source", min_width=8, max_width=12, keep=8),
        ColumnSpec("Kind", "kind", min_width=7, max_width=8, keep=7),
        ColumnSpec("Author", "author", min_width=8, max_width=14, keep=6),
        ColumnSpec("Title", "title", min_width=12, flex=True, share=0.38, keep=10),
        ColumnSpec("Eng.", "engagement", max_width=6, keep=7, justify="right"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", show=False),
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

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: words, source:NAME, kind:post  (Esc clears)", id="stream-filter")
        yield KeyedTable(self.COLUMNS, id="stream-table")

    @property
    def filter_input(self) -> Input:
        return self.query_one("#stream-filter", Input)

    @property
    def is_filtered(self) -> bool:
        return bool(self.filter_input.value.strip())

    def watch_rows(self, rows: Sequence[dict[str, Any]] | None) -> None:
        if rows is None:
            return
        newest = list(rows)[:MAX_ROWS]
        keys = {str(int_of(record, "id")) for record in newest}
        if self._loaded_once and not self.is_filtered and self._by_key:  # (a first backlog is not news)
            self._fresh |= keys - set(self._by_key)
        self._fresh &= keys
        self._loaded_once = True
        super().watch_rows(newest)
        if self._fresh:
            self.set_timer(FRESH_SECONDS, self._fade, name="fade new rows")

    def make_row(self, record: Record, now: datetime) -> TableRow:
        key = str(int_of(record, "id"))
        return stream_row(
            record, now, fresh=key in self._fresh, highlight=cell_style(self.app, "bold $success")
        )

    def render_basis(self, key: str) -> object:
        return key in self._fresh

    def empty_message(self) -> str:
        if self.is_filtered:
            return "No mention matches this filter. Esc clears it."
        return "No mentions yet: they appear here as polls find them."

    def subtitle(self) -> str:
        return f"{len(self._by_key)} newest" + (" · filtered" if self.is_filtered else "")

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
        self.post_message(self.FilterChanged(MentionFilter.parse(event.value)))

    @on(Input.Submitted, "#stream-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
