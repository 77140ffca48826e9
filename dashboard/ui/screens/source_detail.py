"""A source's full state and its last error, verbatim (but sanitised and never read as markup)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from dashboard.ui.formatting import local_time
from dashboard.ui.safe import safe_str
from dashboard.ui.widgets.rows import Record, int_of, moment_of, text_of
from dashboard.ui.widgets.sources import STATUS_STYLE, status_label, status_of


def source_facts(source: Record, now: datetime) -> Content:
    """Name, target, status and timings as aligned 'label  value' lines."""
    http_status = int_of(source, "http_status")
    facts: list[tuple[str, Content]] = [
        ("Source", Content.styled(safe_str(text_of(source, "name")), "bold")),
        ("Type", Content(safe_str(text_of(source, "type")))),
        ("Watching", Content(safe_str(text_of(source, "target")))),
        ("Status", Content.styled(status_label(source, now), STATUS_STYLE[status_of(source)])),
        ("HTTP status", Content(str(http_status) if http_status is not None else "–")),
        ("Failures in a row", Content(str(int_of(source, "consecutive_failures") or 0))),
        ("Last attempt", Content(local_time(moment_of(source, "last_attempt_at"), now))),
        ("Last success", Content(local_time(moment_of(source, "last_success_at"), now))),
        ("Next poll", Content(local_time(moment_of(source, "next_poll_at"), now))),
        ("Error class", Content(safe_str(text_of(source, "error_class")) or "–")),
        ("Notes", Content(safe_str(text_of(source, "notes")) or "–")),
    ]
    width = max(len(label) for label, _ in facts)
    return Content("\n").join(
        Content.assemble((label.ljust(width + 2), "$text-muted"), value) for label, value in facts
    )


class SourceDetailScreen(ModalScreen[None]):
    """Opened with Enter on the sources panel; Esc or q closes."""

    CSS_PATH = "source_detail.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_screen", "Close"),
        Binding("q", "dismiss_screen", "Close", show=False),
    ]

    def __init__(self, source: dict[str, Any], *, now: datetime | None = None) -> None:
        super().__init__()
        self.source = source
        self._now = now

    def compose(self) -> ComposeResult:
        now = self._now or datetime.now().astimezone()
        error = text_of(self.source, "last_error")
        with Vertical(id="source-box") as box:
            box.border_title = "Source"
            yield Static(source_facts(self.source, now), id="source-facts")
            yield Static(Content.styled("Last error", "bold $text-muted"), id="source-error-title")
            with VerticalScroll(id="source-error-scroll"):
                yield Static(
                    Content.styled(safe_str(error, one_line=False), "$error")
                    if error
                    else Content.styled("no error recorded", "$text-muted"),
                    id="source-error",
                )
        yield Footer()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
