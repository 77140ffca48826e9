"""One mention in full: text, link, counts, and its engagement over time as a sparkline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Sparkline, Static

from dashboard.models import engagement
from dashboard.store.reader import MentionDetail
from dashboard.ui.formatting import format_count, local_time
from dashboard.ui.safe import safe_content, safe_str
from dashboard.ui.widgets.rows import openable_url


@dataclass(frozen=True, slots=True)
class EngagementTrail:
    """Likes + replies + shares at each stored snapshot, oldest first (unknown counts left out)."""

    values: tuple[float, ...] = ()
    since: datetime | None = None


def engagement_trail(detail: MentionDetail) -> EngagementTrail:
    values: list[float] = []
    since: datetime | None = None
    for point in detail.history:
        total = engagement(point.likes, point.replies, point.shares)
        if total is not None:
            values.append(float(total))
            since = since or point.at
    return EngagementTrail(tuple(values), since)


def trail_caption(trail: EngagementTrail, now: datetime) -> Content:
    """'engagement 12 → 97 since 09:14 (5 snapshots)', or why there is no line to draw."""
    if len(trail.values) < 2:
        return Content.styled(
            "engagement: one snapshot so far; the line starts at the next change", "$text-muted"
        )
    return Content.assemble(
        ("engagement ", "$text-muted"),
        (f"{format_count(trail.values[0])} → {format_count(trail.values[-1])}", "bold"),
        (f" since {local_time(trail.since, now)} ({len(trail.values)} snapshots)", "$text-muted"),
    )


LoadDetail = Callable[[int], MentionDetail | None]


def heading(mention: MentionDetail) -> Content:
    return safe_content(mention.title or mention.url or "(untitled)", style="bold", one_line=True)


def meta_line(mention: MentionDetail, now: datetime) -> Content:
    """'source · kind · by author · 14:03' with each untrusted part kept literal."""
    parts: list[str | tuple[str, str]] = [
        (safe_str(mention.source), "$accent"),
        (" · ", "$text-muted"),
        safe_str(mention.kind),
        (" · by ", "$text-muted"),
        (safe_str(mention.author) or "unknown", "bold"),
        (" · ", "$text-muted"),
        local_time(mention.published_at, now),
    ]
    if mention.handled_at is not None:
        parts += [(" · handled ", "$text-muted"), (local_time(mention.handled_at, now), "$success")]
    return Content.assemble(*parts)


def counts_line(mention: MentionDetail) -> Content:
    parts: list[str | tuple[str, str]] = []
    for column in ("likes", "replies", "shares", "views"):
        value = getattr(mention, column)
        if value is not None:
            parts += [(f"{column} ", "$text-muted"), (format_count(value), "bold"), "   "]
    return Content.assemble(*parts) if parts else Content.styled("no engagement reported", "$text-muted")


class MentionDetailScreen(ModalScreen[None]):
    """Opened with Enter on any mention row; Esc or q closes, `o` opens the link."""

    CSS_PATH = "detail.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_screen", "Close"),
        Binding("q", "dismiss_screen", "Close", show=False),
        Binding("o", "open_link", "Open link"),
    ]

    detail: reactive[MentionDetail | None] = reactive(None)

    def __init__(self, mention_id: int, load: LoadDetail, *, now: datetime | None = None) -> None:
        super().__init__()
        self.mention_id = mention_id
        self._load = load
        self._now = now

    def compose(self) -> ComposeResult:
        with Vertical(id="detail-box") as box:
            box.border_title = f"Mention #{self.mention_id}"
            yield Static(Content.styled("loading…", "$text-muted"), id="detail-loading")
        yield Footer()

    async def watch_detail(self, mention: MentionDetail | None) -> None:
        """Fill the box in place (the footer stays: a recomposed one would lose its keys)."""
        if mention is None:
            return
        box = self.query_one("#detail-box", Vertical)
        await box.remove_children()
        await box.mount_all(self._detail_widgets(mention))

    def _detail_widgets(self, mention: MentionDetail) -> list[Widget]:
        now = self._now or datetime.now().astimezone()
        trail = engagement_trail(mention)
        widgets: list[Widget] = [
            Static(heading(mention), id="detail-title"),
            Static(meta_line(mention, now), id="detail-meta"),
            Static(safe_content(mention.url, style="underline $text-muted", one_line=True), id="detail-url"),
            Static(counts_line(mention), id="detail-counts"),
            Static(trail_caption(trail, now), id="detail-history-caption"),
        ]
        if len(trail.values) > 1:
            widgets.append(Sparkline(list(trail.values), id="detail-history"))
        widgets.append(
            VerticalScroll(
                Static(safe_content(mention.summary or "(no text)"), id="detail-text"), id="detail-body"
            )
        )
        return widgets

    def on_mount(self) -> None:
        self._fetch()

    @work(thread=True, exit_on_error=False)
    def _fetch(self) -> None:
        detail = self._load(self.mention_id)
        self.app.call_from_thread(self._show, detail)

    def _show(self, detail: MentionDetail | None) -> None:
        if detail is None:
            self.notify(f"Mention #{self.mention_id} is no longer in the store.", severity="warning")
            self.dismiss(None)
            return
        self.detail = detail

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)

    def action_open_link(self) -> None:
        url = openable_url(self.detail.url) if self.detail else None
        if url is None:
            self.notify("This mention has no web link to open.", severity="warning")
            return
        self.app.open_url(url)
