"""The one dashboard screen: header figures over a grid of panels.

Wide terminals (>= 120 x 36) show every panel at once; smaller ones show a row of tabs and one
panel at a time (keys 1-9 and 0 switch: ten panels). Data arrives as attributes and is handed down to
each panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs

from dashboard.ui.widgets.alerts import AlertsPanel
from dashboard.ui.widgets.backfill import BackfillBar
from dashboard.ui.widgets.kpis import HeaderState, KpiBar
from dashboard.ui.widgets.needs_reply import NeedsReplyPanel
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.posts import PostsPanel
from dashboard.ui.widgets.rising import RisingPanel
from dashboard.ui.widgets.sentiment import MoodSummary, SentimentPanel
from dashboard.ui.widgets.sources import SourcesPanel
from dashboard.ui.widgets.stream import StreamPanel
from dashboard.ui.widgets.topics import TopicsPanel
from dashboard.ui.widgets.voices import VoicesPanel
from dashboard.ui.widgets.volume import VolumePanel

if TYPE_CHECKING:
    from dashboard.analytics.dashboard import DashboardData
    from dashboard.polling.background import BackgroundProgress
    from dashboard.ui.data import AlertLogView
    from dashboard.ui.views import DashboardView

# (panel id, tab label), in the order of the tabs and of the number keys (1-9, then 0 for the tenth).
PANELS: tuple[tuple[str, str], ...] = (
    ("stream", "Live"),
    ("needs-reply", "Replies"),
    ("volume", "Volume"),
    ("rising", "Rising"),
    ("voices", "Voices"),
    ("topics", "Topics"),
    ("sources", "Sources"),
    ("alerts", "Alerts"),
    ("sentiment", "Mood"),
    ("posts", "Posts"),
)

# Below this many columns the tabs use SHORT_LABELS and one cell of padding, so all ten fit in 80
# columns (the full labels need 97): every panel's key stays in sight, none scrolled off the row.
SHORT_TABS_BELOW = 100  # columns
SHORT_LABELS = {
    "needs-reply": "Reply",
    "volume": "Vol",
    "rising": "Rise",
    "voices": "Voice",
    "topics": "Topic",
    "alerts": "Alert",
}
COMPACT_FOOTER_BELOW = 120  # columns
# The panels whose figures belong to the window: dimmed while another window's figures are shown.
WINDOWED_PANELS = (VolumePanel, VoicesPanel, TopicsPanel, SentimentPanel, PostsPanel)


def panel_key(number: int) -> str:
    """The key showing the `number`th panel (from 1): '1' to '9', then '0' for the tenth."""
    return str(number % 10)


def tab_label(number: int, label: str) -> Content:
    """'1 Live': the key that shows the panel (in bold) before its name."""
    return Content.assemble((panel_key(number), "bold"), f" {label}")


def tab_labels(width: int) -> list[Content]:
    """Every tab's label at this terminal width (short ones below SHORT_TABS_BELOW columns)."""
    short = width < SHORT_TABS_BELOW
    return [
        tab_label(number, SHORT_LABELS.get(panel, label) if short else label)
        for number, (panel, label) in enumerate(PANELS, 1)
    ]


