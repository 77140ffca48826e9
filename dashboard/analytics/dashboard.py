"""Everything the dashboard shows for one window, computed in one call from a StoreReader.

Each panel aggregates in SQL where that is cheaper (counts per bucket, per author, first-seen times)
and loads only the rows and columns it needs; the analytics modules then work on small frames. The
contract with the UI and export is dashboard/analytics/contract.md.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from dashboard.analytics import engagement as engagement_metrics
from dashboard.analytics import health, posts, replies, rising, sentiment, spikes, trending, voices, volume
from dashboard.analytics import keywords as keyword_metrics
from dashboard.analytics.status import Health, health_of, parse_status
from dashboard.analytics.volume import Change, change
from dashboard.analytics.windows import Window, epochs_of, utc_times
from dashboard.store.reader import SOURCE_COLUMNS, StoreReader

METRICS_COLUMNS = (
    "bucket_start",
    "bucket_end",
    "source",
    "mentions",
    "engagement",
    "unique_voices",
    "new_voices",
    "status",
)
SOURCE_PANEL_COLUMNS = tuple(column for column in SOURCE_COLUMNS if column != "id")
RISING_COLUMNS = ("id", "source", "kind", "title", "author", "url", "gained", "hours", "per_hour")


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    """The tunables of the panels; the defaults are the ones documented in each module."""

    needs_reply_min_age: timedelta = replies.MIN_AGE
    needs_reply_horizon: timedelta = replies.HORIZON
    rising_span: timedelta = rising.RISING_SPAN
    spike_threshold: float = spikes.THRESHOLD
    spike_min_count: int = spikes.MIN_COUNT
    # The needs-reply list holds the oldest this many (the KPI counts them all).
    needs_reply_limit: int = 500
    trending_min_count: int = 3
    trending_baseline: timedelta = timedelta(days=7)  # at least; never shorter than the window
    # Tokenising is the costliest step: past this many mentions per corpus, an even sample is used.
    trending_max_docs: int = 5_000
    trending_summary_chars: int = 300


@dataclass(frozen=True, slots=True)
class Kpis:
    mentions: int
    mentions_previous: int
    mentions_change: Change
    engagement: int | None  # None: no mention in the window reports engagement
    engagement_previous: int | None
    engagement_change: Change | None  # None when either side is unknown
    unique_voices: int
    new_voices: int
    returning_voices: int
    waiting_reply: int
    sources_ok: int  # active sources by the health of their latest attempt (analytics.status)
    sources_failing: int  # failing, needs credentials or gone: not rate-limited (that is waiting)
    sources_waiting: int  # rate-limited
    sources_new: int  # never attempted yet
    last_poll_at: datetime | None
    next_poll_at: datetime | None
    reach: float | None
    passion: float | None
    median_first_response: timedelta | None
    spikes: int
    # Over the scored mentions (analytics.sentiment): None when none is scored, never 0.
    net_sentiment: float | None = None  # (positive - negative) / scored, in [-1, 1]
    net_sentiment_previous: float | None = None
    negative_share: float | None = None  # negative / scored, in [0, 1]
    negative_share_previous: float | None = None


@dataclass(frozen=True, slots=True)
class DashboardData:
    window: Window
    computed_at: datetime
    kpis: Kpis
    volume: pd.DataFrame
    volume_status: pd.DataFrame
    engagement: pd.DataFrame
    spikes: pd.DataFrame
    rising: pd.DataFrame
    voices: pd.DataFrame
    voices_by_engagement: pd.DataFrame
    share_of_voice: pd.DataFrame
    trending: pd.DataFrame
    needs_reply: pd.DataFrame
    sources: pd.DataFrame
    sentiment: pd.DataFrame  # analytics.sentiment.SENTIMENT_COLUMNS, per bucket against the previous window
    most_negative: pd.DataFrame  # analytics.sentiment.MOST_NEGATIVE_COLUMNS
    posts: pd.DataFrame  # analytics.posts.POST_COLUMNS: the window's own posts by reactions
    # Seconds spent per panel, for the status line and bench/bench_panels.py.
    timings: Mapping[str, float] = field(default_factory=dict)
    # Peak bytes allocated per panel, only when tracemalloc is tracing (bench/bench_panels.py).
    peak_memory: Mapping[str, int] = field(default_factory=dict)


class _Stopwatch:
    """Seconds per panel; and, when tracemalloc is tracing (the benchmark), peak bytes per panel."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.peaks: dict[str, int] = {}

    @contextmanager
    def panel(self, name: str) -> Iterator[None]:
        tracing = tracemalloc.is_tracing()
        if tracing:
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        began = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - began
            if tracing:
                peak = tracemalloc.get_traced_memory()[1] - baseline
                self.peaks[name] = max(self.peaks.get(name, 0), peak)


