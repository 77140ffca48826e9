"""The Sentiment panel: how people feel over the window against the window before, and the most
negative recent mentions (often the ones needing a reply).

The figures come from `DashboardData.sentiment` (per bucket: positive, neutral, negative and scored
counts, this window and the previous one), the `Kpis` negative share and net sentiment, and
`DashboardData.most_negative`. A bucket with no scored mention is a gap (·), never 0 %: unknown is
not "no one was negative".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from dashboard.durations import DEFAULT_WINDOW, WINDOWS
from dashboard.ui.formatting import compact_time, is_missing, local_time
from dashboard.ui.safe import TEXT_CAP, TITLE_CAP, safe_text
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.columns import ColumnSpec
from dashboard.ui.widgets.mentions import MentionTablePanel, RowTable
from dashboard.ui.widgets.opinion import GLYPHS, STYLES
from dashboard.ui.widgets.rows import Record, int_of, moment_of, number_of, text_of
from dashboard.ui.widgets.styles import widget_css
from dashboard.ui.widgets.table import TableRow

EIGHTHS = " ▁▂▃▄▅▆▇█"
GAP = "·"
LABEL_WIDTH = 14  # "negative now " / "      before "
# How the summary names the window and the one before it, by window label.
PERIODS = {choice.label: choice.periods for choice in WINDOWS}
NO_SENTIMENT = (
    "No sentiment yet: mentions in the languages scored ([settings] languages, English and French by"
    " default) get one once they are analysed; other languages are never guessed."
)


@dataclass(frozen=True, slots=True)
class ShareSeries:
    """Per bucket: how many scored mentions were of a label, and how many were scored (None: unknown)."""

    hits: tuple[int | None, ...] = ()
    scored: tuple[int | None, ...] = ()

    def total_share(self) -> float | None:
        """The label's share over the whole series; None when nothing was scored."""
        known = [(h or 0, s) for h, s in zip(self.hits, self.scored, strict=True) if s]
        total = sum(s for _, s in known)
        return sum(h for h, _ in known) / total if total else None


@dataclass(frozen=True, slots=True)
class MoodSummary:
    """The header line's figures: the negative share now and before, the net sentiment (None: unknown)."""

    negative: float | None = None
    negative_before: float | None = None
    window_label: str = DEFAULT_WINDOW.label
    net: float | None = None

    def line(self, width: int) -> Content:
        """The line at `width` cells: the net sentiment only where it fits on the same line."""
        full = summary_line(self.negative, self.negative_before, self.window_label, self.net)
        if self.net is None or full.cell_length <= width:
            return full
        return summary_line(self.negative, self.negative_before, self.window_label)


@dataclass(frozen=True, slots=True)
class MoodView:
    """What the chart draws, from `DashboardData.sentiment`."""

    buckets: tuple[datetime, ...] = ()
    positive: ShareSeries = ShareSeries()
    negative: ShareSeries = ShareSeries()
    previous_positive: ShareSeries = ShareSeries()
    previous_negative: ShareSeries = ShareSeries()

    @property
    def has_scores(self) -> bool:
        return any(self.positive.scored) or any(self.previous_positive.scored)


def _counts(frame: pd.DataFrame, column: str) -> tuple[int | None, ...]:
    if column not in frame.columns:
        return (None,) * len(frame)
    values = pd.to_numeric(frame[column], errors="coerce").astype("Float64")
    return tuple(None if is_missing(value) else int(value) for value in values.tolist())


def mood_view(frame: pd.DataFrame | None) -> MoodView:
    """The chart's series from the sentiment frame (absent or empty: nothing to draw)."""
    if frame is None or frame.empty:
        return MoodView()
    starts = frame["bucket_start"] if "bucket_start" in frame.columns else pd.Series(frame.index)
    buckets = tuple(pd.Timestamp(moment).to_pydatetime() for moment in starts)
    scored, previous = _counts(frame, "scored"), _counts(frame, "previous_scored")
    return MoodView(
        buckets,
        ShareSeries(_counts(frame, "positive"), scored),
        ShareSeries(_counts(frame, "negative"), scored),
        ShareSeries(_counts(frame, "previous_positive"), previous),
        ShareSeries(_counts(frame, "previous_negative"), previous),
    )


