"""The frame every panel shares: a bordered container with a title and a one-line status."""

from __future__ import annotations

from textual.containers import Vertical

from dashboard.ui.widgets.styles import widget_css


class Panel(Vertical):
    """A titled panel; subclasses compose their content and receive data as attributes."""

    DEFAULT_CSS = widget_css(__file__)
    TITLE = ""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = self.TITLE
        # Set (before the rows) when nothing could be collected: an empty table says this instead of
        # "nothing here", so a network outage never reads as a quiet day.
        self.collection_note = ""
