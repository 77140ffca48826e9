"""Every configured source and its health; Enter shows the full last error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable

from dashboard.analytics.status import Health, health_of, parse_status, status_word
from dashboard.models import SourceStatus
from dashboard.ui.formatting import compact_time, local_time
from dashboard.ui.safe import TEXT_CAP, TITLE_CAP, safe_str
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.rows import Record, int_of, moment_of, text_of
from dashboard.ui.widgets.table import KeyedTable, RowCache, TableRow

STATUS_STYLE = {
    SourceStatus.OK: "$success",
    SourceStatus.NOT_MODIFIED: "$success",
    SourceStatus.FAILING: "bold $error",
    SourceStatus.RATE_LIMITED: "$warning",
    SourceStatus.NEEDS_CREDENTIALS: "bold $warning",
    SourceStatus.GONE: "$error",
    SourceStatus.NEW: "$text-muted",
}


def status_of(record: Record) -> SourceStatus:
    return parse_status(text_of(record, "status"))


def status_label(record: Record, now: datetime) -> str:
    """'ok', 'unchanged', 'failing ×3', 'rate-limited until 14:05', 'needs credentials', 'gone'..."""
    status = status_of(record)
    if status is SourceStatus.FAILING:
        failures = int_of(record, "consecutive_failures") or 0
        return f"failing ×{failures}" if failures > 1 else "failing"
    if status is SourceStatus.RATE_LIMITED:
        return f"rate-limited until {local_time(moment_of(record, 'next_poll_at'), now)}"
    return status_word(status)


def short_status(record: Record, now: datetime) -> str:
    """The status for the table, short enough for a narrow panel: 'rate-limited' alone (the time it
    lifts is in the Next column)."""
    status = status_of(record)
    return status.value if status is SourceStatus.RATE_LIMITED else status_label(record, now)


class SourcesPanel(Panel):
    """One row per source: status, last success, next poll and the last error in short."""

    TITLE = "Sources"
    COLUMNS = (
        ColumnSpec("Source", "name", min_width=10, max_width=16, keep=10),
        ColumnSpec("Status", "status", min_width=10, max_width=17, keep=9),
        ColumnSpec("Next", "next_poll", max_width=8, keep=6, whole=True),
        ColumnSpec("Last ok", "last_success", max_width=8, keep=5, whole=True),
        ColumnSpec("Last error", "error", min_width=10, flex=True, keep=8),
    )

    class SourceChosen(Message):
        """The user asked for a source's full state and error (Enter on a row)."""

        def __init__(self, source: dict[str, Any]) -> None:
            super().__init__()
            self.source = source

    rows: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._by_name: dict[str, dict[str, Any]] = {}
        self._drawn = RowCache()  # unchanged sources are not drawn again
        self.configured = 0  # sources in the config (the store lists them only once polling starts)

    def compose(self) -> ComposeResult:
        yield KeyedTable(self.COLUMNS)

    def watch_rows(self, rows: tuple[dict[str, Any], ...] | None) -> None:
        if rows is None:
            return
        self._by_name = {text_of(record, "name"): record for record in rows}
        now = self.now or datetime.now().astimezone()
        # Times are shown to the minute (relative to today's date) in the theme's colours, so a row
        # drawn this minute in this theme from an equal record is still right.
        basis_besides_record = (now.replace(second=0, microsecond=0), self.app.theme)
        table = self.query_one(KeyedTable)
        table.empty_message = (
            f"{self.configured} sources configured · waiting for the first poll."
            if self.configured
            else "No sources configured: add feeds or sources to the config file."
        )
        keyed = ((name, (record, basis_besides_record)) for name, record in self._by_name.items())
        table.sync(self._drawn.rows(keyed, lambda name: self.make_row(self._by_name[name], now)))
        healths = [health_of(status_of(record)) for record in rows]
        waiting = healths.count(Health.WAITING)
        self.border_subtitle = f"{len(rows)} sources · {healths.count(Health.FAILING)} failing" + (
            f" · {waiting} waiting" if waiting else ""
        )

    def make_row(self, record: Record, now: datetime) -> TableRow:
        status = status_of(record)
        error = (
            text_of(record, "last_error")
            if status not in (SourceStatus.OK, SourceStatus.NOT_MODIFIED)
            else ""
        )
        return TableRow(
            key=text_of(record, "name"),
            cells=(
                Text(safe_str(text_of(record, "name"), width=TEXT_CAP), end=""),
                Text(short_status(record, now), style=cell_style(self.app, STATUS_STYLE[status]), end=""),
                Text(compact_time(moment_of(record, "next_poll_at"), now), end=""),
                Text(compact_time(moment_of(record, "last_success_at"), now), end=""),
                Text(safe_str(error, width=TITLE_CAP), style=cell_style(self.app, "$text-muted"), end=""),
            ),
        )

    def record_under_cursor(self) -> dict[str, Any] | None:
        key = self.query_one(KeyedTable).current_key
        return self._by_name.get(key) if key is not None else None

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        record = self._by_name.get(event.row_key.value or "")
        if record is not None:
            self.post_message(self.SourceChosen(record))
