"""Spikes and sources that start failing: listed in a log and raised as notifications.

The panel keeps what it has already seen, so each spike or failure is announced once; what is
already true when the dashboard starts is logged quietly (no toast storm at start-up). A spike is
one (source, hour) and is announced only while that hour is recent: widening the window to 30 d
finds month-old spikes, which are logged quietly at their own time, never raised as news.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.notifications import SeverityLevel
from textual.reactive import reactive

from dashboard.models import SourceStatus
from dashboard.ui.formatting import compact_time, format_count, local_time
from dashboard.ui.safe import safe_str
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.rows import Record, moment_of, number_of, text_of
from dashboard.ui.widgets.sources import ALERTING, status_label, status_of
from dashboard.ui.widgets.table import KeyedTable, TableRow

MAX_ALERTS = 200
# A spike is news while its hour is one of the last two hourly buckets (of the 24 h view).
RECENT_SPIKE = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing worth interrupting the community manager for. `message` is already sanitised."""

    key: str
    at: datetime  # when it happened: a spike's hour, or when a failure was seen
    kind: str  # "spike" | "source"
    message: str
    severity: SeverityLevel
    news: bool = True  # worth a notification when first seen (a recent spike, a fresh failure)


def spike_key(source: str, hour: datetime | None) -> str:
    """A spike's identity: its source and its hour, whatever window found it."""
    return f"spike\x1f{source}\x1f{int(hour.timestamp()) if hour else ''}"


def spike_alerts(spikes: Iterable[Record], now: datetime) -> list[Alert]:
    """One alert per spike; only those in the last RECENT_SPIKE are news."""
    alerts = []
    for record in spikes:
        bucket = moment_of(record, "bucket_start")
        source = text_of(record, "source")
        where = f"on {safe_str(source, width=30)}" if source else "overall"
        baseline = number_of(record, "baseline")
        message = (
            f"Spike {where}: {format_count(number_of(record, 'mentions'))} mentions"
            f" at {local_time(bucket, now)} (usual {format_count(round(baseline, 1) if baseline else 0)})"
        )
        recent = bucket is not None and bucket >= now - RECENT_SPIKE
        alerts.append(Alert(spike_key(source, bucket), bucket or now, "spike", message, "warning", recent))
    return alerts


def source_alerts(sources: Iterable[Record], before: dict[str, SourceStatus], now: datetime) -> list[Alert]:
    """Sources whose status just turned into a failure (from ok, not modified, new or unseen)."""
    alerts = []
    for record in sources:
        name = text_of(record, "name")
        status = status_of(record)
        if status not in ALERTING or before.get(name) == status:
            continue
        error = safe_str(text_of(record, "last_error"), width=80)
        message = f"{safe_str(name, width=30)}: {status_label(record, now)}" + (
            f" — {error}" if error else ""
        )
        severity: SeverityLevel = "warning" if status is SourceStatus.RATE_LIMITED else "error"
        key = f"source\x1f{name}\x1f{status.value}\x1f{text_of(record, 'last_attempt_at')}"
        alerts.append(Alert(key, now, "source", message, severity))
    return alerts


class AlertsPanel(Panel):
    """The alerts log, newest first."""

    TITLE = "Alerts"
    COLUMNS = (
        ColumnSpec("Time", "time", max_width=8, keep=9, whole=True),
        ColumnSpec("Alert", "message", min_width=10, flex=True, keep=10),
    )
    EMPTY = "No alerts: spikes in mentions and sources that start failing show up here."

    spikes: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)
    sources: reactive[tuple[dict[str, Any], ...] | None] = reactive(None, always_update=True)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.log_entries: list[Alert] = []
        self._seen: set[str] = set()
        self._statuses: dict[str, SourceStatus] = {}
        self._started = {"spikes": False, "sources": False}

    def compose(self) -> ComposeResult:
        yield KeyedTable(self.COLUMNS)

    def watch_spikes(self, spikes: tuple[dict[str, Any], ...] | None) -> None:
        if spikes is not None:
            self.query_one(KeyedTable).empty_message = self.EMPTY
            self._record(spike_alerts(spikes, self._now()), "spikes")

    def watch_sources(self, sources: tuple[dict[str, Any], ...] | None) -> None:
        if sources is None:
            return
        alerts = source_alerts(sources, self._statuses, self._now())
        self._statuses = {text_of(record, "name"): status_of(record) for record in sources}
        self._record(alerts, "sources")

    def _now(self) -> datetime:
        return self.now or datetime.now().astimezone()

    def _record(self, alerts: list[Alert], feed: str) -> None:
        fresh = [alert for alert in alerts if alert.key not in self._seen]
        self._seen.update(alert.key for alert in fresh)
        announce = self._started[feed]
        self._started[feed] = True
        if not fresh:
            return
        for alert in fresh:
            if announce and alert.news:
                self.notify(alert.message, title=alert.kind.title(), severity=alert.severity, markup=False)
        entries = sorted(fresh + self.log_entries, key=lambda alert: alert.at, reverse=True)
        self.log_entries = entries[:MAX_ALERTS]
        self._show()

    def _show(self) -> None:
        now = self._now()
        rows = [
            TableRow(
                key=alert.key,
                cells=(
                    Text(compact_time(alert.at, now), end=""),
                    Text(alert.message, style=cell_style(self.app, f"${alert.severity}"), end=""),
                ),
            )
            for alert in self.log_entries
        ]
        self.query_one(KeyedTable).sync(rows)
        self.border_subtitle = str(len(self.log_entries))