def shown_sources(sources: pd.DataFrame, stats: pd.DataFrame) -> list[str]:
    """The sources with a column in the panels: every active one, plus removed ones (inactive) that
    still have mentions in the window; in the sources table's order."""
    with_mentions = set(stats["source"].tolist())
    keep = sources["active"].to_numpy(dtype=bool) | sources["name"].isin(with_mentions).to_numpy(dtype=bool)
    return [str(name) for name in sources.loc[keep, "name"].tolist()]


def health_grids(
    reader: StoreReader, window: Window, names: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame, Window]:
    """(grid of the window, hourly grid of the spike span, the spike span)."""
    span = spikes.spike_span(window)
    hourly = health.attempt_summary(reader, span.start, span.end, 3600)
    hourly_grid = health.bucket_status(hourly, health.last_polls_before(reader, span.start), names, span)
    per_bucket = health.attempt_summary(reader, window.start, window.end, window.bucket_seconds)
    window_grid = health.bucket_status(
        per_bucket, health.last_polls_before(reader, window.start), names, window
    )
    return window_grid, hourly_grid, span


def compute_dashboard(
    reader: StoreReader,
    window: Window,
    *,
    keywords: Sequence[str],
    now: datetime,
    top_n: int = 10,
    options: DashboardOptions | None = None,
) -> DashboardData:
    """Every panel of the dashboard for `window` (see contract.md); `now` anchors the "needs reply" ages
    and the rising span (normally window.end)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware: {now!r}")
    settings = options or DashboardOptions()
    clock = _Stopwatch()
    now = now.astimezone(UTC)
    with clock.panel("sources"):
        source_frame = reader.sources()
    with clock.panel("volume"):
        stats = volume.bucket_stats(reader, window.start, window.end, window.bucket_seconds)
        previous = volume.totals(reader, window.previous.start, window.previous.end)
        names = shown_sources(source_frame, stats)
    with clock.panel("health"):
        window_grid, hourly_grid, span = health_grids(reader, window, names)
    with clock.panel("volume"):
        volume_frame, volume_status = volume.volume_table(stats, window_grid)
    with clock.panel("engagement"):
        engagement_frame = engagement_metrics.engagement_by_source(stats)
    with clock.panel("voices"):
        authors = voices.author_stats(reader, window.start, window.end)
        voice_summary = voices.summarise_voices(authors, window)
        top_by_mentions = voices.top_voices(authors, window, by="mentions", top_n=top_n)
        top_by_engagement = voices.top_voices(authors, window, by="engagement", top_n=top_n)
    with clock.panel("spikes"):
        spike_frame = _spikes(reader, span, hourly_grid, settings)
    with clock.panel("rising"):
        rising_frame = _rising(reader, now, top_n, settings)
    with clock.panel("needs_reply"):
        # The age limits go to SQL (published in (now - horizon, now - min_age]); needs_reply applies them
        # again on the frame, exactly.
        oldest, newest = now - settings.needs_reply_horizon, now - settings.needs_reply_min_age
        candidates = replies.unanswered(
            reader, oldest, newest + timedelta(seconds=1), limit=settings.needs_reply_limit
        )
        waiting = replies.needs_reply(
            candidates, now, min_age=settings.needs_reply_min_age, horizon=settings.needs_reply_horizon
        )
        waiting_count = waiting_reply_count(reader, now, settings)
        median_response = replies.median_response(replies.response_seconds(reader, window.start, window.end))
    with clock.panel("share_of_voice"):
        share_frame = keyword_metrics.window_share_of_voice(reader, window.start, window.end, keywords)
    with clock.panel("trending"):
        trending_frame = _trending(reader, window, settings, top_n)
    with clock.panel("sentiment"):
        sentiment_frame = sentiment.sentiment_panel(reader, window)
        now_tally, before_tally = sentiment.tallies(sentiment_frame)
    with clock.panel("most_negative"):
        negative_frame = sentiment.most_negative(reader, window)
    with clock.panel("posts"):
        posts_frame = posts.posts_frame(reader, window)
    with clock.panel("kpis"):
        kpis = replace(
            _kpis(
                source_frame,
                stats,
                previous,
                voice_summary,
                waiting_count,
                median_response,
                spike_frame,
            ),
            net_sentiment=now_tally.net_sentiment,
            net_sentiment_previous=before_tally.net_sentiment,
            negative_share=now_tally.negative_share,
            negative_share_previous=before_tally.negative_share,
        )
    return DashboardData(
        window=window,
        computed_at=datetime.now(UTC),
        kpis=kpis,
        volume=volume_frame,
        volume_status=volume_status,
        engagement=engagement_frame,
        spikes=spike_frame,
        rising=rising_frame,
        voices=top_by_mentions,
        voices_by_engagement=top_by_engagement,
        share_of_voice=share_frame,
        trending=trending_frame,
        needs_reply=waiting,
        sources=source_frame[list(SOURCE_PANEL_COLUMNS)].reset_index(drop=True),
        sentiment=sentiment_frame,
        most_negative=negative_frame,
        posts=posts_frame,
        timings=dict(clock.timings),
        peak_memory=dict(clock.peaks),
    )


def waiting_reply_count(reader: StoreReader, now: datetime, settings: DashboardOptions) -> int:
    """The "Waiting" figure: mentions with no reply, published in (now - horizon, now - min_age]
    (the KPI bar and the alert rule `metric = "waiting_reply"` count the same thing)."""
    oldest, newest = now - settings.needs_reply_horizon, now - settings.needs_reply_min_age
    return replies.count_unanswered(reader, oldest + timedelta(seconds=1), newest + timedelta(seconds=1))


def _spikes(
    reader: StoreReader, span: Window, hourly_grid: pd.DataFrame, settings: DashboardOptions
) -> pd.DataFrame:
    counts = spikes.hourly_counts(reader, span.start, span.end)
    table = spikes.hourly_table(counts, hourly_grid)
    found = spikes.find_spikes(table, threshold=settings.spike_threshold, min_count=settings.spike_min_count)
    drivers = spikes.ids_in_hours(reader, found["bucket_start"].dt.to_pydatetime().tolist())
    return spikes.attach_mention_ids(found, drivers)


def _rising(reader: StoreReader, now: datetime, top_n: int, settings: DashboardOptions) -> pd.DataFrame:
    history = rising.engagement_snapshots(reader, now - settings.rising_span, now + timedelta(seconds=1))
    top = rising.rising(history, top_n=top_n)
    details = reader.mentions_by_ids(top["id"].tolist())
    merged = top.merge(details[["id", "source", "kind", "title", "author", "url"]], on="id", how="inner")
    return merged[list(RISING_COLUMNS)]


def _trending(reader: StoreReader, window: Window, settings: DashboardOptions, top_n: int) -> pd.DataFrame:
    baseline_length = max(settings.trending_baseline, window.length)
    size, chars = settings.trending_max_docs, settings.trending_summary_chars
    current = trending.texts(reader, window.start, window.end, max_docs=size, summary_chars=chars)
    baseline = trending.texts(
        reader, window.start - baseline_length, window.start, max_docs=size, summary_chars=chars
    )
    return trending.trending_terms(
        current["text"].tolist(),
        baseline["text"].tolist(),
        min_count=settings.trending_min_count,
        top_n=top_n,
        window_weight=int(current.attrs.get("sampled_every", 1)),
        baseline_weight=int(baseline.attrs.get("sampled_every", 1)),
    )


def _kpis(
    sources: pd.DataFrame,
    stats: pd.DataFrame,
    previous: pd.DataFrame,
    voice_summary: voices.VoiceSummary,
    waiting: int,
    median_response: timedelta | None,
    spike_frame: pd.DataFrame,
) -> Kpis:
    mentions_now = int(stats["mentions"].sum()) if not stats.empty else 0
    mentions_before = int(previous["mentions"].sum()) if not previous.empty else 0
    engagement_now = engagement_metrics.total_engagement(stats)
    engagement_before = engagement_metrics.total_engagement(previous)
    active = sources[sources["active"].to_numpy(dtype=bool)]
    healths = [health_of(parse_status(value)) for value in active["status"].tolist()]
    return Kpis(
        mentions=mentions_now,
        mentions_previous=mentions_before,
        mentions_change=change(mentions_now, mentions_before),
        engagement=engagement_now,
        engagement_previous=engagement_before,
        engagement_change=(
            change(engagement_now, engagement_before)
            if engagement_now is not None and engagement_before is not None
            else None
        ),
        unique_voices=voice_summary.unique,
        new_voices=voice_summary.new,
        returning_voices=voice_summary.returning,
        waiting_reply=waiting,
        sources_ok=healths.count(Health.OK),
        sources_failing=healths.count(Health.FAILING),
        sources_waiting=healths.count(Health.WAITING),
        sources_new=healths.count(Health.NEW),
        last_poll_at=_moment(active["last_attempt_at"].max()),
        next_poll_at=_moment(active["next_poll_at"].min()),
        reach=voice_summary.reach,
        passion=voice_summary.passion,
        median_first_response=median_response,
        spikes=len(spike_frame),
    )


def _moment(value: object) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return None if pd.isna(stamp) else stamp.to_pydatetime()


def metrics_table(reader: StoreReader, window: Window) -> pd.DataFrame:
    """One row per bucket and shown source, for exports: `METRICS_COLUMNS`.

    bucket_start/bucket_end are the span actually counted (the window's first and last buckets are
    clipped to it); mentions, engagement, unique_voices, new_voices are floats, NaN when status is
    "no data" (never 0); engagement is also NaN when the bucket's mentions report none.
    """
    sources = reader.sources()
    stats = volume.bucket_stats(reader, window.start, window.end, window.bucket_seconds)
    names = shown_sources(sources, stats)
    attempts = health.attempt_summary(reader, window.start, window.end, window.bucket_seconds)
    grid = health.bucket_status(attempts, health.last_polls_before(reader, window.start), names, window)
    authors = voices.author_stats(reader, window.start, window.end)
    return metrics_from(stats, authors, grid, window)


def metrics_from(
    stats: pd.DataFrame, authors: pd.DataFrame, grid: pd.DataFrame, window: Window
) -> pd.DataFrame:
    """metrics_table from its inputs: bucket_stats, author_stats and the health grid of `window`."""
    mentions = volume.bucket_series(stats, grid, "mentions")
    engagement = volume.bucket_series(stats, grid, "engagement")
    known = volume.bucket_series(stats, grid, "engagement_known")
    engagement = engagement.where(~((known == 0) & (mentions > 0)))
    unique = volume.bucket_series(stats, grid, "voices")
    fresh = voices.new_voices_per_bucket(authors, window)
    new = volume.bucket_series(fresh.rename(columns={"new_voices": "mentions"}), grid, "mentions")
    long = pd.DataFrame(
        {
            "bucket": np.repeat(epochs_of(grid.index), grid.shape[1]),
            "source": np.tile(np.asarray(grid.columns, dtype=object), grid.shape[0]),
            "mentions": mentions.to_numpy().ravel(),
            "engagement": engagement.to_numpy().ravel(),
            "unique_voices": unique.to_numpy().ravel(),
            "new_voices": new.to_numpy().ravel(),
            "status": grid.to_numpy().ravel(),
        }
    )
    start, end = window.clipped_bucket(long.pop("bucket").to_numpy())
    long.insert(0, "bucket_start", utc_times(start))
    long.insert(1, "bucket_end", utc_times(end))
    long["source"] = long["source"].astype("str")
    long["status"] = long["status"].astype("str")
    return long[list(METRICS_COLUMNS)]


__all__ = [
    "METRICS_COLUMNS",
    "RISING_COLUMNS",
    "SOURCE_PANEL_COLUMNS",
    "DashboardData",
    "DashboardOptions",
    "Kpis",
    "compute_dashboard",
    "health_grids",
    "metrics_from",
    "metrics_table",
    "shown_sources",
]
