"""The main screen's view of one analytics result, shaped in the compute worker's thread.

Turning frames into rows and charts costs time proportional to the data (1,000 sources, a bucket per
hour for each): done on the UI thread it stalled the event loop for ~0.2 s on every refresh during a
large poll. `dashboard_view` runs in the worker right after the analytics, so the screen only hands
these small, already-shaped values to its panels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dashboard.ui.records import records
from dashboard.ui.widgets.kpis import KpiValues
from dashboard.ui.widgets.sentiment import MoodView, mood_view
from dashboard.ui.widgets.volume import VolumeView, volume_view

if TYPE_CHECKING:
    from dashboard.analytics.dashboard import DashboardData

Rows = tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class DashboardView:
    """Every windowed panel's rows and charts, with the analytics result they come from."""

    data: DashboardData
    volume: VolumeView
    mood: MoodView
    needs_reply: Rows
    rising: Rows
    voices: Rows
    share_of_voice: Rows
    trending: Rows
    sources: Rows
    source_names: tuple[str, ...]
    most_negative: Rows
    posts: Rows
    collection_note: str


def dashboard_view(data: DashboardData) -> DashboardView:
    """Shape `data` for the screen (called off the UI thread)."""
    return DashboardView(
        data=data,
        volume=volume_view(data.volume, data.volume_status, data.spikes),
        mood=mood_view(data.sentiment),
        needs_reply=tuple(records(data.needs_reply)),
        rising=tuple(records(data.rising)),
        voices=tuple(records(data.voices)),
        share_of_voice=tuple(records(data.share_of_voice)),
        trending=tuple(records(data.trending)),
        sources=tuple(records(data.sources)),
        source_names=tuple(str(name) for name in data.sources["name"]),
        most_negative=tuple(records(data.most_negative)),
        posts=tuple(records(data.posts)),
        collection_note=collection_note(data.kpis),
    )


def collection_note(kpis: KpiValues) -> str:
    """What an empty panel says when nothing could be collected (every attempted source failing and
    none ok or waiting), instead of "no one has mentioned the project"; '' otherwise."""
    failing = kpis.sources_failing
    if failing == 0 or kpis.sources_ok or kpis.sources_waiting:
        return ""
    total = failing + kpis.sources_new
    return f"Collection failed: {failing} of {total} sources failing (see Sources)."
