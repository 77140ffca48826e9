"""The alerts the core raised, read from the store: what fired, when, why, and where it was delivered.

The panel raises nothing itself (the rules run beside the poller, dashboard.alerts): it shows the
alert log, so this dashboard, a read-only one and `alerts list` agree. An alert newer than any this
panel has shown is also a notification; what was already in the log when the dashboard opened is
listed quietly. Enter opens the mentions behind an alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.widgets import DataTable

from dashboard.ui.formatting import compact_time
from dashboard.ui.records import Record
from dashboard.ui.safe import safe_str
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.mentions import MentionTablePanel
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.rows import moment_of, text_of
from dashboard.ui.widgets.table import KeyedTable, TableRow

SEVERITY: dict[str, SeverityLevel] = {
    "source_failing": "error",
    "source_recovered": "information",
    "keyword": "warning",
    "spike": "warning",
    "threshold": "warning",
    "new_voice": "information",
}

STYLE: dict[SeverityLevel, str] = {"error": "$error", "warning": "$warning", "information": "$success"}


class AlertsPanel(Panel):
    """The alert log, newest first; failing delivery channels are said above it."""

    TITLE = "Alerts"
    COLUMNS = (
        ColumnSpec("Time", "time", max_width=8, keep=9, whole=True),
        ColumnSpec("Alert", "message", min_width=10, flex=True, keep=10),
        ColumnSpec("Sent", "delivery", max_width=28, keep=14),
    )
    EMPTY = "No alerts yet: spikes, failing sources and the rules of [[alerts]] in feeds.toml show up here."

    alerts: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)
    failing_channels: reactive[dict[str, str]] = reactive(dict, always_update=True)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._newest_shown: int | None = None  # the highest alert id seen; None before the first load
        self._by_key: dict[str, Record] = {}

    def compose(self) -> ComposeResult:
        yield KeyedTable(self.COLUMNS)

    def watch_alerts(self, alerts: tuple[dict[str, Any], ...] | None) -> None:
        if alerts is None:
            return
        table = self.query_one(KeyedTable)
        table.empty_message = self.EMPTY
        newest = max((int(alert["id"]) for alert in alerts), default=0)
        if self._newest_shown is not None:
            for alert in reversed(alerts):
                if int(alert["id"]) > self._newest_shown and not alert.get("suppressed"):
                    self._announce(alert)
        self._newest_shown = max(newest, self._newest_shown or 0)
        self._by_key = {str(alert["id"]): alert for alert in alerts}
        self._show()

    def watch_failing_channels(self, failing: dict[str, str]) -> None:
        self._show()

    def _announce(self, alert: Record) -> None:
        kind = text_of(alert, "kind")
        self.notify(
            safe_str(text_of(alert, "title"), width=200),
            title=f"Alert: {safe_str(text_of(alert, 'rule'), width=40)}",
            severity=SEVERITY.get(kind, "warning"),
            markup=False,
        )

    def _show(self) -> None:
        if not self.is_mounted:
            return
        now = self.now or datetime.now().astimezone()
        rows = [self._row(alert, now) for alert in self._by_key.values()]
        self.query_one(KeyedTable).sync(rows)
        failing = ", ".join(sorted(self.failing_channels))
        self.border_subtitle = (
            f"{len(rows)} · delivery failing: {safe_str(failing, width=40)}" if failing else str(len(rows))
        )

    def _row(self, alert: Record, now: datetime) -> TableRow:
        kind = text_of(alert, "kind")
        suppressed = text_of(alert, "suppressed")
        delivery = "held: cool-down" if suppressed else text_of(alert, "delivery") or "shown here"
        failed = "failed" in delivery or "pending" in delivery
        return TableRow(
            key=str(alert["id"]),
            cells=(
                Text(compact_time(moment_of(alert, "raised_at"), now), end=""),
                Text(
                    safe_str(text_of(alert, "title"), width=300),
                    style=cell_style(self.app, STYLE[SEVERITY.get(kind, "warning")]),
                    end="",
                ),
                Text(
                    safe_str(delivery, width=60),
                    style=cell_style(self.app, "$error" if failed else "$text-muted"),
                    end="",
                ),
            ),
        )

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        """Enter: the mentions behind the alert (the newest one's details; the count is said)."""
        event.stop()
        alert = self._by_key.get(str(event.row_key.value))
        ids = tuple(alert.get("mention_ids") or ()) if alert else ()
        if not ids:
            self.notify("This alert is about a source, not about mentions.", severity="information")
            return
        if len(ids) > 1:
            self.notify(f"{len(ids)} mentions behind this alert; showing the newest.", markup=False)
        self.post_message(MentionTablePanel.MentionChosen(int(max(ids))))
