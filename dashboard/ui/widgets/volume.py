"""Mentions per bucket as bar charts: the total, then one line per source.

Buckets the store has no data for (a source failing or rate-limited) are drawn as gaps, never as
zeros; spike buckets are drawn in the error colour with a marker above them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from textual.app import ComposeResult
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from dashboard.ui.formatting import format_count, local_time
from dashboard.ui.safe import safe_str
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.styles import widget_css

EIGHTHS = " ▁▂▃▄▅▆▇█"
GAP = "·"
SPIKE_MARK = "▼"
TOTAL = "total"
MIN_CHART_HEIGHT = 3


@dataclass(frozen=True, slots=True)
class Series:
    """One line of the chart: a value per bucket (None = no data) and the indexes of spikes."""

    label: str
    values: tuple[float | None, ...]
    spikes: frozenset[int] = frozenset()

    @property
    def peak(self) -> float:
        return max((value for value in self.values if value is not None), default=0.0)


@dataclass(frozen=True, slots=True)
class VolumeView:
    """What the chart draws, derived from the analytics' volume frames."""

    buckets: tuple[datetime, ...] = ()
    total: Series = field(default_factory=lambda: Series(TOTAL, ()))
    sources: tuple[Series, ...] = ()


def volume_view(volume: pd.DataFrame, status: pd.DataFrame | None, spikes: pd.DataFrame | None) -> VolumeView:
    """The chart's series from `DashboardData.volume`, `.volume_status` and `.spikes`."""
    if volume.empty:
        return VolumeView()
    buckets = tuple(pd.Timestamp(moment).to_pydatetime() for moment in volume.index)
    spiked = _spike_indexes(volume.index, spikes)
    # Whole frames at once: with 1,000 sources, per-column pandas calls took ~0.3 s of the UI thread.
    numeric = (
        volume
        if all(pd.api.types.is_numeric_dtype(t) for t in volume.dtypes)
        else volume.apply(pd.to_numeric, errors="coerce")
    )
    values = numeric.to_numpy(dtype=float, na_value=np.nan)
    gaps = (
        # One numpy comparison: a frame's `==` goes column by column (~70 ms at 1,000 sources).
        (status.reindex(columns=volume.columns).to_numpy(dtype=object) == "no data")
        if status is not None
        else np.zeros(values.shape, dtype=bool)
    )
    hidden = gaps | np.isnan(values)
    position = {str(column): index for index, column in enumerate(volume.columns)}

    def series(column: str, source_key: str) -> Series:
        index = position[column]
        points = tuple(
            None if gap else value
            for value, gap in zip(values[:, index].tolist(), hidden[:, index].tolist(), strict=True)
        )
        return Series(column, points, frozenset(spiked.get(source_key, ())))

    names = [str(column) for column in volume.columns if column != TOTAL]
    total = series(TOTAL, "") if TOTAL in volume.columns else Series(TOTAL, ())
    per_source = sorted((series(name, name) for name in names), key=_busiest_first)
    return VolumeView(buckets, total, tuple(per_source))


def _busiest_first(series: Series) -> tuple[float, str]:
    return (-sum(value for value in series.values if value is not None), series.label)


def _spike_indexes(index: pd.Index, spikes: pd.DataFrame | None) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    if spikes is None or spikes.empty:
        return found
    positions = {pd.Timestamp(moment): position for position, moment in enumerate(index)}
    for bucket, source in zip(spikes["bucket_start"], spikes["source"], strict=False):
        position = positions.get(pd.Timestamp(bucket))
        if position is not None:
            found.setdefault(str(source or ""), set()).add(position)
    return found


