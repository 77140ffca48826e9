"""The header: the window's key figures, each with its change against the previous window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from dashboard.durations import DEFAULT_WINDOW
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
    def sources_waiting(self) -> int: ...
    @property
    def sources_new(self) -> int: ...
    @property
    def last_poll_at(self) -> datetime | None: ...
    @property
    def next_poll_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class HeaderState:
    """Everything the header shows besides the KPIs: the window and what polling is doing."""

    window_label: str = DEFAULT_WINDOW.label  # the window the user chose (the figures may still be another's)
    now: datetime | None = None
    polling: str = "idle"  # "idle" | "polling" | "paused" | "off" | "read-only" | "stopped"
    stopped_reason: str = ""  # why the poller ended on its own (polling == "stopped"); sanitised
    problem: str = ""  # background work that failed, until it next succeeds; sanitised
    configured: int = 0  # sources in the config: the store knows none before the first poll


class KpiBar(Static):
    """One wrapping line of figures: fits 80 columns on two or three lines, a wide terminal on one."""

    DEFAULT_CSS = widget_css(__file__)

    # Repainted on change, laid out again only when the header's height changes (`_fit`): a layout
    # pass re-arranges the whole screen (up to 0.3 s with 1,000 sources), and the state changes
    # with each of a poll's 1,000 finished sources.
    kpis: reactive[KpiValues | None] = reactive(None)
    state: reactive[HeaderState] = reactive(HeaderState)
    # The window the figures shown belong to (None: the chosen one); differs right after `w`.
    shown_window: reactive[str | None] = reactive(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: tuple[int, int] | None = None  # (width, lines) the header was laid out for

    def render(self) -> Content:
        return header_content(self.kpis, self.state, self.shown_window)

    def watch_kpis(self) -> None:
        self._fit()

    def watch_state(self) -> None:
        self._fit()

    def watch_shown_window(self) -> None:
        self._fit()

    def _fit(self) -> None:
        width = self.content_region.width
        lines = (width, len(self.render().wrap(width))) if width > 0 else None
        if lines is None or lines != self._lines:
            self._lines = lines
            self.refresh(layout=True)


def header_content(kpis: KpiValues | None, state: HeaderState, shown_window: str | None = None) -> Content:
    """The header as styled Content. Only numbers and sanitised messages reach it; the window label is
    the one of the figures actually shown, with the chosen one 'loading…' until its figures arrive."""
    tiles = [_window_tile(state.window_label, shown_window if kpis is not None else None)]
    if state.problem:
        tiles.append(Content.styled(f"⚠ {state.problem}", "bold $error"))
    if kpis is None:
        tiles.append(Content.styled("loading…", "$text-muted"))
        if state.polling == "stopped":
            tiles.append(_stopped(state))
        return Content("  ").join(tiles)
    now = state.now or datetime.now().astimezone()
    tiles += [
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
        _sources_tile(kpis, state.configured),
        Content.assemble(
            ("Polled ", "$text-muted"),
            (local_time(kpis.last_poll_at, now), "bold"),
            _next_poll(kpis.next_poll_at, now, state.polling),
        ),
    ]
    if state.polling == "stopped":
        tiles.append(_stopped(state))
    return Content("  ").join(tiles)


def _window_tile(chosen: str, shown: str | None) -> Content:
    """'Window 24 h', or right after a switch 'Window 30 d · loading 24 h…' (the figures are 30 d's)."""
    if shown is None or shown == chosen:
        return Content.assemble(("Window ", "$text-muted"), (chosen, "bold $accent"))
    return Content.assemble(
        ("Window ", "$text-muted"), (shown, "bold"), (f" · loading {chosen}…", "$text-muted italic")
    )


def _sources_tile(kpis: KpiValues, configured: int) -> Content:
    """'Sources 10 ok · 1 waiting · 1 failing'; before any attempt '12 sources · waiting for first poll'."""
    attempted = kpis.sources_ok + kpis.sources_waiting + kpis.sources_failing
    if attempted == 0:
        count = max(configured, kpis.sources_new)
        if count == 0:
            return Content.assemble(("Sources ", "$text-muted"), ("none configured", "bold $warning"))
        plural = "source" if count == 1 else "sources"
        return Content.assemble((f"{count} {plural}", "bold"), (" · waiting for first poll", "$text-muted"))
    parts: list[str | tuple[str, str]] = [("Sources ", "$text-muted"), (f"{kpis.sources_ok} ok", "$success")]
    if kpis.sources_waiting:
        parts += [(" · ", "$text-muted"), (f"{kpis.sources_waiting} waiting", "$warning")]
    parts += [
        (" · ", "$text-muted"),
        (f"{kpis.sources_failing} failing", "bold $error" if kpis.sources_failing else "$text-muted"),
    ]
    if kpis.sources_new:
        parts += [(" · ", "$text-muted"), (f"{kpis.sources_new} new", "$text-muted")]
    return Content.assemble(*parts)


def _stopped(state: HeaderState) -> Content:
    return Content.styled(f"Polling stopped: {state.stopped_reason or 'unknown reason'}", "bold $error")


def _figure(label: str, value: str, current: float | None, previous: float | None) -> Content:
    change = change_against(current, previous)
    parts: list[str | tuple[str, str]] = [(f"{label} ", "$text-muted"), (value, "bold")]
    if change.label:
        parts += [" ", (change.label, TREND_STYLE[change.trend])]
    return Content.assemble(*parts)


POLLING_STOPPED = {"paused": "polling paused", "off": "polling off", "read-only": "read-only"}


def _next_poll(moment: datetime | None, now: datetime, polling: str) -> Content:
    """' · next 12:03', ' · polling…', or why no poll is coming ('polling paused', 'read-only')."""
    if polling == "stopped":
        return Content("")
    if polling in POLLING_STOPPED:
        style = "bold $warning" if polling == "paused" else "bold"
        return Content.assemble((" · ", "$text-muted"), (POLLING_STOPPED[polling], style))
    if polling == "polling":
        return Content.assemble((" · ", "$text-muted"), ("polling…", "bold $accent"))
    return Content.assemble((" · next ", "$text-muted"), (local_time(moment, now), "bold"))
