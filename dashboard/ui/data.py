"""The UI's only doorway to the core: reading, analytics, writes and polling, called from workers.

Each call opens what it needs for the duration of the call (a read-only `StoreReader` per query, so
thread workers never share a connection). Nothing here runs on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboard.alerts.service import alerts_beside
from dashboard.config import Config
from dashboard.polling.service import running_poller
from dashboard.store.alerts import AlertLog
from dashboard.store.db import Database, SqliteConnection, changes, connect
from dashboard.store.reader import MentionDetail, StoreReader
from dashboard.store.writer import Store
from dashboard.ui.filtering import MentionFilter, like_folded, resolve_source
from dashboard.ui.records import records

if TYPE_CHECKING:
    import pandas as pd

    from dashboard.analytics.dashboard import DashboardData

__all__ = [
    "AlertLogView",
    "alert_log",
    "alerts_beside",
    "compute",
    "export_snapshot",
    "latest_mentions",
    "mention_detail",
    "open_store",
    "post_reactions",
    "running_poller",
]


RECOMPUTE_AT_LEAST_EVERY = 300  # seconds


@dataclass(frozen=True, slots=True)
class AlertLogView:
    alerts: list[dict[str, Any]]
    failing_channels: dict[str, str]


def open_store(database: Database) -> Store:
    """The writer handle the UI uses for `mark_handled` (the poller has its own)."""
    return Store.open(database)


def compute(database: Database, window: str, now: datetime, *, keywords: Sequence[str]) -> DashboardData:
    """Every panel's figures for the window ending `now` ("24h", "7d", "30d")."""
    from dashboard.analytics.dashboard import compute_dashboard
    from dashboard.analytics.windows import Window

    with StoreReader.open(database) as reader:
        return compute_dashboard(reader, Window.last(window, now), keywords=tuple(keywords), now=now)


def change_token(database: Database, now: datetime) -> tuple[int, ...]:
    """Equal tokens mean the panels would show the same numbers: nothing stored since, and still
    the same five minutes (windows slide with time)."""
    with StoreReader.open(database) as reader:
        return (*reader.change_marker(), int(now.timestamp()) // RECOMPUTE_AT_LEAST_EVERY)


def store_changes(database: Database, *, stopped: Callable[[], bool]) -> Iterator[int]:
    """Blocks until the poller stores something (PostgreSQL's LISTEN/NOTIFY), at most once a second;
    empty for SQLite, whose dashboards check `change_token` on a timer."""
    return changes(database, stopped=stopped)


def caseless_reader(database: Database) -> StoreReader:
    """A read-only reader whose LIKE is caseless beyond ASCII (SQLite's own folds only A-Z, so `é`
    never found `É`); SQLite lets a connection replace `like()`, and only this connection does."""
    connection = connect(database, readonly=True)
    if isinstance(connection, SqliteConnection):  # PostgreSQL's ILIKE folds by the database's locale
        connection.create_function("like", 2, like_folded, deterministic=True)
        connection.create_function("like", 3, like_folded, deterministic=True)
    return StoreReader(connection)


def latest_mentions(database: Database, mention_filter: MentionFilter, *, limit: int) -> list[dict[str, Any]]:
    """The stream's newest mentions under the filter, newest first.

    `source:` names a source caselessly or by a prefix naming one source; a value naming none (or
    several) shows nothing, and the stream says why (`filtering.resolve_source`); so does a sentiment
    or language value that names none (`MentionFilter.problem`). `sentiment:` and `lang:` reach the
    reader as parameters.
    """
    if mention_filter.problem is not None:  # a sentiment or language that names none: the stream says so
        return []
    with caseless_reader(database) as reader:
        source: str | None = None
        if mention_filter.source is not None:
            source = resolve_source(mention_filter.source, reader.source_names().values()).name
            if source is None:
                return []
        frame = reader.latest_mentions(
            limit=limit,
            text=mention_filter.text or None,
            source=source,
            kind=mention_filter.kind,
            sentiment=mention_filter.sentiment_label,
            language=mention_filter.language_code,
        )
    return records(frame)


def alert_log(database: Database, channels: Sequence[str], *, limit: int = 200) -> AlertLogView:
    """The alerts the core raised (newest first, with their delivery state) and the channels that
    keep failing (name -> the latest error): what the Alerts panel shows, read-only."""
    connection = connect(database, readonly=True)
    try:
        log = AlertLog(connection)
        return AlertLogView(records(log.recent(limit=limit)), log.failing_channels(channels))
    finally:
        connection.close()


def post_reactions(database: Database, post_url: str) -> pd.DataFrame:
    """Every reaction to one own post across networks, newest first (the post detail screen)."""
    from dashboard.analytics.posts import reactions_of

    with StoreReader.open(database) as reader:
        return reactions_of(reader, post_url)


def mention_detail(database: Database, mention_id: int) -> MentionDetail | None:
    with StoreReader.open(database) as reader:
        return reader.mention(mention_id)


def export_snapshot(database: Database, window: str, now: datetime, config: Config) -> Path:
    """Write a snapshot folder of the window into the configured export folder; returns its path."""
    from dashboard.analytics.windows import Window
    from dashboard.export.snapshot import write_snapshot

    with StoreReader.open(database) as reader:
        return write_snapshot(
            reader, Window.last(window, now), config.export.directory, config, now=now, database=database
        )