def fit_shares(series: ShareSeries, width: int) -> tuple[float | None, ...]:
    """The series resampled to `width` cells: each cell's share over the buckets it covers (their hits
    over their scored mentions), None where none of them had a scored mention."""
    count = len(series.scored)
    if count == 0 or width <= 0:
        return ()
    hits = np.array([h or 0 for h in series.hits], dtype=float)
    scored = np.array([s or 0 for s in series.scored], dtype=float)
    # Cell i covers buckets first[i] up to first[i + 1] (the last cell up to the end); with more cells
    # than buckets a bucket is repeated over the cells it spans.
    first = np.arange(width) * count // width
    if width <= count:
        hit_sum, scored_sum = np.add.reduceat(hits, first), np.add.reduceat(scored, first)
    else:
        hit_sum, scored_sum = hits[first], scored[first]
    return tuple(
        None if total == 0 else float(hit) / float(total)
        for hit, total in zip(hit_sum.tolist(), scored_sum.tolist(), strict=True)
    )


def share_line(shares: tuple[float | None, ...], style: str) -> Content:
    """One row of bars on an absolute 0–100 % scale (a full block is 100 %); gaps as ·."""
    parts: list[tuple[str, str]] = []
    for share in shares:
        if share is None:
            parts.append((GAP, "$text-muted"))
        else:
            eighths = max(1, round(share * 8)) if share > 0 else 0
            parts.append((EIGHTHS[eighths] if eighths else "▁", style if eighths else "$text-muted"))
    return Content.assemble(*parts)


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f}%"


def summary_line(
    negative: float | None, negative_before: float | None, window_label: str, net: float | None = None
) -> Content:
    """'negative 18% this week (12% last week) · net +0.23': the share of scored mentions that were
    negative, against the previous window; unknown where nothing was scored."""
    now_name, before_name = PERIODS.get(window_label, (f"these {window_label}", "the window before"))
    if negative is None and negative_before is None:
        return Content.styled("negative: no scored mention in this window or the one before", "$text-muted")
    worse = negative is not None and negative_before is not None and negative > negative_before
    parts: list[str | tuple[str, str]] = [
        ("negative ", "$text-muted"),
        (percent(negative), "bold $error" if worse else "bold"),
        (f" {now_name}", "$text-muted"),
        (f" ({percent(negative_before)} {before_name})", "$text-muted"),
    ]
    if net is not None:
        parts += [("  net ", "$text-muted"), (f"{net:+.2f}", "bold")]
    return Content.assemble(*parts)


def render_mood(view: MoodView, width: int, height: int, now: datetime | None) -> Content:
    """Positive and negative share per bucket, each with the previous window's line under it, and a
    time axis when there is room; the percentages at the right are the whole window's."""
    if not view.buckets:
        return Content.styled("no sentiment in this window yet", "$text-muted")
    plot = max(1, width - LABEL_WIDTH - 5)
    rows = [
        ("positive now", view.positive, STYLES["positive"].replace("bold ", "")),
        ("before", view.previous_positive, "$text-muted"),
        ("negative now", view.negative, "$error"),
        ("before", view.previous_negative, "$text-muted"),
    ]
    if height < 4:  # a short panel: this window's lines only
        rows = [rows[0], rows[2]]
    lines = [
        Content.assemble(
            (label.rjust(LABEL_WIDTH - 1) + " ", "$text-muted"),
            share_line(fit_shares(series, plot), style),
            (percent(series.total_share()).rjust(5), "bold" if label.endswith("now") else "$text-muted"),
        )
        for label, series, style in rows
    ]
    if height > len(lines):
        moment = now or view.buckets[-1]
        start, end = local_time(view.buckets[0], moment), local_time(view.buckets[-1], moment)
        gap = max(1, plot - len(start) - len(end))
        lines.append(Content.styled(" " * LABEL_WIDTH + start + " " * gap + end, "$text-muted"))
    return Content("\n").join(lines)