class MainScreen(Screen[None]):
    CSS_PATH = "main.tcss"
    # -wide lays every panel on four columns, -wider on five (main.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide"), (160, "-wider")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall"), (46, "-roomy")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(panel_key(number), f"show_panel('{panel}')", label, show=False)
        for number, (panel, label) in enumerate(PANELS, start=1)
    ]

    view: reactive[DashboardView | None] = reactive(None, always_update=True)
    header: reactive[HeaderState] = reactive(HeaderState)

    def __init__(self, *, configured: int = 0) -> None:
        super().__init__()
        self.configured = configured  # sources in the config, for the "before the first poll" wording

    def compose(self) -> ComposeResult:
        yield KpiBar(id="kpis")
        yield BackfillBar(id="backfill")
        yield Tabs(
            *(
                Tab(tab_label(number, label), id=f"tab-{panel}")
                for number, (panel, label) in enumerate(PANELS, 1)
            ),
            id="panel-tabs",
        )
        # In the order of the wide layout's grid (main.tcss): the charts, the stream with the reply
        # queue and the posts, then the five smaller panels.
        with Container(id="panels"):
            yield VolumePanel(id="volume")
            yield SentimentPanel(id="sentiment")
            yield StreamPanel(id="stream", classes="-current")
            yield NeedsReplyPanel(id="needs-reply")
            yield PostsPanel(id="posts")
            yield RisingPanel(id="rising")
            yield VoicesPanel(id="voices")
            yield TopicsPanel(id="topics")
            yield SourcesPanel(id="sources")
            yield AlertsPanel(id="alerts")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stream-table").focus()

    def on_resize(self, event: events.Resize) -> None:
        """Narrow terminals get the compact footer and short tab labels, so every key still fits."""
        width = event.size.width
        self.query_one(Footer).compact = width < COMPACT_FOOTER_BELOW
        tabs = self.query_one(Tabs)
        tabs.set_class(width < SHORT_TABS_BELOW, "-short-labels")
        for tab, label in zip(tabs.query(Tab), tab_labels(width), strict=False):
            if tab.label != label:
                tab.label = label

    @property
    def is_composed(self) -> bool:
        """False before the panels exist and while the screen is being torn down (on quit)."""
        return bool(self.query(KpiBar))

    def watch_header(self, header: HeaderState) -> None:
        if self.is_composed:
            self.query_one(KpiBar).state = header
            self._mark_stale()

    def _mark_stale(self) -> None:
        """Figures of another window than the chosen one (right after `w`) are dimmed and the header
        names their window, until the chosen window's figures arrive: stale is never shown as current."""
        data = self.dashboard
        stale = data is not None and data.window.label != self.header.window_label
        for panel_type in WINDOWED_PANELS:
            self.query_one(panel_type).set_class(stale, "-stale")
        self.query_one(KpiBar).set_class(stale, "-stale")

    @property
    def dashboard(self) -> DashboardData | None:
        """The analytics result on screen (None before the first)."""
        return self.view.data if self.view is not None else None

    def watch_view(self, view: DashboardView | None) -> None:
        if view is None or not self.is_composed:
            return
        data = view.data
        now = self.header.now or data.computed_at
        with self.app.batch_update():
            self.query_one(KpiBar).shown_window = data.window.label
            self.query_one(KpiBar).kpis = data.kpis
            for panel in self.query_one("#panels").query_children(Panel):
                panel.collection_note = view.collection_note
            self.query_one(SourcesPanel).configured = self.configured
            self.query_one(VolumePanel).show(
                view.volume,
                now,
                f"{data.window.label} · per {'hour' if data.window.bucket == 'h' else 'day'}",
            )
            self.query_one(NeedsReplyPanel).now = now
            self.query_one(RisingPanel).now = now
            self.query_one(SourcesPanel).now = now
            self.query_one(AlertsPanel).now = now
            self.query_one(PostsPanel).now = now
            self.query_one(NeedsReplyPanel).rows = view.needs_reply
            self.query_one(RisingPanel).rows = view.rising
            self.query_one(VoicesPanel).rows = view.voices
            topics = self.query_one(TopicsPanel)
            topics.share_of_voice = view.share_of_voice
            topics.trending = view.trending
            self.query_one(SourcesPanel).rows = view.sources
            self.query_one(StreamPanel).source_names = view.source_names
            kpis = data.kpis
            self.query_one(SentimentPanel).show(
                view.mood,
                MoodSummary(
                    kpis.negative_share, kpis.negative_share_previous, data.window.label, kpis.net_sentiment
                ),
                view.most_negative,
                now,
            )
            self.query_one(PostsPanel).rows = view.posts
            self._mark_stale()

    def show_background(self, progress: BackgroundProgress) -> None:
        """A background pass's progress: a bar under the header while a back-fill runs."""
        if self.is_composed:
            self.query_one(BackfillBar).show(progress)

    def show_alerts(self, view: AlertLogView) -> None:
        if not self.is_composed:
            return
        alerts = self.query_one(AlertsPanel)
        alerts.failing_channels = view.failing_channels
        alerts.alerts = tuple(view.alerts)

    def show_stream(self, rows: Sequence[dict[str, Any]], now: datetime | None) -> None:
        if not self.is_composed:
            return
        stream = self.query_one(StreamPanel)
        stream.now = now
        stream.rows = tuple(rows)

    def action_show_panel(self, panel: str) -> None:
        """Bring a panel forward: its tab in compact layouts, focus in every layout."""
        self.query_one(Tabs).active = f"tab-{panel}"
        self._focus_panel(panel)

    def open_filter(self) -> None:
        self.query_one(Tabs).active = "tab-stream"
        self.query_one(StreamPanel).open_filter()

    def clear_filter(self) -> None:
        self.query_one(Tabs).active = "tab-stream"
        self.query_one(StreamPanel).action_clear_filter()

    @on(Tabs.TabActivated, "#panel-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        panel_id = (event.tab.id or "").removeprefix("tab-")
        for panel in self.query_one("#panels").query_children(Panel):
            panel.set_class(panel.id == panel_id, "-current")

    def _focus_panel(self, panel_id: str) -> None:
        panel = self.query_one(f"#{panel_id}", Panel)
        focusable = [widget for widget in panel.query("*") if widget.focusable]
        if focusable:
            self.call_after_refresh(focusable[-1].focus)