def fit(series: Series, width: int) -> Series:
    """Resample to exactly `width` columns: widen few buckets, sum many (a gap only if all are gaps)."""
    count = len(series.values)
    if count == 0 or width <= 0:
        return Series(series.label, ())
    values: list[float | None] = []
    spikes: set[int] = set()
    for column in range(width):
        first = column * count // width
        last = max(first + 1, (column + 1) * count // width)
        group = [value for value in series.values[first:last] if value is not None]
        values.append(sum(group) if group else None)
        if any(index in series.spikes for index in range(first, last)):
            spikes.add(column)
    return Series(series.label, tuple(values), frozenset(spikes))


def bar_cells(value: float | None, peak: float, height: int) -> list[str]:
    """One column of a chart `height` rows tall, top row first."""
    if value is None:
        return [" "] * (height - 1) + [GAP]
    if value <= 0 or peak <= 0:
        return [" "] * (height - 1) + ["▁"]
    eighths = max(1, round(value / peak * height * 8))
    cells = []
    for row in range(height - 1, -1, -1):
        filled = min(8, max(0, eighths - row * 8))
        cells.append(EIGHTHS[filled] if filled else " ")
    return cells


def chart_lines(series: Series, height: int) -> list[Content]:
    """A multi-row bar chart of `series` (already fitted to the width)."""
    peak = series.peak
    columns = [bar_cells(value, peak, height) for value in series.values]
    lines: list[Content] = []
    for row in range(height):
        parts: list[tuple[str, str]] = []
        for index, column in enumerate(columns):
            cell = column[row]
            if series.values[index] is None:
                style = "$warning"
            elif index in series.spikes:
                style = "bold $error"
                if row == 0 and cell == " ":
                    cell = SPIKE_MARK
            elif series.values[index] == 0:
                style = "$text-muted"
            else:
                style = "$primary"
            parts.append((cell, style))
        lines.append(Content.assemble(*parts))
    return lines


class VolumeChart(Widget):
    """Draws a `VolumeView` at whatever size it is given; drops per-source lines that do not fit."""

    DEFAULT_CSS = widget_css(__file__)

    view: reactive[VolumeView] = reactive(VolumeView)
    now: reactive[datetime | None] = reactive(None)

    def render(self) -> Content:
        return render_volume(self.view, self.size.width, self.size.height, self.now)


def render_volume(view: VolumeView, width: int, height: int, now: datetime | None) -> Content:
    """The whole chart as Content lines: the total, per-source sparklines, the time axis, a legend."""
    if not view.buckets:
        return Content.styled("no mentions in this window yet", "$text-muted")
    moment = now or view.buckets[-1]
    label_width = min(14, max([len(TOTAL), *(len(safe_str(s.label)) for s in view.sources)]))
    plot_width = max(1, width - label_width - 1)
    room_for_sources = max(0, height - 2 - MIN_CHART_HEIGHT)
    sources = view.sources[:room_for_sources]
    chart_height = max(1, height - 2 - len(sources))
    total = fit(view.total, plot_width)
    lines: list[Content] = []
    for row, line in enumerate(chart_lines(total, chart_height)):
        gutter = format_count(view.total.peak) if row == 0 else ("0" if row == chart_height - 1 else "")
        lines.append(Content.assemble((gutter.rjust(label_width), "$text-muted"), " ", line))
    for source in sources:
        label = safe_str(source.label, width=label_width).rjust(label_width)
        lines.append(
            Content.assemble((label, "$text-muted"), " ", chart_lines(fit(source, plot_width), 1)[0])
        )
    lines.append(_axis(view.buckets, moment, label_width, plot_width))
    spiked = any(series.spikes for series in (total, *(fit(source, plot_width) for source in sources)))
    lines.append(_legend(label_width, spiked=spiked, hidden=len(view.sources) - len(sources)))
    return Content("\n").join(lines)


def _axis(buckets: Sequence[datetime], now: datetime, label_width: int, plot_width: int) -> Content:
    start, end = local_time(buckets[0], now), local_time(buckets[-1], now)
    middle = max(1, plot_width - len(start) - len(end))
    return Content.styled(" " * (label_width + 1) + start + " " * middle + end, "$text-muted")


def _legend(label_width: int, *, spiked: bool, hidden: int) -> Content:
    """What the chart shows, and only that: the spike key only when a spike is drawn (as a bar in the
    error colour: the marker above it needs a free cell); '+N more' names the sources without a row."""
    parts: list[str | tuple[str, str]] = [
        " " * (label_width + 1),
        ("█", "$primary"),
        (" mentions  ", "$text-muted"),
        (GAP, "$warning"),
        (" no data", "$text-muted"),
    ]
    if spiked:
        parts += ["  ", ("█", "bold $error"), (" spike", "$text-muted")]
    if hidden > 0:
        parts.append((f"  +{hidden} more source{'s' if hidden > 1 else ''} (see Sources)", "$text-muted"))
    return Content.assemble(*parts)


class VolumePanel(Panel):
    """The volume chart in its frame; the subtitle names the window and the bucket size."""

    TITLE = "Volume"

    def compose(self) -> ComposeResult:
        yield VolumeChart()

    def show(self, view: VolumeView, now: datetime | None, subtitle: str) -> None:
        chart = self.query_one(VolumeChart)
        chart.now = now
        chart.view = view
        self.border_subtitle = subtitle
