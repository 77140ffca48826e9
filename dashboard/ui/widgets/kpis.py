"""The header: the window's key figures, each with its change against the previous window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from dashboard.ui.formatting import Trend, change_against, format_count, local_time
from dashboard.ui.widgets.styles import widget_css

TREND_STYLE = {Trend.UP: "$success", Trend.DOWN: "$error", Trend.NEW: "$accent", Trend.FLAT: "$text-muted"}


class KpiValues(Protocol):
    """What the header reads from `dashboard.analytics` Kpis."""

    @property
    def mentions(self) -> int: ...
    @property
    def mentions_previous(self) -> int: ...
    @property
    def engagement(self) -> int | None: ...
    @property
    def engagement_previous(self) -> int | None: ...
    @property
    def unique_voices(self) -> int: ...
    @property
    def new_voices(self) -> int: ...
    @property
    def waiting_reply(self) -> int: ...
    @property
    def sources_ok(self) -> int: ...
    @property
    def sources_failing(self) -> int: ...
    @property
    def last_poll_at(self) -> datetime | None: ...
    @property
    def next_poll_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class HeaderState:
    """Everything the header shows besides the KPIs: the window and what polling is doing."""

    window_label: str = "24 h"
    now: datetime | None = None
    polling: str = "idle"  # "idle" | "polling" | "paused" | "off" | "read-only"


class KpiBar(Static):
    """One wrapping line of figures: fits 80 columns on two or three lines, a wide terminal on one."""

    DEFAULT_CSS = widget_css(__file__)

    kpis: reactive[KpiValues | None] = reactive(None, layout=True)
    state: reactive[HeaderState] = reactive(HeaderState, layout=True)

    def render(self) -> Content:
        return header_content(self.kpis, self.state)


def header_content(kpis: KpiValues | None, state: HeaderState) -> Content:
    """The header as styled Content (numbers only: no untrusted text reaches it)."""
    window = Content.assemble(("Window ", "$text-muted"), (state.window_label, "bold $accent"))
    if kpis is None:
        return Content("  ").join([window, Content.styled("loading…", "$text-muted")])
    now = state.now or datetime.now().astimezone()
    tiles = [
        window,
        _figure("Mentions", format_count(kpis.mentions), kpis.mentions, kpis.mentions_previous),
        _figure("Engagement", format_count(kpis.engagement), kpis.engagement, kpis.engagement_previous),
        Content.assemble(
            ("Voices ", "$text-muted"),
            (format_count(kpis.unique_voices), "bold"),
            (" · ", "$text-muted"),
            (f"{format_count(kpis.new_voices)} new", "$accent" if kpis.new_voices else "$text-muted"),
        ),
        Content.assemble(
            ("Waiting ", "$text-muted"),
            (format_count(kpis.waiting_reply), "bold $warning" if kpis.waiting_reply else "bold"),
        ),
        Content.assemble(
            ("Sources ", "$text-muted"),
            (f"{kpis.sources_ok} ok", "$success"),
            (" · ", "$text-muted"),
            (f"{kpis.sources_failing} failing", "bold $error" if kpis.sources_failing else "$text-muted"),
        ),
        Content.assemble(
            ("Polled ", "$text-muted"),
            (local_time(kpis.last_poll_at, now), "bold"),
            _next_poll(kpis.next_poll_at, now, state.polling),
        ),
    ]
    return Content("  ").join(tiles)


def _figure(label: str, value: str, current: float | None, previous: float | None) -> Content:
    change = change_against(current, previous)
    parts: list[str | tuple[str, str]] = [(f"{label} ", "$text-muted"), (value, "bold")]
    if change.label:
        parts += [" ", (change.label, TREND_STYLE[change.trend])]
    return Content.assemble(*parts)


POLLING_STOPPED = {"paused": "polling paused", "off": "polling off", "read-only": "read-only"}


def _next_poll(moment: datetime | None, now: datetime, polling: str) -> Content:
    """' · next 12:03', ' · polling…', or why no poll is coming ('polling paused', 'read-only')."""
    if polling in POLLING_STOPPED:
        style = "bold $warning" if polling == "paused" else "bold"
        return Content.assemble((" · ", "$text-muted"), (POLLING_STOPPED[polling], style))
    if polling == "polling":
        return Content.assemble((" · ", "$text-muted"), ("polling…", "bold $accent"))
    return Content.assemble((" · next ", "$text-muted"), (local_time(moment, now), "bold"))