class MoodChart(Widget):
    """Draws a `MoodView` at the size it is given."""

    DEFAULT_CSS = """
    MoodChart {
        height: 5;
        width: 1fr;
    }
    """

    view: reactive[MoodView] = reactive(MoodView)
    now: reactive[datetime | None] = reactive(None)

    def render(self) -> Content:
        return render_mood(self.view, self.size.width, self.size.height, self.now)


def score_text(score: float | None) -> str:
    return "" if score is None else f"{score:+.2f}"


class SentimentPanel(MentionTablePanel):
    """The window's mood and the most negative recent mentions; Enter opens one, `o` its link."""

    DEFAULT_CSS = widget_css(__file__)
    TITLE = "Sentiment"
    COLUMNS = (
        ColumnSpec("Score", "score", max_width=5, keep=9, justify="right", whole=True),
        ColumnSpec("Time", "time", max_width=8, keep=7, whole=True),
        ColumnSpec("Source", "source", min_width=6, max_width=12, keep=6),
        ColumnSpec("Lang", "language", max_width=5, keep=5, whole=True),
        ColumnSpec("Title", "title", min_width=10, flex=True, share=0.4, keep=10),
    )
    EMPTY = "No negative mention in this window."

    view: reactive[MoodView] = reactive(MoodView)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._summary = MoodSummary()
        self._summary_lines = 0  # the summary's height when last laid out

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("loading…", "$text-muted"), id="mood-summary")
        yield MoodChart(id="mood-chart")
        yield RowTable(self.COLUMNS, id="mood-negative")

    def show(
        self,
        view: MoodView,
        summary: MoodSummary,
        rows: tuple[dict[str, Any], ...],
        now: datetime | None,
    ) -> None:
        """New figures: the summary line, the chart and the most negative mentions."""
        self.view = view
        self._summary = summary
        chart = self.query_one(MoodChart)
        chart.now = now
        chart.view = view
        self._show_summary()
        self.set_class(not view.has_scores, "-unscored")
        self.now = now
        self.rows = rows

    def _show_summary(self) -> None:
        summary = self.query_one("#mood-summary", Static)
        width = max(1, self.content_region.width - 2)  # the line's padding
        line = self._summary.line(width) if self.view.has_scores else Content("")
        # Laid out again only when its height changes: a layout pass re-draws the whole screen
        # (~0.1-0.3 s with 1,000 sources), and the summary is set on every refresh.
        lines = len(line.wrap(width))
        summary.update(line, layout=lines != self._summary_lines)
        self._summary_lines = lines

    def on_resize(self) -> None:
        self._show_summary()

    def empty_message(self) -> str:
        if not self.view.has_scores:
            return self.collection_note or NO_SENTIMENT
        return self.EMPTY

    def subtitle(self) -> str:
        return f"{len(self._by_key)} most negative" if self._by_key else ""

    def make_row(self, record: Record, now: datetime) -> TableRow:
        score = number_of(record, "sentiment")
        label = text_of(record, "sentiment_label") or "negative"
        return TableRow(
            key=str(int_of(record, "id")),
            cells=(
                Text(
                    score_text(score),
                    style=cell_style(self.app, STYLES.get(label, "")) if label in GLYPHS else "",
                    justify="right",
                    end="",
                ),
                Text(compact_time(moment_of(record, "published_at"), now), end=""),
                safe_text(text_of(record, "source"), width=TEXT_CAP),
                safe_text(text_of(record, "language"), width=8),
                safe_text(text_of(record, "title") or text_of(record, "url"), width=TITLE_CAP),
            ),
        )
