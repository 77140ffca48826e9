"""A small progress bar under the header while a background pass back-fills the store (language and
sentiment, outbound links), hidden otherwise.

The polling layer's `BackgroundProgress` arrives per pass after each batch (through the app, from the
runner's thread). Only a back-fill worth watching is shown: a run of at least SHOWN_FROM rows; the few
rows analysed after each round of polls would only make the bar flicker. A pass that stops with a
message (a missing extra) is said once, as a notification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from dashboard.ui.safe import safe_content

if TYPE_CHECKING:
    from dashboard.polling.background import BackgroundProgress

SHOWN_FROM = 500  # rows in a run before it gets a bar


class BackfillBar(Horizontal):
    """'Language and sentiment: 12,000 of 48,000 ━━━━━━━━━━   25%' while a back-fill runs."""

    DEFAULT_CSS = """
    BackfillBar {
        display: none;
        height: 1;
        padding: 0 1;
        background: $panel;

        &.-running {
            display: block;
        }

        & > #backfill-label {
            width: auto;
            color: $text-muted;
            margin-right: 1;
        }

        & > ProgressBar {
            width: 1fr;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._passes: dict[str, BackgroundProgress] = {}
        self._said: set[str] = set()
        self._label_width = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="backfill-label")
        yield ProgressBar(total=None, show_eta=False, id="backfill-progress")

    @property
    def running(self) -> list[BackgroundProgress]:
        """The passes whose current run is a back-fill worth a bar."""
        return [p for p in self._passes.values() if p.running and p.total >= SHOWN_FROM]

    def show(self, progress: BackgroundProgress) -> None:
        self._passes[progress.name] = progress
        if not progress.running and progress.message and progress.message not in self._said:
            self._said.add(progress.message)
            self.notify(progress.describe(), severity="warning", markup=False, timeout=15)
        running = self.running
        self.set_class(bool(running), "-running")
        if not running:
            return
        done, total = sum(p.done for p in running), sum(p.total for p in running)
        label = " + ".join(p.label or p.name for p in running)
        text = safe_content(f"{label}: {done:,} of {total:,}", one_line=True)
        # Laid out again only when the label's width changes: a layout re-draws the whole screen
        # (~0.1-0.3 s with 1,000 sources), and a back-fill reports progress every batch.
        self.query_one("#backfill-label", Static).update(text, layout=text.cell_length != self._label_width)
        self._label_width = text.cell_length
        self.query_one(ProgressBar).update(total=total, progress=min(done, total))
